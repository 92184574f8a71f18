#!/usr/bin/env bash
# One-stop native build: fetch+patch libutp, configure and build build/libutpstream.*
# Idempotent; prints the path of the built library on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v cmake >/dev/null || ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "build: installing cmake g++ make via apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ make patch >&2
  else
    echo "build: cmake, a C/C++ compiler and make are required" >&2
    exit 1
  fi
fi

"$ROOT/scripts/fetch_libutp.sh"

BUILD_DIR="$ROOT/build"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release --log-level=WARNING >/dev/null
if ! log="$(cmake --build "$BUILD_DIR" -j2 2>&1)"; then
  printf '%s\n' "$log" >&2
  echo "build: cmake --build failed" >&2
  exit 1
fi
# Quiet on success, but surface compiler warnings.
printf '%s\n' "$log" | grep -iE -A3 'warning' >&2 || true

case "$(uname -s)" in
  Darwin) LIB="$BUILD_DIR/libutpstream.dylib" ;;
  MINGW*|MSYS*|CYGWIN*) LIB="$BUILD_DIR/utpstream.dll" ;;
  *) LIB="$BUILD_DIR/libutpstream.so" ;;
esac
[ -f "$LIB" ] || { echo "build: expected $LIB was not produced" >&2; exit 1; }
# The loader prefers lib/<target>/ (prebuilt by scripts/build_targets.sh) over
# build/. A host build newer than that copy makes it stale: refresh it.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) HOST_TARGET=linux-x64 ;;
  Linux-aarch64) HOST_TARGET=linux-arm64 ;;
  Darwin-arm64) HOST_TARGET=darwin-arm64 ;;
  Darwin-x86_64) HOST_TARGET=darwin-x64 ;;
  *) HOST_TARGET="" ;;
esac
if [ -n "$HOST_TARGET" ] && [ -f "$ROOT/lib/$HOST_TARGET/$(basename "$LIB")" ] \
   && [ "$LIB" -nt "$ROOT/lib/$HOST_TARGET/$(basename "$LIB")" ]; then
  echo "build: removing stale lib/$HOST_TARGET/ (older than this build; deno task build:targets recreates it)" >&2
  rm -rf "$ROOT/lib/$HOST_TARGET"
  # lib/checksums.json must list only what lib/ holds (tests/foreign_arch_test.ts).
  if [ -f "$ROOT/lib/checksums.json" ]; then bash "$ROOT/scripts/build_targets.sh" --checksums >&2; fi
fi
echo "$LIB"
