// Copyright 2026 the utpstream authors. MIT license.
// Descriptor discovery: the shim finds the runtime's own UDP socket (family,
// port and bound address) however many descriptors the process holds, so an
// endpoint gets the native I/O path; and two endpoints on one port but
// different addresses each drive their own socket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, openSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { UtpEndpoint } from "../mod.ts";
import { hashStream, pattern, within } from "./_helpers.ts";
import { createHash } from "node:crypto";

const NATIVE_PLATFORM = process.platform === "linux" || process.platform === "darwin";

/** The soft RLIMIT_NOFILE of this process, or undefined when it cannot be read. */
function softFileLimit(): number | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const m = /^Max open files\s+(\S+)/m.exec(limits);
    if (m) return m[1] === "unlimited" ? Infinity : Number(m[1]);
  } catch {
    // no /proc: ask a shell, which inherits the limit
  }
  const r = spawnSync("sh", ["-c", "ulimit -Sn"], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  const text = r.stdout.trim();
  return text === "unlimited" ? Infinity : Number(text) || undefined;
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/**
 * Dials `server` from a fresh endpoint, sends `data`, reads the echo back;
 * returns the SHA-256 of what the server received and of the echo.
 */
async function echoThrough(
  server: UtpEndpoint,
  data: Uint8Array,
): Promise<{ received: string; echoed: string }> {
  const listener = server.listen();
  const serving = (async () => {
    const conn = await listener.accept({ signal: AbortSignal.timeout(10000) });
    const chunks: Uint8Array[] = [];
    for await (const chunk of conn.readable) chunks.push(chunk);
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let off = 0;
    for (const c of chunks) all.set(c, off), off += c.byteLength;
    const writer = conn.writable.getWriter();
    await writer.write(all);
    await writer.close();
    await conn.closed;
    return sha256(all);
  })();
  await using client = await UtpEndpoint.bind({ hostname: server.addr.hostname });
  const conn = await client.connect({
    hostname: server.addr.hostname,
    port: server.addr.port,
    signal: AbortSignal.timeout(10000),
  });
  const echo = hashStream(conn.readable);
  const writer = conn.writable.getWriter();
  await writer.write(data);
  await writer.close();
  const echoed = await within(echo, 15000, "echo");
  assert.equal(echoed.bytes, data.byteLength);
  const received = await within(serving, 15000, "server side");
  await conn.closed;
  listener.close();
  return { received, echoed: echoed.sha256 };
}

test("discovery: with more than 4096 descriptors open, a new endpoint still gets native I/O", async (t) => {
  if (!NATIVE_PLATFORM) return t.skip(`no descriptor discovery on ${process.platform}`);
  const limit = softFileLimit();
  if (limit === undefined || limit < 5100) {
    const reason = `the soft RLIMIT_NOFILE is ${limit ?? "unknown"}, below the 5100 this test needs`;
    console.log(`fd_discovery_test: skipping: ${reason}`);
    return t.skip(reason);
  }
  const held: number[] = [];
  try {
    for (let i = 0; i < 5000; i++) held.push(openSync("/dev/null", "r"));
    assert.ok(Math.max(...held) > 4096, `highest /dev/null descriptor ${Math.max(...held)} is above 4096`);
    await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
    assert.equal(endpoint.udpIo, "native");
    const data = pattern(6000, 11);
    const { received, echoed } = await echoThrough(endpoint, data);
    assert.equal(received, sha256(data));
    assert.equal(echoed, sha256(data));
  } finally {
    for (const fd of held) closeSync(fd);
  }
});

test("discovery: two endpoints on one port, different addresses, each find their own socket", async (t) => {
  if (!NATIVE_PLATFORM) return t.skip(`no descriptor discovery on ${process.platform}`);
  let first: UtpEndpoint | undefined;
  let second: UtpEndpoint | undefined;
  try {
    // The port is free on 127.0.0.1; on 127.0.0.2 it almost always is too. Try a few.
    for (let attempt = 0; attempt < 5 && !second; attempt++) {
      await first?.close();
      // Descriptors held while the first socket is made and freed before the
      // second: the second socket gets a lower descriptor number than the
      // first, so a search that matched family and port only (newest, i.e.
      // highest, first) would hand the second endpoint the first one's socket.
      const spacers = Array.from({ length: 16 }, () => openSync("/dev/null", "r"));
      try {
        first = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
      } finally {
        for (const fd of spacers) closeSync(fd);
      }
      const port = first.addr.port;
      second = await UtpEndpoint.bind({ hostname: "127.0.0.2", port }).catch(() => undefined);
    }
    if (!first || !second) {
      const reason = "cannot bind 127.0.0.2 on the port of a 127.0.0.1 endpoint";
      console.log(`fd_discovery_test: skipping: ${reason}`);
      return t.skip(reason);
    }
    assert.equal(second.addr.port, first.addr.port);
    assert.equal(first.udpIo, "native");
    assert.equal(second.udpIo, "native");
    // Each exchange needs each endpoint to send from and receive on its own
    // address: had one found the other's descriptor, its replies would leave
    // from the wrong address and the handshake would never complete.
    for (const [endpoint, seed] of [[first, 1], [second, 2]] as const) {
      const data = pattern(5000 + seed * 1000, seed);
      const { received, echoed } = await echoThrough(endpoint, data);
      assert.equal(received, sha256(data), `${endpoint.addr.hostname}: server received the bytes sent`);
      assert.equal(echoed, sha256(data), `${endpoint.addr.hostname}: client received the echo`);
    }
  } finally {
    await second?.close();
    await first?.close();
  }
});
