// Copyright 2026 the utpstream authors. MIT license.
// Patch 0025 (tail-loss probe): a lost packet at the end of what a side sends
// (the last data packet, the FIN, a server's short answer) has no later
// packets behind it to reveal the loss, so libutp waited for its
// retransmission timeout: at least 1 s (3 s before the first RTT sample), plus
// up to 500 ms until the next timeout check. With the probe it is sent again
// after about two round trips. A relay on loopback drops exactly one chosen
// packet; each test bounds the recovery at 800 ms, which fails without the
// patch (≥ 1000 ms) and leaves a wide margin over the ~50–150 ms it takes.
// Patch 0026 (TIME_WAIT): the side that acknowledges the last FIN stays to
// acknowledge it again when that ack was lost; before, the repeated FIN met a
// destroyed socket and the peer got a reset (or, once libutp's reset table was
// full, nothing for half a minute).
// Patch 0028 (RACK): when a whole burst at the end of what a side sends is
// lost, the probe's acknowledgement shows that every packet sent before the
// probe is lost too, and all are sent again at once. Before, each further
// probe recovered one packet per timeout check (50 ms), and the 1 s timeout
// never fired because every probe was acknowledged: 20 lost packets took
// about a second.
// Patch 0029 (a second probe): when the probe is lost as well, a second one
// follows; before, the 1 s retransmission timeout had to fire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { connect, listen, UtpEndpoint } from "../mod.ts";
import { readAll } from "./_helpers.ts";

const ST_DATA = 0;
const ST_FIN = 1;
const ST_STATE = 2;
const BOUND_MS = 800;

type Direction = "c2s" | "s2c";

/** A µTP packet's header fields the relay looks at. */
type Header = { type: number; seq: number; ack: number };

/** Chooses the packets to drop; it sees every µTP packet. */
type DropChoice = (header: Header, direction: Direction) => boolean;

/** Drops the first packet of `type` sent in `direction`. */
function firstOf(direction: Direction, type: number): DropChoice {
  let done = false;
  return (h, d) => !done && d === direction && h.type === type && (done = true);
}

/** Drops the first `n` transmissions of the first packet of `type` sent in `direction`. */
function firstOfTimes(direction: Direction, type: number, n: number): DropChoice {
  let seq = -1;
  let left = n;
  return (h, d) => {
    if (left === 0 || d !== direction || h.type !== type) return false;
    if (seq < 0) seq = h.seq;
    if (h.seq !== seq) return false;
    left--;
    return true;
  };
}

/** Drops, once armed, the first transmissions of the client's next `n` data packets. */
class BurstDrop {
  #left = 0;
  readonly #seen = new Set<number>();

  arm(n: number): void {
    this.#left = n;
  }

  readonly choose: DropChoice = (h, d) => {
    if (d !== "c2s" || h.type !== ST_DATA) return false;
    const first = !this.#seen.has(h.seq);
    this.#seen.add(h.seq);
    if (!first || this.#left === 0) return false;
    this.#left--;
    return true;
  };
}

/**
 * Drops every acknowledgement of the server's FIN until the server sends
 * that FIN again, so only a socket still there to acknowledge the repeated
 * FIN lets the server finish.
 */
function acksOfServerFin(): DropChoice {
  let finSeq = -1;
  let repeated = false;
  return (h, d) => {
    if (d === "s2c" && h.type === ST_FIN) {
      repeated = finSeq === h.seq;
      finSeq = h.seq;
    }
    return d === "c2s" && h.type === ST_STATE && finSeq >= 0 && h.ack === finSeq && !repeated;
  };
}

/** A loopback UDP forwarder that drops the chosen µTP packets. */
class OneDropRelay {
  dropped = 0;
  /** Milliseconds every forwarded datagram is held first (0: forwarded at once). */
  delayMs = 0;
  #sock: Socket;
  #clientPort = 0;

  private constructor(sock: Socket, serverPort: number, choose: DropChoice) {
    this.#sock = sock;
    sock.on("message", (msg: Uint8Array, rinfo: { port: number }) => {
      if (rinfo.port !== serverPort && this.#clientPort === 0) this.#clientPort = rinfo.port;
      const fromServer = rinfo.port === serverPort;
      const to = fromServer ? this.#clientPort : serverPort;
      if (to === 0) return;
      if (msg.length >= 20 && (msg[0] & 0x0f) === 1) {
        const header = { type: msg[0] >> 4, seq: (msg[16] << 8) | msg[17], ack: (msg[18] << 8) | msg[19] };
        if (choose(header, fromServer ? "s2c" : "c2s")) {
          this.dropped++;
          return;
        }
      }
      if (this.delayMs > 0) setTimeout(() => sock.send(msg, to, "127.0.0.1"), this.delayMs);
      else sock.send(msg, to, "127.0.0.1");
    });
  }

  static async start(serverPort: number, choose: DropChoice): Promise<OneDropRelay> {
    const sock = createSocket("udp4");
    // A datagram sent to a port that has closed comes back as an ICMP error, which Bun
    // reports as an "error" event (unhandled, it throws): not a failure here.
    sock.on("error", () => {});
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
    return new OneDropRelay(sock, serverPort, choose);
  }

  get port(): number {
    return this.#sock.address().port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#sock.close(() => resolve()));
  }
}

/** Whether a UDP socket can be bound to `port` on all IPv4 addresses. */
function portIsFree(port: number): Promise<boolean> {
  const sock = createSocket("udp4");
  return new Promise((resolve) => {
    sock.once("error", () => {
      sock.close();
      resolve(false);
    });
    sock.bind(port, "0.0.0.0", () => sock.close(() => resolve(true)));
  });
}

/** Reads exactly `n` bytes (or fewer at the end) without ending the stream. */
async function readBytes(reader: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const { value, done } = await reader.read();
    if (done) return out.subarray(0, at);
    out.set(value.subarray(0, n - at), at);
    at += value.byteLength;
  }
  return out;
}

/**
 * One request/answer exchange through a relay that drops one packet. The
 * client half-closes only once the server has the whole request, so the
 * request's last data packet is also the last packet in flight.
 */
async function exchangeThrough(
  choose: DropChoice,
  request: Uint8Array,
  answer: Uint8Array,
  client?: UtpEndpoint,
) {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const relay = await OneDropRelay.start(listener.addr.port, choose);
  try {
    let requestArrived!: () => void;
    const arrived = new Promise<void>((resolve) => requestArrived = resolve);
    const served = (async () => {
      const conn = await listener.accept({ signal: AbortSignal.timeout(10_000) });
      const reader = conn.readable.getReader();
      const got = await readBytes(reader, request.byteLength);
      const requestDone = performance.now();
      requestArrived();
      const rest = await readAll(
        new ReadableStream({
          pull: async (c) => {
            const { value, done } = await reader.read();
            if (done) c.close();
            else c.enqueue(value);
          },
        }),
      );
      const endDone = performance.now();
      const writer = conn.writable.getWriter();
      const answerStart = performance.now();
      await writer.write(answer);
      await writer.close();
      const closeDone = performance.now();
      await conn.closed;
      return { got, rest, requestDone, endDone, answerStart, closedMs: performance.now() - closeDone };
    })();
    await using conn = await connect({
      hostname: "127.0.0.1",
      port: relay.port,
      connectTimeout: 10_000,
      endpoint: client,
    });
    const writer = conn.writable.getWriter();
    const reply = readAll(conn.readable);
    const requestStart = performance.now();
    await writer.write(request);
    await arrived;
    const retransmits = conn.stats().retransmits;
    const closeStart = performance.now();
    await writer.close();
    const replied = await reply;
    const replyDone = performance.now();
    const server = await served;
    return {
      dropped: relay.dropped,
      received: server.got,
      extra: server.rest.byteLength,
      replied,
      requestMs: server.requestDone - requestStart,
      finMs: server.endDone - closeStart,
      answerMs: replyDone - server.answerStart,
      serverClosedMs: server.closedMs,
      clientPort: conn.localAddr.port,
      retransmits,
    };
  } finally {
    await relay.close();
  }
}

const REQUEST = new Uint8Array(300).map((_, i) => i);
const ANSWER = new Uint8Array(32).fill(7);

test("a lost last data packet is sent again by the tail-loss probe, well before the 1 s timeout", async () => {
  const r = await exchangeThrough(firstOf("c2s", ST_DATA), REQUEST, ANSWER);
  assert.equal(r.dropped, 1);
  assert.deepEqual(r.received, REQUEST);
  assert.equal(r.extra, 0);
  assert.deepEqual(r.replied, ANSWER);
  assert.ok(r.retransmits >= 1, `retransmits: ${r.retransmits}`);
  assert.ok(r.requestMs < BOUND_MS, `the request took ${r.requestMs.toFixed(0)} ms`);
});

test("a lost last data packet whose first probe is lost too is sent again by a second probe", async () => {
  const r = await exchangeThrough(firstOfTimes("c2s", ST_DATA, 2), REQUEST, ANSWER);
  assert.equal(r.dropped, 2);
  assert.deepEqual(r.received, REQUEST);
  assert.equal(r.extra, 0);
  assert.deepEqual(r.replied, ANSWER);
  assert.ok(r.retransmits >= 2, `retransmits: ${r.retransmits}`);
  assert.ok(r.requestMs < BOUND_MS, `the request took ${r.requestMs.toFixed(0)} ms`);
});

/**
 * Sends 256 KiB, then 20 full packets (1382 payload bytes each on loopback)
 * whose first transmissions are all lost, with nothing sent after them.
 * With `slowWarmUpMs`, the relay holds every datagram that long while the
 * 256 KiB flow, and forwards at once from the burst on. Returns how long the
 * burst took to arrive, and how many packets were lost.
 */
async function lostBurst(slowWarmUpMs = 0): Promise<{ ms: number; dropped: number }> {
  const warmUp = new Uint8Array(256 * 1024).map((_, i) => i & 0xff);
  const burst = new Uint8Array(20 * 1382).map((_, i) => (i * 7) & 0xff);
  const drops = new BurstDrop();
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const relay = await OneDropRelay.start(listener.addr.port, drops.choose);
  relay.delayMs = slowWarmUpMs;
  try {
    let warmedUp!: () => void;
    const warm = new Promise<void>((resolve) => warmedUp = resolve);
    const served = (async () => {
      await using conn = await listener.accept({ signal: AbortSignal.timeout(10_000) });
      const reader = conn.readable.getReader();
      const first = await readBytes(reader, warmUp.byteLength);
      warmedUp();
      const second = await readBytes(reader, burst.byteLength);
      return { first, second, at: performance.now() };
    })();
    await using conn = await connect({ hostname: "127.0.0.1", port: relay.port, connectTimeout: 10_000 });
    const writer = conn.writable.getWriter();
    await writer.write(warmUp);
    await warm;
    relay.delayMs = 0;
    drops.arm(24);
    const start = performance.now();
    await writer.write(burst);
    const got = await served;
    assert.deepEqual(got.first, warmUp);
    assert.deepEqual(got.second, burst);
    assert.ok(relay.dropped >= 16, `dropped: ${relay.dropped}`);
    return { ms: got.at - start, dropped: relay.dropped };
  } finally {
    await relay.close();
  }
}

test("a lost burst at the end of a flight is sent again at once after one probe", async () => {
  const { ms, dropped } = await lostBurst();
  assert.ok(ms < BOUND_MS, `the burst took ${ms.toFixed(0)} ms (${dropped} packets lost)`);
});

// The round trips libutp measured while the 256 KiB flowed are 4 ms or more;
// the probe's ACK, once the path is fast again, comes back in about 1 ms.
// RACK used to take an ACK sooner than the minimum round trip for the ACK of
// an earlier copy and ignore it: the burst then went one packet per probe and
// the timeout took the rest, about 1 s (patch 0030).
test("a lost burst is sent again after one probe even when the path got faster than any round trip measured", async () => {
  const { ms, dropped } = await lostBurst(2);
  assert.ok(ms < BOUND_MS, `the burst took ${ms.toFixed(0)} ms (${dropped} packets lost)`);
});

test("a lost FIN is sent again by the tail-loss probe", async () => {
  const r = await exchangeThrough(firstOf("c2s", ST_FIN), REQUEST, ANSWER);
  assert.equal(r.dropped, 1);
  assert.deepEqual(r.received, REQUEST);
  assert.equal(r.extra, 0);
  assert.deepEqual(r.replied, ANSWER);
  assert.ok(r.finMs < BOUND_MS, `the request's end took ${r.finMs.toFixed(0)} ms`);
});

test("a server's lost answer, written after the request ended, is sent again by the probe", async () => {
  const r = await exchangeThrough(firstOf("s2c", ST_DATA), REQUEST, ANSWER);
  assert.equal(r.dropped, 1);
  assert.deepEqual(r.received, REQUEST);
  assert.deepEqual(r.replied, ANSWER);
  assert.ok(r.answerMs < BOUND_MS, `the answer took ${r.answerMs.toFixed(0)} ms`);
});

test("a server's lost FIN is sent again by the probe", async () => {
  const r = await exchangeThrough(firstOf("s2c", ST_FIN), REQUEST, ANSWER);
  assert.equal(r.dropped, 1);
  assert.deepEqual(r.replied, ANSWER);
  assert.ok(r.answerMs < BOUND_MS, `the answer's end took ${r.answerMs.toFixed(0)} ms`);
});

test("a lost ack of the last FIN is sent again from TIME_WAIT: the server closes cleanly, not reset", async () => {
  // A shared endpoint, which stays open: its socket waits in TIME_WAIT.
  // exchangeThrough awaits the server's `closed`: a reset would reject it.
  await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const r = await exchangeThrough(acksOfServerFin(), REQUEST, ANSWER, client);
  assert.ok(r.dropped >= 1, "the ack of the server's FIN was seen and dropped");
  assert.deepEqual(r.replied, ANSWER);
  assert.ok(r.serverClosedMs < BOUND_MS, `the server's close took ${r.serverClosedMs.toFixed(0)} ms`);
});

test("connect()'s own endpoint stays for TIME_WAIT too, then closes", async () => {
  // Its endpoint closes once the socket in TIME_WAIT is gone, not with the
  // connection, so the repeated FIN is acknowledged here as well.
  const r = await exchangeThrough(acksOfServerFin(), REQUEST, ANSWER);
  assert.ok(r.dropped >= 1, "the ack of the server's FIN was seen and dropped");
  assert.deepEqual(r.replied, ANSWER);
  assert.ok(r.serverClosedMs < BOUND_MS, `the server's close took ${r.serverClosedMs.toFixed(0)} ms`);
  // Then the endpoint closes: its port can be bound again. TIME_WAIT lasts two
  // retransmission timeouts (2 s here): bounded poll.
  const end = performance.now() + 6000;
  let free = await portIsFree(r.clientPort);
  while (!free && performance.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    free = await portIsFree(r.clientPort);
  }
  assert.ok(free, `the client's endpoint (port ${r.clientPort}) never closed`);
});
