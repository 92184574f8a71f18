// Copyright 2026 the utpstream authors. MIT license.
// Hole punching through home-router NATs in the network lab (root only):
// two peers, each behind its own router namespace with masquerade and a
// stateful forward filter, and a rendezvous service in an "internet"
// namespace. See docs/lab.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Lab, labUnavailable, skipReason } from "./_lab.ts";
import { patternHash } from "./_helpers.ts";

const unavailable = labUnavailable();
const RENDEZVOUS = "10.201.0.1";
const RENDEZVOUS_PORT = "7000";
const BYTES = 1 << 20;
/** How much later the second peer starts punching. */
const SKEW_MS = 250;

type PeerResult = {
  ok: boolean;
  code?: string;
  message?: string;
  bytes?: number;
  sha256?: string;
  punchMs?: number;
  ms: number;
};

/** Starts the rendezvous service in the lab's "internet" namespace. */
async function startRendezvous(lab: Lab) {
  const rendezvous = lab.run("inet", "rendezvous.ts", [RENDEZVOUS, RENDEZVOUS_PORT]);
  await rendezvous.next(20_000, "rendezvous start");
  return rendezvous;
}

/** One attempt: peers in namespaces a and b; `first` punches SKEW_MS before the other. */
async function attempt(
  lab: Lab,
  pair: string,
  first: "a" | "b",
  dialer: "a" | "b",
  timeoutMs: number,
): Promise<Record<"a" | "b", PeerResult>> {
  const start = (side: "a" | "b") =>
    lab.run(side, "nat_peer.ts", [
      RENDEZVOUS,
      RENDEZVOUS_PORT,
      pair,
      side === dialer ? "dial" : "accept",
      String(side === first ? 0 : SKEW_MS),
      String(timeoutMs),
      String(BYTES),
    ]);
  const a = start("a");
  const b = start("b");
  const limit = timeoutMs + 25_000;
  const [ra, rb] = await Promise.all([
    a.next<PeerResult>(limit, "peer a"),
    b.next<PeerResult>(limit, "peer b"),
  ]);
  await Promise.all([a.exited, b.exited]);
  return { a: ra, b: rb };
}

test("hole punching through two home-router NATs: 8 attempts, both start orders, 1 MiB each way", {
  skip: unavailable && skipReason(unavailable),
}, async () => {
  await using lab = Lab.up("nat");
  await startRendezvous(lab);
  const failures: string[] = [];
  for (let i = 0; i < 8; i++) {
    const first = i % 2 === 0 ? "a" : "b";
    const dialer = (i >> 1) % 2 === 0 ? "a" : "b";
    const r = await attempt(lab, `attempt${i}`, first, dialer, 10_000);
    for (const side of ["a", "b"] as const) {
      const got = r[side];
      if (!got.ok || got.bytes !== BYTES || got.sha256 !== patternHash(BYTES)) {
        failures.push(`attempt ${i} (first ${first}, dialer ${dialer}) peer ${side}: ${JSON.stringify(got)}`);
      }
    }
  }
  assert.deepEqual(failures, []);
});

test("hole punching through symmetric NATs fails cleanly with ETIMEDOUT within the timeout", {
  skip: unavailable && skipReason(unavailable),
}, async () => {
  await using lab = Lab.up("nat", ["--symmetric"]);
  await startRendezvous(lab);
  const timeoutMs = 3000;
  const r = await attempt(lab, "symmetric", "a", "a", timeoutMs);
  for (const side of ["a", "b"] as const) {
    assert.equal(
      r[side].ok,
      false,
      `peer ${side} connected through a symmetric NAT: ${JSON.stringify(r[side])}`,
    );
    assert.equal(r[side].code, "ETIMEDOUT", `peer ${side}: ${JSON.stringify(r[side])}`);
    // The timeout bounds the attempt (a generous second for timers and a loaded machine).
    assert.ok(r[side].punchMs! <= timeoutMs + 1000, `peer ${side} took ${r[side].punchMs} ms`);
  }
});
