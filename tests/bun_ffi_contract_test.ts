// Copyright 2026 the utpstream authors. MIT license.
// What src/ffi/bun.ts relies on from bun:ffi, pinned against our own
// library. Skips under Deno.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { importBunFfi, toBunSymbols } from "../src/ffi/bun.ts";
import { resolveLibraryPath } from "../src/ffi/library_path.ts";
import { symbols } from "../src/ffi/symbols.ts";
import { COUNTERS_SIZE, Event, EVENT_HEADER_SIZE, Option } from "../src/ffi/native.ts";

const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;

type Fn = (...args: unknown[]) => unknown;

async function open(): Promise<{ s: Record<string, Fn>; close(): void }> {
  const ffi = await importBunFfi();
  const path = resolveLibraryPath(process.platform, (name) => process.env[name]);
  const lib = ffi.dlopen(path, toBunSymbols());
  return { s: lib.symbols, close: () => lib.close() };
}

test("bun:ffi: dlopen of the library exports every symbol of the shared table", async (t) => {
  if (!isBun) return t.skip("Bun only");
  const lib = await open();
  try {
    for (const name of Object.keys(symbols)) {
      assert.equal(typeof lib.s[name], "function", `missing symbol ${name}`);
    }
    assert.deepEqual(Object.keys(toBunSymbols()).sort(), Object.keys(symbols).sort());
    assert.deepEqual(toBunSymbols().utps_input, {
      args: ["ptr", "ptr", "i32", "i32", "ptr", "i32"],
      returns: "i32",
    });
  } finally {
    lib.close();
  }
});

test("bun:ffi: pointers come back as non-zero numbers and go back in as arguments", async (t) => {
  if (!isBun) return t.skip("Bun only");
  const { s, close } = await open();
  try {
    const before = s.utps_live_contexts!() as number;
    const ctx = s.utps_create!();
    assert.equal(typeof ctx, "number");
    assert.ok((ctx as number) > 0);
    assert.equal(s.utps_live_contexts!(), before + 1);
    s.utps_destroy!(ctx);
    assert.equal(s.utps_live_contexts!(), before);
  } finally {
    close();
  }
});

test("bun:ffi: i32 and u32 returns are numbers, negative i32 stays negative", async (t) => {
  if (!isBun) return t.skip("Bun only");
  const { s, close } = await open();
  const ctx = s.utps_create!();
  try {
    assert.equal(s.utps_set_option!(ctx, Option.BACKLOG, 7), 0);
    assert.equal(s.utps_get_option!(ctx, Option.BACKLOG), 7);
    assert.equal(s.utps_get_option!(ctx, 999), -1);
    // u32 argument above 2^31: an unknown id, refused without a crash.
    assert.equal(s.utps_close!(ctx, 0xffffffff), -1);
    assert.equal(s.utps_end_batch!(ctx), undefined, "void returns undefined");
  } finally {
    s.utps_destroy!(ctx);
    close();
  }
});

test("bun:ffi: typed arrays pass to pointer arguments without a copy, both ways", async (t) => {
  if (!isBun) return t.skip("Bun only");
  const { s, close } = await open();
  const ctx = s.utps_create!();
  try {
    // JS -> C: a non-µTP datagram is read by C and queued as an event.
    const payload = new TextEncoder().encode("not utp, just bytes");
    const addr = new Uint8Array(16);
    addr.set([127, 0, 0, 1]);
    assert.equal(s.utps_input!(ctx, payload, payload.byteLength, 4, addr, 4242), 0);
    const events = new Uint8Array(4096).fill(0xaa);
    const n = s.utps_take_events!(ctx, events, events.byteLength) as number;
    assert.equal(n, EVENT_HEADER_SIZE + 16 + payload.byteLength);
    assert.equal(events[0], Event.DATAGRAM);
    const view = new DataView(events.buffer);
    assert.equal(view.getUint16(2, true), 4242);
    assert.deepEqual(events.subarray(EVENT_HEADER_SIZE, EVENT_HEADER_SIZE + 4), addr.subarray(0, 4));
    assert.deepEqual(events.subarray(EVENT_HEADER_SIZE + 16, n), payload);
    assert.equal(events[n], 0xaa, "C wrote past what it reported");

    // C -> JS through a subarray: writes land at its byte offset in the parent.
    const big = new Uint8Array(8 + COUNTERS_SIZE + 8).fill(0xaa);
    assert.equal(s.utps_counters!(ctx, big.subarray(8), COUNTERS_SIZE + 8), COUNTERS_SIZE);
    const counters = new DataView(big.buffer, 8, COUNTERS_SIZE);
    assert.equal(big[0], 0xaa, "write before the subarray");
    assert.equal(counters.getUint32(0, true), 1, "rx datagrams");
    assert.equal(counters.getUint32(24, true), 1, "foreign datagrams");
    assert.equal(big[8 + COUNTERS_SIZE], 0xaa, "write after the counters");
  } finally {
    s.utps_destroy!(ctx);
    close();
  }
});
