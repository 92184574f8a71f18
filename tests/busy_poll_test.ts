// Copyright 2026 the utpstream authors. MIT license.
// Busy polling (`busyPoll`): busy-polled endpoints carry request/response
// traffic and bulk data intact, send one datagram per message each way (the
// reply carries the ACK), stop spinning when the traffic stops, do not spin
// for a peer in their own process, close cleanly with a poll queued, and
// refuse bad values. A spin waits for a peer elsewhere, so the tests that
// need one talk to a child process. How much busy polling saves per round
// trip is measured in bench/ (the busyPoll rows), not here.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { type UdpIo, type UtpConnection, UtpEndpoint } from "../mod.ts";
import { endpointCounters, nativeCounts } from "../src/diagnostics.ts";
import { hashStream, pattern, patternHash, within } from "./_helpers.ts";
import { Child, type RuntimeName } from "./_child.ts";

const BULK = 4 << 20;

const here = globalThis as { Bun?: unknown; Deno?: unknown };
const self: RuntimeName = here.Bun !== undefined ? "bun" : here.Deno !== undefined ? "deno" : "node";
const modUrl = new URL("../mod.ts", import.meta.url).href;
const helpersUrl = new URL("./_helpers.ts", import.meta.url).href;

/**
 * A child process of this runtime with a busy-polled endpoint: it echoes the
 * first connection it accepts until EOF, then, with `bulk`, dials back the
 * port that connection came from and sends BULK bytes of the test pattern.
 * Prints `PORT <port>` first and `DONE` at the end.
 */
function echoChild(udpIo: UdpIo, busyPoll: number, bulk: boolean): Child {
  return new Child(
    self,
    `
import { UtpEndpoint } from ${JSON.stringify(modUrl)};
import { writePattern } from ${JSON.stringify(helpersUrl)};
const endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: ${
      JSON.stringify(udpIo)
    }, busyPoll: ${busyPoll} });
const listener = endpoint.listen();
console.log("PORT " + endpoint.addr.port);
const conn = await listener.accept();
const writer = conn.writable.getWriter();
for await (const chunk of conn.readable) await writer.write(chunk);
await writer.close();
if (${bulk}) {
  const up = await endpoint.connect({ hostname: "127.0.0.1", port: conn.remoteAddr.port });
  await writePattern(up.writable, ${BULK});
  await up.closed.catch(() => {});
}
console.log("DONE");
await endpoint.close();
process.exit(0);
`,
  );
}

/** Reads exactly `n` bytes. */
async function readExactly(reader: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended after ${got} of ${n} bytes`);
    out.set(value, got);
    got += value.byteLength;
  }
  return out;
}

/** Echoes everything until EOF. */
async function echo(conn: UtpConnection): Promise<void> {
  const writer = conn.writable.getWriter();
  for await (const chunk of conn.readable) await writer.write(chunk);
  await writer.close();
}

/**
 * 200 request/response exchanges of 1 to 3000 bytes with an echoing child
 * whose endpoint uses `peerIo`, each checked, then BULK bytes from the child.
 */
async function exchangeWithChild(client: UtpEndpoint, peerIo: UdpIo): Promise<void> {
  const child = echoChild(peerIo, 200, true);
  try {
    const port = Number(await within(child.line("PORT "), 30_000, "child's port"));
    // The child sends its bulk data to the port it was dialed from.
    const bulk = client.listen();
    const received = bulk.accept().then(async (c) => {
      const got = await hashStream(c.readable);
      c.close();
      return got;
    });
    const conn = await client.connect({ hostname: "127.0.0.1", port });
    const writer = conn.writable.getWriter();
    const reader = conn.readable.getReader();
    for (let i = 0; i < 200; i++) {
      const message = pattern((i * 37) % 3000 + 1, i + 1);
      await writer.write(message);
      assert.deepEqual(await within(readExactly(reader, message.byteLength), 10_000, `reply ${i}`), message);
    }
    await writer.close();
    assert.equal((await within(reader.read(), 10_000, "echo end")).done, true);
    conn.close();
    const got = await within(received, 30_000, "bulk read");
    assert.equal(got.bytes, BULK);
    assert.equal(got.sha256, patternHash(BULK));
    await within(child.line("DONE"), 30_000, "child's end");
    bulk.close();
  } finally {
    child.kill();
  }
}

for (const peerIo of ["native", "bulk"] as UdpIo[]) {
  test(`a busy-polled endpoint carries exchanges and bulk data intact (peer in a child process, udpIo "${peerIo}")`, async () => {
    await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1", busyPoll: 200 });
    assert.equal(client.busyPoll, 200);
    await exchangeWithChild(client, peerIo);
    // Closing right after traffic, with a busy poll queued, frees everything.
    await client.close();
    assert.equal((await nativeCounts(client)).contexts, 0);
  });
}

test("busy-polled request/response traffic sends one datagram per message each way", async () => {
  // Without busy polling each message costs two datagrams: the ACK of the
  // request at the end of the batch, then the reply. A busy-polled endpoint
  // holds the ACK for its queued poll, so the reply written meanwhile carries
  // it; and reading the message must not send a window update of its own
  // (libutp patch 0031): that was a third datagram per message in Bun.
  await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1", busyPoll: 50 });
  await using server = await UtpEndpoint.bind({ hostname: "127.0.0.1", busyPoll: 50 });
  const listener = server.listen();
  const served = listener.accept().then(echo);
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const writer = conn.writable.getWriter();
  const reader = conn.readable.getReader();
  // Each request goes out as soon as the reply is read (no timer per read:
  // a hop through the event loop would let the poll send the ACK first).
  const exchanges = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++) {
      const message = pattern(1 + (i % 100), i + 1);
      await writer.write(message);
      assert.deepEqual(await readExactly(reader, message.byteLength), message);
    }
  };
  await within(exchanges(0, 10), 10_000, "first exchanges"); // past the handshake and the first window updates
  const sent = () => [endpointCounters(client)!.sentDatagrams, endpointCounters(server)!.sentDatagrams];
  const [client0, server0] = sent();
  const MESSAGES = 300;
  await within(exchanges(10, MESSAGES), 30_000, "exchanges");
  const [client1, server1] = sent();
  // A few extra (a timer's ACK, a retransmission) are fine; twice as many are not.
  const bound = MESSAGES * 1.1 + 5;
  assert.ok(
    client1 - client0 <= bound,
    `client sent ${client1 - client0} datagrams for ${MESSAGES} requests`,
  );
  assert.ok(server1 - server0 <= bound, `server sent ${server1 - server0} datagrams for ${MESSAGES} replies`);
  await writer.close();
  assert.equal((await reader.read()).done, true);
  await within(served, 10_000, "echo end");
  conn.close();
  listener.close();
});

test("a busy-polled endpoint stops spinning once the traffic stops", async () => {
  // The longest spin allowed, against a peer in another process (a peer in
  // this one is not spun for): if the endpoint kept spinning, the idle
  // half-second below would cost about half a second of CPU.
  const child = echoChild("native", 10_000, false);
  try {
    const port = Number(await within(child.line("PORT "), 30_000, "child's port"));
    await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1", busyPoll: 10_000 });
    const conn = await client.connect({ hostname: "127.0.0.1", port });
    const writer = conn.writable.getWriter();
    const reader = conn.readable.getReader();
    await writer.write(pattern(100, 3));
    assert.deepEqual(await within(readExactly(reader, 100), 10_000, "first reply"), pattern(100, 3));
    // Each side spins at most 10 ms after its last traffic; then it is idle.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000;
    assert.ok(cpuMs < 150, `${cpuMs.toFixed(1)} ms of CPU in 500 idle ms`);
    // And it still answers after the pause.
    await writer.write(pattern(10, 4));
    assert.deepEqual(await within(readExactly(reader, 10), 10_000, "second reply"), pattern(10, 4));
    await writer.close();
    assert.equal((await within(reader.read(), 10_000, "echo end")).done, true);
    await within(child.line("DONE"), 10_000, "child's end");
  } finally {
    child.kill();
  }
});

test("a busy-polled endpoint does not spin for a peer in its own process", async () => {
  // The spin holds the event loop, so a peer in the same process could not
  // answer during it: each spin would last the whole window (10 ms here) and
  // make thousands of system calls. Without spinning an exchange takes a few.
  await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1", busyPoll: 10_000 });
  await using server = await UtpEndpoint.bind({ hostname: "127.0.0.1", busyPoll: 10_000 });
  const listener = server.listen();
  const served = listener.accept().then(echo);
  served.catch(() => {}); // awaited below; if an assertion fails first, the closing endpoints end it
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const writer = conn.writable.getWriter();
  const reader = conn.readable.getReader();
  const calls = () => endpointCounters(client)!.systemCalls + endpointCounters(server)!.systemCalls;
  const before = calls();
  const EXCHANGES = 50;
  for (let i = 0; i < EXCHANGES; i++) {
    const message = pattern(1 + i, i + 1);
    await writer.write(message);
    assert.deepEqual(await within(readExactly(reader, message.byteLength), 10_000, `reply ${i}`), message);
  }
  const made = calls() - before;
  assert.ok(made <= EXCHANGES * 10, `${made} system calls for ${EXCHANGES} exchanges`);
  await writer.close();
  assert.equal((await reader.read()).done, true);
  await within(served, 10_000, "echo end");
  conn.close();
  listener.close();
});

test("bad busyPoll values are refused with TypeError and RangeError", async () => {
  for (const value of ["100", 1.5, Number.NaN]) {
    await assert.rejects(UtpEndpoint.bind({ busyPoll: value as number }), TypeError, String(value));
  }
  for (const value of [-1, 10_001]) {
    await assert.rejects(UtpEndpoint.bind({ busyPoll: value }), RangeError, String(value));
  }
  await assert.rejects(
    UtpEndpoint.bind({ udpIo: "runtime", busyPoll: 50 }),
    (error: unknown) => error instanceof RangeError && /needs udpIo "native" or "bulk"/.test(error.message),
  );
  await using off = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: "runtime", busyPoll: 0 });
  assert.equal(off.busyPoll, 0);
  await using byDefault = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  assert.equal(byDefault.busyPoll, 0);
});
