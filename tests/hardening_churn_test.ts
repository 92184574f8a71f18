// Copyright 2026 the utpstream authors. MIT license.
// Resource hygiene under churn: many connect/transfer/close cycles in one
// process. Each cycle dials from a fresh endpoint (a new UDP socket and a new
// native context), moves a few KiB each way, and closes both sides. Afterwards
// the live native sockets and contexts are back to the baseline and the RSS
// has not grown beyond a generous bound.
//
// UTP_CHURN_CYCLES sets the number of cycles (default 2000, a few seconds;
// the 10 000 run: UTP_CHURN_CYCLES=10000).
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { connect, UtpEndpoint } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { pattern, readAll, within } from "./_helpers.ts";

const CYCLES = Number(process.env.UTP_CHURN_CYCLES ?? 2000);
/** Cycles in flight at once. */
const LANES = 4;
const UP = 3 * 1024 + 17;
const DOWN = 5 * 1024 + 3;
/** RSS growth allowed from the end of the warm-up to the end of the run. */
const MAX_RSS_GROWTH = 64 << 20;
/** Cycles before the RSS baseline is taken (JIT, allocator pools, buffers). */
const WARMUP = Math.min(200, Math.floor(CYCLES / 10));
/** Wall-clock bound of the whole run: 20 ms per cycle on average, at least 60 s. */
const RUN_BOUND_MS = Math.max(60_000, CYCLES * 20);

const MiB = (n: number) => (n / 2 ** 20).toFixed(1);

/**
 * A full garbage collection, so RSS samples do not depend on when the
 * collector last ran (every endpoint allocates buffers the collector frees
 * lazily; without this, RSS swings by more than 100 MiB between samples).
 * Bun has `Bun.gc`; in V8 (Deno) `gc` is exposed at run time.
 */
const collectGarbage: () => void = (() => {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) return () => bun.gc(true);
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    if (typeof gc === "function") return gc;
  } catch {
    // not V8, or flags are frozen: sample without collecting
  }
  return () => {};
})();

/** RSS after a full collection, bytes. */
function settledRss(): number {
  collectGarbage();
  return process.memoryUsage().rss;
}

test(`churn: ${CYCLES} connect/transfer/close cycles leave no native sockets and flat RSS`, async () => {
  assert.ok(Number.isInteger(CYCLES) && CYCLES > 0, `UTP_CHURN_CYCLES must be a positive integer`);
  const baseline = await nativeCounts();
  await using server = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const listener = server.listen();
  const up = pattern(UP, 11);
  const down = pattern(DOWN, 12);
  let served = 0;
  let serverFailures = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        const request = await within(readAll(conn.readable), 10_000, "server read");
        assert.deepEqual(request, up);
        const w = conn.writable.getWriter();
        await w.write(down);
        await w.close();
        await within(conn.closed, 10_000, "server close");
        served++;
      })().catch(() => serverFailures++);
    }
  })();

  const rssStart = settledRss();
  let rssWarm = rssStart;
  let rssPeak = rssStart;
  const QUARTER = Math.max(1, Math.floor(CYCLES / 4));
  const marks: string[] = [];
  let started = 0;
  let finished = 0;
  const t0 = performance.now();
  const deadline = Date.now() + RUN_BOUND_MS;

  const cycle = async (i: number) => {
    const conn = await connect({ hostname: "127.0.0.1", port: server.addr.port, connectTimeout: 5000 });
    const w = conn.writable.getWriter();
    await w.write(up);
    await w.close();
    const response = await within(readAll(conn.readable), 10_000, `cycle ${i} response`);
    assert.equal(response.byteLength, DOWN, `cycle ${i} length`);
    assert.deepEqual(response, down, `cycle ${i} content`);
    conn.close();
    await within(conn.closed, 10_000, `cycle ${i} close`);
  };

  await Promise.all(Array.from({ length: LANES }, async () => {
    while (started < CYCLES) {
      assert.ok(Date.now() < deadline, `churn did not finish within ${RUN_BOUND_MS} ms`);
      const i = started++;
      await cycle(i);
      finished++;
      if (finished % 100 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      if (finished === WARMUP) rssWarm = settledRss();
      if (finished % QUARTER === 0) marks.push(`${finished}: ${MiB(settledRss())}`);
    }
  }));
  const elapsed = performance.now() - t0;
  assert.equal(finished, CYCLES);

  listener.close();
  await serving;
  // Bounded polling: the server's last sockets go once their FINs are acknowledged.
  const settled = (c: { sockets: number; contexts: number }) =>
    c.sockets <= baseline.sockets && c.contexts <= baseline.contexts + 1;
  for (let i = 0; i < 100 && !settled(await nativeCounts()); i++) {
    await new Promise((r) => setTimeout(r, 50)); // 5 s at most
  }
  const after = await nativeCounts();
  assert.equal((await nativeCounts(server)).sockets, 0, "server endpoint still has live sockets");
  // The server endpoint itself is still bound (closed by `await using`): one context above the baseline.
  assert.ok(settled(after), `leaked: before ${JSON.stringify(baseline)}, after ${JSON.stringify(after)}`);
  assert.equal(served, CYCLES, `server completed ${served} of ${CYCLES} (${serverFailures} failed)`);

  const rssEnd = settledRss();
  rssPeak = Math.max(rssPeak, rssEnd);
  console.log(
    `churn: ${CYCLES} cycles (${UP} B up, ${DOWN} B down, ${LANES} in flight) in ${elapsed.toFixed(0)} ms ` +
      `(${
        (elapsed / CYCLES).toFixed(2)
      } ms/cycle); native sockets ${baseline.sockets} -> ${after.sockets}, ` +
      `contexts ${baseline.contexts} -> ${after.contexts - 1} (+ the server's); RSS start ${
        MiB(rssStart)
      } MiB, ` +
      `after ${WARMUP} warm-up cycles ${MiB(rssWarm)} MiB, end ${MiB(rssEnd)} MiB, peak ${
        MiB(rssPeak)
      } MiB, ` +
      `growth after warm-up ${MiB(rssEnd - rssWarm)} MiB; settled RSS by cycle (MiB) ${marks.join(", ")}`,
  );
  assert.ok(
    rssEnd - rssWarm < MAX_RSS_GROWTH,
    `RSS grew ${MiB(rssEnd - rssWarm)} MiB over ${CYCLES - WARMUP} cycles (bound ${MiB(MAX_RSS_GROWTH)} MiB)`,
  );
});
