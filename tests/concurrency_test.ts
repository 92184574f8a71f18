// Copyright 2026 the utpstream authors. MIT license.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, listen, UtpEndpoint } from "../mod.ts";
import { decode, encode, pattern, readAll, within } from "./_helpers.ts";

test("50 concurrent connections on one listener carry distinct data without mixing", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      // Echo each connection's bytes back on the same connection.
      conn.readable.pipeTo(conn.writable).catch(() => {});
    }
  })();
  const COUNT = 50;
  const SIZE = 256 * 1024;
  const clients = Array.from({ length: COUNT }, async (_, i) => {
    const conn = await connect({
      hostname: "127.0.0.1",
      port: listener.addr.port,
      signal: AbortSignal.timeout(10000),
    });
    const data = pattern(SIZE, i + 1);
    const writer = conn.writable.getWriter();
    const writing = writer.write(data).then(() => writer.close());
    const back = await readAll(conn.readable);
    await writing;
    conn.close();
    await conn.closed.catch(() => {});
    return { i, back, data };
  });
  const results = await within(Promise.all(clients), 60000, "50 echo clients");
  for (const { i, back, data } of results) {
    assert.equal(back.byteLength, SIZE, `connection ${i} length`);
    assert.deepEqual(back, data, `connection ${i} carried someone else's bytes`);
  }
  listener.close();
  await serving;
});

test("one endpoint listens and dials from the same port", async () => {
  await using a = await UtpEndpoint.bind({ hostname: "127.0.0.1", port: 0 });
  await using b = await UtpEndpoint.bind({ hostname: "127.0.0.1", port: 0 });
  const listenerA = a.listen();
  const listenerB = b.listen();
  // B accepts from A, and A accepts from B: both dials leave from the listening port.
  const acceptedByB = listenerB.accept();
  const acceptedByA = listenerA.accept();
  const aToB = await a.connect({ hostname: "127.0.0.1", port: b.addr.port });
  const bToA = await b.connect({ hostname: "127.0.0.1", port: a.addr.port });
  const atB = await within(acceptedByB, 5000, "accept at B");
  const atA = await within(acceptedByA, 5000, "accept at A");
  assert.equal(atB.remoteAddr.port, a.addr.port, "A dialed from its listening port");
  assert.equal(atA.remoteAddr.port, b.addr.port, "B dialed from its listening port");
  const send = async (from: typeof aToB, text: string) => {
    const w = from.writable.getWriter();
    await w.write(encode(text));
    await w.close();
  };
  await Promise.all([send(aToB, "a->b"), send(bToA, "b->a")]);
  assert.equal(decode(await within(readAll(atB.readable), 5000, "read at B")), "a->b");
  assert.equal(decode(await within(readAll(atA.readable), 5000, "read at A")), "b->a");
});
