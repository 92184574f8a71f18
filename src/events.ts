// Copyright 2026 the utpstream authors. MIT license.
/**
 * Decoding the shim's event records (`native/utps.h`): a 12-byte header
 * (u8 type, u8 family, u16 value, u32 connection id, u32 payload length),
 * then the payload. Pure: it reads bytes and calls a sink, so unit tests can
 * feed it records they wrote themselves.
 *
 * @module
 */
import { ADDRESS_SIZE, Event, EVENT_HEADER_SIZE } from "./ffi/native.ts";
import { displayHostname, type IpAddress, type UtpAddr } from "./addr.ts";

/** Receives decoded events. Payload views are only valid during the call: copy what is kept. */
export interface EventSink {
  /** Data for connection `id`. */
  read(id: number, data: Uint8Array): void;
  /** An outgoing handshake completed. */
  connected(id: number): void;
  /** The send window has room again. */
  writable(id: number): void;
  /** The peer's FIN arrived after all its data. */
  eof(id: number): void;
  /** Closed, and everything sent is acknowledged; the socket waits for the peer's FIN. */
  lingering(id: number): void;
  /** Closed and done: the native socket stays only to acknowledge a repeated FIN (TIME_WAIT). */
  timeWaiting(id: number): void;
  /** The connection failed with a native error code (`NativeError`). */
  failed(id: number, code: number): void;
  /** The connection is gone; the id is dead. */
  destroyed(id: number): void;
  /** An incoming connection whose handshake the initiator confirmed. */
  accepted(id: number, remote: UtpAddr): void;
  /** A datagram that is not µTP. */
  datagram(data: Uint8Array, remote: UtpAddr): void;
  /** Firewall mode: a SYN waits for a decision. `address` bytes and `syn` are views. */
  incoming(remote: UtpAddr, address: IpAddress, syn: Uint8Array): void;
}

/**
 * Decodes the records in `buf[0, length)` in order, calling `sink` for each.
 * Stops early when `stop()` turns true (checked after every record); an
 * unknown record type is skipped by its length. Returns the offset reached.
 *
 * @example Decode one EOF record
 * ```ts
 * import { decodeEvents, type EventSink } from "./events.ts";
 * const record = new Uint8Array(12);
 * record[0] = 4; // EOF
 * new DataView(record.buffer).setUint32(4, 7, true); // connection 7
 * const seen: number[] = [];
 * const sink = { eof: (id: number) => seen.push(id) } as unknown as EventSink;
 * decodeEvents(record, new DataView(record.buffer), record.byteLength, sink);
 * console.assert(seen[0] === 7);
 * ```
 */
export function decodeEvents(
  buf: Uint8Array,
  view: DataView,
  length: number,
  sink: EventSink,
  stop: () => boolean = () => false,
): number {
  let off = 0;
  while (off + EVENT_HEADER_SIZE <= length) {
    const type = buf[off]!;
    const family = buf[off + 1]!;
    const value = view.getUint16(off + 2, true);
    const id = view.getUint32(off + 4, true);
    const len = view.getUint32(off + 8, true);
    const start = off + EVENT_HEADER_SIZE;
    const end = start + len;
    if (end > length) break; // a truncated record: never read past the buffer
    off = end;
    switch (type) {
      case Event.READ:
        sink.read(id, buf.subarray(start, end));
        break;
      case Event.CONNECT:
        sink.connected(id);
        break;
      case Event.WRITABLE:
        sink.writable(id);
        break;
      case Event.EOF:
        sink.eof(id);
        break;
      case Event.LINGER:
        sink.lingering(id);
        break;
      case Event.TIME_WAIT:
        sink.timeWaiting(id);
        break;
      case Event.ERROR:
        sink.failed(id, value);
        break;
      case Event.DESTROYED:
        sink.destroyed(id);
        break;
      case Event.ACCEPT:
        if (len < ADDRESS_SIZE) break;
        sink.accepted(id, remoteOf(family, buf.subarray(start, start + ADDRESS_SIZE), value));
        break;
      case Event.DATAGRAM:
        if (len < ADDRESS_SIZE) break;
        sink.datagram(
          buf.subarray(start + ADDRESS_SIZE, end),
          remoteOf(family, buf.subarray(start, start + ADDRESS_SIZE), value),
        );
        break;
      case Event.INCOMING: {
        if (len < ADDRESS_SIZE) break;
        const bytes = buf.subarray(start, start + ADDRESS_SIZE);
        const remote = remoteOf(family, bytes, value);
        const address: IpAddress = { family: family === 6 ? 6 : 4, bytes, text: remote.hostname };
        sink.incoming(remote, address, buf.subarray(start + ADDRESS_SIZE, end));
        break;
      }
    }
    if (stop()) break;
  }
  return off;
}

function remoteOf(family: number, bytes: Uint8Array, port: number): UtpAddr {
  return { transport: "utp", hostname: displayHostname(family, bytes), port };
}
