#!/usr/bin/env bash
# C-level tests of the shim + patched libutp, built with ASan/UBSan and with
# libutp's asserts enabled (no NDEBUG), so an assert a remote peer can reach
# aborts the test. Needs a C/C++ compiler (clang or gcc) with the sanitizer
# runtimes; uses the patched sources from scripts/fetch_libutp.sh.
# Usage: bash tests/native/run.sh      (prints "N passed, N failed")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$ROOT/scripts/fetch_libutp.sh"
SRC="$ROOT/.deps/libutp"
OUT="$ROOT/build/native-tests"
mkdir -p "$OUT"
CC="${CC:-$(command -v clang || command -v gcc)}"
CXX="${CXX:-$(command -v clang++ || command -v g++)}"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CXXFLAGS="-O1 -g -DPOSIX -UNDEBUG -fno-exceptions -fno-rtti -fpermissive -w $SAN"
objs=()
for f in utp_internal utp_utils utp_hash utp_callbacks utp_api utp_packedsockaddr; do
  o="$OUT/$f.o"
  if [ ! -f "$o" ] || [ "$SRC/$f.cpp" -nt "$o" ] || [ "$SRC/.stamp" -nt "$o" ]; then
    "$CXX" $CXXFLAGS -I"$SRC" -c "$SRC/$f.cpp" -o "$o" &
  fi
  objs+=("$o")
done
wait
passed=0
failed=0
for t in "$ROOT"/tests/native/test_*.c; do
  name="$(basename "$t" .c)"
  "$CC" -O1 -g -D_GNU_SOURCE -UNDEBUG $SAN -I"$SRC" -I"$ROOT/native" -c "$t" -o "$OUT/$name.o"
  "$CXX" $SAN "$OUT/$name.o" "${objs[@]}" -o "$OUT/$name"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$OUT/$name"; then
    passed=$((passed + 1))
  else
    echo "native test $name FAILED" >&2
    failed=$((failed + 1))
  fi
done
echo "native: $passed passed, $failed failed"
[ "$failed" = 0 ]
