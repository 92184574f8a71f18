#!/usr/bin/env bash
# Builds the libFuzzer target (clang, ASan + UBSan, libutp asserts enabled)
# and runs it for a bounded time. Crashes are written to build/fuzz/.
# Usage: bash native/fuzz/run.sh [seconds=30]
# Needs clang and libclang-rt-dev (Debian: apt-get install clang libclang-rt-dev).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECONDS_TO_RUN="${1:-30}"
if ! command -v clang++ >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "fuzz: installing clang via apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev >&2
  else
    echo "fuzz: clang is required" >&2
    exit 1
  fi
fi
"$ROOT/scripts/fetch_libutp.sh"
SRC="$ROOT/.deps/libutp"
OUT="$ROOT/build/fuzz"
mkdir -p "$OUT/corpus" "$OUT/crashes"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
objs=()
for f in utp_internal utp_utils utp_hash utp_callbacks utp_api utp_packedsockaddr; do
  o="$OUT/$f.o"
  if [ ! -f "$o" ] || [ "$SRC/.stamp" -nt "$o" ]; then
    clang++ -O1 -g -DPOSIX -UNDEBUG -fno-exceptions -fno-rtti -fpermissive -w \
      -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -I"$SRC" -c "$SRC/$f.cpp" -o "$o" &
  fi
  objs+=("$o")
done
wait
clang -O1 -g -D_GNU_SOURCE -UNDEBUG $SAN -I"$SRC" -I"$ROOT/native" -c "$ROOT/native/fuzz/fuzz_input.c" -o "$OUT/fuzz_input.o"
clang++ $SAN "$OUT/fuzz_input.o" "${objs[@]}" -o "$OUT/fuzz_input"
# A few seeds: data, FIN with extension 3, STATE, SYN, RESET, aimed at the live connection.
printf '\x30\x19\x01\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x03\x61' > "$OUT/corpus/seed-data-ext3"
printf '\x31\x14\x21\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00' > "$OUT/corpus/seed-state"
printf '\x70\x14\x11\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00' > "$OUT/corpus/seed-fin-write"
printf '\x00\x14\x41\x00\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00' > "$OUT/corpus/seed-syn-ffff"
printf '\x90\x14\x31\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00' > "$OUT/corpus/seed-reset-forged"
"$OUT/fuzz_input" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
  -artifact_prefix="$OUT/crashes/" -print_final_stats=1 "$OUT/corpus" 2>&1 | tail -n 25
echo "fuzz: no crash in ${SECONDS_TO_RUN}s"
