// Copyright 2026 the utpstream authors. MIT license.
// Connection setup survives loss: a relay drops exactly chosen datagrams (the
// k-th of a direction) among the first few each way — the SYN and SYN-ACK,
// the initiator's confirmation, the first flight of data and its ACKs — one
// at a time and every pair of them. Each case is a whole exchange: connect,
// 12 KiB up, half-close, 12 KiB back, close; both sides must see every byte,
// and the server's accepted connection must end cleanly (accept() never hands
// out a connection the stack will discard).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, listen, UtpEndpoint } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { buildPacket, RawPeer, ST_STATE, ST_SYN } from "./_crafted.ts";
import { type Direction, type Drop, DropRelay } from "./_drop_relay.ts";
import { pattern, readAll, within } from "./_helpers.ts";

/** Datagrams per direction that may be dropped: the handshake and the first flight. */
const FIRST = 5;
const REQUEST = pattern(12 * 1024, 0x5e7);
const RESPONSE = pattern(12 * 1024, 0x2e5);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** A probe, then 1 s, 1 s, 2 s: two losses of one packet cost about 1 s; a wide bound for slow machines. */
const CASE_BOUND_MS = 25_000;
/** Cases running at once (each has its own listener, client and relay). */
const PARALLEL = 12;

const label = (drops: Drop[]) => drops.map((d) => `${d.direction}#${d.index}`).join("+");

async function exchange(drops: Drop[]): Promise<void> {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const relay = await DropRelay.start(listener.addr.port, drops);
  try {
    const server = (async () => {
      const conn = await listener.accept();
      const got = await readAll(conn.readable);
      assert.equal(got.byteLength, REQUEST.byteLength, "the server got the whole request");
      assert.equal(sha256(got), sha256(REQUEST), "the request arrived intact");
      const writer = conn.writable.getWriter();
      await writer.write(RESPONSE);
      await writer.close();
      await conn.closed;
    })();
    const client = (async () => {
      const conn = await connect({ hostname: "127.0.0.1", port: relay.port, connectTimeout: 15_000 });
      const writer = conn.writable.getWriter();
      await writer.write(REQUEST);
      await writer.close();
      const got = await readAll(conn.readable);
      assert.equal(got.byteLength, RESPONSE.byteLength, "the client got the whole response");
      assert.equal(sha256(got), sha256(RESPONSE), "the response arrived intact");
      await conn.closed;
    })();
    await within(Promise.all([server, client]), CASE_BOUND_MS, "the exchange");
  } catch (error) {
    throw new Error(`dropping ${label(drops)}: ${String(error)}; ${relay.describe()}`, { cause: error });
  } finally {
    relay.close();
  }
}

/** Runs every case, PARALLEL at a time; fails with the list of failed cases. */
async function runAll(cases: Drop[][]): Promise<void> {
  const failures: string[] = [];
  for (let i = 0; i < cases.length; i += PARALLEL) {
    const results = await Promise.allSettled(cases.slice(i, i + PARALLEL).map(exchange));
    for (const r of results) if (r.status === "rejected") failures.push(String((r.reason as Error).message));
  }
  assert.deepEqual(
    failures,
    [],
    `${failures.length} of ${cases.length} cases failed:\n${failures.join("\n")}`,
  );
}

const positions: Drop[] = (["c2s", "s2c"] as Direction[]).flatMap((direction) =>
  Array.from({ length: FIRST }, (_, i) => ({ direction, index: i + 1 }))
);

test(`setup survives the loss of any one of the first ${FIRST} datagrams each way`, async () => {
  await runAll(positions.map((p) => [p]));
});

test(`setup survives the loss of any two of the first ${FIRST} datagrams each way`, async () => {
  const pairs: Drop[][] = [];
  for (let i = 0; i < positions.length; i++) {
    for (let j = i + 1; j < positions.length; j++) pairs.push([positions[i]!, positions[j]!]);
  }
  assert.equal(pairs.length, 45);
  await runAll(pairs);
});

test("control: the same exchange with nothing dropped", async () => {
  await exchange([]);
});

test("a listener with no connection yet re-sends its SYN-ACK, then expires the half-open socket", async () => {
  await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  await using _listener = endpoint.listen();
  const peer = await RawPeer.open();
  try {
    // A SYN whose sender never answers: the SYN-ACK comes, then comes again.
    await peer.send(buildPacket({ type: ST_SYN, connId: 0x2222, seq: 9, ack: 0 }), endpoint.addr.port);
    const first = await peer.next((p) => p.type === ST_STATE && p.ack === 9, 3000);
    assert.ok(first, "no SYN-ACK");
    const again = await peer.next(
      (p) => p.type === ST_STATE && p.ack === 9,
      4000,
      peer.received.indexOf(first) + 1,
    );
    assert.ok(again, "the SYN-ACK was not re-sent");
    assert.equal(again.seq, first.seq, "the same SYN-ACK");
    assert.equal((await nativeCounts(endpoint)).sockets, 1);
    // It expires 7 s after the SYN (500 ms checks): bounded poll.
    const end = performance.now() + 10_000;
    while (performance.now() < end && (await nativeCounts(endpoint)).sockets > 0) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await nativeCounts(endpoint)).sockets, 0, "the half-open socket never expired");
  } finally {
    peer.close();
  }
});

test("a lost SYN or SYN-ACK costs one probe (about 200 ms), not the 1 s timeout", async () => {
  // Patch 0027. Without it the first re-send waited the whole 1 s timeout.
  for (const drop of [{ direction: "c2s", index: 1 }, { direction: "s2c", index: 1 }] as Drop[]) {
    await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const relay = await DropRelay.start(listener.addr.port, [drop]);
    try {
      const accepted = listener.accept({ signal: AbortSignal.timeout(10_000) });
      const started = performance.now();
      await using conn = await connect({ hostname: "127.0.0.1", port: relay.port, connectTimeout: 10_000 });
      const connectMs = performance.now() - started;
      await using _server = await accepted;
      assert.ok(connectMs < 800, `dropping ${label([drop])}: connecting took ${connectMs.toFixed(0)} ms`);
      assert.ok(conn.stats().retransmits >= 1, `dropping ${label([drop])}: the SYN was not sent again`);
    } finally {
      relay.close();
    }
  }
});

test("an unanswered SYN is sent again at about 0.2 s, 1 s and 2 s: two lost SYNs cost 2 s, not 3 s", async () => {
  const peer = await RawPeer.open(); // a port that never answers
  try {
    const dialing = connect({ hostname: "127.0.0.1", port: peer.port, connectTimeout: 2600 });
    dialing.catch(() => {}); // awaited below
    const syns: number[] = [];
    let from = 0;
    for (let i = 0; i < 4; i++) {
      const syn = await peer.next((p) => p.type === ST_SYN, 3000, from);
      if (!syn) break;
      syns.push(performance.now());
      from = peer.received.indexOf(syn) + 1;
    }
    const after = syns.map((t) => Math.round(t - syns[0]!));
    assert.equal(syns.length, 4, `SYNs seen at ${after.join(", ")} ms`);
    assert.ok(after[1]! < 600, `the probe came at ${after[1]} ms`);
    assert.ok(after[3]! < 2600, `the third re-send came at ${after[3]} ms (3000 with a doubled second wait)`);
    await assert.rejects(dialing, (e: unknown) => (e as { code?: string }).code === "ETIMEDOUT");
  } finally {
    peer.close();
  }
});
