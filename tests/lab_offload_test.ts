// Copyright 2026 the utpstream authors. MIT license.
// UDP segmentation offload through a routed path in the network lab (root
// only): segmented sends from the sender's namespace are cut into ordinary
// datagrams on the way and arrive intact at a `udpIo: "bulk"` receiver; and
// where the kernel refuses segmented sends, the endpoint turns them off by
// itself and the transfer still arrives intact. The refusal here is a route
// whose MTU is below libutp's packet size (EINVAL: a segment must fit the
// path; unsegmented datagrams are fragmented instead), as behind a tunnel.
// (Kernels before 6.11 also refused them with EIO on a device without
// checksum offload; this kernel computes the checksums itself.) See docs/lab.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Lab, labUnavailable, skipReason } from "./_lab.ts";
import { patternHash } from "./_helpers.ts";
import type { EndpointCounters } from "../src/diagnostics.ts";

const unavailable = labUnavailable();
const isNode = !("Deno" in globalThis) && !("Bun" in globalThis);
const SIZE = 16 << 20;

type Received = { bytes: number; sha256: string; counters: EndpointCounters };
type Sent = { sent: number; udpIo: string; counters: EndpointCounters };

async function transferThroughLab(routeMtu?: number): Promise<{ sent: Sent; received: Received }> {
  await using lab = Lab.up("path");
  if (routeMtu !== undefined) {
    lab.exec("snd", ["ip", "route", "replace", "default", "via", "10.202.1.1", "mtu", String(routeMtu)]);
  }
  const server = lab.run("rcv", "offload_transfer.ts", ["server", "10.202.2.2", "7002", "bulk"]);
  const ready = await server.next<{ ready: number; udpIo: string }>(20_000, "offload server start");
  // Node has no receive thread (no thread-safe callbacks in node:ffi): "native" there.
  assert.equal(ready.udpIo, isNode ? "native" : "bulk");
  const client = lab.run("snd", "offload_transfer.ts", [
    "client",
    "10.202.2.2",
    "7002",
    String(SIZE),
    "native",
  ]);
  const sent = await client.next<Sent>(60_000, "client done");
  const received = await server.next<Received>(10_000, "server done");
  return { sent, received };
}

test("segmented sends cross a routed path as ordinary datagrams, intact", {
  skip: unavailable && skipReason(unavailable),
}, async () => {
  const { sent, received } = await transferThroughLab();
  assert.equal(received.bytes, SIZE);
  assert.equal(received.sha256, patternHash(SIZE));
  assert.equal(sent.counters.segmenting, true);
  assert.ok(sent.counters.segmentedDatagrams > SIZE / 1500 / 2, JSON.stringify(sent.counters));
});

test("a path that refuses segmented sends (MTU below the packet size): the endpoint falls back, intact", {
  skip: unavailable && skipReason(unavailable),
}, async () => {
  const { sent, received } = await transferThroughLab(1300);
  assert.equal(received.bytes, SIZE);
  assert.equal(received.sha256, patternHash(SIZE));
  assert.equal(sent.counters.segmenting, false, JSON.stringify(sent.counters));
  assert.equal(sent.counters.segmentedDatagrams, 0);
  assert.ok(sent.counters.sentDatagrams > SIZE / 1500);
});
