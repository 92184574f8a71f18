// Copyright 2026 the utpstream authors. MIT license.
// SYN burst: many clients, each with its own endpoint (its own port), connect
// to one listener at the same moment, without spacing. Every client gets in,
// and every byte comes back on the connection that sent it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, UtpEndpoint } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { pattern, readAll, within } from "./_helpers.ts";

const CLIENTS = 200;
const SIZE = 16 * 1024;

test(`SYN burst: ${CLIENTS} clients connect at once; none is lost, no bytes mix`, async () => {
  // Other tests in this process (Bun runs every file in one) may still be
  // closing sockets of their own: the baseline bounds the process-wide count,
  // and the server endpoint's own count must reach zero exactly.
  const baseline = await nativeCounts();
  await using server = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const listener = server.listen();
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
  // The clients' own endpoints close once their connections are gone; the
  // server's stays open until \`await using\` closes it: one context above.
  const released = async () => {
    const now = await nativeCounts();
    return (await nativeCounts(server)).sockets === 0 && now.sockets <= baseline.sockets &&
      now.contexts <= baseline.contexts + 1;
  };
  const deadline = Date.now() + 5000;
  while (!(await released()) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await nativeCounts(server)).sockets, 0, "the server endpoint kept native sockets");
  const after = await nativeCounts();
  assert.ok(
    after.sockets <= baseline.sockets && after.contexts <= baseline.contexts + 1,
    `native resources left behind: before ${JSON.stringify(baseline)}, after ${JSON.stringify(after)}`,
  );
});
