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
  STATS_SIZE,
} from "./ffi/native.ts";
import type { DatagramSocket } from "./udp/datagram_socket.ts";
import type { Runtime } from "./runtime.ts";
import { displayHostname, formatIp, type IpAddress, parseIp, type UtpAddr } from "./addr.ts";
import type { UtpTuningOptions } from "./options.ts";

/** How datagrams move between the kernel and libutp. */
export type UdpIo = "native" | "runtime";

/** What the driver needs from a connection. */
export interface ConnectionEvents {
  onData(chunk: Uint8Array): void;
  onConnect(): void;
  onEof(): void;
  onError(code: number): void;
  onDestroyed(): void;
  onEndpointClosed(): void;
  /** Closed, everything acknowledged; only waiting for the peer's FIN. */
  onLinger(): void;
  /** Milliseconds without any event before the connection times out; 0 = never. */
  readonly idleTimeout: number;
  onIdleTimeout(): void;
}

/** What the driver needs from a listener. */
export interface AcceptSink {
  /** Offers a new connection; returns false to refuse it. */
  onAccept(id: number, remote: UtpAddr): boolean;
  /** Firewall mode: a SYN is waiting for a decision. */
  onIncoming?(remote: UtpAddr, address: IpAddress, syn: Uint8Array): void;
  /** Whether SYNs must wait for `onIncoming` decisions. */
  readonly screensIncoming: boolean;
  onEndpointClosed(): void;
}

/** Receives datagrams that are not µTP. */
export type DatagramSink = (data: Uint8Array, remote: UtpAddr) => void;

/** Settings of a driver. */
export interface DriverOptions extends UtpTuningOptions {
  udpIo?: UdpIo;
  socketBufferBytes?: number;
}

/** Holds any one event record: reads are coalesced up to 64 KiB, datagrams are at most 65 507 bytes. */
const EVENT_BUFFER_SIZE = 1 << 17;
const sharedEvents = new Uint8Array(EVENT_BUFFER_SIZE);
const sharedEventsView = new DataView(sharedEvents.buffer);
let sharedEventsInUse = false;

/** Holds any one outgoing datagram record (runtime I/O). */
const DATAGRAM_BUFFER_SIZE = 1 << 17;
const TICK_MS = 50;
/** Poll interval of an unreferenced endpoint whose runtime socket was detached. */
const POLL_MS = 2;
const MAX_DRAIN = 1024;
const SEND_BATCH = 32;
/**
 * Datagrams fed to libutp before batch work is done anyway (batching sockets,
 * i.e. Bun, whose batch lasts until its socket is empty). Each early batch end
 * sends an ACK per connection that got data and wakes every waiting writer, so
 * a small bound multiplies ACKs and small writes when many connections share
 * the endpoint (64 flows: ~2× the ACKs, ~6× the writes, the receiver falls
 * behind and its socket overflows at 64). 256 full packets stay well under the
 * default 1 MiB receive window.
 */
const MAX_BATCH_INPUTS = 256;
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
  /** Whether an IPv6 socket also carries IPv4 (bound to `::`). */
  readonly dualStack: boolean;
  /** Idle timeout of this endpoint's connections, ms (0 = none). */
  readonly idleTimeout: number;

  #connections = new Map<number, ConnectionEvents>();
  #acceptor: AcceptSink | undefined;
  #datagrams: Uint8Array | undefined;
  #sending = false;
  #dispatching = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #addressCache = new Map<string, IpAddress>();
  /** Per connection, the writer waiting for send-window room (streams write one chunk at a time). */
  #writableWaiters = new Map<number, () => void>();
  #onIdle: (() => void) | undefined;
  #batchInputs = 0;
  #datagramSink: DatagramSink | undefined;
  #lastEvent = new Map<number, number>();
  #packetsSeen = new Map<number, number>();
  #expected = new Map<string, (id: number) => void>();
  #lingering = new Set<number>();
  #owned = false;
  #stats = new Uint8Array(STATS_SIZE);
  #statsView = new DataView(this.#stats.buffer);
  #ref = true;
  #onClosed: (() => void) | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;

  private constructor(runtime: Runtime, socket: DatagramSocket, ctx: ContextHandle, options: DriverOptions) {
    this.native = runtime.native;
    this.socket = socket;
    this.ctx = ctx;
    const local = parseIp(socket.hostname);
    this.family = local?.family ?? 4;
    this.addr = { transport: "utp", hostname: socket.hostname, port: socket.port };
    this.dualStack = this.family === 6 && local !== undefined && local.bytes.every((b) => b === 0);
    this.idleTimeout = options.idleTimeout ?? 0;
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
    this.#applyTuning(options);
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

  #applyTuning(options: UtpTuningOptions): void {
    const set = (opt: number, value: number | undefined) => {
      if (value !== undefined) this.native.setOption(this.ctx, opt, value);
    };
    set(Option.SNDBUF, options.sendBufferBytes);
    set(Option.RCVBUF, options.receiveWindowBytes);
    set(Option.TARGET_DELAY, options.targetDelayMs === undefined ? undefined : options.targetDelayMs * 1000);
    set(Option.MTU, options.maxPacketSize);
    set(Option.BACKLOG, options.backlog);
    set(Option.MAX_SOCKETS, options.maxSockets);
  }

  /** The most half-open handshakes of incoming connections (the `backlog` option). */
  get backlog(): number {
    return this.#closed ? 0 : this.native.getOption(this.ctx, Option.BACKLOG);
  }

  /** The most sockets this endpoint holds (the `maxSockets` option). */
  get maxSockets(): number {
    return this.#closed ? 0 : this.native.getOption(this.ctx, Option.MAX_SOCKETS);
  }

  /** Refuses SYNs once `limit` accepted connections are open (0: no limit). */
  setInboundLimit(limit: number): void {
    if (!this.#closed) this.native.setOption(this.ctx, Option.MAX_INBOUND, limit);
  }

  /** Refuses every SYN with a reset while `refusing` (the accept queue is full). */
  setRefusing(refusing: boolean): void {
    if (!this.#closed) this.native.setOption(this.ctx, Option.REFUSE, refusing ? 1 : 0);
  }

  /**
   * Marks an endpoint that the library made for the user (by `connect()` or
   * `listen()`): once only lingering connections remain on it, it stops
   * keeping the process alive.
   */
  markOwned(): void {
    this.#owned = true;
  }

  #checkOnlyLingering(): void {
    if (!this.#owned || this.#acceptor || this.#connections.size === 0) return;
    for (const id of this.#connections.keys()) if (!this.#lingering.has(id)) return;
    this.setRef(false);
  }

  /** Called once when the driver closes. */
  set onClosed(fn: (() => void) | undefined) {
    this.#onClosed = fn;
  }

  /** Where non-µTP datagrams go; undefined drops them. */
  set datagramSink(sink: DatagramSink | undefined) {
    this.#datagramSink = sink;
  }

  /** Sends one raw datagram from the endpoint's port. */
  sendDatagram(data: Uint8Array, to: IpAddress, port: number): void {
    if (this.#closed) return;
    this.native.sendDatagram(this.ctx, data, data.byteLength, to.family, to.bytes, port, 0);
    this.#afterCall();
  }

  /**
   * Sends one raw datagram with an IP TTL (IPv6 hop limit) of `hops`; false
   * if this I/O path cannot set one (runtime I/O) or the send failed.
   */
  sendDatagramWithHops(data: Uint8Array, to: IpAddress, port: number, hops: number): boolean {
    if (this.#closed) return false;
    const r = this.native.sendDatagram(this.ctx, data, data.byteLength, to.family, to.bytes, port, hops);
    this.#afterCall();
    return r === 0;
  }

  /** Lets SYNs from `remote` through once, then feeds the held SYN again. */
  admit(address: IpAddress, port: number, syn: Uint8Array): void {
    if (this.#closed) return;
    this.native.allowOnce(this.ctx, address.family, address.bytes, port);
    this.native.input(this.ctx, syn, syn.byteLength, address.family, address.bytes, port);
    this.native.endBatch(this.ctx);
    this.#afterCall();
  }

  /** Reads libutp's statistics of a connection; false if it is gone. */
  stats(id: number, into: (view: DataView) => void): boolean {
    if (this.#closed) return false;
    if (this.native.stats(this.ctx, id, this.#stats) < 0) return false;
    into(this.#statsView);
    return true;
  }

  /** Keeps the process alive while the endpoint is open (`true`), or not. */
  setRef(ref: boolean): void {
    if (this.#closed) return;
    this.#ref = ref;
    this.socket.setRef(ref);
    if (this.#timer !== undefined) refTimer(this.#timer, ref);
    if (!ref && this.#poll === undefined && this.udpIo === "native" && this.socket.detach?.()) {
      // The runtime's socket cannot be unreferenced: poll our own descriptor.
      this.#poll = setInterval(this.#pollOnce, POLL_MS);
    }
    if (this.#poll !== undefined) refTimer(this.#poll, ref);
  }

  #pollOnce = (): void => {
    if (this.#closed) return;
    if (this.native.drain(this.ctx, MAX_DRAIN) > 0) {
      this.native.endBatch(this.ctx);
      this.#afterCall();
    }
  };
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Called whenever the last connection goes away. */
  set onIdle(fn: (() => void) | undefined) {
    this.#onIdle = fn;
  }

  setAcceptor(acceptor: AcceptSink | undefined): void {
    this.#acceptor = acceptor;
    if (!acceptor) {
      this.setInboundLimit(0);
      this.setRefusing(false);
    }
    this.#updateAccepting();
  }

  #updateAccepting(): void {
    if (this.#closed) return;
    const acceptor = this.#acceptor;
    this.native.setOption(this.ctx, Option.ACCEPT, acceptor || this.#expected.size > 0 ? 1 : 0);
    // Without a listener, only expected peers get in: screen every SYN.
    const screen = acceptor ? acceptor.screensIncoming : this.#expected.size > 0;
    this.native.setOption(this.ctx, Option.FIREWALL, screen ? 1 : 0);
  }

  /**
   * Routes the next incoming connection from `remote` to `onAccept`, even
   * without a listener (simultaneous open). Returns a function that cancels.
   */
  expect(remote: UtpAddr, onAccept: (id: number) => void): () => void {
    const key = `${remote.hostname}|${remote.port}`;
    this.#expected.set(key, onAccept);
    this.#updateAccepting();
    return () => {
      if (this.#expected.get(key) === onAccept) {
        this.#expected.delete(key);
        this.#updateAccepting();
      }
    };
  }

  get acceptor(): AcceptSink | undefined {
    return this.#acceptor;
  }

  /** Starts an outgoing connection; returns its id, or a negative number (`CONNECT_LIMIT`: at `maxSockets`). */
  connect(remote: IpAddress, port: number, events: ConnectionEvents): number {
    const id = this.native.connect(this.ctx, remote.family, remote.bytes, port);
    if (id < 0) return id;
    this.#connections.set(id, events);
    this.#lastEvent.set(id, Date.now());
    this.#startTimer();
    this.#afterCall();
    return id;
  }

  /** Registers the handler of an accepted connection. */
  adopt(id: number, events: ConnectionEvents): void {
    this.#connections.set(id, events);
    this.#lastEvent.set(id, Date.now());
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
    this.#wakeWriter(id);
  }

  /** Drops a connection without the FIN handshake (the peer gets a reset). */
  abortConnection(id: number): void {
    if (this.#closed) return;
    this.native.abort(this.ctx, id);
    this.#afterCall();
    this.#wakeWriter(id);
  }

  /** Waits until connection `id` may write again, fails, or a tick passes. */
  waitWritable(id: number): Promise<void> {
    return new Promise((resolve) => this.#writableWaiters.set(id, resolve));
  }

  liveSockets(): number {
    return this.#closed ? 0 : this.native.liveSockets(this.ctx);
  }

  /** Tears everything down at once: connections, context, socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    if (this.#poll !== undefined) clearInterval(this.#poll);
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    this.#acceptor?.onEndpointClosed();
    this.#acceptor = undefined;
    this.native.destroy(this.ctx);
    this.socket.close();
    for (const c of connections) c.onEndpointClosed();
    this.#wakeWriters();
    this.#datagramSink = undefined;
    this.#onClosed?.();
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
    this.#checkIdle();
  };

  #checkIdle(): void {
    const now = Date.now();
    for (const [id, c] of this.#connections) {
      if (c.idleTimeout <= 0) continue;
      // Any packet from the peer counts, ACKs included: libutp counts them.
      if (this.native.stats(this.ctx, id, this.#stats) >= 0) {
        const received = this.#statsView.getUint32(16, true);
        if (received !== this.#packetsSeen.get(id)) {
          this.#packetsSeen.set(id, received);
          this.#lastEvent.set(id, now);
        }
      }
      const last = this.#lastEvent.get(id) ?? now;
      if (now - last >= c.idleTimeout) {
        this.#lastEvent.set(id, now);
        c.onIdleTimeout();
      }
    }
  }

  #startTimer(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(this.#tick, TICK_MS);
    if (!this.#ref) refTimer(this.#timer, false);
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #wakeWriter(id: number): void {
    const waiter = this.#writableWaiters.get(id);
    if (waiter === undefined) return;
    this.#writableWaiters.delete(id);
    waiter();
  }

  /** Wakes every waiting writer (timer tick, endpoint close): each retries or sees its error. */
  #wakeWriters(): void {
    if (this.#writableWaiters.size === 0) return;
    const waiters = [...this.#writableWaiters.values()];
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
    // One event buffer for all endpoints (dispatching is synchronous); a
    // dispatch nested inside another endpoint's gets a buffer of its own.
    const shared = !sharedEventsInUse;
    const buf = shared ? sharedEvents : new Uint8Array(EVENT_BUFFER_SIZE);
    const view = shared ? sharedEventsView : new DataView(buf.buffer);
    if (shared) sharedEventsInUse = true;
    try {
      for (;;) {
        if (this.#closed) return;
        const n = this.native.takeEvents(this.ctx, buf);
        if (n <= 0) break;
        let off = 0;
        while (off < n) {
          const type = buf[off]!;
          const family = buf[off + 1]!;
          // The remote port for records with an address, the error code of ERROR.
          const value = view.getUint16(off + 2, true);
          const port = value;
          const id = view.getUint32(off + 4, true);
          const len = view.getUint32(off + 8, true);
          off += EVENT_HEADER_SIZE;
          const end = off + len;
          switch (type) {
            case Event.READ: {
              const c = this.#connections.get(id);
              if (c) c.onData(buf.slice(off, end));
              else this.native.consumed(this.ctx, id, len);
              break;
            }
            case Event.CONNECT:
              this.#connections.get(id)?.onConnect();
              break;
            case Event.WRITABLE:
              this.#wakeWriter(id);
              break;
            case Event.EOF:
              this.#connections.get(id)?.onEof();
              break;
            case Event.LINGER:
              this.#lingering.add(id);
              this.#connections.get(id)?.onLinger();
              this.#checkOnlyLingering();
              break;
            case Event.ERROR:
              this.#connections.get(id)?.onError(value);
              this.#wakeWriter(id);
              break;
            case Event.DESTROYED: {
              const c = this.#connections.get(id);
              this.#connections.delete(id);
              this.#lingering.delete(id);
              this.#lastEvent.delete(id);
              this.#packetsSeen.delete(id);
              c?.onDestroyed();
              this.#wakeWriter(id);
              if (this.#connections.size === 0) {
                this.#stopTimer();
                this.#onIdle?.();
              }
              break;
            }
            case Event.ACCEPT: {
              const remote: UtpAddr = {
                transport: "utp",
                hostname: displayHostname(family, buf.subarray(off, off + 16)),
                port,
              };
              const key = `${remote.hostname}|${remote.port}`;
              const expected = this.#expected.get(key);
              if (expected) {
                this.#expected.delete(key);
                this.#updateAccepting();
                expected(id);
                break;
              }
              const acceptor = this.#acceptor;
              if (!acceptor || !acceptor.onAccept(id, remote)) {
                this.native.close(this.ctx, id);
              }
              break;
            }
            case Event.DATAGRAM: {
              const sink = this.#datagramSink;
              if (sink) {
                const remote: UtpAddr = {
                  transport: "utp",
                  hostname: displayHostname(family, buf.subarray(off, off + 16)),
                  port,
                };
                sink(buf.slice(off + 16, end), remote);
              }
              break;
            }
            case Event.INCOMING: {
              const bytes = buf.slice(off, off + 16);
              const remote: UtpAddr = { transport: "utp", hostname: displayHostname(family, bytes), port };
              const address: IpAddress = { family: family === 6 ? 6 : 4, bytes, text: remote.hostname };
              const syn = buf.slice(off + 16, end);
              if (this.#expected.has(`${remote.hostname}|${remote.port}`)) this.admit(address, port, syn);
              else this.#acceptor?.onIncoming?.(remote, address, syn);
              break;
            }
          }
          off = end;
          if (this.#closed) return;
        }
      }
    } finally {
      if (shared) sharedEventsInUse = false;
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

/** Refs or unrefs a timer in either runtime. */
function refTimer(timer: ReturnType<typeof setInterval>, ref: boolean): void {
  const t = timer as unknown as { ref?: () => void; unref?: () => void };
  if (typeof t.unref === "function") {
    if (ref) t.ref?.();
    else t.unref();
    return;
  }
  const deno = (globalThis as { Deno?: { refTimer(id: number): void; unrefTimer(id: number): void } }).Deno;
  if (deno && typeof timer === "number") {
    if (ref) deno.refTimer(timer);
    else deno.unrefTimer(timer);
  }
}
