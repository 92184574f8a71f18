// Copyright 2026 the utpstream authors. MIT license.
/**
 * UDP for Bun: `Bun.udpSocket`. Bun reads datagrams from the kernel in
 * batches (until the socket is empty) and calls `data` once per datagram,
 * draining microtasks after each call; this socket reports the end of each
 * such batch once, from `setImmediate`, which Bun runs only after the whole
 * batch was delivered. Outgoing datagrams are collected for one microtask
 * and handed to `sendMany` together (Bun copies them synchronously).
 *
 * Only {@linkcode bindBunDatagramSocket} touches Bun's APIs.
 *
 * @module
 */
import type { BatchEndHandler, DatagramHandler, DatagramSocket } from "./datagram_socket.ts";

/** The part of a `Bun.udpSocket` socket that utpstream uses. */
interface BunUdpSocket {
  readonly hostname: string;
  readonly port: number;
  readonly address?: { address: string; port: number };
  readonly closed?: boolean;
  send(data: Uint8Array, port: number, address: string): boolean;
  sendMany?(packets: readonly (Uint8Array | number | string)[]): number;
  ref?(): void;
  unref?(): void;
  close(): void;
}

interface BunUdpOptions {
  hostname: string;
  port: number;
  binaryType: "uint8array";
  socket: {
    data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
    error?(socket: BunUdpSocket, error: unknown): void;
  };
}

interface BunGlobal {
  udpSocket(options: BunUdpOptions): Promise<BunUdpSocket>;
}

/** Datagrams handed to one `sendMany` call at most. */
const SEND_MANY_MAX = 64;

class BunDatagramSocket implements DatagramSocket {
  readonly hostname: string;
  readonly port: number;
  readonly deliversBatches = true;
  #socket: BunUdpSocket;
  #closed = false;
  #handler: DatagramHandler | undefined;
  #onBatchEnd: BatchEndHandler | undefined;
  #batchScheduled = false;
  // Outgoing datagrams: flattened (data, port, address) triples.
  #queue: (Uint8Array | number | string)[] = [];
  #queued: Promise<void> | undefined;
  #resolveQueued: (() => void) | undefined;

  constructor(socket: BunUdpSocket, hostname: string) {
    this.#socket = socket;
    this.hostname = socket.address?.address ?? hostname;
    this.port = socket.port;
  }

  /** Called by Bun for each datagram. */
  receive(data: Uint8Array, port: number, address: string): void {
    const handler = this.#handler;
    if (this.#closed || handler === undefined) return;
    handler(data, address, port);
    if (!this.#batchScheduled && this.#onBatchEnd !== undefined) {
      this.#batchScheduled = true;
      setImmediate(this.#endBatch);
    }
  }

  #endBatch = (): void => {
    this.#batchScheduled = false;
    if (!this.#closed) this.#onBatchEnd?.();
  };

  /**
   * Called by Bun for socket errors. These are ICMP reports about datagrams
   * we sent (a port that was closed, an unreachable host), which an
   * unconnected UDP socket survives; Bun passes no error object to tell them
   * apart. The socket is never given up because of them: a peer could
   * otherwise make it send to closed ports (SYN-ACKs to spoofed SYNs) and so
   * close the endpoint. They are counted (`errors`).
   */
  fail(_error: unknown): void {
    if (!this.#closed) this.errors++;
  }

  /** ICMP errors reported for this socket. */
  errors = 0;

  start(handler: DatagramHandler, _onError: (error: unknown) => void, onBatchEnd?: BatchEndHandler): void {
    this.#handler = handler;
    this.#onBatchEnd = onBatchEnd;
  }

  send(data: Uint8Array, hostname: string, port: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const socket = this.#socket;
    if (socket.sendMany === undefined) {
      try {
        socket.send(data, port, hostname);
      } catch {
        // A datagram that cannot be sent is a lost datagram; µTP recovers.
      }
      return Promise.resolve();
    }
    this.#queue.push(data, port, hostname);
    if (this.#queued === undefined) {
      this.#queued = new Promise((resolve) => this.#resolveQueued = resolve);
      queueMicrotask(this.#flush);
    }
    const queued = this.#queued;
    if (this.#queue.length >= SEND_MANY_MAX * 3) this.#flush();
    return queued;
  }

  #flush = (): void => {
    const resolve = this.#resolveQueued;
    const queue = this.#queue;
    this.#queued = undefined;
    this.#resolveQueued = undefined;
    this.#queue = [];
    if (queue.length > 0 && !this.#closed) {
      try {
        this.#socket.sendMany!(queue);
      } catch {
        // Lost datagrams; µTP recovers.
      }
    }
    resolve?.();
  };

  setRef(ref: boolean): void {
    if (ref) this.#socket.ref?.();
    else this.#socket.unref?.();
  }

  readonly canUnref = true;

  detach(): boolean {
    // The native layer holds its own descriptor; closing Bun's handle stops
    // Bun reading the socket (and calling back per datagram).
    this.close();
    return true;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#handler = undefined;
    this.#onBatchEnd = undefined;
    this.#flush();
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
    return Promise.resolve();
  }
}

/** Binds a UDP socket with `Bun.udpSocket`. */
export async function bindBunDatagramSocket(hostname: string, port: number): Promise<DatagramSocket> {
  const bun = (globalThis as { Bun?: BunGlobal }).Bun;
  if (bun === undefined || typeof bun.udpSocket !== "function") {
    throw new TypeError("Cannot open a UDP socket: Bun.udpSocket is unavailable");
  }
  // Datagrams that arrive before the socket is wrapped are dropped; µTP resends.
  const to: { target?: BunDatagramSocket } = {};
  const socket = await bun.udpSocket({
    hostname,
    port,
    binaryType: "uint8array",
    socket: {
      data(_socket, data, port, address) {
        to.target?.receive(data, port, address);
      },
      error(_socket, error) {
        to.target?.fail(error);
      },
    },
  });
  to.target = new BunDatagramSocket(socket, hostname);
  return to.target;
}
