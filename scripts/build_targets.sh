#!/usr/bin/env bash
# Build the shipped native library for several targets from the same sources (libutp from
# scripts/fetch_libutp.sh + native/utps.c + the platform's native/udp_io_*.c: udp_io_posix.c on
# Linux and macOS, udp_io_windows.c on Windows; chosen by the top-level CMakeLists.txt), then write
# lib/checksums.json. Output (git-ignored, published to JSR):
#
#   lib/linux-x64/libutpstream.so     lib/darwin-x64/libutpstream.dylib
#   lib/linux-arm64/libutpstream.so   lib/darwin-arm64/libutpstream.dylib
#   lib/linux-armv7/libutpstream.so   lib/windows-x64/utpstream.dll
#   lib/checksums.json                { "version": ..., "files": { "<target>/<file>": "<sha256>" } }
#
# Usage:
#   bash scripts/build_targets.sh                 # every target this host can build (on Linux:
#                                                 # linux-x64, linux-arm64, linux-armv7, windows-x64;
#                                                 # on macOS: darwin-x64, darwin-arm64)
#   bash scripts/build_targets.sh linux-arm64 ... # only these targets
#   bash scripts/build_targets.sh --checksums     # only rewrite lib/checksums.json from lib/*/
#
# On Linux, cross targets use Debian's cross compilers and native/toolchains/<target>.cmake; when
# run as root with apt-get, missing compilers are installed. Build trees go to .deps/build-<target>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LIB_DIR="$ROOT/lib"

log() { echo "build_targets: $*" >&2; }

file_of() {
  case "$1" in
    windows-*) echo utpstream.dll ;;
    darwin-*) echo libutpstream.dylib ;;
    *) echo libutpstream.so ;;
  esac
}

host_target() {
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) os=other ;; esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    armv7*) arch=armv7 ;;
    *) arch="$(uname -m)" ;;
  esac
  echo "$os-$arch"
}

sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

write_checksums() {
  local version tmp first=1 f rel
  version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$ROOT/deno.json" | head -n1)"
  [ -n "$version" ] || { log "no version in deno.json"; exit 1; }
  mkdir -p "$LIB_DIR"
  tmp="$(mktemp "$LIB_DIR/.checksums.XXXXXX")"
  {
    printf '{\n  "version": "%s",\n  "files": {' "$version"
    while IFS= read -r f; do
      rel="${f#"$LIB_DIR"/}"
      [ $first = 1 ] || printf ','
      first=0
      printf '\n    "%s": "%s"' "$rel" "$(sha256_of "$f")"
    done < <(find "$LIB_DIR" -mindepth 2 -maxdepth 2 -type f \
      \( -name 'libutpstream.so' -o -name 'libutpstream.dylib' -o -name 'utpstream.dll' \) | LC_ALL=C sort)
    printf '\n  }\n}\n'
  } >"$tmp"
  mv "$tmp" "$LIB_DIR/checksums.json"
  log "wrote lib/checksums.json (version $version)"
}

# Debian package with the compiler for a target, and the compiler command itself.
cross_pkg() {
  case "$1" in
    linux-arm64) echo "g++-aarch64-linux-gnu aarch64-linux-gnu-g++" ;;
    linux-armv7) echo "g++-arm-linux-gnueabihf arm-linux-gnueabihf-g++" ;;
    windows-x64) echo "g++-mingw-w64-x86-64-win32 x86_64-w64-mingw32-g++-win32" ;;
  esac
}

strip_cmd() {
  case "$1" in
    linux-arm64) echo aarch64-linux-gnu-strip ;;
    linux-armv7) echo arm-linux-gnueabihf-strip ;;
    windows-x64) echo x86_64-w64-mingw32-strip ;;
    *) echo strip ;;
  esac
}

ensure_tools() {
  local missing=() t pkg cmd
  for cmd in cmake make patch; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
  command -v g++ >/dev/null || [ "$(uname -s)" = Darwin ] || missing+=(g++)
  for t in "$@"; do
    [ "$t" = "$HOST" ] && continue
    read -r pkg cmd <<<"$(cross_pkg "$t")"
    [ -n "${pkg:-}" ] && ! command -v "$cmd" >/dev/null && missing+=("$pkg")
  done
  [ ${#missing[@]} = 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} via apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    log "missing tools or packages: ${missing[*]}"
    exit 1
  fi
}

build_one() {
  local target="$1" file out bdir args=()
  file="$(file_of "$target")"
  bdir="$ROOT/.deps/build-$target"
  args=(-S "$ROOT" -B "$bdir" -DCMAKE_BUILD_TYPE=Release --log-level=WARNING)
  case "$target" in
    # Linux: libstdc++ stays dynamic on purpose. libutp needs only operator new/delete from it
    # (GLIBCXX_3.4, CXXABI_1.3.9: any GCC >= 5 runtime), while a static libstdc++/libgcc from
    # Debian 12 would raise the glibc floor from 2.25 (getrandom) to 2.35 (_dl_find_object).
    darwin-x64) args+=(-DCMAKE_OSX_ARCHITECTURES=x86_64 -DCMAKE_OSX_DEPLOYMENT_TARGET=11.0) ;;
    darwin-arm64) args+=(-DCMAKE_OSX_ARCHITECTURES=arm64 -DCMAKE_OSX_DEPLOYMENT_TARGET=11.0) ;;
  esac
  if [ "$target" != "$HOST" ] && [ "${target%%-*}" != darwin ]; then
    args+=("-DCMAKE_TOOLCHAIN_FILE=$ROOT/native/toolchains/$target.cmake")
  fi
  log "building $target"
  cmake "${args[@]}" >/dev/null
  local blog
  if ! blog="$(cmake --build "$bdir" --target utpstream -j2 2>&1)"; then
    printf '%s\n' "$blog" >&2
    log "$target: build failed"
    exit 1
  fi
  printf '%s\n' "$blog" | grep -iE -A3 'warning' >&2 || true
  [ -f "$bdir/$file" ] || { log "$target: $bdir/$file was not produced"; exit 1; }
  out="$LIB_DIR/$target"
  mkdir -p "$out"
  cp "$bdir/$file" "$out/.$file.tmp"
  case "$target" in
    darwin-*) strip -x "$out/.$file.tmp" ;;
    *) "$(strip_cmd "$target")" --strip-unneeded "$out/.$file.tmp" ;;
  esac
  mv "$out/.$file.tmp" "$out/$file"
  log "$target: lib/$target/$file ($(wc -c <"$out/$file") bytes)"
}

HOST="$(host_target)"

if [ "${1:-}" = "--checksums" ]; then
  write_checksums
  exit 0
fi

if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  case "$HOST" in
    linux-x64) TARGETS=(linux-x64 linux-arm64 linux-armv7 windows-x64) ;;
    darwin-*) TARGETS=(darwin-x64 darwin-arm64) ;;
    *) TARGETS=("$HOST") ;;
  esac
fi

for t in "${TARGETS[@]}"; do
  case "$t" in
    linux-x64 | linux-arm64 | linux-armv7 | windows-x64 | darwin-x64 | darwin-arm64) ;;
    *) log "unknown target '$t'"; exit 2 ;;
  esac
  if [ "${t%%-*}" = darwin ] && [ "${HOST%%-*}" != darwin ]; then
    log "$t can only be built on macOS (see .github/workflows/release.yml)"
    exit 2
  fi
  if [ "${HOST%%-*}" = darwin ] && [ "${t%%-*}" != darwin ]; then
    log "$t cannot be built on macOS"
    exit 2
  fi
done

ensure_tools "${TARGETS[@]}"
"$ROOT/scripts/fetch_libutp.sh"
for t in "${TARGETS[@]}"; do build_one "$t"; done
write_checksums
