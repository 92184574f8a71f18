// Copyright 2026 the utpstream authors. MIT license.
// Hostile input: 100,000 malformed datagrams at a listener that carries live
// transfers. No crash, no hang, bounded memory, transfers intact.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, UtpEndpoint } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { Defaults } from "../src/ffi/native.ts";
import { pattern, readAll, within } from "./_helpers.ts";
import { buildPacket, RawPeer, ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN } from "./_crafted.ts";

const DATAGRAMS = 100_000;
const TRANSFER = 4 << 20;

/** xorshift32, seeded: the same hostile stream every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

function hostile(r: () => number, i: number): Uint8Array {
  const kind = i % 8;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => r() & 0xff);
  const type = [ST_DATA, ST_FIN, ST_STATE, ST_RESET, ST_SYN][r() % 5];
  const connId = r() % 4 === 0 ? 0xffff - (r() % 3) : r() & 0xffff;
  switch (kind) {
    case 0: // random bytes, any length (including empty)
      return bytes(r() % 64);
    case 1: { // truncated header
      const p = buildPacket({ type, connId, seq: r(), ack: r() });
      return p.subarray(0, r() % 20);
    }
    case 2: { // one mutated byte in a valid header
      const p = buildPacket({ type, connId, seq: r(), ack: r(), payload: bytes(r() % 32) });
      p[r() % p.length] ^= 1 << (r() % 8);
      return p;
    }
    case 3: // absurd fields: huge windows, extreme timestamps
      return buildPacket({
        type,
        connId,
        seq: r(),
        ack: r(),
        wnd: 0xffffffff,
        timestamp: r(),
        timestampDiff: [0x7fffffff, 0x80000000, 0xffffffff][r() % 3],
      });
    case 4: // extension chains, some with lying lengths
    {
      const exts = Array.from(
        { length: 1 + (r() % 6) },
        () => ({ type: r() & 0xff || 3, bytes: bytes(r() % 12) }),
      );
      const p = buildPacket({ type, connId, seq: r(), ack: r(), extensions: exts, payload: bytes(r() % 8) });
      if (r() % 2) p[21 + (r() % Math.max(1, p.length - 21))] = 0xff;
      return p;
    }
    case 5: // RESET / FIN from a wrong address for ids near the live ones
      return buildPacket({ type: r() % 2 ? ST_RESET : ST_FIN, connId, seq: r(), ack: r() });
    case 6: // wrong version nibble
      return Uint8Array.of((type << 4) | (r() % 16), ...bytes(19 + (r() % 8)));
    default: // SYN flood component
      return buildPacket({ type: ST_SYN, connId, seq: r(), ack: 0 });
  }
}

test("100,000 hostile datagrams at a busy listener: no crash, no hang, bounded memory, transfers intact", async () => {
  await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen();
  const port = endpoint.addr.port;
  // Server: echo the SHA-256 of everything each connection sends.
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        const data = await readAll(conn.readable);
        const w = conn.writable.getWriter();
        await w.write(createHash("sha256").update(data).digest());
        await w.close();
      })().catch(() => conn.close());
    }
  })();

  // Let the process settle, then measure.
  const rssBefore = process.memoryUsage().rss;
  const clients = [1, 2].map(async (seed) => {
    const conn = await connect({ hostname: "127.0.0.1", port, connectTimeout: 5000 });
    const payload = pattern(TRANSFER, seed);
    const w = conn.writable.getWriter();
    for (let off = 0; off < payload.length; off += 65536) await w.write(payload.subarray(off, off + 65536));
    await w.close();
    const digest = await readAll(conn.readable);
    conn.close();
    return {
      expect: createHash("sha256").update(payload).digest("hex"),
      got: Buffer.from(digest).toString("hex"),
    };
  });

  const peer = await RawPeer.open();
  const r = rng(0xbadc0de);
  const started = Date.now();
  let sent = 0;
  for (let i = 0; i < DATAGRAMS; i += 200) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(i + 200, DATAGRAMS); j++) batch.push(peer.send(hostile(r, j), port));
    await Promise.all(batch);
    sent += batch.length;
  }
  const fuzzMs = Date.now() - started;
  peer.close();

  const results = await within(Promise.all(clients), 30000, "transfers under fire");
  for (const res of results) assert.equal(res.got, res.expect);
  const rssAfter = process.memoryUsage().rss;
  const counts = await nativeCounts(endpoint);
  console.log(
    `hostile: ${sent} datagrams in ${fuzzMs} ms; RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ${
      (rssAfter / 2 ** 20).toFixed(1)
    } MiB; live native sockets on the listener: ${counts.sockets} (half-open bound ${Defaults.BACKLOG} + 2 transfers)`,
  );
  assert.equal(sent, DATAGRAMS);
  // Half-open connections made by hostile SYNs are bounded by the backlog.
  assert.ok(counts.sockets <= Defaults.BACKLOG + 2, `live sockets ${counts.sockets}`);
  assert.equal(endpoint.closed, false, "the hostile traffic closed the endpoint");
  assert.ok(
    rssAfter - rssBefore < 256 * 2 ** 20,
    `RSS grew ${((rssAfter - rssBefore) / 2 ** 20).toFixed(1)} MiB`,
  );
  await listener.close();
  await endpoint.close();
  await within(serving.catch(() => {}), 5000, "server loop ends");
});
