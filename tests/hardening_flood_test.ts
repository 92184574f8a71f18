// Copyright 2026 the utpstream authors. MIT license.
// SYN flood: crafted SYNs from many source ports, none of which ever
// completes its handshake, hit a listener while an established connection
// moves 8 MiB. The half-open state stays within the documented bound (the
// `backlog` option: once `backlog` accepted sockets are still handshaking the
// shim refuses further SYNs with a reset), the application is never handed a
// half-open connection (accept() yields a connection once its initiator
// confirmed the handshake), the transfer completes intact, the half-open
// sockets expire (a CS_SYN_RECV socket re-sends its SYN-ACK after 1 and 3 s
// and expires at 7 s, checked every 500 ms), and a legitimate client gets in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { connect, type UtpConnection, UtpEndpoint, UtpError } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { buildPacket, parsePacket, ST_RESET, ST_STATE, ST_SYN } from "./_crafted.ts";
import { decode, encode, hashStream, pattern, readAll, within } from "./_helpers.ts";

const BACKLOG = 16;
/** Flooding sockets, each its own source port. */
const FLOOD_SOCKETS = 64;
/** Pause between flood rounds (each socket sends one SYN per round, with a fresh connection id). */
const ROUND_MS = 10;
/** The flood lasts at least this long (beyond one half-open expiry) and until the transfer is done. */
const FLOOD_MIN_MS = 8000;
const FLOOD_MAX_MS = 30_000;
const SIZE = 8 << 20;
/** Bound on the half-open expiry asserted below: 7 s without an answer, 500 ms checks, slack. */
const EXPIRY_BOUND_MS = 9000;

const DATA = pattern(SIZE, 0xf100d);
const DATA_SHA256 = createHash("sha256").update(DATA).digest("hex");
/** The transfer goes in chunks with pauses, so it lasts through the flood. */
const CHUNK = 64 * 1024;
const CHUNK_PAUSE_MS = 30;

async function pacedWrite(writable: WritableStream<Uint8Array>, data: Uint8Array): Promise<void> {
  const writer = writable.getWriter();
  for (let off = 0; off < data.byteLength; off += CHUNK) {
    await writer.write(data.subarray(off, off + CHUNK));
    await new Promise((r) => setTimeout(r, CHUNK_PAUSE_MS)); // pacing, not synchronisation
  }
  await writer.close();
}

test(`SYN flood: half-open sockets stay within backlog ${BACKLOG}, a transfer completes, half-open ones expire`, async () => {
  await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1", backlog: BACKLOG });
  const listener = endpoint.listen();
  const port = endpoint.addr.port;
  const sockets = async () => (await nativeCounts(endpoint)).sockets;

  // The legitimate connection is established before the flood starts.
  const acceptedLegit = listener.accept();
  await using client = await connect({ hostname: "127.0.0.1", port, connectTimeout: 5000 });
  const server = await within(acceptedLegit, 5000, "accept the legitimate client");

  // No flood SYN ever completes its handshake, so the application must never
  // be handed one of them. Record anything accept() yields.
  const flood: number[] = [];
  let takeNext: ((conn: UtpConnection) => void) | undefined;
  const serving = (async () => {
    for await (const conn of listener) {
      if (takeNext) {
        takeNext(conn);
        takeNext = undefined;
        continue;
      }
      flood.push(conn.remoteAddr.port);
      conn.close();
    }
  })();

  // Sample the native socket count while the flood runs.
  let maxSockets = 0;
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; sampling && i < 10_000; i++) {
      maxSockets = Math.max(maxSockets, await sockets());
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const attackers: Socket[] = [];
  let synAcks = 0;
  let resets = 0;
  for (let i = 0; i < FLOOD_SOCKETS; i++) {
    const s = createSocket("udp4");
    await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", () => resolve()));
    s.on("message", (msg: Uint8Array) => {
      const type = parsePacket(new Uint8Array(msg))?.type;
      if (type === ST_STATE) synAcks++;
      else if (type === ST_RESET) resets++;
    });
    attackers.push(s);
  }
  let synsSent = 0;
  let lastSynAt = 0;
  let flooding = true;
  const floodStart = performance.now();
  let seed = 0x5eed;
  const rand16 = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  const firing = (async () => {
    while (flooding && performance.now() - floodStart < FLOOD_MAX_MS) {
      await Promise.all(attackers.map((s) =>
        new Promise<void>((resolve) => {
          const syn = buildPacket({ type: ST_SYN, connId: rand16(), seq: rand16(), ack: 0 });
          s.send(syn, port, "127.0.0.1", () => resolve());
        })
      ));
      synsSent += attackers.length;
      lastSynAt = performance.now();
      await new Promise((r) => setTimeout(r, ROUND_MS));
    }
  })();

  try {
    // The backlog fills before the transfer starts (bounded poll).
    for (let i = 0; i < 200 && (await sockets()) < BACKLOG; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok((await sockets()) >= BACKLOG, `the flood did not fill the backlog: ${await sockets()} sockets`);

    // The established connection keeps transferring through the flood: 8 MiB
    // paced over about 4 s, so it spans a half-open expiry and the refill.
    const transferStart = performance.now();
    const [, got] = await within(
      Promise.all([pacedWrite(client.writable, DATA), hashStream(server.readable)]),
      FLOOD_MAX_MS,
      "8 MiB transfer under the SYN flood",
    );
    const transferMs = performance.now() - transferStart;
    assert.equal(got.bytes, SIZE);
    assert.equal(got.sha256, DATA_SHA256, "transfer corrupted under the flood");

    // A dialer that arrives while the backlog is full is refused at once (a
    // reset), or gets in if a half-open slot just expired; it is never left
    // to wait for its connect timeout.
    const duringAccepted = new Promise<UtpConnection>((resolve) => takeNext = resolve);
    const during = await connect({ hostname: "127.0.0.1", port, connectTimeout: 8000 }).then(
      (conn) => {
        conn.close();
        return "connected";
      },
      (error) => error instanceof UtpError ? error.code : String(error),
    );
    assert.ok(
      during === "ECONNREFUSED" || during === "connected",
      `a dialer during the flood ended with ${during}`,
    );
    if (during === "connected") (await within(duringAccepted, 5000, "accept the dialer")).close();
    else takeNext = undefined;

    // Keep flooding past one half-open expiry, so refills are covered by the bound too.
    while (performance.now() - floodStart < FLOOD_MIN_MS) await new Promise((r) => setTimeout(r, 50));
    flooding = false;
    await firing;
    sampling = false;
    await sampler;

    // The bound: at most `backlog` half-open sockets beside the live connection.
    const live = during === "connected" ? 2 : 1;
    console.log(
      `SYN flood: ${synsSent} SYNs from ${FLOOD_SOCKETS} ports in ${
        (lastSynAt - floodStart).toFixed(0)
      } ms, ` +
        `${synAcks} SYN-ACKs, ${resets} resets; max native sockets ${maxSockets} ` +
        `(backlog ${BACKLOG} + ${live} live); 8 MiB transfer took ${
          transferMs.toFixed(0)
        } ms (paced) under flood`,
    );
    assert.ok(maxSockets <= BACKLOG + live, `${maxSockets} native sockets, bound ${BACKLOG + live}`);
    assert.ok(synsSent > 10 * synAcks, `the flood was not refused: ${synsSent} SYNs, ${synAcks} SYN-ACKs`);
    assert.ok(resets > 0, "refused SYNs were answered with resets");
    assert.deepEqual(flood, [], "accept() never yields a half-open connection");

    // Half-open sockets expire on their own; measure how long they lived.
    const drainStart = performance.now();
    for (let i = 0; i < EXPIRY_BOUND_MS / 20 && (await sockets()) > 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const remaining = (await sockets()) - 1;
    assert.equal(
      remaining,
      0,
      `${remaining} half-open sockets still alive ${(performance.now() - lastSynAt).toFixed(0)} ms ` +
        `after the last SYN (they never expire: a CS_SYN_RECV socket has no retransmission timer)`,
    );
    console.log(
      `half-open expiry: backlog empty ${(performance.now() - lastSynAt).toFixed(0)} ms after the last SYN ` +
        `(${(performance.now() - drainStart).toFixed(0)} ms of polling)`,
    );

    // A legitimate client gets in once the half-open sockets are gone.
    const next = new Promise<UtpConnection>((resolve) => takeNext = resolve);
    const late = await connect({ hostname: "127.0.0.1", port, connectTimeout: 5000 });
    const lateServer: UtpConnection = await within(next, 5000, "accept after the flood");
    const w = late.writable.getWriter();
    await w.write(encode("after the flood"));
    await w.close();
    assert.equal(
      decode(await within(readAll(lateServer.readable), 5000, "late client data")),
      "after the flood",
    );
    late.close();
    lateServer.close();
    server.close();
    await within(Promise.all([late.closed, lateServer.closed]), 10_000, "late connection closes");
  } finally {
    flooding = false;
    sampling = false;
    await firing;
    await sampler;
    for (const s of attackers) s.close();
    listener.close();
    await serving;
  }
});
