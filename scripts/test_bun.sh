#!/usr/bin/env bash
# Runs the test suite under Bun (the same files Deno runs), if Bun is installed
# (scripts/install_tools.sh puts it in .tools/). UTP_SKIP_BUN=1 skips it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bun_bin="${BUN:-$(command -v bun || echo "$root/.tools/node_modules/.bin/bun")}"
if [ "${UTP_SKIP_BUN:-0}" = "1" ] || [ ! -x "$bun_bin" ]; then
  echo "bun test: skipped (Bun not installed or UTP_SKIP_BUN=1)"
  exit 0
fi
echo "== bun test ($("$bun_bin" --version))"
exec "$bun_bin" test --timeout 300000
