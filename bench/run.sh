#!/usr/bin/env bash
# The scale benchmark: `modelgate run` with the six built-in gates against
# the Python job it replaces (bench/python_job.py), side by side on the same
# holdout and reference, with the I/O floor (one polars streaming pass over
# the same files). Prints wall time, CPU time and peak RSS of each, and the
# ratios, as a markdown table.
#
#   bench/run.sh                      # 1M and 10M rows (holdout + reference each)
#   bench/run.sh 100000000            # any sizes; 100M needs about 30 GB of disk
#   BENCH_SKIP_PYTHON=1 bench/run.sh 100000000   # modelgate and the floor only
#
# Data goes to $BENCH_DATA (default target/bench-data), generated once per
# size by `modelgate demo data` (seeds 7 and 8). The binary is the release
# build unless $MODELGATE names one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
data=${BENCH_DATA:-$root/target/bench-data}
command -v /usr/bin/time >/dev/null || { echo "bench/run.sh: needs GNU time (apt install time)" >&2; exit 2; }

if [ -z "${MODELGATE:-}" ]; then
  cargo build --release --locked --bin modelgate >&2
  MODELGATE=${CARGO_TARGET_DIR:-$root/target}/release/modelgate
fi
venv=${XDG_CACHE_HOME:-$HOME/.cache}/modelgate-bench-venv
if [ ! -x "$venv/bin/python" ] || ! cmp -s bench/requirements.txt "$venv/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r bench/requirements.txt
  cp bench/requirements.txt "$venv/requirements.txt"
fi
py=$venv/bin/python

# measure NAME CMD...: runs CMD under GNU time; sets wall, cpu and rss (MiB; GNU time reports KiB).
measure() {
  local out=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$out.time" "$@" >"$out.stdout" 2>"$out.stderr" || {
    local rc=$?
    # modelgate exits 1 when a gate blocks: a result, not a failure.
    if [ "$rc" -ne 1 ] || ! grep -q '"decision"' "$out.stdout" 2>/dev/null; then
      echo "bench/run.sh: $* failed ($rc):" >&2; tail -5 "$out.stderr" >&2; exit 2
    fi
  }
  read -r wall user sys rss < <(tail -1 "$out.time")
  cpu=$(echo "$user + $sys" | bc)
  rss=$((rss / 1024))
}

rows_md="| rows (holdout + reference) | Python job, wall / CPU / peak RSS | modelgate run, wall / CPU / peak RSS | I/O floor, wall / CPU | ratio wall / CPU / RSS (Python ÷ modelgate) | modelgate ÷ floor (wall) |
|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  dir=$data/$n
  mkdir -p "$dir"
  for side in holdout:7 reference:8; do
    name=${side%%:*} seed=${side##*:}
    if [ ! -f "$dir/$name/holdout.parquet" ]; then
      echo "generating $n rows of $name" >&2
      "$MODELGATE" demo data --rows "$n" --seed "$seed" --out "$dir/$name" -q
    fi
  done
  cp bench/modelgate.yaml "$dir/modelgate.yaml"
  sync
  echo "$n rows: I/O floor" >&2
  measure "$dir/floor" "$py" bench/io_floor.py "$dir/holdout/holdout.parquet" "$dir/reference/holdout.parquet"
  fw=$wall fc=$cpu
  echo "$n rows: modelgate run" >&2
  measure "$dir/modelgate" "$MODELGATE" run -c "$dir/modelgate.yaml" --format json
  mw=$wall mc=$cpu mr=$rss
  if [ -z "${BENCH_SKIP_PYTHON:-}" ]; then
    echo "$n rows: Python job" >&2
    measure "$dir/python" "$py" bench/python_job.py "$dir/holdout/holdout.parquet" "$dir/reference/holdout.parquet" "$dir/python.json"
    pw=$wall pc=$cpu pr=$rss
    python_cell="$pw s / $pc s / $pr MiB"
    ratio=$(printf '%.1f× / %.1f× / %.1f×' "$(echo "$pw / $mw" | bc -l)" "$(echo "$pc / $mc" | bc -l)" "$(echo "$pr / $mr" | bc -l)")
  else
    python_cell="not run" ratio="–"
  fi
  floor_ratio=$(printf '%.2f' "$(echo "$mw / $fw" | bc -l)")
  rows_md+="
| $n + $n | $python_cell | $mw s / $mc s / $mr MiB | $fw s / $fc s | $ratio | $floor_ratio |"
done
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $("$MODELGATE" --version)"
echo
echo "$rows_md"
