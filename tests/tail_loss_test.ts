// Copyright 2026 the utpstream authors. MIT license.
// Patch 0025 (tail-loss probe): a lost packet at the end of what a side sends
// (the last data packet, the FIN, a server's short answer) has no later
// packets behind it to reveal the loss, so libutp waited for its
// retransmission timeout: at least 1 s (3 s before the first RTT sample), plus
// up to 500 ms until the next timeout check. With the probe it is sent again
// after about two round trips. A relay on loopback drops exactly one chosen
// packet; each test bounds the recovery at 800 ms, which fails without the
// patch (≥ 1000 ms) and leaves a wide margin over the ~50–150 ms it takes.
// Not covered: a socket the application has closed after the peer's FIN
// arrived is not probed (see the patch), so a server's lost last answer still
// waits for the timeout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { connect, listen } from "../mod.ts";
import { readAll } from "./_helpers.ts";

const ST_DATA = 0;
const ST_FIN = 1;
const BOUND_MS = 800;

type Direction = "c2s" | "s2c";

/** A loopback UDP forwarder that drops the first µTP packet of one type in one direction. */
class OneDropRelay {
  dropped = 0;
  #sock: Socket;
  #clientPort = 0;

  private constructor(sock: Socket, serverPort: number, direction: Direction, type: number) {
    this.#sock = sock;
    sock.on("message", (msg: Uint8Array, rinfo: { port: number }) => {
      if (rinfo.port !== serverPort && this.#clientPort === 0) this.#clientPort = rinfo.port;
      const fromServer = rinfo.port === serverPort;
      const to = fromServer ? this.#clientPort : serverPort;
      if (to === 0) return;
      const packetType = msg.length >= 20 && (msg[0] & 0x0f) === 1 ? msg[0] >> 4 : -1;
      if (this.dropped === 0 && packetType === type && fromServer === (direction === "s2c")) {
        this.dropped++;
        return;
      }
      sock.send(msg, to, "127.0.0.1");
    });
  }

  static async start(serverPort: number, direction: Direction, type: number): Promise<OneDropRelay> {
    const sock = createSocket("udp4");
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
    return new OneDropRelay(sock, serverPort, direction, type);
  }

  get port(): number {
    return this.#sock.address().port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#sock.close(() => resolve()));
  }
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
async function exchangeThrough(direction: Direction, type: number, request: Uint8Array, answer: Uint8Array) {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const relay = await OneDropRelay.start(listener.addr.port, direction, type);
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
      await conn.closed;
      return { got, rest, requestDone, endDone, answerStart };
    })();
    await using conn = await connect({ hostname: "127.0.0.1", port: relay.port, connectTimeout: 10_000 });
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
      retransmits,
    };
  } finally {
    await relay.close();
  }
}

const REQUEST = new Uint8Array(300).map((_, i) => i);
const ANSWER = new Uint8Array(32).fill(7);

test("a lost last data packet is sent again by the tail-loss probe, well before the 1 s timeout", async () => {
  const r = await exchangeThrough("c2s", ST_DATA, REQUEST, ANSWER);
  assert.equal(r.dropped, 1);
  assert.deepEqual(r.received, REQUEST);
  assert.equal(r.extra, 0);
  assert.deepEqual(r.replied, ANSWER);
  assert.ok(r.retransmits >= 1, `retransmits: ${r.retransmits}`);
  assert.ok(r.requestMs < BOUND_MS, `the request took ${r.requestMs.toFixed(0)} ms`);
});

test("a lost FIN is sent again by the tail-loss probe", async () => {
  const r = await exchangeThrough("c2s", ST_FIN, REQUEST, ANSWER);
  assert.equal(r.dropped, 1);
  assert.deepEqual(r.received, REQUEST);
  assert.equal(r.extra, 0);
  assert.deepEqual(r.replied, ANSWER);
  assert.ok(r.finMs < BOUND_MS, `the request's end took ${r.finMs.toFixed(0)} ms`);
});
