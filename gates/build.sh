#!/usr/bin/env bash
# Builds the built-in gates to wasm32-wasip2 components, reproducibly, and
# copies them to gates/dist/ (which the modelgate binary embeds).
#
#   gates/build.sh           rebuild gates/dist/
#   gates/build.sh --check   rebuild elsewhere and fail if gates/dist/ differs
#
# Reproducible: every absolute path that could reach the binary (this
# checkout, cargo's registry, the target dir) is remapped to a fixed prefix,
# so the bytes do not depend on where the repository is cloned.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

check=0
[ "${1:-}" = "--check" ] && check=1

target="${GATES_TARGET_DIR:-$here/target}"
cargo_home="${CARGO_HOME:-${HOME:-/root}/.cargo}"
export CARGO_TARGET_DIR="$target"
export RUSTFLAGS="--remap-path-prefix=$here=/modelgate/gates --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$target=/target"
unset CARGO_ENCODED_RUSTFLAGS

packages=()
for dir in builtin/*/; do
  packages+=(-p "gate-$(basename "$dir")")
done
cargo build --locked --release --target wasm32-wasip2 "${packages[@]}"

out="$here/dist"
if [ "$check" = 1 ]; then
  out="$(mktemp -d)"
fi
mkdir -p "$out"
for dir in builtin/*/; do
  name="$(basename "$dir")"
  cp "$target/wasm32-wasip2/release/gate_${name//-/_}.wasm" "$out/$name.wasm"
done

if [ "$check" = 1 ]; then
  status=0
  for f in "$out"/*.wasm; do
    name="$(basename "$f")"
    if ! cmp -s "$f" "dist/$name"; then
      echo "gates/dist/$name differs from a rebuild of gates/builtin/${name%.wasm}: run gates/build.sh and commit gates/dist" >&2
      status=1
    fi
  done
  for f in dist/*.wasm; do
    [ -f "$out/$(basename "$f")" ] || { echo "gates/dist/$(basename "$f") has no source in gates/builtin" >&2; status=1; }
  done
  rm -rf "$out"
  [ "$status" = 0 ] && echo "gates/dist matches its source"
  exit "$status"
fi
ls -l "$out"
