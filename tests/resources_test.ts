// Copyright 2026 the utpstream authors. MIT license.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect, listen } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import {
  decode,
  encode,
  hashStream,
  pattern,
  patternHash,
  readAll,
  within,
  writePattern,
} from "./_helpers.ts";

test("200 open/transfer/close cycles leave no live native sockets behind", async () => {
  // Other tests in this process may still be winding down: compare with them.
  const before = await nativeCounts();
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        const request = await readAll(conn.readable);
        const w = conn.writable.getWriter();
        await w.write(request);
        await w.close();
        await conn.closed;
      })().catch(() => {});
    }
  })();
  for (let i = 0; i < 200; i++) {
    const conn = await connect({
      hostname: "127.0.0.1",
      port: listener.addr.port,
      signal: AbortSignal.timeout(5000),
    });
    const w = conn.writable.getWriter();
    await w.write(encode(`cycle ${i}`));
    await w.close();
    assert.equal(decode(await within(readAll(conn.readable), 5000, `cycle ${i}`)), `cycle ${i}`);
    conn.close();
    await within(conn.closed, 5000, `close ${i}`);
  }
  listener.close();
  await serving;
  // The listener's endpoint closes once its last accepted connection ends.
  const settled = (c: { sockets: number; contexts: number }) =>
    c.sockets <= before.sockets && c.contexts <= before.contexts;
  for (let i = 0; i < 100 && !settled(await nativeCounts()); i++) {
    await new Promise((r) => setTimeout(r, 50)); // bounded poll: 5 s at most
  }
  const counts = await nativeCounts();
  console.log(
    `native sockets ${before.sockets} -> ${counts.sockets}, contexts ${before.contexts} -> ${counts.contexts}`,
  );
  assert.ok(settled(counts), `leaked: before ${JSON.stringify(before)}, after ${JSON.stringify(counts)}`);
});

test("a reader that stops reading stalls the writer instead of growing memory", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await accepted;
  const TOTAL = 64 << 20;
  let written = 0;
  const writer = conn.writable.getWriter();
  const block = pattern(65536, 3);
  const writing = (async () => {
    while (written < TOTAL) {
      await writer.write(block);
      written += block.byteLength;
    }
    await writer.close();
  })();
  // Nobody reads on the server. Wait until the writer stops making progress.
  let last = -1;
  for (let i = 0; i < 100 && written !== last; i++) {
    last = written;
    await new Promise((r) => setTimeout(r, 100)); // bounded: 10 s at most
  }
  assert.equal(written, last, "the writer never stalled");
  // libutp's receive window (1 MiB) plus the stream queues bound what is in flight.
  assert.ok(written <= 4 << 20, `writer got ${written} bytes ahead of a reader that reads nothing`);
  // Reading resumes: every byte still arrives, in order.
  const got = await within(hashStream(server.readable), 60000, "drain after stall");
  await writing;
  const expected = (await import("node:crypto")).createHash("sha256");
  for (let i = 0; i < TOTAL / block.byteLength; i++) expected.update(block);
  assert.equal(got.bytes, TOTAL);
  assert.equal(got.sha256, expected.digest("hex"));
  server.close();
});

test("malformed datagrams at a listener do not disturb live transfers", async () => {
  await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const SIZE = 8 << 20;
  const COUNT = 3;
  const received = (async () => {
    const results = [];
    for (let i = 0; i < COUNT; i++) {
      const conn = await listener.accept();
      results.push(
        hashStream(conn.readable).then((r) => {
          conn.close();
          return r;
        }),
      );
    }
    return await Promise.all(results);
  })();
  const attacker = createSocket("udp4");
  await new Promise<void>((resolve) => attacker.bind(0, "127.0.0.1", () => resolve()));
  let fired = 0;
  let stop = false;
  const firing = (async () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    while (!stop && fired < 50000) {
      const kind = fired % 4;
      let packet: Uint8Array;
      if (kind === 0) packet = pattern(1 + (rand() % 1400), rand()); // random bytes
      else if (kind === 1) packet = pattern(rand() % 20, rand()); // truncated header
      else {
        // a µTP-looking header: version 1, random type, random connection id
        packet = pattern(20 + (rand() % 200), rand());
        packet[0] = ((rand() % 5) << 4) | 1;
        packet[1] = kind === 2 ? rand() % 4 : 0; // extension chains
      }
      await new Promise<void>((resolve) =>
        attacker.send(packet, listener.addr.port, "127.0.0.1", () => resolve())
      );
      fired++;
    }
  })();
  const senders = Array.from({ length: COUNT }, async () => {
    const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await writePattern(conn.writable, SIZE);
    await conn.closed.catch(() => {});
  });
  await within(Promise.all(senders), 60000, "senders under fire");
  const results = await within(received, 60000, "receivers under fire");
  stop = true;
  await firing;
  attacker.close();
  assert.ok(fired > 1000, `only ${fired} malformed datagrams were sent`);
  for (const r of results) {
    assert.equal(r.bytes, SIZE);
    assert.equal(r.sha256, patternHash(SIZE));
  }
});
