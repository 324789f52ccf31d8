#!/usr/bin/env bash
# Gates from an OCI registry end to end, run by .ci/run against the CNCF
# distribution registry (Debian's docker-registry) on 127.0.0.1. The cargo
# tests cannot assume a registry binary, so this script checks, with the
# real modelgate binary:
# - `gate push` publishes a component and prints its pinned reference;
# - a config naming a tag is refused until `gate lock` pins it, keeping the
#   line's comment; the locked run uses exactly the pushed bytes;
# - a tampered blob in the registry is refused (empty cache);
# - with the registry stopped, the cache serves the run, also --offline; an
#   empty cache --offline is an error.
# Usage: tests/oci/check.sh path/to/modelgate
set -euo pipefail
bin="$(realpath "$1")"
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
registry_pid=""
cleanup() { [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "oci gates: $*" >&2; exit 1; }
cd "$work"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >registry.yml <<YAML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $work/store } }
http: { addr: 127.0.0.1:$port }
YAML
docker-registry serve registry.yml >registry.log 2>&1 &
registry_pid=$!
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v2/')" 2>/dev/null && break
  sleep 0.1
done
export MODELGATE_CACHE_DIR="$work/cache"
gate="$root/gates/dist/class-balance.wasm"
ref="oci://127.0.0.1:$port/gates/class-balance:1.0"

"$bin" gate push "$gate" "$ref" >push.out
grep -q "uses: $ref@sha256:" push.out || { cat push.out >&2; fail "push printed no pinned reference"; }

"$bin" demo data --out data --rows 20000 --seed 3 >/dev/null
cat >modelgate.yaml <<YAML
model: fraud-detector
holdout: { path: data/holdout.parquet, label: is_fraud }
candidate: { scores: { column: score_candidate } }
gates:
  - uses: $ref   # the shared check
YAML
if "$bin" run -q 2>err.txt; then fail "a tag-only reference ran"; fi
grep -q "is not pinned by digest; \`modelgate gate lock\`" err.txt || { cat err.txt >&2; fail "no lock hint"; }
"$bin" gate lock >lock.out
pinned="$(sed -n 's/^ *- uses: \(oci:[^ ]*\).*/\1/p' push.out)"
grep -q "uses: $pinned   # the shared check" modelgate.yaml || { cat modelgate.yaml >&2; fail "lock did not pin the tag in place"; }
"$bin" run --format json >decision.json
python3 - decision.json "$(sha256sum "$gate" | cut -d' ' -f1)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
g = d["gates"][0]
assert g["verdict"] == "pass" and g["sha256"] == sys.argv[2], g
PY
echo "ok  push, lock (tag pinned in place) and a run of exactly the pushed bytes"

blob="$(find "$work/store" -path "*$(sha256sum "$gate" | cut -d' ' -f1)*/data")"
cp "$blob" blob.orig
printf 'x' >>"$blob"
if MODELGATE_CACHE_DIR="$work/empty" "$bin" run -q 2>err.txt; then fail "a tampered blob ran"; fi
grep -qi "digest" err.txt || { cat err.txt >&2; fail "the tampered blob's error names no digest"; }
cp blob.orig "$blob"
echo "ok  a tampered blob is refused"

kill "$registry_pid"
wait "$registry_pid" 2>/dev/null || true
registry_pid=""
"$bin" run -q || fail "the cache did not serve the run with the registry down"
"$bin" run -q --offline || fail "--offline did not run from the cache"
if MODELGATE_CACHE_DIR="$work/empty2" "$bin" run -q --offline 2>err.txt; then fail "--offline ran without a cache"; fi
grep -q "offline, and this gate is not in the cache" err.txt || { cat err.txt >&2; fail "no offline message"; }
echo "ok  the cache serves a locked config with the registry down and --offline"
