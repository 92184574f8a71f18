#!/usr/bin/env bash
# Runs tests/foreign_arch_test.ts with UTP_TEST_QEMU=1, on a linux-x64 host:
#  - checks every artefact in lib/ (format, exported symbols, dependencies, checksums);
#  - runs the echo and transfer tests on linux-arm64 under qemu-user-static with Deno's own
#    linux-arm64 build from the npm registry (@deno/linux-arm64-glibc), loading
#    lib/linux-arm64/libutpstream.so through the normal loader;
#  - moves 1 MiB through each artefact with tests/foreign/loopback.c: linux-x64 natively,
#    linux-arm64 and linux-armv7 under qemu-user-static, windows-x64 under wine64.
# Builds lib/ first if missing. As root with apt-get, installs what is missing (qemu-user-static,
# the cross compilers and their runtimes, wine64 without recommends).
#   UTP_QEMU_TESTS="tests/echo_test.ts"  run fewer Deno tests under qemu
#   DENO_ARM64_VERSION=2.9.5             pick the arm64 Deno (default: the host Deno's version if the
#                                        registry has it, else the newest published one)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DENO="${DENO:-$ROOT/.tools/node_modules/.bin/deno}"
OUT="$ROOT/.deps/deno-linux-arm64"

missing=()
command -v qemu-aarch64-static >/dev/null && command -v qemu-arm-static >/dev/null || missing+=(qemu-user-static)
[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || missing+=(g++-aarch64-linux-gnu)
[ -e /usr/arm-linux-gnueabihf/lib/libstdc++.so.6 ] || missing+=(g++-arm-linux-gnueabihf)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(g++-mingw-w64-x86-64-win32)
command -v wine >/dev/null || [ -x /usr/lib/wine/wine64 ] || missing+=(wine64)
command -v file >/dev/null || missing+=(file)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "test_foreign: missing ${missing[*]} (Debian packages); what is absent is skipped" >&2
  fi
fi
[ -f "$ROOT/lib/checksums.json" ] || bash "$ROOT/scripts/build_targets.sh"
[ -f "$ROOT/lib/linux-arm64/libutpstream.so" ] || bash "$ROOT/scripts/build_targets.sh" linux-arm64

if [ ! -x "$OUT/deno" ]; then
  want="${DENO_ARM64_VERSION:-$("$DENO" --version | head -n1 | cut -d' ' -f2)}"
  if ! npm view "@deno/linux-arm64-glibc@$want" version 2>/dev/null | grep -q .; then
    latest="$(npm view @deno/linux-arm64-glibc version 2>/dev/null)"
    echo "test_foreign: @deno/linux-arm64-glibc@$want is not in the registry; using $latest" >&2
    want="$latest"
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@deno/linux-arm64-glibc@$want" >/dev/null 2>&1)
  mkdir -p "$OUT"
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  mv "$tmp/package/deno" "$OUT/deno"
  chmod +x "$OUT/deno"
fi
echo "test_foreign: $(qemu-aarch64-static -L /usr/aarch64-linux-gnu "$OUT/deno" --version | head -n1) under qemu" >&2

UTP_TEST_QEMU=1 exec "$DENO" test --allow-run --allow-read --allow-env tests/foreign_arch_test.ts
