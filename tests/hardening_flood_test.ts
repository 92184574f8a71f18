// Copyright 2026 the utpstream authors. MIT license.
// SYN flood: crafted SYNs from many source ports, none of which ever
// completes its handshake, hit a listener while an established connection
// moves 8 MiB. The half-open state stays within the documented bound (the
// `backlog` option: the shim ignores a SYN once `backlog` accepted sockets are
// still handshaking), the transfer completes intact, the half-open sockets
// expire (libutp drops a socket in CS_SYN_RECV at its first retransmission
// timeout, 3 s, checked every 500 ms), and a legitimate client gets in after.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { connect, type UtpConnection, UtpEndpoint, UtpError } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { buildPacket, parsePacket, ST_STATE, ST_SYN } from "./_crafted.ts";
import { decode, encode, hashStream, pattern, readAll, within } from "./_helpers.ts";

const BACKLOG = 16;
/** Flooding sockets, each its own source port. */
const FLOOD_SOCKETS = 64;
/** Pause between flood rounds (each socket sends one SYN per round, with a fresh connection id). */
const ROUND_MS = 10;
/** The flood lasts at least this long (beyond one half-open expiry) and until the transfer is done. */
const FLOOD_MIN_MS = 4000;
const FLOOD_MAX_MS = 30_000;
const SIZE = 8 << 20;
/** Bound on the half-open expiry asserted below: libutp's 3 s SYN-ACK timeout, 500 ms checks, slack. */
const EXPIRY_BOUND_MS = 6000;

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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

test(`SYN flood: half-open sockets stay within backlog ${BACKLOG}, a transfer completes, half-open ones expire`, async () => {
  await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1", backlog: BACKLOG });
  const listener = endpoint.listen();
  const port = endpoint.addr.port;
  const sockets = async () => (await nativeCounts(endpoint)).sockets;

  // The legitimate connection is established before the flood starts.
  const acceptedLegit = listener.accept();
  await using client = await connect({ hostname: "127.0.0.1", port, connectTimeout: 5000 });
  const server = await within(acceptedLegit, 5000, "accept the legitimate client");

  // Every flood SYN the shim lets in is offered to the application as an
  // accepted connection; it never gets data. Record how each one ends.
  const flood: { remote: number; acceptedAt: number; endedAt?: number; error?: unknown }[] = [];
  const floodEnded: Promise<void>[] = [];
  let takeNext: ((conn: UtpConnection) => void) | undefined;
  const serving = (async () => {
    for await (const conn of listener) {
      if (takeNext) {
        takeNext(conn);
        takeNext = undefined;
        continue;
      }
      const entry: (typeof flood)[number] = { remote: conn.remoteAddr.port, acceptedAt: performance.now() };
      flood.push(entry);
      floodEnded.push(
        conn.closed.then(
          () => {
            entry.endedAt = performance.now();
          },
          (error) => {
            entry.endedAt = performance.now();
            entry.error = error;
          },
        ),
      );
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
  for (let i = 0; i < FLOOD_SOCKETS; i++) {
    const s = createSocket("udp4");
    await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", () => resolve()));
    s.on("message", (msg: Uint8Array) => {
      if (parsePacket(new Uint8Array(msg))?.type === ST_STATE) synAcks++;
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

    // Keep flooding past one half-open expiry, so refills are covered by the bound too.
    while (performance.now() - floodStart < FLOOD_MIN_MS) await new Promise((r) => setTimeout(r, 50));
    flooding = false;
    await firing;
    sampling = false;
    await sampler;

    // The bound: at most `backlog` half-open sockets beside the live connection.
    const live = 1;
    console.log(
      `SYN flood: ${synsSent} SYNs from ${FLOOD_SOCKETS} ports in ${
        (lastSynAt - floodStart).toFixed(0)
      } ms, ` +
        `${synAcks} SYN-ACKs, ${flood.length} half-open accepted; max native sockets ${maxSockets} ` +
        `(backlog ${BACKLOG} + ${live} live); 8 MiB transfer took ${
          transferMs.toFixed(0)
        } ms (paced) under flood`,
    );
    assert.ok(maxSockets <= BACKLOG + live, `${maxSockets} native sockets, bound ${BACKLOG + live}`);
    assert.ok(synsSent > 10 * synAcks, `the flood was not refused: ${synsSent} SYNs, ${synAcks} SYN-ACKs`);

    // Half-open sockets expire on their own; measure how long they lived.
    const drainStart = performance.now();
    for (let i = 0; i < EXPIRY_BOUND_MS / 20 && (await sockets()) > live; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const remaining = (await sockets()) - live;
    assert.equal(
      remaining,
      0,
      `${remaining} half-open sockets still alive ${(performance.now() - lastSynAt).toFixed(0)} ms ` +
        `after the last SYN (they never expire: a CS_SYN_RECV socket has no retransmission timer)`,
    );
    await within(Promise.all(floodEnded), 2000, "accepted half-open connections settle");
    const lifetimes = flood.map((f) => f.endedAt! - f.acceptedAt);
    console.log(
      `half-open expiry: ${flood.length} sockets lived ${Math.min(...lifetimes).toFixed(0)}-` +
        `${Math.max(...lifetimes).toFixed(0)} ms (median ${median(lifetimes).toFixed(0)} ms); ` +
        `backlog empty ${(performance.now() - lastSynAt).toFixed(0)} ms after the last SYN ` +
        `(${(performance.now() - drainStart).toFixed(0)} ms of polling)`,
    );
    for (const f of flood) {
      assert.ok(
        f.error instanceof UtpError && f.error.code === "ETIMEDOUT",
        `a half-open connection ended with ${String(f.error)}`,
      );
    }
    assert.ok(
      Math.max(...lifetimes) <= EXPIRY_BOUND_MS,
      `a half-open socket lived ${Math.max(...lifetimes)} ms`,
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
