// Copyright 2026 the utpstream authors. MIT license.
// Every limit that refuses a connection refuses it out loud: the SYN is
// answered with a reset, so the dialer's connect() fails with ECONNREFUSED in
// one round trip instead of waiting for its timeout (which would fail with
// ETIMEDOUT). Limits: the backlog of half-open handshakes, the endpoint's
// maxSockets, the listener's maxConnections (features_test.ts), and the
// accept queue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, listen, type UtpConnection, UtpEndpoint, UtpError } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { buildPacket, RawPeer, ST_STATE, ST_SYN } from "./_crafted.ts";
import { within } from "./_helpers.ts";

const isCode = (code: string) => (e: unknown) => e instanceof UtpError && e.code === code;

/** Polls until `check` holds (bounded); returns whether it did. */
async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

test("a full backlog refuses the next SYN with a reset (ECONNREFUSED)", async () => {
  await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1", backlog: 1 });
  await using _listener = endpoint.listen();
  const peer = await RawPeer.open();
  try {
    // One handshake that never completes fills the backlog of 1.
    await peer.send(buildPacket({ type: ST_SYN, connId: 0x1234, seq: 77, ack: 0 }), endpoint.addr.port);
    assert.ok(await peer.next((p) => p.type === ST_STATE && p.ack === 77, 3000), "no SYN-ACK");
    await assert.rejects(
      connect({ hostname: "127.0.0.1", port: endpoint.addr.port, connectTimeout: 5000 }),
      isCode("ECONNREFUSED"),
    );
  } finally {
    peer.close();
  }
});

test("maxSockets: incoming SYNs beyond it are refused, outgoing connects fail with EMFILE", async () => {
  await using server = await UtpEndpoint.bind({ hostname: "127.0.0.1", maxSockets: 2 });
  const listener = server.listen();
  const port = server.addr.port;
  const a = await connect({ hostname: "127.0.0.1", port });
  const b = await connect({ hostname: "127.0.0.1", port });
  const sa = await within(listener.accept(), 5000, "accept a");
  const sb = await within(listener.accept(), 5000, "accept b");
  await assert.rejects(
    connect({ hostname: "127.0.0.1", port, connectTimeout: 5000 }),
    isCode("ECONNREFUSED"),
  );
  await assert.rejects(
    server.connect({ hostname: "127.0.0.1", port: a.localAddr.port, connectTimeout: 5000 }),
    (e: unknown) => isCode("EMFILE")(e) && /maxSockets/.test((e as Error).message),
  );
  // Once a socket is freed, there is room again.
  a.close();
  sa.close();
  await within(Promise.all([a.closed, sa.closed]), 5000, "a closes");
  assert.ok(
    await eventually(async () => (await nativeCounts(server)).sockets <= 1, 5000),
    "a's socket freed",
  );
  const c = await connect({ hostname: "127.0.0.1", port, connectTimeout: 5000 });
  const sc = await within(listener.accept(), 5000, "accept c");
  for (const conn of [b, sb, c, sc]) conn.close();
  await within(Promise.all([b.closed, sb.closed, c.closed, sc.closed]), 5000, "the rest close");
  listener.close();
});

test("maxSockets is validated", async () => {
  await assert.rejects(UtpEndpoint.bind({ maxSockets: 0 }), RangeError);
  await assert.rejects(UtpEndpoint.bind({ maxSockets: 1.5 }), TypeError);
  await assert.rejects(UtpEndpoint.bind({ maxSockets: 1 << 20 }), /maxSockets must be between 1 and 1048575/);
});

test("a full accept queue refuses new SYNs; accepting from it lets them in again", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0, backlog: 16 });
  const port = listener.addr.port;
  const clients: UtpConnection[] = [];
  let refused = 0;
  // The queue holds twice the backlog of established connections nobody accepted; dial past it.
  for (let i = 0; i < 40; i++) {
    try {
      clients.push(await connect({ hostname: "127.0.0.1", port, connectTimeout: 5000 }));
    } catch (error) {
      assert.ok(isCode("ECONNREFUSED")(error), `dial ${i} failed with ${String(error)}`);
      refused++;
    }
  }
  assert.ok(refused >= 1, "the queue never filled");
  assert.ok(clients.length >= 32, `only ${clients.length} connected`);
  // Every connected client is waiting in the queue: none was dropped.
  const accepted: UtpConnection[] = [];
  for (let i = 0; i < clients.length; i++) {
    accepted.push(await within(listener.accept(), 5000, `accept ${i}`));
  }
  const late = await connect({ hostname: "127.0.0.1", port, connectTimeout: 5000 });
  accepted.push(await within(listener.accept(), 5000, "accept after the queue drained"));
  for (const conn of [...clients, ...accepted, late]) conn.close();
  await within(Promise.all([...clients, late].map((c) => c.closed.catch(() => {}))), 10_000, "clients close");
});
