#!/usr/bin/env bash
# The Spark summary path decides as the single-machine path does on the
# same data: a seeded demo holdout (and reference) is summarised by
# spark/modelgate_summaries.py in Spark local mode, split into 8
# partitions, then `modelgate run` judges the file and the summary under a
# passing and a blocking policy, and spark/compare.py checks that the
# decisions, gate verdicts and observations, metrics, curves and exact
# tests agree.
#
#   spark/equality.sh [ROWS]     (default 200000; the closing note's run is 1000000)
#
# Needs Java 17 (Debian's openjdk-17-jre-headless, installed when missing)
# and PyPI's pyspark (spark/requirements.txt, in a cached venv). The
# modelgate binary is $MODELGATE, else the dev build.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-200000}"
cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}"
bin="${MODELGATE:-${CARGO_TARGET_DIR:-$cache/modelgate-target}/debug/modelgate}"

if ! command -v java >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null \
    || { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null; }
fi
venv="$cache/modelgate-spark-venv"
pin="$(sha256sum spark/requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$venv/pins" 2>/dev/null)" != "$pin" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r spark/requirements.txt
  echo "$pin" >"$venv/pins"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" demo data --rows "$rows" --seed 7 --out "$work/holdout" -q >/dev/null
"$bin" demo data --rows "$rows" --seed 8 --out "$work/reference" -q >/dev/null

start=$(date +%s)
if ! PATH="$venv/bin:$PATH" spark-submit --master 'local[2]' --driver-memory 4g \
  --conf spark.sql.shuffle.partitions=8 --conf spark.ui.enabled=false \
  --conf spark.ui.showConsoleProgress=false \
  spark/modelgate_summaries.py --holdout "$work/holdout/holdout.parquet" \
  --reference "$work/reference/holdout.parquet" --label is_fraud --amount amount \
  --scores score_candidate,score_production --partitions 8 --out "$work/summary" \
  >"$work/spark.log" 2>&1; then
  tail -n 40 "$work/spark.log"
  exit 1
fi
# spark-submit passes the job's stderr on as its own stdout.
grep -a '^modelgate-summaries:' "$work/spark.log"
echo "summarised $rows + $rows rows in $(( $(date +%s) - start )) s"

# The six built-ins of bench/modelgate.yaml (the benchmark's policy), with
# the bootstrap on (the summary's resamples its sample), as it is and
# tightened until it blocks.
status=0
for case in pass block; do
  tighten=(cat)
  [ "$case" = block ] && tighten=(sed -e 's/roc_auc: 0.9,/roc_auc: 0.999,/' \
    -e 's/dtype: numeric, min: 0 /dtype: numeric, min: 1 /' -e 's/min_absolute_change: 0.005/min_absolute_change: 0.05/')
  sed -e 's/, id: transaction_id//' -e 's/bootstrap: 0/bootstrap: 200/' bench/modelgate.yaml \
    | "${tighten[@]}" >"$work/file-$case.yaml"
  sed -e 's#path: holdout/holdout.parquet#summary: summary#' -e '/^reference:/d' \
    "$work/file-$case.yaml" >"$work/summary-$case.yaml"
  for input in file summary; do
    "$bin" run -c "$work/$input-$case.yaml" --out "$work/$input-$case.json" -q || true
  done
  printf '%s policy: ' "$case"
  python3 spark/compare.py "$work/file-$case.json" "$work/summary-$case.json" || status=1
done
exit $status
