#!/usr/bin/env bash
# Installs modelgate for the GitHub Action (and works outside GitHub, for tests).
#
# 1. A release binary for this runner (RUNNER_OS x RUNNER_ARCH) from the
#    release named by MODELGATE_VERSION (default: the action's own ref),
#    verified against the release's checksums file: a mismatch fails.
# 2. Kept in the runner tool cache, so later steps and jobs on the same
#    runner reuse it without downloading.
# 3. Without a binary for the platform (or for a branch/sha ref), built with
#    `cargo install --locked` from the action's own checkout.
#
# Inputs (environment): MODELGATE_VERSION, MODELGATE_ACTION_REF,
# MODELGATE_REPOSITORY (owner/name of the action), MODELGATE_DOWNLOAD_BASE
# (override of the release download URL, for tests and mirrors),
# MODELGATE_SOURCE (the checkout to build from), RUNNER_OS, RUNNER_ARCH,
# RUNNER_TOOL_CACHE, CARGO. Outputs: `path` in $GITHUB_OUTPUT, the bin dir
# appended to $GITHUB_PATH.
set -euo pipefail

say() { printf 'modelgate install: %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }

version="${MODELGATE_VERSION:-}"
[ -n "$version" ] || version="${MODELGATE_ACTION_REF:-}"
os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
case "$os/$arch" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-gnu ;;
  Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-gnu ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  *) target="" ;;
esac

cache_root="${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/modelgate"
publish() {
  local bin="$1"
  [ -x "$bin/modelgate" ] || fail "no executable at $bin/modelgate"
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$bin" >>"$GITHUB_PATH"; fi
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "path=$bin/modelgate" >>"$GITHUB_OUTPUT"; fi
  say "using $bin/modelgate ($("$bin/modelgate" --version 2>/dev/null || echo unknown version))"
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# A release version looks like v1.2.3 (a branch or sha is built from source).
if [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] && [ -n "$target" ]; then
  dir="$cache_root/$version/$target"
  if [ -f "$dir/.complete" ]; then
    say "found $version in the tool cache"
    publish "$dir/bin"
    exit 0
  fi
  repo="${MODELGATE_REPOSITORY:-}"
  base="${MODELGATE_DOWNLOAD_BASE:-${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download/$version}"
  archive="modelgate-$version-$target.tar.gz"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  get() { curl -fsSL --retry 3 --retry-delay 2 --connect-timeout 20 -o "$tmp/$1" "$base/$1"; }
  if get "checksums.txt" && get "$archive"; then
    want="$(awk -v f="$archive" '$2 == f || $2 == "*"f {print $1}' "$tmp/checksums.txt")"
    [ -n "$want" ] || fail "checksums.txt of $version has no line for $archive"
    got="$(sha256 "$tmp/$archive")"
    [ "$want" = "$got" ] || fail "checksum mismatch for $archive: expected $want, got $got (refusing to install)"
    mkdir -p "$dir.partial"
    tar -xzf "$tmp/$archive" -C "$dir.partial"
    mkdir -p "$dir.partial/bin"
    if [ -f "$dir.partial/modelgate" ]; then mv "$dir.partial/modelgate" "$dir.partial/bin/modelgate"; fi
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
    touch "$dir/.complete"
    say "installed $archive (sha256 $got)"
    publish "$dir/bin"
    exit 0
  fi
  say "no release binary $archive at $base; building from source"
else
  say "no release binary for version '${version:-unset}' on $os/$arch; building from source"
fi

src="${MODELGATE_SOURCE:-${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}}"
[ -f "$src/Cargo.toml" ] || fail "cannot build: no Cargo.toml in $src"
root="$cache_root/source-$(git -C "$src" rev-parse HEAD 2>/dev/null || echo local)"
if [ ! -f "$root/.complete" ]; then
  "${CARGO:-cargo}" install --locked --path "$src" --root "$root"
  touch "$root/.complete"
fi
publish "$root/bin"
