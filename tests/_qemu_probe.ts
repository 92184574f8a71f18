// Copyright 2026 the utpstream authors. MIT license.
// Not a test of its own: tests/foreign_arch_test.ts runs it (under qemu) next
// to the echo and transfer tests, to show which library the loader picked.
import { test } from "node:test";
import { getRuntime } from "../src/runtime.ts";

test("probe: architecture and library", async () => {
  const { native } = await getRuntime();
  const arch = (globalThis as { Deno?: { build: { arch: string } } }).Deno?.build.arch;
  console.log(`arch=${arch} library=${native.path}`);
});
