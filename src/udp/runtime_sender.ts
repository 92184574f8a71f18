// Copyright 2026 the utpstream authors. MIT license.
/**
 * Runtime UDP I/O (`udpIo: "runtime"`): moves the datagrams libutp queued in
 * the shim to the runtime's socket, in bounded batches (thousands of
 * un-awaited sends collapse Deno's UDP throughput).
 *
 * @module
 */
import { type ContextHandle, DATAGRAM_HEADER_SIZE, type NativeApi } from "../ffi/native.ts";
import { formatIp } from "../addr.ts";
import type { DatagramSocket } from "./datagram_socket.ts";

/** Holds any one outgoing datagram record. */
const BUFFER_SIZE = 1 << 17;
/** Sends in flight at once. */
const SEND_BATCH = 32;

/**
 * Sends what the shim queued through the runtime's socket.
 *
 * @example Flush after each batch of native calls
 * ```ts ignore
 * // Not checked: it needs a loaded native library, a context and a bound socket (see Driver).
 * const sender = new RuntimeSender(native, ctx, socket, () => closed);
 * sender.flush();
 * ```
 */
export class RuntimeSender {
  #native: NativeApi;
  #ctx: ContextHandle;
  #socket: DatagramSocket;
  #closed: () => boolean;
  #buffer = new Uint8Array(BUFFER_SIZE);
  #view = new DataView(this.#buffer.buffer);
  #sending = false;

  constructor(native: NativeApi, ctx: ContextHandle, socket: DatagramSocket, closed: () => boolean) {
    this.#native = native;
    this.#ctx = ctx;
    this.#socket = socket;
    this.#closed = closed;
  }

  /** Starts sending what is queued, unless a send loop already runs (it picks the new datagrams up). */
  flush(): void {
    if (this.#sending) return;
    this.#sending = true;
    this.#run().finally(() => this.#sending = false);
  }

  async #run(): Promise<void> {
    const buf = this.#buffer;
    const view = this.#view;
    while (!this.#closed()) {
      const n = this.#native.utps_take_datagrams(this.#ctx, buf, buf.byteLength);
      if (n <= 0) return;
      const items: [Uint8Array, string, number][] = [];
      for (let off = 0; off < n;) {
        const family = buf[off]!;
        const port = view.getUint16(off + 2, true);
        const len = view.getUint32(off + 4, true);
        const host = formatIp(family, buf.subarray(off + 8, off + DATAGRAM_HEADER_SIZE));
        items.push([buf.slice(off + DATAGRAM_HEADER_SIZE, off + DATAGRAM_HEADER_SIZE + len), host, port]);
        off += DATAGRAM_HEADER_SIZE + len;
      }
      for (let i = 0; i < items.length; i += SEND_BATCH) {
        await Promise.all(
          items.slice(i, i + SEND_BATCH).map(([data, host, port]) => this.#socket.send(data, host, port)),
        );
      }
    }
  }
}
