// Copyright 2026 the utpstream authors. MIT license.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, listen, type UtpConnection } from "../mod.ts";
import { decode, encode, hashStream, patternHash, readAll, within, writePattern } from "./_helpers.ts";
import { stagedBlocks } from "../src/byte_stage.ts";

function serveEcho(listener: AsyncIterable<UtpConnection>): Promise<void> {
  return (async () => {
    for await (const conn of listener) {
      conn.readable.pipeTo(conn.writable).catch(() => {});
    }
  })();
}

test("echo: bytes written come back intact", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const serving = serveEcho(listener);
  await using conn = await connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(conn.remoteAddr.transport, "utp");
  assert.equal(conn.remoteAddr.port, listener.addr.port);
  const writer = conn.writable.getWriter();
  await writer.write(encode("hello µTP"));
  await writer.close();
  const back = await within(readAll(conn.readable), 10000, "echo");
  assert.equal(decode(back), "hello µTP");
  listener.close();
  await serving;
});

test("echo: 8 MiB round trip in 64 KiB chunks keeps every byte in order", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const serving = serveEcho(listener);
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const total = 8 << 20;
  const [, got] = await within(
    Promise.all([writePattern(conn.writable, total), hashStream(conn.readable)]),
    30000,
    "8 MiB echo",
  );
  assert.equal(got.bytes, total);
  assert.equal(got.sha256, patternHash(total));
  listener.close();
  await serving;
});

test("readable supports BYOB readers", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const serving = serveEcho(listener);
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const writer = conn.writable.getWriter();
  await writer.write(encode("0123456789"));
  await writer.close();
  const reader = conn.readable.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(4);
  const parts: string[] = [];
  for (let i = 0; i < 10; i++) {
    const { value, done } = await within(reader.read(new Uint8Array(buffer)), 10000, "byob read");
    if (done) break;
    assert.ok(value.byteLength <= 4);
    parts.push(decode(value));
    buffer = value.buffer as ArrayBuffer;
  }
  assert.equal(parts.join(""), "0123456789");
  listener.close();
  await serving;
});

/** A connection whose peer sends `size` pattern bytes and then closes; `sending` settles when it is done. */
async function patternDownload(size: number) {
  const listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const sending = (async () => {
    await using server = await listener.accept();
    await writePattern(server.writable, size);
    await server.closed;
  })();
  const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await conn.writable.close();
  return {
    conn,
    sending,
    async [Symbol.asyncDispose]() {
      await conn[Symbol.asyncDispose]();
      await listener[Symbol.asyncDispose]();
    },
  };
}

test("a BYOB reader gets 4 MiB intact through its own odd-sized buffer", async () => {
  // Bytes go straight into the reader's buffer; what does not fit is queued,
  // in order, for the next read.
  const SIZE = 4 << 20;
  await using download = await patternDownload(SIZE);
  const { conn, sending } = download;
  const reader = conn.readable.getReader({ mode: "byob" });
  const hash = createHash("sha256");
  let buffer = new ArrayBuffer(3001);
  let bytes = 0;
  let reads = 0;
  for (;;) {
    const { value, done } = await within(reader.read(new Uint8Array(buffer)), 10_000, "byob read");
    if (done) break;
    assert.ok(value.byteLength > 0 && value.byteLength <= 3001);
    hash.update(value);
    bytes += value.byteLength;
    reads++;
    buffer = value.buffer as ArrayBuffer;
  }
  assert.equal(bytes, SIZE);
  assert.equal(hash.digest("hex"), patternHash(SIZE));
  assert.ok(reads >= SIZE / 3001, `${reads} reads`);
  await within(sending, 10_000, "server done");
});

test("switching from a BYOB reader to a default reader mid-stream loses no byte", async () => {
  // Bytes that arrive while the BYOB reader is busy wait for its next read;
  // a default reader that takes over must get them first, in order.
  const SIZE = 4 << 20;
  await using download = await patternDownload(SIZE);
  const { conn, sending } = download;
  const hash = createHash("sha256");
  let bytes = 0;
  const byob = conn.readable.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(65536);
  while (bytes < SIZE / 2) {
    const { value, done } = await within(byob.read(new Uint8Array(buffer)), 10_000, "byob read");
    if (done) break;
    hash.update(value);
    bytes += value.byteLength;
    buffer = value.buffer as ArrayBuffer;
  }
  byob.releaseLock();
  const reader = conn.readable.getReader();
  for (;;) {
    const { value, done } = await within(reader.read(), 10_000, "default read");
    if (done) break;
    hash.update(value);
    bytes += value.byteLength;
  }
  assert.equal(bytes, SIZE);
  assert.equal(hash.digest("hex"), patternHash(SIZE));
  await within(sending, 10_000, "server done");
});

test("a default reader that falls behind gets every byte in chunks of at most 16 KiB, and the stage empties", async () => {
  // Between reads the reader lets the event loop run, so bytes arrive while
  // no read waits: they wait in the connection's stage, and each read takes
  // a fresh chunk from it.
  const SIZE = 4 << 20;
  const before = stagedBlocks();
  await using download = await patternDownload(SIZE);
  const { conn, sending } = download;
  const reader = conn.readable.getReader();
  const hash = createHash("sha256");
  let bytes = 0, largest = 0, reads = 0;
  for (;;) {
    const { value, done } = await within(reader.read(), 10_000, "default read");
    if (done) break;
    hash.update(value);
    bytes += value.byteLength;
    largest = Math.max(largest, value.byteLength);
    if (++reads % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.equal(bytes, SIZE);
  assert.equal(hash.digest("hex"), patternHash(SIZE));
  assert.ok(largest <= 16384, `largest chunk ${largest}`);
  assert.ok(stagedBlocks() <= before, `${stagedBlocks() - before} blocks still staged`);
  await within(sending, 10_000, "server done");
});

test("a default reader's reads issued together are answered in order", async () => {
  const SIZE = 1 << 20;
  await using download = await patternDownload(SIZE);
  const { conn, sending } = download;
  const reader = conn.readable.getReader();
  const hash = createHash("sha256");
  let bytes = 0;
  for (let done = false; !done;) {
    const results = await within(Promise.all([reader.read(), reader.read(), reader.read()]), 10_000, "reads");
    for (const r of results) {
      if (r.done) {
        done = true;
        continue;
      }
      assert.ok(!done, "no bytes after the end");
      hash.update(r.value);
      bytes += r.value.byteLength;
    }
  }
  assert.equal(bytes, SIZE);
  assert.equal(hash.digest("hex"), patternHash(SIZE));
  await within(sending, 10_000, "server done");
});

test("switching from a default reader to a BYOB reader mid-stream loses no byte", async () => {
  const SIZE = 4 << 20;
  await using download = await patternDownload(SIZE);
  const { conn, sending } = download;
  const hash = createHash("sha256");
  let bytes = 0;
  const reader = conn.readable.getReader();
  while (bytes < SIZE / 2) {
    const { value, done } = await within(reader.read(), 10_000, "default read");
    if (done) break;
    hash.update(value);
    bytes += value.byteLength;
  }
  reader.releaseLock();
  const byob = conn.readable.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(5000);
  for (;;) {
    const { value, done } = await within(byob.read(new Uint8Array(buffer)), 10_000, "byob read");
    if (done) break;
    hash.update(value);
    bytes += value.byteLength;
    buffer = value.buffer as ArrayBuffer;
  }
  assert.equal(bytes, SIZE);
  assert.equal(hash.digest("hex"), patternHash(SIZE));
  await within(sending, 10_000, "server done");
});

test("canceling a readable with bytes staged gives the stage's blocks back", async () => {
  const before = stagedBlocks();
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const sending = (async () => {
    await using server = await listener.accept();
    await writePattern(server.writable, 4 << 20);
  })();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  // A BYOB reader: what arrives between its reads is staged in every runtime
  // (a default reader's bytes are queued as chunks instead in Bun).
  const reader = conn.readable.getReader({ mode: "byob" });
  const first = await within(reader.read(new Uint8Array(1000)), 10_000, "first read");
  assert.ok(!first.done);
  // Let bytes arrive with no read waiting, so that some are staged.
  for (let i = 0; i < 20 && stagedBlocks() <= before; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(stagedBlocks() > before, "bytes were staged");
  await reader.cancel();
  assert.ok(stagedBlocks() <= before, `${stagedBlocks() - before} blocks still staged`);
  // What arrives after the cancel is discarded, and counted as read: the
  // sender still gets to write everything.
  await within(sending, 10_000, "server done");
});
