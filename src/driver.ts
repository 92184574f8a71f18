// Copyright 2026 the utpstream authors. MIT license.
/**
 * The pump of one endpoint: one UDP socket, one native `utp_context`, and the
 * loop that feeds datagrams in, dispatches the shim's event records to
 * connections and the listener, and sends what libutp queued.
 *
 * @module
 */
import {
  type ContextHandle,
  DATAGRAM_HEADER_SIZE,
  Event,
  EVENT_HEADER_SIZE,
  type NativeApi,
  Option,
} from "./ffi/native.ts";
import type { DatagramSocket } from "./udp/datagram_socket.ts";
import type { Runtime } from "./runtime.ts";
import { formatIp, type IpAddress, parseIp, type UtpAddr } from "./addr.ts";

/** How datagrams move between the kernel and libutp. */
export type UdpIo = "native" | "runtime";

/** What the driver needs from a connection. */
export interface ConnectionEvents {
  onData(chunk: Uint8Array): void;
  onConnect(): void;
  onWritable(): void;
  onEof(): void;
  onError(code: number): void;
  onDestroyed(): void;
  onEndpointClosed(): void;
}

/** What the driver needs from a listener. */
export interface AcceptSink {
  /** Offers a new connection; returns false to refuse it. */
  onAccept(id: number, remote: UtpAddr): boolean;
  onEndpointClosed(): void;
}

/** Settings of a driver. */
export interface DriverOptions {
  udpIo?: UdpIo;
  socketBufferBytes?: number;
}

const EVENT_BUFFER_SIZE = 1 << 20;
const DATAGRAM_BUFFER_SIZE = 1 << 18;
const TICK_MS = 50;
const MAX_DRAIN = 1024;
const SEND_BATCH = 32;
/** Datagrams fed to libutp before batch work is done anyway (batching sockets). */
const MAX_BATCH_INPUTS = 64;
/** Kernel socket buffer the driver asks for (capped by the OS maximum). */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** One endpoint's engine. */
export class Driver {
  readonly native: NativeApi;
  readonly ctx: ContextHandle;
  readonly socket: DatagramSocket;
  readonly family: 4 | 6;
  readonly addr: UtpAddr;
  /** Which I/O path is in use. */
  readonly udpIo: UdpIo;
  /** Kernel receive buffer size after setup, or -1 if it could not be read. */
  readonly socketReceiveBuffer: number;

  #connections = new Map<number, ConnectionEvents>();
  #acceptor: AcceptSink | undefined;
  #events = new Uint8Array(EVENT_BUFFER_SIZE);
  #eventsView = new DataView(this.#events.buffer);
  #datagrams: Uint8Array | undefined;
  #sending = false;
  #dispatching = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #addressCache = new Map<string, IpAddress>();
  #writableWaiters = new Set<() => void>();
  #onIdle: (() => void) | undefined;
  #batchInputs = 0;

  private constructor(runtime: Runtime, socket: DatagramSocket, ctx: ContextHandle, options: DriverOptions) {
    this.native = runtime.native;
    this.socket = socket;
    this.ctx = ctx;
    const local = parseIp(socket.hostname);
    this.family = local?.family ?? 4;
    this.addr = { transport: "utp", hostname: socket.hostname, port: socket.port };
    const fd = this.native.findUdpFd(this.family, socket.port);
    let receiveBuffer = -1;
    if (fd >= 0) {
      receiveBuffer = this.native.setSocketBuffers(
        fd,
        options.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES,
      );
    }
    const wantNative = (options.udpIo ?? "native") === "native";
    this.udpIo = wantNative && fd >= 0 && this.native.attachFd(ctx, fd) === 0 ? "native" : "runtime";
    if (this.udpIo === "runtime") this.#datagrams = new Uint8Array(DATAGRAM_BUFFER_SIZE);
    this.socketReceiveBuffer = receiveBuffer;
    socket.start(
      (data, hostname, port) => this.#onDatagram(data, hostname, port),
      () => this.close(),
      socket.deliversBatches ? this.#onBatchEnd : undefined,
    );
  }

  /** Binds a UDP socket and creates the native context. */
  static async create(
    runtime: Runtime,
    hostname: string,
    port: number,
    options: DriverOptions,
  ): Promise<Driver> {
    const socket = await runtime.bind(hostname, port);
    const ctx = runtime.native.create();
    if (ctx === null) {
      socket.close();
      throw new Error("Cannot create a µTP context: out of memory");
    }
    return new Driver(runtime, socket, ctx, options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Called whenever the last connection goes away. */
  set onIdle(fn: (() => void) | undefined) {
    this.#onIdle = fn;
  }

  setAcceptor(acceptor: AcceptSink | undefined): void {
    this.#acceptor = acceptor;
    if (!this.#closed) this.native.setOption(this.ctx, Option.ACCEPT, acceptor ? 1 : 0);
  }

  get acceptor(): AcceptSink | undefined {
    return this.#acceptor;
  }

  /** Starts an outgoing connection; returns its id. */
  connect(remote: IpAddress, port: number, events: ConnectionEvents): number {
    const id = this.native.connect(this.ctx, remote.family, remote.bytes, port);
    if (id < 0) return id;
    this.#connections.set(id, events);
    this.#startTimer();
    this.#afterCall();
    return id;
  }

  /** Registers the handler of an accepted connection. */
  adopt(id: number, events: ConnectionEvents): void {
    this.#connections.set(id, events);
    this.#startTimer();
  }

  write(id: number, data: Uint8Array): number {
    if (this.#closed) return -1;
    const n = this.native.write(this.ctx, id, data, data.byteLength);
    this.#afterCall();
    return n;
  }

  consumed(id: number, bytes: number): void {
    if (this.#closed) return;
    this.native.consumed(this.ctx, id, bytes);
    this.#afterCall();
  }

  shutdownWrite(id: number): void {
    if (this.#closed) return;
    this.native.shutdownWrite(this.ctx, id);
    this.#afterCall();
  }

  closeConnection(id: number): void {
    if (this.#closed) return;
    this.native.close(this.ctx, id);
    this.#afterCall();
    this.#wakeWriters();
  }

  /** Waits until some connection may write again (or a tick passes). */
  waitWritable(): Promise<void> {
    return new Promise((resolve) => this.#writableWaiters.add(resolve));
  }

  liveSockets(): number {
    return this.#closed ? 0 : this.native.liveSockets(this.ctx);
  }

  /** Tears everything down at once: connections, context, socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    this.#acceptor?.onEndpointClosed();
    this.#acceptor = undefined;
    this.native.destroy(this.ctx);
    this.socket.close();
    for (const c of connections) c.onEndpointClosed();
    this.#wakeWriters();
  }

  #onDatagram(data: Uint8Array, hostname: string, port: number): void {
    if (this.#closed) return;
    let addr = this.#addressCache.get(hostname);
    if (!addr) {
      addr = parseIp(hostname);
      if (!addr) return;
      if (this.#addressCache.size > 1024) this.#addressCache.clear();
      this.#addressCache.set(hostname, addr);
    }
    const native = this.native;
    native.input(this.ctx, data, data.byteLength, addr.family, addr.bytes, port);
    if (this.socket.deliversBatches) {
      // The socket calls #onBatchEnd after the batch; bound the delay of ACKs.
      if (++this.#batchInputs < MAX_BATCH_INPUTS) return;
    } else if (this.udpIo === "native") native.drain(this.ctx, MAX_DRAIN);
    this.#onBatchEnd();
  }

  #onBatchEnd = (): void => {
    if (this.#closed) return;
    this.#batchInputs = 0;
    this.native.endBatch(this.ctx);
    this.#afterCall();
  };

  #tick = (): void => {
    if (this.#closed) return;
    this.native.tick(this.ctx);
    this.#afterCall();
    this.#wakeWriters();
  };

  #startTimer(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(this.#tick, TICK_MS);
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #wakeWriters(): void {
    if (this.#writableWaiters.size === 0) return;
    const waiters = [...this.#writableWaiters];
    this.#writableWaiters.clear();
    for (const w of waiters) w();
  }

  /** Dispatches queued events and sends queued datagrams. */
  #afterCall(): void {
    if (this.#closed) return;
    this.#dispatch();
    if (this.#datagrams) this.#flushDatagrams();
  }

  #dispatch(): void {
    // Event handlers may call back into the driver (e.g. a stream's pull
    // reports consumed bytes); the outer loop picks up what they produce.
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      const buf = this.#events;
      const view = this.#eventsView;
      for (;;) {
        if (this.#closed) return;
        const n = this.native.takeEvents(this.ctx, buf);
        if (n <= 0) break;
        let off = 0;
        while (off < n) {
          const type = buf[off]!;
          const family = buf[off + 1]!;
          const port = view.getUint16(off + 2, true);
          const id = view.getUint32(off + 4, true);
          const len = view.getUint32(off + 8, true);
          off += EVENT_HEADER_SIZE;
          switch (type) {
            case Event.READ: {
              const c = this.#connections.get(id);
              if (c) c.onData(buf.slice(off, off + len));
              else this.native.consumed(this.ctx, id, len);
              off += len;
              break;
            }
            case Event.CONNECT:
              this.#connections.get(id)?.onConnect();
              break;
            case Event.WRITABLE:
              this.#connections.get(id)?.onWritable();
              this.#wakeWriters();
              break;
            case Event.EOF:
              this.#connections.get(id)?.onEof();
              break;
            case Event.ERROR:
              this.#connections.get(id)?.onError(len);
              this.#wakeWriters();
              break;
            case Event.DESTROYED: {
              const c = this.#connections.get(id);
              this.#connections.delete(id);
              c?.onDestroyed();
              this.#wakeWriters();
              if (this.#connections.size === 0) {
                this.#stopTimer();
                this.#onIdle?.();
              }
              break;
            }
            case Event.ACCEPT: {
              const remote: UtpAddr = {
                transport: "utp",
                hostname: formatIp(family, buf.subarray(off, off + 16)),
                port,
              };
              off += 16;
              const acceptor = this.#acceptor;
              if (!acceptor || !acceptor.onAccept(id, remote)) {
                this.native.close(this.ctx, id);
              }
              break;
            }
            case Event.DATAGRAM:
              // Non-µTP datagrams on the endpoint's port are ignored for now.
              off += 16 + len;
              break;
            default:
              // Unknown record: the stream is corrupt; stop reading it.
              off = n;
          }
          if (this.#closed) return;
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }

  #flushDatagrams(): void {
    if (this.#sending) return;
    this.#sending = true;
    const run = async () => {
      try {
        const buf = this.#datagrams!;
        const view = new DataView(buf.buffer);
        while (!this.#closed) {
          const n = this.native.takeDatagrams(this.ctx, buf);
          if (n <= 0) break;
          let off = 0;
          let batch: Promise<void>[] = [];
          const items: [Uint8Array, string, number][] = [];
          while (off < n) {
            const family = buf[off]!;
            const port = view.getUint16(off + 2, true);
            const len = view.getUint32(off + 4, true);
            const host = formatIp(family, buf.subarray(off + 8, off + 24));
            items.push([buf.slice(off + DATAGRAM_HEADER_SIZE, off + DATAGRAM_HEADER_SIZE + len), host, port]);
            off += DATAGRAM_HEADER_SIZE + len;
          }
          for (const [data, host, port] of items) {
            batch.push(this.socket.send(data, host, port));
            if (batch.length >= SEND_BATCH) {
              await Promise.all(batch);
              batch = [];
            }
          }
          await Promise.all(batch);
        }
      } finally {
        this.#sending = false;
      }
    };
    run();
  }
}
