// Copyright 2026 the utpstream authors. MIT license.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, listen } from "../mod.ts";
import { decode, encode, hashStream, patternHash, readAll, within, writePattern } from "./_helpers.ts";

const SIZE = 64 << 20;

test("64 MiB client to server arrives intact (SHA-256)", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    const result = await hashStream(conn.readable);
    conn.close();
    return result;
  })();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await within(writePattern(conn.writable, SIZE), 60000, "client write");
  const got = await within(received, 60000, "server read");
  assert.equal(got.bytes, SIZE);
  assert.equal(got.sha256, patternHash(SIZE));
});

test("64 MiB server to client arrives intact (SHA-256)", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const sent = (async () => {
    const conn = await listener.accept();
    await writePattern(conn.writable, SIZE);
    await conn.closed;
  })();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const got = await within(hashStream(conn.readable), 60000, "client read");
  conn.close();
  await within(sent, 10000, "server close");
  assert.equal(got.bytes, SIZE);
  assert.equal(got.sha256, patternHash(SIZE));
});

test("the accepting side can write first, before the client sends anything", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const greeting = (async () => {
    const conn = await listener.accept();
    const writer = conn.writable.getWriter();
    await writer.write(encode("220 welcome\r\n"));
    // keep the write side open: the greeting must arrive without a FIN
    return { conn, writer };
  })();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const reader = conn.readable.getReader();
  const first = await within(reader.read(), 5000, "greeting");
  assert.equal(decode(first.value!), "220 welcome\r\n");
  const server = await greeting;
  await server.writer.close();
  const end = await within(reader.read(), 5000, "end of stream");
  assert.equal(end.done, true);
  server.conn.close();
});

test("closeWrite half-closes: the peer sees EOF and can still answer", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const conn = await listener.accept();
    const request = await readAll(conn.readable); // ends at the client's FIN
    const writer = conn.writable.getWriter();
    await writer.write(encode(`got ${request.byteLength} bytes: ${decode(request)}`));
    await writer.close();
    await conn.closed;
  })();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const writer = conn.writable.getWriter();
  await writer.write(encode("question"));
  writer.releaseLock();
  await conn.closeWrite();
  const answer = await within(readAll(conn.readable), 5000, "answer after half-close");
  assert.equal(decode(answer), "got 8 bytes: question");
  conn.close();
  await within(conn.closed, 5000, "client closed");
  await within(server, 5000, "server closed");
});

test("the last bytes of a transfer arrive promptly (no tail stall)", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    const data = await hashStream(conn.readable);
    conn.close();
    return data;
  })();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  // An odd size leaves a short final packet behind many full ones.
  const size = (4 << 20) + 777;
  await writePattern(conn.writable, size);
  // libutp alone would hold the short packet and the FIN for up to 500 ms
  // per write; 20 consecutive transfers would then take many seconds.
  const got = await within(received, 3000, "tail delivery");
  assert.equal(got.bytes, size);
  assert.equal(got.sha256, patternHash(size));
});

test("writes larger than the send buffer wait for room; small, large and empty writes arrive intact, in order", async () => {
  // A 4 KiB send buffer takes small writes whole and large ones in parts:
  // both ways through the writable's sink, interleaved.
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    const bytes = await readAll(conn.readable);
    conn.close();
    return bytes;
  })();
  await using conn = await connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    sendBufferBytes: 4096,
  });
  const sizes = [1, 100_000, 0, 7, 1400, 65_536, 0, 3, 250_000, 1];
  const writer = conn.writable.getWriter();
  const sent: Uint8Array[] = [];
  let seed = 0;
  for (const size of sizes) {
    const chunk = new Uint8Array(size).map(() => (seed = (seed * 33 + 7) & 0xff));
    sent.push(chunk.slice());
    await within(writer.write(chunk), 10000, `write of ${size} bytes`);
  }
  await within(writer.close(), 10000, "close");
  const got = await within(received, 20000, "read");
  const expected = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const chunk of sent) {
    expected.set(chunk, at);
    at += chunk.byteLength;
  }
  assert.equal(got.byteLength, expected.byteLength);
  assert.deepEqual(got, expected);
});
