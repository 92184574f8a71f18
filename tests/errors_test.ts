// Copyright 2026 the utpstream authors. MIT license.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect, listen, UtpEndpoint, UtpError } from "../mod.ts";
import { encode, within } from "./_helpers.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { buildPacket, RawPeer, ST_RESET, ST_SYN } from "./_crafted.ts";

/** A UDP port that is bound but never answers. */
async function silentPort(): Promise<{ port: number; close: () => void }> {
  const sock = createSocket("udp4");
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
  return { port: sock.address().port, close: () => sock.close() };
}

test("connect to a silent port rejects with UtpError ETIMEDOUT in bounded time", async () => {
  const silent = await silentPort();
  try {
    const started = Date.now();
    const error = await within(
      connect({ hostname: "127.0.0.1", port: silent.port, connectTimeout: 2000 }).then(
        () => undefined,
        (e: unknown) => e,
      ),
      20000,
      "connect timeout",
    );
    assert.ok(error instanceof UtpError, `expected UtpError, got ${error}`);
    assert.equal(error.code, "ETIMEDOUT");
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1900 && elapsed < 6000, `gave up after ${elapsed} ms`);
  } finally {
    silent.close();
  }
});

test("aborting a connect rejects with the signal's reason", async () => {
  const silent = await silentPort();
  try {
    const controller = new AbortController();
    const reason = new Error("changed my mind");
    const attempt = connect({ hostname: "127.0.0.1", port: silent.port, signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(within(attempt, 5000, "aborted connect"), (e) => e === reason);
    const timedOut = connect({ hostname: "127.0.0.1", port: silent.port, signal: AbortSignal.timeout(200) });
    await assert.rejects(within(timedOut, 5000, "timeout signal"), (e: Error) => e.name === "TimeoutError");
  } finally {
    silent.close();
  }
});

test("aborting accept rejects it; closing the listener ends iteration", async () => {
  const listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const controller = new AbortController();
  const pending = listener.accept({ signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  const iterating = (async () => {
    let n = 0;
    for await (const _ of listener) n++;
    return n;
  })();
  const waiting = listener.accept();
  listener.close();
  await assert.rejects(waiting, (e: unknown) => e instanceof UtpError && e.code === "ECONNABORTED");
  assert.equal(await within(iterating, 2000, "iteration end"), 0);
});

test("a listen signal closes the listener", async () => {
  const controller = new AbortController();
  const listener = await listen({ hostname: "127.0.0.1", port: 0, signal: controller.signal });
  const waiting = listener.accept();
  controller.abort();
  await assert.rejects(waiting, (e: unknown) => e instanceof UtpError && e.code === "ECONNABORTED");
});

test("closing a connection mid-transfer fails the peer's reads or ends them, and frees both sides", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const conn = await listener.accept();
    const writer = conn.writable.getWriter();
    const block = new Uint8Array(65536);
    try {
      for (let i = 0; i < 4096; i++) await writer.write(block); // 256 MiB max; aborted long before
      return "finished";
    } catch (e) {
      return e;
    } finally {
      conn.close();
    }
  })();
  // The client's endpoint outlives the connection, so the server's next
  // packets meet a closed connection and are answered with a reset.
  await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const conn = await endpoint.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const reader = conn.readable.getReader();
  let got = 0;
  while (got < 1 << 20) {
    const { value, done } = await within(reader.read(), 5000, "read");
    if (done) break;
    got += value.byteLength;
  }
  reader.releaseLock();
  await conn.writable.abort(new Error("user abort")); // abort = close the connection
  const outcome = await within(server, 20000, "server write fails");
  assert.ok(outcome instanceof UtpError, `server write should fail, got ${outcome}`);
  assert.ok(["ECONNRESET", "ETIMEDOUT"].includes((outcome as UtpError).code));
  await within(conn.closed.catch(() => {}), 10000, "client closed");
  const counts = await nativeCounts(endpoint);
  assert.equal(counts.sockets, 0, "native sockets left behind");
});

test("bad arguments throw TypeError or RangeError with clear messages", async () => {
  await assert.rejects(connect({ port: 70000 }), RangeError);
  await assert.rejects(connect({ port: 0 }), RangeError);
  await assert.rejects(connect({ port: 1.5 }), TypeError);
  // @ts-expect-error: wrong type on purpose
  await assert.rejects(connect({ port: "80" }), /port must be an integer/);
  // @ts-expect-error: wrong type on purpose
  await assert.rejects(connect(null), TypeError);
  await assert.rejects(connect({ hostname: "", port: 1 }), TypeError);
  await assert.rejects(connect({ hostname: "no such host.invalid", port: 1 }), TypeError);
  // @ts-expect-error: wrong type on purpose
  await assert.rejects(connect({ port: 1, signal: "soon" }), /signal must be an AbortSignal/);
  await assert.rejects(listen({ port: -1 }), RangeError);
  // @ts-expect-error: wrong type on purpose
  await assert.rejects(UtpEndpoint.bind({ udpIo: "fast" }), TypeError);
  // @ts-expect-error: private constructor
  assert.throws(() => new UtpEndpoint(), TypeError);
  await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  await assert.rejects(endpoint.connect({ hostname: "::1", port: 1 }), /IPv4/);
  endpoint.listen();
  assert.throws(() => endpoint.listen(), /already has a listener/);
});

test("writing a non-Uint8Array chunk errors the writable with TypeError", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await using _server = await accepted;
  const writer = conn.writable.getWriter();
  // @ts-expect-error: wrong type on purpose
  await assert.rejects(writer.write("text"), TypeError);
  await assert.rejects(writer.write(encode("after")), TypeError);
});

test("a reset answering our SYN rejects connect with ECONNREFUSED", async () => {
  const peer = await RawPeer.open();
  try {
    await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
    const attempt = client.connect({ hostname: "127.0.0.1", port: peer.port, connectTimeout: 5000 })
      .then(() => undefined, (e: unknown) => e);
    const syn = await peer.next((p) => p.type === ST_SYN, 3000);
    assert.ok(syn, "no SYN arrived");
    // The refusing side resets with the SYN's connection id (the dialer's receive id).
    await peer.send(
      buildPacket({ type: ST_RESET, connId: syn.connId, seq: 1, ack: syn.seq }),
      client.addr.port,
    );
    const error = await within(attempt, 3000, "refused connect");
    assert.ok(error instanceof UtpError, `expected UtpError, got ${error}`);
    assert.equal(error.code, "ECONNREFUSED");
  } finally {
    peer.close();
  }
});
