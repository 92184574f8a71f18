// Copyright 2026 the utpstream authors. MIT license.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, listen, type UtpConnection } from "../mod.ts";
import { decode, encode, hashStream, patternHash, readAll, within, writePattern } from "./_helpers.ts";

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
