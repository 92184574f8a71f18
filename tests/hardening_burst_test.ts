// Copyright 2026 the utpstream authors. MIT license.
// SYN burst: many clients, each with its own endpoint (its own port), connect
// to one listener at the same moment, without spacing. Every client gets in,
// and every byte comes back on the connection that sent it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, listen } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { pattern, readAll, within } from "./_helpers.ts";

const CLIENTS = 200;
const SIZE = 16 * 1024;

test(`SYN burst: ${CLIENTS} clients connect at once; none is lost, no bytes mix`, async () => {
  const baseline = (await nativeCounts()).sockets;
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const handlers: Promise<void>[] = [];
  const serving = (async () => {
    // Accept concurrently: each connection is served on its own while the
    // loop goes back to accept the next (the listener queues at most 128).
    for await (const conn of listener) {
      accepted++;
      handlers.push(conn.readable.pipeTo(conn.writable).catch(() => {}));
    }
  })();
  const started = Date.now();
  // All connects start in the same turn of the event loop.
  const clients = Array.from({ length: CLIENTS }, async (_, i) => {
    const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port, connectTimeout: 10000 });
    const data = pattern(SIZE, 1000 + i);
    const writer = conn.writable.getWriter();
    const writing = writer.write(data).then(() => writer.close());
    const back = await readAll(conn.readable);
    await writing;
    conn.close();
    await conn.closed.catch(() => {});
    return { i, back, data };
  });
  const settled = await within(Promise.allSettled(clients), 30000, `${CLIENTS} burst clients`);
  const failed = settled.filter((r) => r.status === "rejected");
  assert.equal(
    failed.length,
    0,
    `clients lost: ${failed.map((r) => String((r as PromiseRejectedResult).reason))}`,
  );
  for (const r of settled) {
    const { i, back, data } = (r as PromiseFulfilledResult<{ i: number; back: Uint8Array; data: Uint8Array }>)
      .value;
    assert.equal(back.byteLength, SIZE, `client ${i} length`);
    assert.deepEqual(back, data, `client ${i} got someone else's bytes`);
  }
  assert.equal(accepted, CLIENTS);
  console.log(`SYN burst: ${CLIENTS} clients echoed ${SIZE} bytes each in ${Date.now() - started} ms`);
  await within(Promise.all(handlers), 10000, "server handlers");
  listener.close();
  await serving;
  // Bounded polling: the accepted sockets go away once both sides closed.
  const deadline = Date.now() + 5000;
  while ((await nativeCounts()).sockets > baseline && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await nativeCounts()).sockets, baseline, "native sockets left behind");
});
