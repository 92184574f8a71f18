#!/usr/bin/env bash
# Install the pinned Deno and Bun binaries from npm into <repo>/.tools (git-ignored).
# Idempotent: skips npm when both binaries already report the pinned versions.
set -euo pipefail

DENO_VERSION=2.9.6
BUN_VERSION=1.4.4

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/node_modules/.bin"

have_versions() {
  [ -x "$BIN/deno" ] && [ -x "$BIN/bun" ] || return 1
  "$BIN/deno" --version 2>/dev/null | head -n1 | grep -q "^deno ${DENO_VERSION//./\\.} " || return 1
  [ "$("$BIN/bun" --version 2>/dev/null)" = "$BUN_VERSION" ] || return 1
}

if ! have_versions; then
  command -v npm >/dev/null || { echo "install_tools: npm is required" >&2; exit 1; }
  mkdir -p "$TOOLS"
  if [ ! -f "$TOOLS/package.json" ]; then
    printf '{"name":"utpstream-tools","private":true}\n' > "$TOOLS/package.json"
  fi
  echo "install_tools: installing deno@$DENO_VERSION bun@$BUN_VERSION into $TOOLS" >&2
  (cd "$TOOLS" && npm install --no-audit --no-fund --save-exact --loglevel=error \
    "deno@$DENO_VERSION" "bun@$BUN_VERSION")
  have_versions || { echo "install_tools: installed binaries do not report deno $DENO_VERSION / bun $BUN_VERSION" >&2; exit 1; }
fi

echo "$BIN/deno"
echo "$BIN/bun"
