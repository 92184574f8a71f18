// Copyright 2026 the utpstream authors. MIT license.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, listen, type UtpAddr, UtpEndpoint, UtpError } from "../mod.ts";
import { decode, encode, hashStream, patternHash, readAll, within, writePattern } from "./_helpers.ts";

test("raw datagrams: a request/response protocol runs beside µTP on one port", async () => {
  await using server = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const listener = server.listen();
  // Server: answer "ping N" with "pong N" (a DHT-like side protocol).
  const answering = (async () => {
    for await (const { data, remoteAddr } of server.datagrams) {
      const text = decode(data);
      if (text.startsWith("ping ")) await server.send(encode(`pong ${text.slice(5)}`), remoteAddr);
    }
  })();
  // A µTP transfer on the same ports at the same time.
  const SIZE = 8 << 20;
  const received = (async () => {
    const conn = await listener.accept();
    return await hashStream(conn.readable);
  })();
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const sending = writePattern(conn.writable, SIZE);
  const pongs = new Set<string>();
  const reader = client.datagrams.getReader();
  for (let i = 0; i < 20; i++) {
    await client.send(encode(`ping ${i}`), { hostname: "127.0.0.1", port: server.addr.port });
    const { value } = await within(reader.read(), 5000, `pong ${i}`);
    assert.equal(value!.remoteAddr.port, server.addr.port);
    pongs.add(decode(value!.data));
  }
  assert.equal(pongs.size, 20);
  assert.ok(pongs.has("pong 19"));
  await within(sending, 30000, "transfer beside datagrams");
  const got = await within(received, 30000, "receive beside datagrams");
  assert.equal(got.bytes, SIZE);
  assert.equal(got.sha256, patternHash(SIZE));
  reader.releaseLock();
  await server.close();
  await answering;
});

test("firewall: decides per remote address before anything is acknowledged", async () => {
  const asked: UtpAddr[] = [];
  await using refused = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  await using listener = await listen({
    hostname: "127.0.0.1",
    port: 0,
    firewall: async (remote) => {
      asked.push(remote);
      await Promise.resolve();
      return remote.port !== refused.addr.port;
    },
  });
  const accepted = listener.accept();
  await using ok = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await within(accepted, 5000, "accept through firewall");
  assert.equal(conn.remoteAddr.port, ok.localAddr.port);
  const error = await refused.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    connectTimeout: 1500,
  })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof UtpError && error.code === "ETIMEDOUT", `refused client got ${error}`);
  assert.ok(asked.some((a) => a.port === refused.addr.port && a.hostname === "127.0.0.1"));
  assert.ok(asked.some((a) => a.port === ok.localAddr.port));
  conn.close();
});

test("maxConnections caps a listener's live connections; the next dialer is refused at once", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0, maxConnections: 2 });
  const a = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const b = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const sa = await listener.accept();
  const sb = await listener.accept();
  // Refused with a reset, not ignored: a timeout would be ETIMEDOUT.
  await assert.rejects(
    connect({ hostname: "127.0.0.1", port: listener.addr.port, connectTimeout: 5000 }),
    (e: unknown) => e instanceof UtpError && e.code === "ECONNREFUSED",
  );
  a.close();
  sa.close();
  await within(Promise.all([a.closed, sa.closed]), 5000, "first connection closes");
  const c = await connect({ hostname: "127.0.0.1", port: listener.addr.port, connectTimeout: 5000 });
  const sc = await within(listener.accept(), 5000, "accept c");
  // Both ends close and see each other's FIN: nothing lingers for the next test.
  for (const conn of [b, sb, c, sc]) conn.close();
  await within(Promise.all([b.closed, sb.closed, c.closed, sc.closed]), 5000, "the rest close");
});

test("stats count bytes and packets; maxPacketSize caps the packet size", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    const r = await hashStream(conn.readable);
    return { r, stats: conn.stats(), conn };
  })();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port, maxPacketSize: 600 });
  const SIZE = 1 << 20;
  await writePattern(conn.writable, SIZE);
  const { r, stats: serverStats, conn: serverConn } = await within(received, 20000, "transfer");
  assert.equal(r.bytes, SIZE);
  const clientStats = conn.stats();
  assert.ok(clientStats.bytesSent >= SIZE, `bytesSent ${clientStats.bytesSent}`);
  assert.ok(
    clientStats.packetsSent >= SIZE / 600,
    `packetsSent ${clientStats.packetsSent} with 600-byte packets`,
  );
  assert.ok(clientStats.mtu > 0 && clientStats.mtu <= 600, `mtu ${clientStats.mtu}`);
  assert.ok(serverStats.bytesReceived >= SIZE, `bytesReceived ${serverStats.bytesReceived}`);
  assert.ok(serverStats.packetsReceived >= SIZE / 600);
  serverConn.close();
});

test("tuning options are validated", async () => {
  await assert.rejects(UtpEndpoint.bind({ receiveWindowBytes: 10 }), RangeError);
  await assert.rejects(UtpEndpoint.bind({ sendBufferBytes: 1.5 }), TypeError);
  await assert.rejects(
    UtpEndpoint.bind({ maxPacketSize: 100 }),
    /maxPacketSize must be between 576 and 65507/,
  );
  await assert.rejects(UtpEndpoint.bind({ targetDelayMs: 0 }), RangeError);
  await assert.rejects(UtpEndpoint.bind({ idleTimeout: -1 }), RangeError);
  // @ts-expect-error: wrong type on purpose
  await assert.rejects(listen({ firewall: "no" }), TypeError);
  await assert.rejects(listen({ maxConnections: 0 }), RangeError);
  await using endpoint = await UtpEndpoint.bind();
  await assert.rejects(
    connect({ port: 1, endpoint, idleTimeout: 5 }),
    /tuning options belong to the endpoint/,
  );
  await assert.rejects(endpoint.send(encode("x"), { hostname: "127.0.0.1", port: 0 }), RangeError);
  // @ts-expect-error: wrong type on purpose
  await assert.rejects(endpoint.send("x", { hostname: "127.0.0.1", port: 1 }), TypeError);
});

test("idleTimeout: a reader whose peer vanished fails with ETIMEDOUT", async () => {
  await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1", idleTimeout: 600 });
  const server = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const accepted = server.listen().accept();
  const conn = await client.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await accepted;
  // The server disappears without a word (no FIN, no reset).
  await server.close();
  const started = Date.now();
  await assert.rejects(
    within(readAll(conn.readable), 5000, "idle timeout"),
    (e: unknown) => e instanceof UtpError && e.code === "ETIMEDOUT",
  );
  const waited = Date.now() - started;
  assert.ok(waited >= 500 && waited < 3000, `timed out after ${waited} ms`);
  await within(conn.closed.catch(() => {}), 5000, "closed settles");
});

test("IPv6: echo over ::1", async (t) => {
  let listener;
  try {
    listener = await listen({ hostname: "::1", port: 0 });
  } catch (e) {
    t.skip(`no IPv6 loopback here: ${e}`);
    return;
  }
  await using l = listener;
  const serving = (async () => {
    const conn = await l.accept();
    await conn.readable.pipeTo(conn.writable);
  })();
  await using conn = await connect({ hostname: "::1", port: l.addr.port });
  assert.equal(conn.remoteAddr.hostname, "::1");
  const w = conn.writable.getWriter();
  await w.write(encode("over IPv6"));
  await w.close();
  assert.equal(decode(await within(readAll(conn.readable), 5000, "v6 echo")), "over IPv6");
  await serving;
});

test("dual stack: a listener on :: accepts IPv4 clients and reports IPv4 addresses", async (t) => {
  let listener;
  try {
    listener = await listen({ hostname: "::", port: 0 });
  } catch (e) {
    t.skip(`no IPv6 here: ${e}`);
    return;
  }
  await using l = listener;
  const accepted = l.accept();
  const attempt = connect({ hostname: "127.0.0.1", port: l.addr.port, connectTimeout: 3000 });
  const outcome = await attempt.then((c) => c, (e: unknown) => e);
  if (outcome instanceof UtpError) {
    t.skip("the OS keeps IPv6 sockets IPv6-only (net.ipv6.bindv6only)");
    return;
  }
  await using conn = outcome as Awaited<typeof attempt>;
  const server = await within(accepted, 5000, "dual-stack accept");
  assert.equal(server.remoteAddr.hostname, "127.0.0.1");
  assert.equal(server.remoteAddr.port, conn.localAddr.port);
  // And the dual-stack endpoint dials IPv4 too.
  await using back = await UtpEndpoint.bind({ hostname: "::" });
  await using v4 = await listen({ hostname: "127.0.0.1", port: 0 });
  const acc = v4.accept();
  await using c2 = await back.connect({ hostname: "127.0.0.1", port: v4.addr.port });
  assert.equal(c2.remoteAddr.hostname, "127.0.0.1");
  await using s2 = await within(acc, 5000, "v4 accept from dual-stack dial");
  assert.equal(s2.remoteAddr.port, c2.localAddr.port);
  server.close();
});

test("unref lets the process exit while a listener is open", async () => {
  // Bun and Node take `-e <script>`; Deno needs `eval` and permissions.
  const isDeno = (globalThis as { Bun?: unknown }).Bun === undefined &&
    (globalThis as { Deno?: unknown }).Deno !== undefined;
  const mod = new URL("../mod.ts", import.meta.url).href;
  const script = `
    const { listen } = await import(${JSON.stringify(mod)});
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    listener.unref();
    console.log("listening " + listener.addr.port);
  `;
  const args = !isDeno
    ? ["-e", script]
    : ["eval", "--unstable-net", "--allow-net", "--allow-ffi", "--allow-read", "--allow-env", script];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => out += d);
  const code = await within(
    new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c))),
    10000,
    "process with an unreferenced listener exits",
  ).catch((e) => {
    child.kill("SIGKILL");
    throw e;
  });
  assert.equal(code, 0);
  assert.match(out, /listening \d+/);
});

test("hole punching: two endpoints punching toward each other end up with one connection", async () => {
  await using a = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  await using b = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  // Neither endpoint listens; both start at the same moment.
  const [ab, ba] = await within(
    Promise.all([
      a.punch({ hostname: "127.0.0.1", port: b.addr.port, timeout: 5000 }),
      b.punch({ hostname: "127.0.0.1", port: a.addr.port, timeout: 5000 }),
    ]),
    10000,
    "simultaneous open",
  );
  assert.equal(ab.remoteAddr.port, b.addr.port);
  assert.equal(ba.remoteAddr.port, a.addr.port);
  const wa = ab.writable.getWriter();
  const wb = ba.writable.getWriter();
  await Promise.all([wa.write(encode("from a")), wb.write(encode("from b"))]);
  await Promise.all([wa.close(), wb.close()]);
  const [atB, atA] = await within(
    Promise.all([readAll(ba.readable), readAll(ab.readable)]),
    5000,
    "exchange",
  );
  assert.equal(decode(atB), "from a");
  assert.equal(decode(atA), "from b");
  // A third party cannot sneak in: neither endpoint accepts anyone else.
  await assert.rejects(
    connect({ hostname: "127.0.0.1", port: a.addr.port, connectTimeout: 800 }),
    (e: unknown) => e instanceof UtpError && e.code === "ETIMEDOUT",
  );
});
