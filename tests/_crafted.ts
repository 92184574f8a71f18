// Copyright 2026 the utpstream authors. MIT license.
// A µTP (BEP 29) packet builder/parser and a raw-UDP "peer" for crafted-packet
// tests. Uses node:dgram only, so Deno and Bun run it alike.
import { createSocket, type Socket } from "node:dgram";

export const ST_DATA = 0;
export const ST_FIN = 1;
export const ST_STATE = 2;
export const ST_RESET = 3;
export const ST_SYN = 4;

/** One extension header: type, then its bytes (length = bytes.length). */
export interface Extension {
  type: number;
  bytes: Uint8Array;
}

export interface PacketFields {
  type: number;
  version?: number;
  connId: number;
  timestamp?: number;
  timestampDiff?: number;
  wnd?: number;
  seq: number;
  ack: number;
  extensions?: Extension[];
  payload?: Uint8Array;
}

export interface Packet {
  type: number;
  version: number;
  extension: number;
  connId: number;
  timestamp: number;
  timestampDiff: number;
  wnd: number;
  seq: number;
  ack: number;
  payload: Uint8Array;
}

/** Serialises a µTP packet: 20-byte header, extension chain, payload. */
export function buildPacket(f: PacketFields): Uint8Array {
  const exts = f.extensions ?? [];
  const payload = f.payload ?? new Uint8Array(0);
  const extLen = exts.reduce((n, e) => n + 2 + e.bytes.length, 0);
  const out = new Uint8Array(20 + extLen + payload.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, ((f.type & 0xf) << 4) | ((f.version ?? 1) & 0xf));
  v.setUint8(1, exts.length ? exts[0].type : 0);
  v.setUint16(2, f.connId & 0xffff);
  v.setUint32(4, (f.timestamp ?? nowMicros()) >>> 0);
  v.setUint32(8, (f.timestampDiff ?? 0) >>> 0);
  v.setUint32(12, (f.wnd ?? 1 << 20) >>> 0);
  v.setUint16(16, f.seq & 0xffff);
  v.setUint16(18, f.ack & 0xffff);
  let off = 20;
  exts.forEach((e, i) => {
    out[off] = i + 1 < exts.length ? exts[i + 1].type : 0;
    out[off + 1] = e.bytes.length;
    out.set(e.bytes, off + 2);
    off += 2 + e.bytes.length;
  });
  out.set(payload, off);
  return out;
}

/** Parses a µTP packet (header, skipping extensions); undefined if malformed. */
export function parsePacket(buf: Uint8Array): Packet | undefined {
  if (buf.length < 20) return undefined;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 20;
  let ext = buf[1];
  while (ext !== 0) {
    if (off + 2 > buf.length) return undefined;
    ext = buf[off];
    off += 2 + buf[off + 1];
    if (off > buf.length) return undefined;
  }
  return {
    type: buf[0] >> 4,
    version: buf[0] & 0xf,
    extension: buf[1],
    connId: v.getUint16(2),
    timestamp: v.getUint32(4),
    timestampDiff: v.getUint32(8),
    wnd: v.getUint32(12),
    seq: v.getUint16(16),
    ack: v.getUint16(18),
    payload: buf.subarray(off),
  };
}

/** libtorrent's close-reason extension (type 3): 2 reserved bytes + u16 reason. */
export const closeReason = (reason = 3): Extension => ({
  type: 3,
  bytes: new Uint8Array([0, 0, reason >> 8, reason & 0xff]),
});

export function nowMicros(): number {
  return Math.floor(performance.now() * 1000) >>> 0;
}

/** A raw UDP socket that plays a µTP peer by hand. */
export class RawPeer {
  readonly sock: Socket;
  readonly received: Packet[] = [];
  #waiters: { pred: (p: Packet) => boolean; resolve: (p: Packet) => void }[] = [];

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on("message", (msg: Uint8Array) => {
      const p = parsePacket(new Uint8Array(msg));
      if (!p) return;
      this.received.push(p);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(p)) return true;
        w.resolve(p);
        return false;
      });
    });
  }

  static async open(): Promise<RawPeer> {
    const sock = createSocket("udp4");
    // A datagram sent to a port that has closed comes back as an ICMP error, which Bun
    // reports as an "error" event (unhandled, it throws): not a failure here.
    sock.on("error", () => {});
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
    return new RawPeer(sock);
  }

  get port(): number {
    return this.sock.address().port;
  }

  send(bytes: Uint8Array, port: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sock.send(bytes, port, "127.0.0.1", (err) => err ? reject(err) : resolve())
    );
  }

  /** Resolves with the first packet (already received or future) matching `pred`, or undefined after `ms`. */
  next(pred: (p: Packet) => boolean, ms: number, from = 0): Promise<Packet | undefined> {
    const have = this.received.slice(from).find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => {
      const w = {
        pred,
        resolve: (p: Packet | undefined) => {
          clearTimeout(timer);
          resolve(p);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve(undefined);
      }, ms);
      this.#waiters.push(w);
    });
  }

  close(): void {
    this.sock.close();
  }
}

/** State of a hand-made µTP client connection after the handshake. */
export interface Handshake {
  /** id we put on packets to the server (our SYN's id + 1). */
  sendId: number;
  /** id the server puts on packets to us (our SYN's id). */
  recvId: number;
  /** our next sequence number. */
  seq: number;
  /** the last server sequence number we have (we ack this). */
  ack: number;
  synAck: Packet;
}

/**
 * Sends a SYN with `connId`, waits for the SYN-ACK and, unless `confirm` is
 * false, confirms it with an ACK as a µTP initiator does (the listener hands
 * the connection to accept() once it is confirmed).
 */
export async function handshake(
  peer: RawPeer,
  port: number,
  connId: number,
  seq = 1000,
  confirm = true,
): Promise<Handshake> {
  const from = peer.received.length;
  await peer.send(buildPacket({ type: ST_SYN, connId, seq, ack: 0 }), port);
  const synAck = await peer.next((p) => p.type === ST_STATE && p.ack === seq, 2000, from);
  if (!synAck) throw new Error(`no SYN-ACK for connection id ${connId}`);
  const hs = {
    sendId: (connId + 1) & 0xffff,
    recvId: connId & 0xffff,
    seq: (seq + 1) & 0xffff,
    ack: (synAck.seq - 1) & 0xffff,
    synAck,
  };
  if (confirm) {
    await peer.send(buildPacket({ type: ST_STATE, connId: hs.sendId, seq: hs.seq, ack: hs.ack }), port);
  }
  return hs;
}
