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
#   BENCH_RUNS=3 bench/run.sh 10000000           # each command 3 times, the medians
#   BENCH_PROFILE=dist bench/run.sh 10000000      # the binary the Action ships (fat LTO;
#                                                 # about 13 minutes to rebuild)
#
# With BENCH_RUNS above 1 the three commands take turns (floor, modelgate,
# Python, floor, ...), so a slow spell of the machine falls on all of them,
# and each figure is the median of its runs: on a VM one run's system time
# can be twice another's.
#
# Data goes to $BENCH_DATA (default target/bench-data), generated once per
# size by `modelgate demo data` (seeds 7 and 8). The binary is built with
# the $BENCH_PROFILE cargo profile (default release) unless $MODELGATE
# names one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
data=${BENCH_DATA:-$root/target/bench-data}
command -v /usr/bin/time >/dev/null || { echo "bench/run.sh: needs GNU time (apt install time)" >&2; exit 2; }
runs=${BENCH_RUNS:-1}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: BENCH_RUNS must be a positive whole number, not '$runs'" >&2; exit 2; }

if [ -z "${MODELGATE:-}" ]; then
  profile=${BENCH_PROFILE:-release}
  [[ "$profile" =~ ^(release|dist)$ ]] || { echo "bench/run.sh: BENCH_PROFILE must be release or dist, not '$profile'" >&2; exit 2; }
  cargo build --profile "$profile" --locked --bin modelgate >&2
  MODELGATE=${CARGO_TARGET_DIR:-$root/target}/$profile/modelgate
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
  # The last line of four numbers: GNU time may add a note or a blank line
  # (a run on the VM once ended its file with an empty line, and the
  # medians silently took an empty figure).
  local line
  line=$(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$out.time" | tail -1)
  [ -n "$line" ] || { echo "bench/run.sh: no timing in $out.time:" >&2; cat "$out.time" >&2; exit 2; }
  read -r wall user sys rss <<<"$line"
  cpu=$(echo "$user + $sys" | bc)
  rss=$((rss / 1024))
}

# median VALUES...: the middle value (the lower middle of an even count).
median() {
  printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"
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
  fws=() fcs=() mws=() mcs=() mrs=() pws=() pcs=() prs=()
  for r in $(seq "$runs"); do
    of="of $runs"
    echo "$n rows: I/O floor ($r $of)" >&2
    measure "$dir/floor" "$py" bench/io_floor.py "$dir/holdout/holdout.parquet" "$dir/reference/holdout.parquet"
    fws+=("$wall") fcs+=("$cpu")
    echo "$n rows: modelgate run ($r $of)" >&2
    measure "$dir/modelgate" "$MODELGATE" run -c "$dir/modelgate.yaml" --format json
    mws+=("$wall") mcs+=("$cpu") mrs+=("$rss")
    if [ -z "${BENCH_SKIP_PYTHON:-}" ]; then
      echo "$n rows: Python job ($r $of)" >&2
      measure "$dir/python" "$py" bench/python_job.py "$dir/holdout/holdout.parquet" "$dir/reference/holdout.parquet" "$dir/python.json"
      pws+=("$wall") pcs+=("$cpu") prs+=("$rss")
    fi
  done
  fw=$(median "${fws[@]}") fc=$(median "${fcs[@]}")
  mw=$(median "${mws[@]}") mc=$(median "${mcs[@]}") mr=$(median "${mrs[@]}")
  if [ -z "${BENCH_SKIP_PYTHON:-}" ]; then
    pw=$(median "${pws[@]}") pc=$(median "${pcs[@]}") pr=$(median "${prs[@]}")
    python_cell="$pw s / $pc s / $pr MiB"
    ratio=$(printf '%.1f× / %.1f× / %.1f×' "$(echo "$pw / $mw" | bc -l)" "$(echo "$pc / $mc" | bc -l)" "$(echo "$pr / $mr" | bc -l)")
  else
    python_cell="not run" ratio="–"
  fi
  if [ "$runs" -gt 1 ]; then
    echo "$n rows, each run (wall / CPU): floor ${fws[*]} / ${fcs[*]}; modelgate ${mws[*]} / ${mcs[*]}; Python ${pws[*]:-–} / ${pcs[*]:-–}" >&2
  fi
  floor_ratio=$(printf '%.2f' "$(echo "$mw / $fw" | bc -l)")
  rows_md+="
| $n + $n | $python_cell | $mw s / $mc s / $mr MiB | $fw s / $fc s | $ratio | $floor_ratio |"
done
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $("$MODELGATE" --version) ($MODELGATE); each figure the median of $runs run(s)"
echo
echo "$rows_md"
