// Copyright 2026 the utpstream authors. MIT license.
// ref()/unref() belong to each object: an endpoint stays referenced while any
// of its referenced connections (or its listener) is open. Unreferencing one
// connection used to unreference its whole endpoint, so the process exited
// under a connection that was still referenced.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, listen, UtpEndpoint } from "../mod.ts";
import { endpointCounters } from "../src/diagnostics.ts";
import { decode, encode, runChild, within } from "./_helpers.ts";

test("unref() on one connection leaves its endpoint referenced by the others", async () => {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const { code, out } = await runChild(`
    const { UtpEndpoint } = await import(${JSON.stringify(mod)});
    const unrefTimer = (fn, ms) => {
      const t = setTimeout(fn, ms);
      if (typeof t === "number") Deno.unrefTimer(t); else t.unref();
    };
    const server = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
    const listener = server.listen();
    const accepted = [];
    (async () => { for await (const c of listener) accepted.push(c); })();
    const client = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
    const a = await client.connect({ port: server.addr.port });
    const b = await client.connect({ port: server.addr.port });
    while (accepted.length < 2) await new Promise((r) => setTimeout(r, 10));
    for (const x of [server, listener, client, a, ...accepted]) x.unref();
    // Only b is referenced now: the process must live until b is unreferenced too.
    unrefTimer(() => {
      console.log("alive");
      b.unref();
    }, 300);
  `);
  assert.equal(code, 0);
  assert.match(out, /alive/, "the process exited while a referenced connection was open");
});

// listen() and connect() make endpoints of their own and let go of them once
// the listener or connection holds them. They used to let go first: for that
// moment nothing held the endpoint, so it counted as unreferenced, and Deno's
// socket (which cannot be unreferenced) was given up for a 2 ms poll for good.
// Idle, such an endpoint made ~500 system calls a second, and each datagram
// waited for the next poll: a round trip took ~2.1 ms instead of ~0.08 ms.
test("endpoints made by listen() and connect() wait for datagrams instead of polling", async (t) => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await using server = await within(accepted, 5000, "accept");
  const serverWriter = server.writable.getWriter();
  const reader = conn.readable.getReader();
  await conn.writable.getWriter().write(encode("ping"));
  const request = await server.readable.getReader().read();
  assert.equal(decode(request.value!), "ping");
  await serverWriter.write(encode("pong"));
  assert.equal(decode((await reader.read()).value!), "pong");
  const counters = () => [endpointCounters(listener), endpointCounters(conn)];
  const [listening, dialing] = counters();
  if (listening === undefined || dialing === undefined) {
    return t.skip("runtime UDP I/O here: the native layer sees no system calls");
  }
  // A window of idleness (not a synchronisation): with nothing sent, a waiting
  // endpoint makes no system calls, a polling one about 150 in this time.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const [listeningAfter, dialingAfter] = counters();
  const calls = {
    listener: listeningAfter!.systemCalls - listening.systemCalls,
    connection: dialingAfter!.systemCalls - dialing.systemCalls,
  };
  assert.ok(
    calls.listener <= 10 && calls.connection <= 10,
    `system calls while idle: ${JSON.stringify(calls)}`,
  );
});

// Deno's socket cannot be unreferenced, so an unreferenced endpoint gives it
// up and polls its own descriptor every 2 ms from an unreferenced timer. Once
// referenced again it used to keep that poll (the runtime's socket is gone for
// good): ~150 system calls in this window, and every datagram waited for the
// next poll. A receive thread now waits for it instead.
test("an endpoint referenced again after unref() waits for datagrams instead of polling", async (t) => {
  await using server = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const listener = server.listen();
  await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const accepted = listener.accept();
  await using conn = await client.connect({ port: server.addr.port });
  await using peer = await within(accepted, 5000, "accept");
  const echo = (async () => {
    const reader = peer.readable.getReader();
    const writer = peer.writable.getWriter();
    for (let r = await reader.read(); !r.done; r = await reader.read()) await writer.write(r.value);
  })();
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  const roundTrip = async (text: string) => {
    await writer.write(encode(text));
    assert.equal(decode((await within(reader.read(), 5000, `echo of ${text}`)).value!), text);
  };
  await roundTrip("before");
  client.unref();
  conn.unref();
  await roundTrip("unreferenced"); // polled meanwhile: slower, but it arrives
  client.ref();
  conn.ref();
  await roundTrip("referenced again");
  const before = endpointCounters(client);
  if (before === undefined) return t.skip("runtime UDP I/O here: the native layer sees no system calls");
  // A window of idleness (not a synchronisation), as in the test above.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const calls = endpointCounters(client)!.systemCalls - before.systemCalls;
  assert.ok(calls <= 10, `system calls while idle: ${calls}`);
  await roundTrip("after");
  await writer.close();
  await within(echo, 5000, "echo ends");
});

test("a process exits on its own after its endpoint was unreferenced, referenced again and unreferenced", async () => {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const { code, out } = await runChild(`
    const { UtpEndpoint } = await import(${JSON.stringify(mod)});
    const server = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
    const listener = server.listen();
    const client = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
    const [conn, peer] = await Promise.all([client.connect({ port: server.addr.port }), listener.accept()]);
    const all = [server, listener, client, conn, peer];
    for (const x of all) x.unref();
    for (const x of all) x.ref();
    const reader = peer.readable.getReader();
    await conn.writable.getWriter().write(new Uint8Array([7]));
    const { value } = await reader.read();
    console.log("echoed", value[0]);
    for (const x of all) x.unref(); // nothing keeps the process alive now
  `);
  assert.equal(code, 0);
  assert.match(out, /echoed 7/);
});
