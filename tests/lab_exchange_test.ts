// Copyright 2026 the utpstream authors. MIT license.
// Short exchanges through random loss in the network lab (root only): 3 % of
// the packets dropped each way by the router namespace between client and
// server; 100 exchanges of (connect, 64 KiB, half-close, a 32-byte answer,
// the request's SHA-256) must all arrive intact. The times are measured by
// `deno task bench` (bench/lab.ts), not asserted here. See docs/lab.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Lab, labUnavailable, skipReason } from "./_lab.ts";

const unavailable = labUnavailable();

test("100 short exchanges through 3 % random loss each way all arrive intact", {
  skip: unavailable && skipReason(unavailable),
}, async () => {
  await using lab = Lab.up("path", ["--loss", "30"]);
  const server = lab.run("rcv", "exchange.ts", ["server", "utp", "10.202.2.2", "7001"]);
  await server.next(20_000, "exchange server start");
  const client = lab.run("snd", "exchange.ts", ["client", "utp", "10.202.2.2", "7001", "100", "4", "65536"]);
  const r = await client.next<{ done: number; intact: number; failures: string[] }>(120_000, "exchanges");
  assert.deepEqual(r.failures, []);
  assert.equal(r.intact, 100);
});
