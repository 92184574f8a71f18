// Copyright 2026 the utpstream authors. MIT license.
/**
 * UDP for Node: `node:dgram`. Its sockets are libuv descriptors, so the
 * driver finds the descriptor and moves datagrams with `recvmmsg`/`sendmmsg`
 * itself (native I/O): Node delivers the first datagram of each wake-up
 * here and the driver drains the rest. Node's sockets can be unreferenced,
 * so `setRef` maps to `ref()`/`unref()` and no `detach` is needed.
 *
 * Only {@linkcode bindNodeDatagramSocket} touches Node's APIs.
 *
 * @module
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { DatagramHandler, DatagramSocket } from "./datagram_socket.ts";

class NodeDatagramSocket implements DatagramSocket {
  readonly hostname: string;
  readonly port: number;
  /** Errors Node reported for this socket after it was bound (counted, never fatal). */
  errors = 0;
  #socket: Socket;
  #closed = false;
  #handler: DatagramHandler | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    const addr = socket.address();
    this.hostname = addr.address;
    this.port = addr.port;
    socket.on("message", this.#onMessage);
    // Without an "error" listener Node would throw. An unconnected UDP socket
    // survives the errors it can report (failed sends, ICMP reports), and a
    // peer must not be able to close the endpoint by provoking them.
    socket.on("error", () => {
      if (!this.#closed) this.errors++;
    });
  }

  #onMessage = (data: Uint8Array, info: RemoteInfo): void => {
    this.#handler?.(data, info.address, info.port);
  };

  start(handler: DatagramHandler, _onError: (error: unknown) => void): void {
    if (!this.#closed) this.#handler = handler;
  }

  send(data: Uint8Array, hostname: string, port: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        // A datagram that cannot be sent is a lost datagram; µTP recovers.
        this.#socket.send(data, port, hostname, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  readonly canUnref = true;

  setRef(ref: boolean): void {
    if (this.#closed) return;
    if (ref) this.#socket.ref();
    else this.#socket.unref();
  }

  #released: Promise<void> = Promise.resolve();

  close(): Promise<void> {
    if (this.#closed) return this.#released;
    this.#closed = true;
    this.#handler = undefined;
    this.#socket.off("message", this.#onMessage);
    // Node lets go of the port when the close callback runs.
    this.#released = new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
    return this.#released;
  }
}

/**
 * Binds a UDP socket with `node:dgram` to `hostname`:`port` (port 0: any);
 * an IPv6 socket on `::` also carries IPv4.
 *
 * @example
 * ```ts ignore
 * const socket = await bindNodeDatagramSocket("127.0.0.1", 0);
 * console.log(socket.port);
 * socket.close();
 * ```
 */
export function bindNodeDatagramSocket(hostname: string, port: number): Promise<DatagramSocket> {
  const socket = createSocket({ type: hostname.includes(":") ? "udp6" : "udp4", ipv6Only: false });
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      socket.off("listening", onListening);
      try {
        socket.close();
      } catch {
        // never bound
      }
      reject(error);
    };
    const onListening = () => {
      socket.off("error", onError);
      resolve(new NodeDatagramSocket(socket));
    };
    socket.once("error", onError);
    socket.once("listening", onListening);
    socket.bind({ address: hostname, port, exclusive: true });
  });
}
