// Copyright 2026 the utpstream authors. MIT license.
/**
 * UDP for Deno: `Deno.listenDatagram` (needs `--unstable-net`), received into
 * one reused buffer.
 *
 * @module
 */
import type { DatagramHandler, DatagramSocket } from "./datagram_socket.ts";

const RECEIVE_BUFFER_SIZE = 65536;

class DenoDatagramSocket implements DatagramSocket {
  readonly hostname: string;
  readonly port: number;
  #conn: Deno.DatagramConn;
  #closed = false;
  #buffer = new Uint8Array(RECEIVE_BUFFER_SIZE);
  #pending: Promise<[Uint8Array, Deno.Addr]> | undefined;
  // Settles when the receive loop has ended: only then has Deno let go of the port.
  #receiving: Promise<void> = Promise.resolve();

  constructor(conn: Deno.DatagramConn) {
    this.#conn = conn;
    const addr = conn.addr as Deno.NetAddr;
    this.hostname = addr.hostname;
    this.port = addr.port;
  }

  start(handler: DatagramHandler, onError: (error: unknown) => void): void {
    const loop = async () => {
      let consecutiveErrors = 0;
      while (!this.#closed) {
        let result: [Uint8Array, Deno.Addr];
        try {
          this.#pending = this.#conn.receive(this.#buffer);
          result = await this.#pending;
          consecutiveErrors = 0;
        } catch (error) {
          if (this.#closed) return;
          // ICMP errors (e.g. a refused port on Windows) surface here; keep
          // receiving, but give up if the socket is really broken.
          if (++consecutiveErrors > 100) {
            onError(error);
            return;
          }
          continue;
        }
        const addr = result[1] as Deno.NetAddr;
        handler(result[0], addr.hostname, addr.port);
      }
    };
    this.#receiving = loop();
  }

  async send(data: Uint8Array, hostname: string, port: number): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#conn.send(data as Uint8Array<ArrayBuffer>, { transport: "udp", hostname, port });
    } catch {
      // A datagram that cannot be sent is a lost datagram; µTP recovers.
    }
  }

  readonly canUnref = false;

  detach(): boolean {
    // Close our handle; the native layer holds its own descriptor and the
    // driver polls it (or its thread watches it) instead.
    this.close();
    return true;
  }

  setRef(_ref: boolean): void {
    // Deno.DatagramConn has no ref/unref; the endpoint keeps its own timers
    // unreferenced and closes the socket when it is done.
  }

  close(): Promise<void> {
    if (this.#closed) return this.#receiving;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    return this.#receiving;
  }
}

/** Binds a UDP socket with `Deno.listenDatagram`. */
export function bindDenoDatagramSocket(hostname: string, port: number): Promise<DatagramSocket> {
  if (typeof Deno.listenDatagram !== "function") {
    throw new TypeError(
      "Cannot open a UDP socket: Deno.listenDatagram is unavailable, run Deno with --unstable-net",
    );
  }
  const conn = Deno.listenDatagram({ transport: "udp", hostname, port });
  return Promise.resolve(new DenoDatagramSocket(conn));
}
