// Copyright 2026 the utpstream authors. MIT license.
// Unit tests of the event-record decoder (no native library): records are
// built here byte by byte, as the shim writes them (native/utps.h).
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEvents, type EventSink } from "../src/events.ts";
import { Event, EVENT_HEADER_SIZE } from "../src/ffi/native.ts";

interface RecordSpec {
  type: number;
  family?: number;
  value?: number;
  id?: number;
  payload?: Uint8Array;
}

/** Writes records in the shim's format: u8 type, u8 family, u16 value, u32 id, u32 len, payload. */
function records(specs: RecordSpec[]): Uint8Array {
  const size = specs.reduce((n, r) => n + EVENT_HEADER_SIZE + (r.payload?.byteLength ?? 0), 0);
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  let off = 0;
  for (const r of specs) {
    const payload = r.payload ?? new Uint8Array(0);
    buf[off] = r.type;
    buf[off + 1] = r.family ?? 0;
    view.setUint16(off + 2, r.value ?? 0, true);
    view.setUint32(off + 4, r.id ?? 0, true);
    view.setUint32(off + 8, payload.byteLength, true);
    buf.set(payload, off + EVENT_HEADER_SIZE);
    off += EVENT_HEADER_SIZE + payload.byteLength;
  }
  return buf;
}

/** A sink that logs every call as a string. */
function recorder(): { sink: EventSink; log: string[] } {
  const log: string[] = [];
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const sink: EventSink = {
    read: (id, data) => log.push(`read ${id} ${text(data)}`),
    connected: (id) => log.push(`connected ${id}`),
    writable: (id) => log.push(`writable ${id}`),
    eof: (id) => log.push(`eof ${id}`),
    lingering: (id) => log.push(`lingering ${id}`),
    timeWaiting: (id) => log.push(`time-waiting ${id}`),
    failed: (id, code) => log.push(`failed ${id} ${code}`),
    destroyed: (id) => log.push(`destroyed ${id}`),
    accepted: (id, remote) => log.push(`accepted ${id} ${remote.hostname}:${remote.port}`),
    datagram: (data, remote) => log.push(`datagram ${remote.hostname}:${remote.port} ${text(data)}`),
    incoming: (remote, address, syn) =>
      log.push(`incoming ${remote.hostname}:${remote.port} v${address.family} ${syn.byteLength}`),
  };
  return { sink, log };
}

const ipv4 = (a: number, b: number, c: number, d: number) =>
  Uint8Array.of(a, b, c, d, ...new Array(12).fill(0));
const withAddress = (address: Uint8Array, data: string) =>
  Uint8Array.from([...address, ...new TextEncoder().encode(data)]);

test("every record type decodes in order, with its id, value and payload", () => {
  const mapped = Uint8Array.of(...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 7);
  const buf = records([
    { type: Event.ACCEPT, id: 5, family: 4, value: 6881, payload: ipv4(127, 0, 0, 1) },
    { type: Event.CONNECT, id: 6 },
    { type: Event.READ, id: 5, payload: new TextEncoder().encode("hello") },
    { type: Event.WRITABLE, id: 6 },
    { type: Event.EOF, id: 5 },
    { type: Event.ERROR, id: 6, value: 2 },
    { type: Event.LINGER, id: 5 },
    { type: Event.TIME_WAIT, id: 5 },
    { type: Event.DESTROYED, id: 6 },
    { type: Event.DATAGRAM, family: 6, value: 53, payload: withAddress(mapped, "dns?") },
    {
      type: Event.INCOMING,
      family: 4,
      value: 40000,
      payload: withAddress(ipv4(10, 1, 2, 3), "x".repeat(20)),
    },
  ]);
  const { sink, log } = recorder();
  assert.equal(decodeEvents(buf, new DataView(buf.buffer), buf.byteLength, sink), buf.byteLength);
  assert.deepEqual(log, [
    "accepted 5 127.0.0.1:6881",
    "connected 6",
    "read 5 hello",
    "writable 6",
    "eof 5",
    "failed 6 2",
    "lingering 5",
    "time-waiting 5",
    "destroyed 6",
    "datagram 10.0.0.7:53 dns?", // an IPv4-mapped sender reads as IPv4
    "incoming 10.1.2.3:40000 v4 20",
  ]);
});

test("unknown record types are skipped by their length; truncated records are not read", () => {
  const buf = records([
    { type: 99, id: 1, payload: new Uint8Array(7) },
    { type: Event.EOF, id: 2 },
    { type: Event.READ, id: 3, payload: new TextEncoder().encode("cut") },
  ]);
  const { sink, log } = recorder();
  // Hand the decoder all but the last byte: the last record is incomplete.
  const reached = decodeEvents(buf, new DataView(buf.buffer), buf.byteLength - 1, sink);
  assert.deepEqual(log, ["eof 2"]);
  assert.equal(reached, EVENT_HEADER_SIZE + 7 + EVENT_HEADER_SIZE);
});

test("address records too short for an address are ignored, and stop() ends decoding", () => {
  const buf = records([
    { type: Event.ACCEPT, id: 1, payload: new Uint8Array(3) },
    { type: Event.EOF, id: 2 },
    { type: Event.EOF, id: 3 },
  ]);
  const { sink, log } = recorder();
  decodeEvents(buf, new DataView(buf.buffer), buf.byteLength, sink, () => log.length === 1);
  assert.deepEqual(log, ["eof 2"]);
});
