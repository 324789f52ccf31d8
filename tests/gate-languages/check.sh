#!/usr/bin/env bash
# Python and JavaScript gates end to end, run by .ci/run once componentize-py
# (requirements.txt here) and ComponentizeJS (npm) are installed. The cargo
# tests cannot assume either, so this script checks, with the real binary:
# - the SDK examples and a scaffolded gate in each language build with
#   `gate build` and pass their `gate test` cases;
# - each hostile gate's attacks are stopped or find nothing (its cases);
# - one run with every Python attack at once blocks (exit 1), reports each
#   attack as an error and still runs its other gate;
# - the first run says it is compiling and the second loads from the cache.
# Usage: tests/gate-languages/check.sh path/to/modelgate
# (COMPONENTIZE_JS_MODULES names the node_modules holding ComponentizeJS.)
set -euo pipefail
bin="$(realpath "$1")"
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export MODELGATE_CACHE_DIR="$work/cache"
fail() { echo "gate languages: $*" >&2; exit 1; }

"$bin" gate new my-check --lang python --dir "$work/my-check" >/dev/null
"$bin" gate new my-js-check --lang js --dir "$work/my-js-check" >/dev/null
for dir in gates/examples/python/missing-by-category gates/examples/python/recall-at-fpr \
  gates/examples/python/column-stats tests/gate-languages/hostile-python "$work/my-check" \
  gates/examples/js/score-range gates/examples/js/column-stats tests/gate-languages/hostile-js \
  "$work/my-js-check"; do
  case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac
  name="$(basename "$dir")"
  "$bin" gate build "$dir" --out "$work/$name.wasm" >"$work/$name.build" 2>&1 \
    || { cat "$work/$name.build" >&2; fail "$name does not build"; }
  "$bin" gate test "$work/$name.wasm" --cases "$dir/cases.yaml" 2>"$work/$name.first" \
    || { cat "$work/$name.first" >&2; fail "$name fails its cases"; }
  grep -q "compiling gate $work/$name.wasm" "$work/$name.first" \
    || fail "$name: the first run did not say it was compiling"
  "$bin" gate test "$work/$name.wasm" --cases "$dir/cases.yaml" -v >/dev/null 2>"$work/$name.second"
  grep -q "loaded gate $work/$name.wasm from the compile cache" "$work/$name.second" \
    || fail "$name: the second run did not load from the compile cache"
  echo "ok  $name: built ($(stat -c %s "$work/$name.wasm") bytes), cases pass, second run cached"
done

# Every attack in one run, beside a gate that has nothing to do with them.
cd "$work"
"$bin" demo data --out data --rows 20000 --seed 3 >/dev/null
cat >modelgate.yaml <<YAML
model: fraud-detector
holdout: { path: data/holdout.parquet, label: is_fraud }
candidate: { scores: { column: score_candidate } }
gates:
  - { uses: ./hostile-python.wasm, id: loop, timeout: 2s, with: { attack: loop } }
  - { uses: ./hostile-python.wasm, id: allocate, memory: 256MiB, with: { attack: allocate } }
  - { uses: ./hostile-python.wasm, id: open, with: { attack: open } }
  - { uses: ./hostile-python.wasm, id: socket, with: { attack: socket } }
  - { uses: ./hostile-python.wasm, id: clock, with: { attack: clock } }
  - { uses: ./hostile-python.wasm, id: environ, with: { attack: environ } }
  - uses: builtin:class-balance
YAML
set +e
SECRET_TOKEN=do-not-leak "$bin" run --format json >decision.json 2>run.err
code=$?
set -e
[ "$code" = 1 ] || { cat run.err >&2; fail "the hostile run exited $code, expected 1 (blocked)"; }
python3 - decision.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
verdicts = {g["id"]: g["verdict"] for g in d["gates"]}
expected = {"loop": "error", "allocate": "error", "open": "error", "socket": "error",
            "clock": "error", "environ": "pass", "class-balance": "pass"}
assert verdicts == expected, verdicts
kinds = {g["id"]: g.get("error_kind") for g in d["gates"]}
assert kinds["loop"] == "timeout" and kinds["allocate"] == "memory", kinds
environ = next(g for g in d["gates"] if g["id"] == "environ")["summary"]
assert environ.startswith("0 environment variables") and "do-not-leak" not in json.dumps(d), environ
assert d["decision"] == "fail"
print("ok  hostile run: every attack stopped or empty-handed, the other gate ran, exit 1")
PY
