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
echo "$LIB"
