// Copyright 2026 the utpstream authors. MIT license.
// LEDBAT does what µTP is for, in the network lab (root only): on a 20 Mbit/s
// bottleneck (a tbf on a router namespace's egress), µTP alone fills at least
// 90 % of the link while its queueing delay stays near the 100 ms target;
// when a loss-based TCP bulk flow joins (cubic, or reno where the kernel
// keeps cubic out of namespaces: scripts/lab/common.sh), µTP yields and TCP gets at least 80 %.
// Rates are over 2 s windows; the figures over fixed periods are in
// `deno task bench` (bench/lab.ts). See docs/lab.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Lab, labUnavailable, skipReason } from "./_lab.ts";
import { LedbatRun } from "./_lab_ledbat.ts";

const unavailable = labUnavailable();
const RATE = 20;

test("LEDBAT: µTP fills a 20 Mbit/s bottleneck near its 100 ms target, then yields to TCP", {
  skip: unavailable && skipReason(unavailable),
}, async () => {
  await using lab = Lab.up("path", ["--rate", String(RATE), "--queue-ms", "600"]);
  const run = await LedbatRun.start(lab, RATE);
  run.source("utp", 60);
  // At least 6 s alone, so the queue has settled where LEDBAT holds it.
  const filled = await run.until(
    2000,
    15_000,
    (w) => w.utpMbit >= 0.9 * RATE && run.samples.at(-1)!.t >= 6000,
  );
  const alone = run.window(2000)!;
  assert.ok(filled, `µTP alone reached only ${alone.utpMbit.toFixed(1)} of ${RATE} Mbit/s`);
  // Near the target: well under what TCP builds in the same queue (600 ms).
  assert.ok(alone.queueMs <= 250, `µTP alone kept ${alone.queueMs.toFixed(0)} ms of queue`);
  run.source("tcp", 60);
  const yielded = await run.until(2000, 30_000, (w) => w.tcpMbit >= 0.8 * RATE);
  const shared = run.window(2000)!;
  assert.ok(
    yielded,
    `with TCP joined: TCP ${shared.tcpMbit.toFixed(1)}, µTP ${shared.utpMbit.toFixed(1)} of ${RATE} Mbit/s`,
  );
});
