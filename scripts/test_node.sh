#!/usr/bin/env bash
# Runs the test suite under Node 26 (`node --test`, the same files Deno and Bun
# run), if Node 26.1 or later is installed (scripts/install_tools.sh puts
# 26.12.1 in .tools/). NODE=<path> picks another binary; UTP_SKIP_NODE=1 skips.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
node_bin="${NODE:-$root/.tools/node_modules/.bin/node}"
if [ "${UTP_SKIP_NODE:-0}" = "1" ]; then
  echo "node --test: skipped (UTP_SKIP_NODE=1)"
  exit 0
fi
if [ ! -x "$node_bin" ]; then
  echo "node --test: skipped (Node 26 is not installed at $node_bin; run scripts/install_tools.sh)"
  exit 0
fi
version="$("$node_bin" --version)"
major="${version#v}"
major="${major%%.*}"
minor="${version#v*.}"
minor="${minor%%.*}"
if [ "$major" -lt 26 ] || { [ "$major" -eq 26 ] && [ "$minor" -lt 1 ]; }; then
  echo "node --test: skipped ($node_bin is Node $version; node:ffi needs 26.1 or later)"
  exit 0
fi
echo "== node --test ($version)"
# One file at a time, like deno test and bun test (the network tests share the
# machine's loopback and CPU). node:ffi's ExperimentalWarning is expected: it
# is silenced for the runner only, child processes still print it.
# --test-force-exit: unlike deno test and bun test, node --test waits for a
# test file's process to exit; a test that leaves a connection open (the
# library keeps the process alive for it, as Node's TCP would) would hang the
# run. Exiting on their own is tested in child processes (ref, node_runtime).
exec "$node_bin" --disable-warning=ExperimentalWarning --test --test-concurrency=1 --test-force-exit \
  --test-timeout=300000 tests/*_test.ts
