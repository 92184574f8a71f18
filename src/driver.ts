// Copyright 2026 the utpstream authors. MIT license.
/**
 * The pump of one endpoint: one UDP socket, one native `utp_context`, and the
 * loop that feeds datagrams in, hands the shim's event records to the
 * connections (one record per connection here) and to the incoming router,
 * and keeps the process alive while anything referenced is open.
 *
 * @module
 */
import {
  CONNECT_LIMIT,
  type ContextHandle,
  COUNTERS_SIZE,
  DRAIN_EVENT_BUDGET,
  isNull,
  type NativeApi,
  Option,
  STATS_SIZE,
  StatsOffset,
} from "./ffi/native.ts";
import type { DatagramSocket } from "./udp/datagram_socket.ts";
import type { Runtime } from "./runtime.ts";
import { type IpAddress, parseIp, type UtpAddr } from "./addr.ts";
import type { UtpTuningOptions } from "./options.ts";
import { decodeEvents, type EventSink } from "./events.ts";
import { type AcceptSink, IncomingRouter } from "./incoming.ts";
import { RuntimeSender } from "./udp/runtime_sender.ts";
import { type Interval, refTimer } from "./timers.ts";
import { WakeThread } from "./wake_thread.ts";
import { forgetLocalEndpoint, isLocalEndpoint, rememberLocalEndpoint } from "./local_endpoints.ts";

/**
 * How datagrams move between the kernel and libutp: `"native"` (the runtime
 * wakes the driver, the native library reads and writes in batches),
 * `"bulk"` (the native library also waits for the socket, on a thread of its
 * own, and receives with UDP_GRO), `"runtime"` (every datagram through the
 * runtime's UDP API).
 */
export type UdpIo = "native" | "bulk" | "runtime";

/** What the driver needs from a connection. */
export interface ConnectionEvents {
  /** The peer's address. */
  readonly remoteAddr: UtpAddr;
  /** Data from the peer: a view into a reused buffer, valid only during the call. */
  onData(data: Uint8Array): void;
  onConnect(): void;
  onEof(): void;
  onError(code: number): void;
  onDestroyed(): void;
  onEndpointClosed(): void;
  /** Closed, everything acknowledged; only waiting for the peer's FIN. */
  onLinger(): void;
  /** Milliseconds without any packet before the connection times out; 0 = never. */
  readonly idleTimeout: number;
  onIdleTimeout(): void;
}

/** Receives datagrams that are not µTP. */
export type DatagramSink = (data: Uint8Array, remote: UtpAddr) => void;

/** Settings of a driver. */
export interface DriverOptions extends UtpTuningOptions {
  udpIo?: UdpIo;
  /** Segmentation and receive offload where the kernel has them; default true. */
  udpOffload?: boolean;
  socketBufferBytes?: number;
  /** Microseconds to spin for the next datagram after traffic; default 0 (off). */
  busyPoll?: number;
}

/** Holds any one event record: reads are coalesced up to 64 KiB, datagrams are at most 65 507 bytes. */
const EVENT_BUFFER_SIZE = 1 << 17;
const sharedEvents = new Uint8Array(EVENT_BUFFER_SIZE);
const sharedEventsView = new DataView(sharedEvents.buffer);
let sharedEventsInUse = false;

const TICK_MS = 50;
/** Poll interval of an unreferenced endpoint whose runtime socket was detached. */
const POLL_MS = 2;
/** The driver each holder (endpoint, listener, connection) was registered with. */
const driverOfHolder = new WeakMap<object, Driver>();

/** The driver that `holder` (an endpoint, a listener or a connection) runs on. */
export function driverHeldBy(holder: object): Driver | undefined {
  return driverOfHolder.get(holder);
}

/**
 * Endpoints that close once their sockets in TIME_WAIT are gone (see
 * `closeWhenQuiet`), at most this many at once per process: each holds a UDP
 * socket and 140–220 KiB.
 */
const MAX_QUIET_CLOSES = 64;
let quietCloses = 0;
const MAX_DRAIN = 1024;
/**
 * Datagrams fed to libutp before batch work is done anyway (batching sockets,
 * i.e. Bun, whose batch lasts until its socket is empty). Each early batch end
 * sends an ACK per connection that got data and wakes waiting writers, so a
 * small bound multiplies ACKs and small writes when many connections share
 * the endpoint (64 flows: ~2× the ACKs, ~6× the writes, the receiver falls
 * behind and its socket overflows at 64). 256 full packets stay well under the
 * default 1 MiB receive window.
 */
const MAX_BATCH_INPUTS = 256;
/** Kernel socket buffer the driver asks for (capped by the OS maximum). */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** The driver's state of one connection. */
interface ConnectionRecord {
  readonly events: ConnectionEvents;
  /** The writer waiting for send-window room (streams write one chunk at a time). */
  writer: (() => void) | undefined;
  /** libutp's count of packets received from the peer when last looked at (idle detection). */
  packetsSeen: number;
  /** When a packet from the peer was last seen, ms. */
  heardAt: number;
  /** Whether the peer is an endpoint of this process (see #busyPollOnce). */
  readonly inProcess: boolean;
}

/** One endpoint's engine. */
export class Driver {
  readonly native: NativeApi;
  readonly ctx: ContextHandle;
  readonly socket: DatagramSocket;
  readonly family: 4 | 6;
  readonly addr: UtpAddr;
  /** Which I/O path is in use. */
  readonly udpIo: UdpIo;
  /**
   * A default reader's chunks are made as bytes arrive (and wait in the
   * stream's queue), not when a read takes them. Only in Bun: V8 (Deno,
   * Node) moves a chunk that waits across two scavenges to its old
   * generation, where it stays until tens of MiB of such garbage have piled
   * up, so there chunks are made at read time (bench/RESULTS.md, round 5).
   * Bun's collector did not pile them up, and the second copy that staging
   * costs took 10–17 % of its throughput.
   */
  readonly chunksOnArrival: boolean;
  /** Kernel receive buffer size after setup, or -1 if it could not be read. */
  readonly socketReceiveBuffer: number;
  /** Whether an IPv6 socket also carries IPv4 (bound to `::`). */
  readonly dualStack: boolean;
  /** Idle timeout of this endpoint's connections, ms (0 = none). */
  readonly idleTimeout: number;
  /** Microseconds a busy poll may spin; 0 when off (always with runtime I/O). */
  readonly busyPoll: number;

  #records = new Map<number, ConnectionRecord>();
  /** How many of the records' peers are endpoints of this process. */
  #inProcessRecords = 0;
  #router: IncomingRouter;
  #sender: RuntimeSender | undefined;
  #dispatching = false;
  #timer: Interval | undefined;
  #poll: Interval | undefined;
  /** Our own descriptor is polled (the runtime's socket is gone). */
  #detached = false;
  /** Closes once no native socket is left (see `closeWhenQuiet`). */
  #closingQuietly = false;
  #released: Promise<void> = Promise.resolve();
  #closed = false;
  #addressCache = new Map<string, IpAddress>();
  #onIdle: (() => void) | undefined;
  #closeListeners = new Set<() => void>();
  #batchInputs = 0;
  #datagramSink: DatagramSink | undefined;
  #stats = new Uint8Array(STATS_SIZE);
  #counters = new Uint8Array(COUNTERS_SIZE);
  #statsView = new DataView(this.#stats.buffer);
  /** What keeps the endpoint referenced: each holder (endpoint, listener, connection) and whether it wants to. */
  #holders = new Map<object, boolean>();
  #ref = true;
  /** The native receive thread (`udpIo: "bulk"`, or a detached Deno socket referenced again). */
  #wake: WakeThread | undefined;
  #busyPollQueued = false;
  /** The last batch end left its ACKs to the queued busy poll. */
  #acksHeld = false;

  private constructor(runtime: Runtime, socket: DatagramSocket, ctx: ContextHandle, options: DriverOptions) {
    this.native = runtime.native;
    this.chunksOnArrival = runtime.name === "bun";
    this.socket = socket;
    this.ctx = ctx;
    const local = parseIp(socket.hostname);
    this.family = local?.family ?? 4;
    this.addr = { transport: "utp", hostname: socket.hostname, port: socket.port };
    this.dualStack = this.family === 6 && local !== undefined && local.bytes.every((b) => b === 0);
    this.idleTimeout = options.idleTimeout ?? 0;
    const native = this.native;
    const fd = native.utps_find_udp_fd(this.family, local?.bytes ?? new Uint8Array(16), socket.port);
    this.socketReceiveBuffer = fd >= 0
      ? native.utps_set_socket_buffers(fd, options.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES)
      : -1;
    const want = options.udpIo ?? "native";
    const attached = want !== "runtime" && fd >= 0 && native.utps_attach_fd(ctx, fd) === 0;
    const offload = options.udpOffload ?? true;
    if (attached && !offload) native.utps_set_option(ctx, Option.SEGMENTATION, 0);
    this.#wake = attached && want === "bulk" ? this.#startReceiveThread(offload) : undefined;
    this.udpIo = this.#wake ? "bulk" : attached ? "native" : "runtime";
    if (this.udpIo === "runtime") this.#sender = new RuntimeSender(native, ctx, socket, () => this.#closed);
    this.busyPoll = this.udpIo === "runtime" ? 0 : options.busyPoll ?? 0;
    this.#router = new IncomingRouter({
      configure: (accepting, screening) => {
        if (this.#closed) return;
        native.utps_set_option(ctx, Option.ACCEPT, accepting ? 1 : 0);
        native.utps_set_option(ctx, Option.FIREWALL, screening ? 1 : 0);
      },
      admit: (address, port, syn) => this.admit(address, port, syn),
      refuse: (id) => native.utps_close(ctx, id),
    });
    this.#applyTuning(options);
    rememberLocalEndpoint(this, socket.hostname, socket.port);
    if (this.#wake) return;
    socket.start(
      (data, hostname, port) => this.#onDatagram(data, hostname, port),
      () => this.close(),
      socket.deliversBatches ? this.#onBatchEnd : undefined,
    );
  }

  /**
   * `udpIo: "bulk"`: the native thread watches the socket and the runtime's
   * handle is given up, so the runtime reads nothing; only then may the
   * kernel coalesce datagrams. Undefined where this runtime or platform
   * cannot (Node, Windows): the endpoint stays on `"native"`.
   */
  #startReceiveThread(offload: boolean): WakeThread | undefined {
    if (this.socket.detach === undefined) return undefined;
    const wake = WakeThread.create(this.native, this.ctx, this.#onReadable);
    if (wake === undefined) return undefined;
    if (!wake.run(true) || !this.socket.detach()) {
      wake.close();
      return undefined;
    }
    this.#detached = true;
    if (offload) this.native.utps_set_option(this.ctx, Option.RECEIVE_OFFLOAD, 1);
    return wake;
  }

  /** The receive thread saw a readable socket. */
  #onReadable = (): void => {
    if (this.#closed) return;
    this.#pollOnce();
    if (!this.#closed) this.#wake?.arm();
  };

  /** Binds a UDP socket and creates the native context. */
  static async create(
    runtime: Runtime,
    hostname: string,
    port: number,
    options: DriverOptions,
  ): Promise<Driver> {
    const socket = await runtime.bind(hostname, port);
    const ctx = runtime.native.utps_create();
    if (isNull(ctx)) {
      socket.close();
      throw new Error("Cannot create a µTP context: out of memory");
    }
    return new Driver(runtime, socket, ctx!, options);
  }

  /** After `close()`: settles once the runtime has let go of the port (at once before). */
  get released(): Promise<void> {
    return this.#released;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #applyTuning(options: UtpTuningOptions): void {
    const set = (opt: number, value: number | undefined) => {
      if (value !== undefined) this.native.utps_set_option(this.ctx, opt, value);
    };
    set(Option.SNDBUF, options.sendBufferBytes);
    set(Option.RCVBUF, options.receiveWindowBytes);
    set(Option.TARGET_DELAY, options.targetDelayMs === undefined ? undefined : options.targetDelayMs * 1000);
    set(Option.MTU, options.maxPacketSize);
    set(Option.BACKLOG, options.backlog);
    set(Option.MAX_SOCKETS, options.maxSockets);
  }

  // ---- options and limits

  /** The most half-open handshakes of incoming connections (the `backlog` option). */
  get backlog(): number {
    return this.#closed ? 0 : this.native.utps_get_option(this.ctx, Option.BACKLOG);
  }

  /** The most sockets this endpoint holds (the `maxSockets` option). */
  get maxSockets(): number {
    return this.#closed ? 0 : this.native.utps_get_option(this.ctx, Option.MAX_SOCKETS);
  }

  /** Refuses SYNs once `limit` accepted connections are open (0: no limit). */
  setInboundLimit(limit: number): void {
    if (!this.#closed) this.native.utps_set_option(this.ctx, Option.MAX_INBOUND, limit);
  }

  /** Refuses every SYN with a reset while `refusing` (the accept queue is full). */
  setRefusing(refusing: boolean): void {
    if (!this.#closed) this.native.utps_set_option(this.ctx, Option.REFUSE, refusing ? 1 : 0);
  }

  // ---- keeping the process alive

  /**
   * Registers something that keeps the endpoint referenced while it wants
   * to (`ref`): the endpoint object, a listener, a connection. The endpoint
   * keeps the process alive while any holder wants it to.
   */
  hold(holder: object, ref = true): void {
    driverOfHolder.set(holder, this);
    this.#holders.set(holder, ref);
    this.#updateRef();
  }

  /** Changes whether `holder` keeps the endpoint referenced. */
  setHolderRef(holder: object, ref: boolean): void {
    if (!this.#holders.has(holder)) return;
    this.#holders.set(holder, ref);
    this.#updateRef();
  }

  /** Forgets `holder` (closed, or only lingering). */
  release(holder: object): void {
    if (this.#holders.delete(holder)) this.#updateRef();
  }

  #updateRef(): void {
    if (this.#closed) return;
    let ref = false;
    for (const wants of this.#holders.values()) {
      if (wants) {
        ref = true;
        break;
      }
    }
    if (ref === this.#ref) return;
    this.#ref = ref;
    if (this.#timer !== undefined) refTimer(this.#timer, ref);
    if (this.#wake) {
      this.#updateReceiveThread(ref);
      return;
    }
    this.socket.setRef(ref);
    if (
      !ref && this.#poll === undefined && this.udpIo === "native" && !this.socket.canUnref &&
      this.socket.detach?.()
    ) {
      // The runtime's socket cannot be unreferenced (Deno): poll our own
      // descriptor from now on; the runtime's handle is gone for good.
      this.#detached = true;
      if (!this.#closingQuietly) this.#poll = setInterval(this.#pollOnce, POLL_MS);
    }
    if (ref && this.#detached && !this.#closingQuietly) {
      // Referenced again with the runtime's handle gone: a receive thread
      // waits for datagrams from now on, as with "bulk" but without receive
      // offload, and the 2 ms poll is left for when nothing holds a reference.
      this.#wake = WakeThread.create(this.native, this.ctx, this.#onReadable);
      if (this.#wake) {
        this.#updateReceiveThread(true);
        return;
      }
    }
    if (this.#poll !== undefined) refTimer(this.#poll, ref);
  }

  /**
   * The receive thread runs only while the endpoint is referenced: it must
   * never call into a runtime that is shutting down. Unreferenced (e.g. only
   * lingering connections left), the socket is polled from an unreferenced
   * timer instead, as a detached Deno socket is.
   */
  #updateReceiveThread(ref: boolean): void {
    const threaded = ref && this.#wake!.run(true);
    if (!ref) this.#wake!.run(false);
    if (threaded) {
      if (this.#poll !== undefined) clearInterval(this.#poll);
      this.#poll = undefined;
      return;
    }
    if (this.#closingQuietly) return; // the tick polls
    this.#poll ??= setInterval(this.#pollOnce, POLL_MS);
    refTimer(this.#poll, ref);
  }

  #pollOnce = (): void => {
    if (this.#closed) return;
    if (this.#drainSocket(0) > 0) this.#onBatchEnd();
  };

  /**
   * Reads the attached socket, `read` datagrams already read, until it is
   * empty or MAX_DRAIN datagrams are in; returns how many. The native side
   * stops a round once it holds DRAIN_EVENT_BUDGET bytes of events, and each
   * round's events are handed over before the next, so its event queue stays
   * small (reading 1024 datagrams in one round grew it to 2–4 MiB per
   * endpoint, kept for the endpoint's life).
   */
  #drainSocket(read: number): number {
    let total = read;
    if (total > 0 && this.#dispatch() < DRAIN_EVENT_BUDGET) return total;
    while (total < MAX_DRAIN && !this.#closed) {
      const n = this.native.utps_drain(this.ctx, MAX_DRAIN - total);
      if (n <= 0) break;
      total += n;
      // Fewer bytes of events than the budget: the round ended because the
      // socket was empty, not because of the budget.
      if (this.#dispatch() < DRAIN_EVENT_BUDGET) break;
    }
    return total;
  }

  // ---- listeners, punching, raw datagrams

  /** The incoming router's listener. */
  get acceptor(): AcceptSink | undefined {
    return this.#router.acceptor;
  }

  /** Sets or removes the listener; removing it lifts its limits. */
  setAcceptor(acceptor: AcceptSink | undefined): void {
    if (!acceptor) {
      this.setInboundLimit(0);
      this.setRefusing(false);
    }
    this.#router.setAcceptor(acceptor);
    // Half-open handshakes need the tick (SYN-ACK re-sends, expiry) even
    // before the first connection is accepted.
    if (acceptor) this.#startTimer();
  }

  /** Routes the next incoming connection from `remote` to `onAccept` (see {@linkcode IncomingRouter.expect}). */
  expect(remote: UtpAddr, onAccept: (id: number) => void): () => void {
    this.#startTimer();
    return this.#router.expect(remote, onAccept);
  }

  /** Lets SYNs from `address`:`port` through once, then feeds the held SYN again. */
  admit(address: IpAddress, port: number, syn: Uint8Array): void {
    if (this.#closed) return;
    const native = this.native;
    native.utps_allow_once(this.ctx, address.family, address.bytes, port);
    native.utps_input(this.ctx, syn, syn.byteLength, address.family, address.bytes, port);
    native.utps_end_batch(this.ctx);
    this.#afterCall();
  }

  /** Calls `listener` once when the driver closes; returns a function that unsubscribes. */
  onClosed(listener: () => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Called whenever the last connection goes away. */
  set onIdle(fn: (() => void) | undefined) {
    this.#onIdle = fn;
  }

  /** Where non-µTP datagrams go; undefined drops them. */
  set datagramSink(sink: DatagramSink | undefined) {
    this.#datagramSink = sink;
  }

  /** Sends one raw datagram from the endpoint's port. */
  sendDatagram(data: Uint8Array, to: IpAddress, port: number): void {
    this.sendDatagramWithHops(data, to, port, 0);
  }

  /**
   * Sends one raw datagram with an IP TTL (IPv6 hop limit) of `hops` (0: the
   * default); false if this I/O path cannot set one (runtime I/O) or the send
   * failed.
   */
  sendDatagramWithHops(data: Uint8Array, to: IpAddress, port: number, hops: number): boolean {
    if (this.#closed) return false;
    const r = this.native.utps_send_datagram(
      this.ctx,
      data,
      data.byteLength,
      to.family,
      to.bytes,
      port,
      hops,
    );
    this.#afterCall();
    return r === 0;
  }

  // ---- connections

  get connectionCount(): number {
    return this.#records.size;
  }

  /** Starts an outgoing connection; returns its id, or a negative number (`CONNECT_LIMIT`: at `maxSockets`). */
  connect(remote: IpAddress, port: number, events: ConnectionEvents): number {
    if (this.#closed) return -1;
    const id = this.native.utps_connect(this.ctx, remote.family, remote.bytes, port);
    if (id < 0) return id === CONNECT_LIMIT ? CONNECT_LIMIT : -1;
    this.#register(id, events);
    this.#afterCall();
    return id;
  }

  /** Registers the handler of an accepted connection. */
  adopt(id: number, events: ConnectionEvents): void {
    this.#register(id, events);
  }

  #register(id: number, events: ConnectionEvents): void {
    const inProcess = isLocalEndpoint(events.remoteAddr.hostname, events.remoteAddr.port);
    if (inProcess) this.#inProcessRecords++;
    this.#records.set(id, { events, writer: undefined, packetsSeen: 0, heardAt: Date.now(), inProcess });
    this.hold(events);
    this.#startTimer();
  }

  write(id: number, data: Uint8Array): number {
    if (this.#closed) return -1;
    const n = this.native.utps_write(this.ctx, id, data, data.byteLength);
    this.#afterCall();
    this.#queueBusyPoll();
    return n;
  }

  consumed(id: number, bytes: number): void {
    if (this.#closed) return;
    this.native.utps_consumed(this.ctx, id, bytes);
    this.#afterCall();
  }

  shutdownWrite(id: number): void {
    if (this.#closed) return;
    this.native.utps_shutdown_write(this.ctx, id);
    this.#afterCall();
  }

  closeConnection(id: number): void {
    if (this.#closed) return;
    this.native.utps_close(this.ctx, id);
    this.#afterCall();
    this.#wakeWriter(id);
  }

  /** Drops a connection without the FIN handshake (the peer gets a reset). */
  abortConnection(id: number): void {
    if (this.#closed) return;
    this.native.utps_abort(this.ctx, id);
    this.#afterCall();
    this.#wakeWriter(id);
  }

  /** Waits until connection `id` may write again, fails, or a tick passes. */
  waitWritable(id: number): Promise<void> {
    const record = this.#records.get(id);
    if (!record || this.#closed) return Promise.resolve();
    return new Promise((resolve) => record.writer = resolve);
  }

  /** Reads libutp's statistics of a connection; false if it is gone. */
  stats(id: number, into: (view: DataView) => void): boolean {
    if (this.#closed) return false;
    if (this.native.utps_stats(this.ctx, id, this.#stats, this.#stats.byteLength) < 0) return false;
    into(this.#statsView);
    return true;
  }

  /** Reads the endpoint's native counters (`utps_counters`); false once closed. */
  counters(into: (view: DataView) => void): boolean {
    if (this.#closed) return false;
    const buf = this.#counters;
    if (this.native.utps_counters(this.ctx, buf, buf.byteLength) !== COUNTERS_SIZE) return false;
    into(new DataView(buf.buffer));
    return true;
  }

  /** Whether runs of equal datagrams currently leave as segmented sends. */
  get segmenting(): boolean {
    return !this.#closed && this.native.utps_get_option(this.ctx, Option.SEGMENTATION) === 1;
  }

  /** Whether received datagrams may arrive coalesced. */
  get coalescing(): boolean {
    return !this.#closed && this.native.utps_get_option(this.ctx, Option.RECEIVE_OFFLOAD) === 1;
  }

  liveSockets(): number {
    return this.#closed ? 0 : this.native.utps_live_sockets(this.ctx);
  }

  /**
   * Closes this endpoint, which only its own connection or listener used,
   * once its native sockets are gone: sockets in TIME_WAIT (about 2 s) stay to
   * acknowledge a repeated FIN. Closes at once when none is left, or when
   * MAX_QUIET_CLOSES endpoints already wait so. Until then it holds nothing
   * and is polled at the tick's pace.
   */
  closeWhenQuiet(): void {
    if (this.#closed || this.#closingQuietly) return;
    if (this.native.utps_live_sockets(this.ctx) === 0 || quietCloses >= MAX_QUIET_CLOSES) {
      this.close();
      return;
    }
    this.#closingQuietly = true;
    quietCloses++;
    if (this.#poll !== undefined) clearInterval(this.#poll);
    this.#poll = undefined;
    this.#startTimer();
  }

  /** Tears everything down at once: connections, context, socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#closingQuietly) quietCloses--;
    this.#stopTimer();
    if (this.#poll !== undefined) clearInterval(this.#poll);
    this.#wake?.close();
    forgetLocalEndpoint(this);
    const records = [...this.#records.values()];
    this.#records.clear();
    this.#inProcessRecords = 0;
    this.#holders.clear();
    this.#router.close();
    this.native.utps_destroy(this.ctx);
    this.#released = this.socket.close();
    for (const r of records) {
      r.events.onEndpointClosed();
      r.writer?.();
    }
    this.#datagramSink = undefined;
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    for (const listener of listeners) listener();
  }

  // ---- the pump

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
    native.utps_input(this.ctx, data, data.byteLength, addr.family, addr.bytes, port);
    if (this.socket.deliversBatches) {
      // The socket calls #onBatchEnd after the batch; bound the delay of ACKs.
      if (++this.#batchInputs < MAX_BATCH_INPUTS) return;
    } else if (this.udpIo === "native") this.#drainSocket(0);
    this.#onBatchEnd();
  }

  #onBatchEnd = (): void => {
    if (this.#closed) return;
    this.#batchInputs = 0;
    // Hold this batch's ACKs for the queued poll, so that a reply written
    // before it runs carries them, but not across a second batch end: ACKs
    // still held mean the poll came late (Bun delivered another batch first),
    // and a sender waiting for them would stall.
    const hold = this.#queueBusyPoll() && !this.#acksHeld;
    this.#acksHeld = hold;
    if (hold) this.native.utps_end_batch_holding_acks(this.ctx);
    else this.native.utps_end_batch(this.ctx);
    this.#afterCall();
  };

  #tick = (): void => {
    if (this.#closed) return;
    if (this.#closingQuietly && this.#detached) {
      this.#pollOnce(); // closing quietly there is no poll timer: read the socket here
      if (this.#closed) return;
    }
    // Nothing left that needs time: no connection, no native socket (half-open
    // or lingering), no listener. The next connection or listener restarts it,
    // unless the endpoint was only waiting for this to close.
    const router = this.#router;
    if (
      this.#records.size === 0 && !router.acceptor && !router.expecting &&
      this.native.utps_live_sockets(this.ctx) === 0
    ) {
      if (this.#closingQuietly) this.close();
      else this.#stopTimer();
      return;
    }
    this.native.utps_tick(this.ctx);
    this.#afterCall();
    // Every waiting writer retries (or sees its error) at least once a tick.
    for (const id of this.#records.keys()) this.#wakeWriter(id);
    this.#checkIdle();
  };

  #checkIdle(): void {
    if (this.idleTimeout <= 0) return;
    const now = Date.now();
    for (const [id, record] of this.#records) {
      // Any packet from the peer counts, ACKs included: libutp counts them.
      if (this.native.utps_stats(this.ctx, id, this.#stats, this.#stats.byteLength) >= 0) {
        const received = this.#statsView.getUint32(StatsOffset.PACKETS_RECEIVED, true);
        if (received !== record.packetsSeen) {
          record.packetsSeen = received;
          record.heardAt = now;
        }
      }
      if (now - record.heardAt >= record.events.idleTimeout) {
        record.heardAt = now;
        record.events.onIdleTimeout();
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
    const record = this.#records.get(id);
    const writer = record?.writer;
    if (writer === undefined) return;
    record!.writer = undefined;
    writer();
  }

  /** Dispatches queued events and sends queued datagrams. */
  #afterCall(): void {
    if (this.#closed) return;
    this.#dispatch();
    this.#sender?.flush();
  }

  /**
   * After traffic, once the current task and its microtasks are done, waits
   * up to `busyPoll` µs for the next datagram by spinning on the socket
   * instead of going back to sleep in the event loop (see
   * UtpEndpointOptions.busyPoll). Referenced endpoints only. Bun may start
   * delivering its next batch of datagrams before the immediate runs; the
   * poll then stands aside until that batch's end.
   * Returns whether a poll is queued: then the batch end may hold the
   * deferred ACKs for it (utps_end_batch_holding_acks), and a reply the
   * application writes before it runs carries them.
   */
  #queueBusyPoll(): boolean {
    if (this.busyPoll === 0 || this.#closed || !this.#ref) return false;
    if (this.#busyPollQueued) return true;
    this.#busyPollQueued = true;
    setImmediate(this.#busyPollOnce);
    return true;
  }

  #busyPollOnce = (): void => {
    this.#busyPollQueued = false;
    // While the runtime delivers a batch (Bun ends it in an immediate queued
    // after this one), spinning would keep that batch's data and ACKs waiting
    // for up to the whole window, and a sender that waits for those ACKs sends
    // nothing meanwhile. Its batch end queues the next poll.
    if (this.#closed || this.#batchInputs > 0) return;
    // The ACKs the last batch end held for this poll, where no reply carried them.
    if (this.#acksHeld) {
      this.#acksHeld = false;
      this.native.utps_end_batch(this.ctx);
      this.#afterCall();
      if (this.#closed) return;
    }
    // A peer in this process cannot answer while the spin holds the event
    // loop, so the spin would last its whole window: none when every
    // connection has such a peer.
    const records = this.#records.size;
    if (records > 0 && this.#inProcessRecords === records) return;
    const read = this.native.utps_busy_poll(this.ctx, this.busyPoll, MAX_DRAIN);
    if (read <= 0) return;
    this.#drainSocket(read);
    this.#onBatchEnd();
  };

  /** Hands the waiting events to their handlers; returns how many bytes of events it took. */
  #dispatch(): number {
    // Event handlers may call back into the driver (e.g. a stream's pull
    // reports consumed bytes); the outer loop picks up what they produce.
    if (this.#dispatching) return 0;
    this.#dispatching = true;
    // One event buffer for all endpoints (dispatching is synchronous); a
    // dispatch nested inside another endpoint's gets a buffer of its own.
    const shared = !sharedEventsInUse;
    const buf = shared ? sharedEvents : new Uint8Array(EVENT_BUFFER_SIZE);
    const view = shared ? sharedEventsView : new DataView(buf.buffer);
    if (shared) sharedEventsInUse = true;
    let taken = 0;
    try {
      while (!this.#closed) {
        const n = this.native.utps_take_events(this.ctx, buf, buf.byteLength);
        if (n <= 0) break;
        taken += n;
        decodeEvents(buf, view, n, this.#sink, this.#isClosed);
      }
      return taken;
    } finally {
      if (shared) sharedEventsInUse = false;
      this.#dispatching = false;
    }
  }

  #isClosed = (): boolean => this.#closed;

  #connectionGone(id: number): void {
    const record = this.#records.get(id);
    this.#records.delete(id);
    if (record?.inProcess) this.#inProcessRecords--;
    if (record) this.release(record.events);
    record?.events.onDestroyed();
    record?.writer?.();
    if (this.#records.size === 0) this.#onIdle?.();
  }

  #sink: EventSink = {
    read: (id, data) => {
      const record = this.#records.get(id);
      // A view into the reused event buffer: the connection copies it.
      if (record) record.events.onData(data);
      else this.native.utps_consumed(this.ctx, id, data.byteLength);
    },
    connected: (id) => this.#records.get(id)?.events.onConnect(),
    writable: (id) => this.#wakeWriter(id),
    eof: (id) => this.#records.get(id)?.events.onEof(),
    lingering: (id) => {
      const record = this.#records.get(id);
      if (!record) return;
      // Closed and acknowledged: it no longer keeps the process alive.
      this.release(record.events);
      record.events.onLinger();
    },
    // Closed and done: for JavaScript the connection is gone. The native
    // socket stays only to acknowledge a repeated FIN (its later DESTROYED
    // finds no record) and holds nothing; an endpoint that closes with its
    // connection waits for it (closeWhenQuiet).
    timeWaiting: (id) => this.#connectionGone(id),
    failed: (id, code) => {
      this.#records.get(id)?.events.onError(code);
      this.#wakeWriter(id);
    },
    destroyed: (id) => this.#connectionGone(id),
    accepted: (id, remote) => this.#router.accepted(id, remote),
    datagram: (data, remote) => this.#datagramSink?.(data.slice(), remote),
    incoming: (remote, address, syn) => this.#router.incoming(remote, address, syn),
  };
}
