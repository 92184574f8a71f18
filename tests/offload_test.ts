// Copyright 2026 the utpstream authors. MIT license.
// UDP offloads on loopback: segmented sends (UDP_SEGMENT, on by default),
// `udpIo: "bulk"` (the native receive thread and coalesced receives, UDP_GRO),
// `udpOffload: false`, and that bulk endpoints free their threads and let the
// process exit. Where a path refuses segmented sends is tested in the lab
// (lab_offload_test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { UtpEndpoint } from "../mod.ts";
import { endpointCounters, nativeCounts } from "../src/diagnostics.ts";
import { hashStream, patternHash, runChild, within, writePattern } from "./_helpers.ts";

const SIZE = 8 << 20;
const linux = process.platform === "linux";
const isNode = !("Deno" in globalThis) && !("Bun" in globalThis);

/** Moves SIZE bytes from `from` to `to` and checks them by SHA-256. */
async function transfer(from: UtpEndpoint, to: UtpEndpoint): Promise<void> {
  const listener = to.listen();
  const received = (async () => {
    const conn = await listener.accept();
    const result = await hashStream(conn.readable);
    conn.close();
    return result;
  })();
  const conn = await from.connect({ hostname: "127.0.0.1", port: to.addr.port });
  await within(writePattern(conn.writable, SIZE), 30_000, "write");
  const got = await within(received, 30_000, "read");
  await within(conn.closed, 10_000, "close");
  listener.close();
  assert.equal(got.bytes, SIZE);
  assert.equal(got.sha256, patternHash(SIZE));
}

test("segmented sends carry 8 MiB intact, and the wire carries ordinary datagrams", {
  skip: !linux && "UDP segmentation offload is Linux only",
}, async () => {
  await using sender = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  await using receiver = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: "runtime" });
  await transfer(sender, receiver);
  const c = endpointCounters(sender)!;
  assert.equal(c.segmenting, true);
  // Most data packets leave in runs: far fewer send calls than datagrams.
  assert.ok(
    c.segmentedDatagrams > SIZE / 1500 / 2,
    `${c.segmentedDatagrams} segmented of ${c.sentDatagrams}`,
  );
  assert.ok(c.systemCalls < c.sentDatagrams / 4, `${c.systemCalls} calls for ${c.sentDatagrams} datagrams`);
  // The receiver reads through the runtime, one datagram per read, so the
  // intact hash above also shows that the wire carried ordinary datagrams.
});

test('udpIo "bulk" moves 8 MiB each way intact with coalesced receives', async () => {
  await using a = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: "bulk" });
  await using b = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: "bulk" });
  if (isNode || !linux) {
    // No thread-safe callbacks in node:ffi, no receive thread on Windows.
    assert.equal(a.udpIo, "native");
    await transfer(a, b);
    return;
  }
  assert.equal(a.udpIo, "bulk");
  assert.equal(b.udpIo, "bulk");
  await transfer(a, b);
  await transfer(b, a);
  for (const endpoint of [a, b]) {
    const c = endpointCounters(endpoint)!;
    assert.equal(c.coalescing, true);
    assert.ok(c.coalescedDatagrams > SIZE / 1500 / 2, `${c.coalescedDatagrams} of ${c.receivedDatagrams}`);
    assert.equal(c.truncatedDatagrams, 0);
  }
});

test("by default native endpoints segment, and only bulk endpoints coalesce", {
  skip: !linux && "UDP offloads are Linux only",
}, async () => {
  await using native = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  await using bulk = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: "bulk" });
  assert.equal(endpointCounters(native)!.segmenting, true);
  // The runtime reads native endpoints' sockets: coalesced buffers would reach it.
  assert.equal(endpointCounters(native)!.coalescing, false);
  assert.equal(endpointCounters(bulk)!.segmenting, true);
  assert.equal(endpointCounters(bulk)!.coalescing, bulk.udpIo === "bulk"); // Node: "native"
});

test("udpOffload: false sends and receives one datagram per datagram", {
  skip: !linux && "UDP offloads are Linux only",
}, async () => {
  await using a = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpOffload: false });
  await using b = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: "bulk", udpOffload: false });
  await transfer(a, b);
  const ca = endpointCounters(a)!, cb = endpointCounters(b)!;
  assert.equal(ca.segmenting, false);
  assert.equal(ca.segmentedDatagrams, 0);
  assert.equal(cb.coalescing, false);
  assert.equal(cb.coalescedDatagrams, 0);
  assert.ok(cb.receivedDatagrams > SIZE / 1500);
});

test("bad udpIo and udpOffload values are TypeErrors", async () => {
  await assert.rejects(UtpEndpoint.bind({ udpIo: "threaded" as "bulk" }), TypeError);
  await assert.rejects(UtpEndpoint.bind({ udpOffload: 1 as unknown as boolean }), TypeError);
});

/** Receive threads ("utps-wake") of this process (Linux). Read by `sh`: Deno wants --allow-all for /proc. */
function threadCount(): number {
  // A thread may end between the listing and the read: cat goes on without it.
  const r = spawnSync("sh", ["-c", `cat /proc/${process.pid}/task/*/comm 2>/dev/null; exit 0`], {
    encoding: "utf8",
  });
  if (r.status !== 0 || !r.stdout) throw new Error(`cannot list this process's threads: ${r.stderr}`);
  return r.stdout.split("\n").filter((name) => name === "utps-wake").length;
}

test("closing bulk endpoints ends their receive threads", {
  skip: (isNode || !linux) && "bulk endpoints have receive threads in Deno and Bun on Linux",
}, async () => {
  const before = threadCount();
  const endpoints = await Promise.all(
    Array.from({ length: 16 }, () => UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: "bulk" })),
  );
  assert.ok(endpoints.every((e) => e.udpIo === "bulk"));
  // Each thread names itself once it runs: wait for the names, bounded.
  const started = Date.now() + 5000;
  while (threadCount() < before + 16 && Date.now() < started) await new Promise((r) => setTimeout(r, 20));
  assert.equal(threadCount(), before + 16);
  for (const e of endpoints) await e.close();
  // The threads end on their own once told (no join): wait, bounded.
  const deadline = Date.now() + 5000;
  while (threadCount() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(threadCount(), before);
  for (const e of endpoints) assert.equal((await nativeCounts(e)).contexts, 0);
});

test("an unreferenced bulk endpoint with an open connection lets the process exit", {
  skip: (isNode || !linux) && "bulk endpoints exist in Deno and Bun on Linux",
}, async () => {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const { code, out } = await runChild(`
    const { UtpEndpoint } = await import(${JSON.stringify(mod)});
    const server = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: "bulk" });
    const client = await UtpEndpoint.bind({ hostname: "127.0.0.1", udpIo: "bulk" });
    if (server.udpIo !== "bulk" || client.udpIo !== "bulk") throw new Error("not bulk");
    const listener = server.listen();
    const accepting = listener.accept();
    const conn = await client.connect({ port: server.addr.port });
    const peer = await accepting;
    const writer = conn.writable.getWriter();
    await writer.write(new Uint8Array(65536).fill(7));
    const reader = peer.readable.getReader();
    let got = 0;
    while (got < 65536) got += (await reader.read()).value.byteLength;
    console.log("echoed " + got + " bytes");
    // Everything stays open, nothing is referenced: the process must exit.
    for (const x of [server, listener, client, conn, peer]) x.unref();
  `);
  assert.equal(code, 0);
  assert.match(out, /echoed 65536 bytes/);
});
