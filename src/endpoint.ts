// Copyright 2026 the utpstream authors. MIT license.
/**
 * One UDP socket, one µTP context, many connections: dial and accept on the
 * same port.
 *
 * @module
 */
import {
  checkHostname,
  checkOptions,
  checkPort,
  checkSignal,
  type IpAddress,
  resolveHost,
  toSocketFamily,
  type UtpAddr,
} from "./addr.ts";
import { checkTuning, type UtpTuningOptions } from "./options.ts";
import { Connection, type UtpConnection } from "./connection.ts";
import { DEFAULT_SOCKET_BUFFER_BYTES, Driver, driverHeldBy, type UdpIo } from "./driver.ts";
import { UtpError } from "./errors.ts";
import { Listener, type UtpAdmissionOptions, type UtpListener } from "./listener.ts";
import { getRuntime } from "./runtime.ts";
import { checkPunchTuning, punchConnection } from "./punch.ts";
import { CONNECT_LIMIT } from "./ffi/native.ts";

/** Options of {@linkcode UtpEndpoint.bind}. */
export interface UtpEndpointOptions extends UtpTuningOptions {
  /** Local address to bind; default `"0.0.0.0"`. Use `"::"` or `"::1"` for IPv6. */
  hostname?: string;
  /** Local UDP port; default `0` (any free port). */
  port?: number;
  /**
   * How datagrams move between the kernel and libutp. All three enlarge the
   * kernel buffers.
   *
   * - `"native"` (default where available): the runtime tells the endpoint
   *   that datagrams arrived, and the native library reads and writes the
   *   socket in batches (`recvmmsg`/`sendmmsg`).
   * - `"bulk"`: as `"native"`, but a thread of the native library waits for
   *   the socket instead of the runtime, so the kernel may hand over runs of
   *   datagrams coalesced (UDP GRO). For bulk transfers: about twice the
   *   throughput of `"native"` for half the CPU per byte on Linux, at the
   *   cost of ~40 µs more per round trip (the thread's wake-up crosses to the
   *   JavaScript thread). Deno and Bun; elsewhere (Node, Windows) the
   *   endpoint stays on `"native"`, and {@linkcode UtpEndpoint.udpIo} says so.
   * - `"runtime"`: every datagram goes through the runtime's UDP API.
   */
  udpIo?: UdpIo;
  /**
   * Lets the kernel segment and coalesce datagrams (Linux: `UDP_SEGMENT` for
   * sends, `UDP_GRO` for `"bulk"` receives); default `true`. A run of
   * equal-size packets to one peer then costs one send (about half the
   * sender's CPU per byte), and the wire still carries ordinary datagrams.
   * Where a path refuses segmented sends (a segment larger than the route's
   * MTU; on older kernels a device without checksum offload), the endpoint
   * stops using them by itself. `false` turns both off.
   */
  udpOffload?: boolean;
  /**
   * Busy polling, for request/response traffic whose round trip matters more
   * than CPU: after the endpoint received or sent, it spins on its socket for
   * up to this many microseconds waiting for the next datagram (yielding the
   * CPU to other threads between attempts) instead of going back to sleep in
   * the event loop; default `0`, off. The idea of Linux's `SO_BUSY_POLL`, in
   * the process.
   *
   * While a poll is queued, the acknowledgement of received data waits for
   * it, so a reply written at once carries it: request/response traffic
   * sends one datagram per message each way instead of two.
   *
   * Choose a window longer than the peer takes to answer, stalls included: each
   * time the spin runs out the process sleeps, and the next datagram pays the
   * full wake-up. On loopback a 1-byte ping-pong with `1000` on both sides
   * takes a third to two thirds of the time it takes without, depending on the
   * host; with `100` Deno's p99 was about twice as long (bench/RESULTS.md). The
   * price: up to this much CPU after every burst of traffic that is not
   * answered in time, and other tasks of the event loop wait while it spins.
   * An endpoint whose connections all go to endpoints of this same process
   * does not spin: they could not answer meanwhile. Needs native I/O: with
   * `udpIo: "runtime"` it is refused, and where the endpoint falls back to
   * runtime I/O it is off ({@linkcode UtpEndpoint.busyPoll} says so).
   * Unreferenced endpoints do not spin. An integer from 0 to 10 000.
   */
  busyPoll?: number;
  /** Kernel socket buffer size to request, bytes; default 4 MiB (the OS caps it). */
  socketBufferBytes?: number;
}

/** Options of {@linkcode UtpEndpoint.connect}. */
export interface UtpDialOptions {
  /** The peer's address or name; default `"127.0.0.1"`. */
  hostname?: string;
  /** The peer's UDP port. */
  port: number;
  /** Aborts the handshake; the promise rejects with `signal.reason`. Has no effect once connected. */
  signal?: AbortSignal;
  /**
   * Milliseconds to wait for the handshake before rejecting with a
   * `UtpError` `ETIMEDOUT`; default 10 000. (libutp alone gives up only
   * after about 20 s.)
   */
  connectTimeout?: number;
}

/** The longest busy poll allowed, µs. */
const MAX_BUSY_POLL_US = 10_000;

/** Default handshake timeout in milliseconds. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Options of {@linkcode UtpEndpoint.listen}. */
export interface UtpEndpointListenOptions extends UtpAdmissionOptions {
  /** Closes the listener when aborted. */
  signal?: AbortSignal;
}

/**
 * A UDP datagram that is not µTP, received on an endpoint's port (DHT, STUN,
 * tracker or hole-punching traffic).
 *
 * @example Answer pings beside µTP traffic
 * ```ts
 * import { UtpEndpoint } from "@utp/stream";
 * await using endpoint = await UtpEndpoint.bind({ port: 6881 });
 * for await (const { data, remoteAddr } of endpoint.datagrams) {
 *   await endpoint.send(data, remoteAddr);
 * }
 * ```
 */
export interface UtpDatagram {
  /** The datagram's bytes. */
  data: Uint8Array;
  /** Who sent it. */
  remoteAddr: UtpAddr;
}

/** Where to send a datagram: a hostname (or IP) and a port. */
export interface UtpDatagramTarget {
  /** IP address or name of the receiver. */
  hostname: string;
  /** UDP port of the receiver. */
  port: number;
}

/** Options of {@linkcode UtpEndpoint.punch}. */
export interface UtpPunchOptions {
  /** The peer's address as the peer's NAT shows it (from a rendezvous service). */
  hostname: string;
  /** The peer's port as the peer's NAT shows it. */
  port: number;
  /**
   * Which side sends the µTP SYN. Both sides must agree: `"dial"` on one,
   * `"accept"` on the other. Default: the side whose (port, address) sorts
   * lower dials, which agrees when both sides see the same pair of addresses
   * (true on a LAN and on loopback; behind NATs, pass it explicitly).
   */
  role?: "dial" | "accept";
  /** Aborts the attempt; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Milliseconds before giving up with `ETIMEDOUT`; default 10 000 (the opening phase included). */
  timeout?: number;
  /**
   * IP TTL (IPv6 hop limit) of the opening punches; default 2. They must
   * pass this side's own NAT and expire before the peer's; 0 sends none.
   * Needs `udpIo: "native"` (with runtime I/O the opening phase only waits).
   */
  punchTtl?: number;
  /**
   * Milliseconds of the opening phase, during which only low-TTL punches go
   * out; default 600. The two peers must start `punch()` within this of each
   * other. 0 skips it (fine without NATs, as on a LAN).
   */
  openingMs?: number;
}

/** Datagrams held for a slow `datagrams` reader before new ones are dropped. */
const DATAGRAM_QUEUE = 256;

/** Only the module's own code may construct endpoints. */
const CONSTRUCT = Symbol("UtpEndpoint");
/**
 * Internal: the driver of an endpoint, for this package's own modules
 * (`connect()`, `listen()`, diagnostics). Not exported from `mod.ts`.
 *
 * @example Count an endpoint's native sockets
 * ```ts
 * import { driverOf, UtpEndpoint } from "./endpoint.ts";
 * await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
 * console.log(driverOf(endpoint).liveSockets()); // 0
 * ```
 */
export function driverOf(endpoint: UtpEndpoint): Driver {
  // Every endpoint is registered with its driver when constructed (Driver.hold).
  const driver = endpoint instanceof UtpEndpoint ? driverHeldBy(endpoint) : undefined;
  if (!driver) throw new TypeError("Cannot use the endpoint: it is not a UtpEndpoint");
  return driver;
}

/**
 * A bound UDP port carrying any number of µTP connections, both dialed and
 * accepted: what BitTorrent clients and hole punching need.
 *
 * @example Listen and dial from one port
 * ```ts
 * import { UtpEndpoint } from "@utp/stream";
 * await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1", port: 0 });
 * const listener = endpoint.listen();
 * const conn = await endpoint.connect({ hostname: "127.0.0.1", port: 6881 });
 * ```
 */
export class UtpEndpoint implements AsyncDisposable {
  #driver: Driver;
  #listener: Listener | undefined;
  #datagrams: ReadableStream<UtpDatagram> | undefined;
  #droppedDatagrams = 0;

  private constructor(key: symbol, driver: Driver) {
    if (key !== CONSTRUCT) throw new TypeError("Cannot construct UtpEndpoint: use UtpEndpoint.bind()");
    this.#driver = driver;
    // An endpoint the user bound keeps the process alive until closed or unreferenced.
    driver.hold(this);
  }

  /**
   * Binds a UDP socket and creates a µTP context on it.
   *
   * @param options Where to bind and how to move datagrams.
   * @returns The bound endpoint.
   *
   * @example Bind to an ephemeral port
   * ```ts
   * import { UtpEndpoint } from "@utp/stream";
   * const endpoint = await UtpEndpoint.bind({ port: 0 });
   * console.log(endpoint.addr.port);
   * await endpoint.close();
   * ```
   */
  static async bind(options?: UtpEndpointOptions): Promise<UtpEndpoint> {
    const what = "bind a µTP endpoint";
    const opts = checkOptions<UtpEndpointOptions>(options, what);
    const hostname = checkHostname(opts.hostname ?? "0.0.0.0", what);
    const port = checkPort(opts.port ?? 0, what, true);
    const udpIo = opts.udpIo ?? "native";
    if (udpIo !== "native" && udpIo !== "bulk" && udpIo !== "runtime") {
      throw new TypeError(
        `Cannot ${what}: udpIo must be "native", "bulk" or "runtime", received "${String(udpIo)}"`,
      );
    }
    const udpOffload = opts.udpOffload;
    if (udpOffload !== undefined && typeof udpOffload !== "boolean") {
      throw new TypeError(`Cannot ${what}: udpOffload must be a boolean, received ${typeof udpOffload}`);
    }
    const busyPoll = opts.busyPoll ?? 0;
    if (typeof busyPoll !== "number" || !Number.isInteger(busyPoll)) {
      throw new TypeError(`Cannot ${what}: busyPoll must be an integer, received ${String(busyPoll)}`);
    }
    if (busyPoll < 0 || busyPoll > MAX_BUSY_POLL_US) {
      throw new RangeError(
        `Cannot ${what}: busyPoll must be between 0 and ${MAX_BUSY_POLL_US}, received ${busyPoll}`,
      );
    }
    if (busyPoll > 0 && udpIo === "runtime") {
      throw new RangeError(`Cannot ${what}: busyPoll needs udpIo "native" or "bulk", not "runtime"`);
    }
    const bufferBytes = opts.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES;
    if (!Number.isInteger(bufferBytes) || bufferBytes < 4096 || bufferBytes > 1 << 30) {
      throw new RangeError(`Cannot ${what}: socketBufferBytes must be an integer from 4096 to 2^30`);
    }
    const tuning = checkTuning(opts, what);
    const address = await resolveHost(hostname, what);
    const runtime = await getRuntime();
    const driver = await Driver.create(runtime, address.text, port, {
      udpIo,
      udpOffload,
      busyPoll,
      socketBufferBytes: bufferBytes,
      ...tuning,
    });
    return new UtpEndpoint(CONSTRUCT, driver);
  }

  /** The bound local address. */
  get addr(): UtpAddr {
    return this.#driver.addr;
  }

  /** The I/O path in use: `"native"`, `"bulk"` or `"runtime"` (see {@linkcode UtpEndpointOptions.udpIo}). */
  get udpIo(): UdpIo {
    return this.#driver.udpIo;
  }

  /**
   * Microseconds the endpoint spins for the next datagram after traffic; 0
   * when busy polling is off (see {@linkcode UtpEndpointOptions.busyPoll}).
   */
  get busyPoll(): number {
    return this.#driver.busyPoll;
  }

  /** The kernel receive buffer of the socket in bytes, or -1 if unknown. */
  get socketReceiveBuffer(): number {
    return this.#driver.socketReceiveBuffer;
  }

  /** Whether the endpoint has been closed. */
  get closed(): boolean {
    return this.#driver.closed;
  }

  /**
   * Datagrams on this port that are not µTP. µTP traffic is unaffected. Up to
   * 256 datagrams wait for a slow reader; later ones are dropped (counted in
   * {@linkcode UtpEndpoint.droppedDatagrams}). Datagrams that arrive before
   * this getter is first read are dropped.
   */
  get datagrams(): ReadableStream<UtpDatagram> {
    if (!this.#datagrams) {
      let controller!: ReadableStreamDefaultController<UtpDatagram>;
      this.#datagrams = new ReadableStream<UtpDatagram>({
        start: (c) => {
          controller = c;
        },
        cancel: () => {
          this.#driver.datagramSink = undefined;
        },
      }, { highWaterMark: DATAGRAM_QUEUE });
      if (this.#driver.closed) controller.close();
      else {
        this.#driver.datagramSink = (data, remoteAddr) => {
          if ((controller.desiredSize ?? 0) <= 0) {
            this.#droppedDatagrams++;
            return;
          }
          controller.enqueue({ data, remoteAddr });
        };
        this.#driver.onClosed(() => {
          try {
            controller.close();
          } catch {
            // already closed
          }
        });
      }
    }
    return this.#datagrams;
  }

  /** Non-µTP datagrams dropped because the `datagrams` reader fell behind. */
  get droppedDatagrams(): number {
    return this.#droppedDatagrams;
  }

  /**
   * Sends one UDP datagram from this endpoint's port. Do not send µTP-shaped
   * bytes: the peer's µTP stack would read them as µTP.
   *
   * @param data The datagram, at most 65 507 bytes.
   * @param target Receiver's hostname (or IP) and port.
   *
   * @example Send a hole-punching ping
   * ```ts
   * import { UtpEndpoint } from "@utp/stream";
   * await using endpoint = await UtpEndpoint.bind();
   * await endpoint.send(new TextEncoder().encode("ping"), { hostname: "127.0.0.1", port: 6881 });
   * ```
   */
  async send(data: Uint8Array, target: UtpDatagramTarget): Promise<void> {
    const what = "send a datagram";
    if (!(data instanceof Uint8Array)) throw new TypeError(`Cannot ${what}: data must be a Uint8Array`);
    if (data.byteLength > 65_507) {
      throw new RangeError(`Cannot ${what}: data must be at most 65507 bytes, received ${data.byteLength}`);
    }
    const opts = checkOptions<UtpDatagramTarget>(target, what);
    const hostname = checkHostname(opts.hostname, what);
    const port = checkPort(opts.port, what, false);
    if (this.#driver.closed) throw new UtpError(`Cannot ${what}: the endpoint is closed`, "ECONNABORTED");
    const to = socketAddress(this.#driver, await resolveHost(hostname, what), what);
    this.#driver.sendDatagram(data, to, port);
  }

  /**
   * Opens one connection with a peer that calls `punch()` toward this
   * endpoint at about the same time (simultaneous open, for NAT hole
   * punching). For `openingMs` both sides send raw datagrams with a small IP
   * TTL, which open their own NAT's mapping toward the peer but expire before
   * the peer's NAT (a NAT that first sees the peer's packet coming in would
   * otherwise map this side to another port); then normal punches, and one
   * side dials while the other accepts that peer only, with or without a
   * listener. Works through NATs that keep the mapping per local port
   * ("endpoint-independent mapping", as Linux masquerade does when the port is
   * free); fails with `ETIMEDOUT` through symmetric NATs.
   *
   * @param options The peer as its NAT shows it, the role, and limits.
   * @returns The connection; both sides get the same one.
   *
   * @example Both peers run this, each with the other's address
   * ```ts
   * import { UtpEndpoint } from "@utp/stream";
   * await using endpoint = await UtpEndpoint.bind({ port: 40000 });
   * const conn = await endpoint.punch({ hostname: "203.0.113.7", port: 40001, role: "dial" });
   * ```
   */
  async punch(options: UtpPunchOptions): Promise<UtpConnection> {
    const what = "punch a connection";
    const opts = checkOptions<UtpPunchOptions>(options, what);
    const hostname = checkHostname(opts.hostname, what);
    const port = checkPort(opts.port, what, false);
    const signal = checkSignal(opts.signal, what);
    const timeout = checkTimeout(opts.timeout, what);
    const tuning = checkPunchTuning(opts, what);
    if (opts.role !== undefined && opts.role !== "dial" && opts.role !== "accept") {
      throw new TypeError(`Cannot ${what}: role must be "dial" or "accept", received "${String(opts.role)}"`);
    }
    signal?.throwIfAborted();
    const driver = this.#driver;
    if (driver.closed) throw new UtpError(`Cannot ${what}: the endpoint is closed`, "ECONNABORTED");
    const remote = socketAddress(driver, await resolveHost(hostname, what, signal), what);
    const local = [driver.addr.port, driver.addr.hostname] as const;
    const role = opts.role ??
      (local[0] < port || (local[0] === port && local[1] < remote.text) ? "dial" : "accept");
    return await punchConnection({ driver, remote, port, role, signal, timeout, ...tuning, dial });
  }

  /**
   * Keeps the process alive while the endpoint is open (the default). Its
   * listener and connections keep it alive too, each until unreferenced.
   */
  ref(): void {
    this.#driver.setHolderRef(this, true);
  }

  /**
   * Lets the process exit even though the endpoint is open, unless a
   * referenced listener or connection of it is. On Deno, an endpoint with
   * nothing referenced reads its socket by polling every 2 ms, and once
   * referenced again, on a receive thread of the native library.
   */
  unref(): void {
    this.#driver.setHolderRef(this, false);
  }

  /**
   * Dials a peer from this endpoint's port.
   *
   * @param options The peer and an optional abort signal.
   * @returns The connection, once the handshake completes.
   *
   * @example Dial with a deadline
   * ```ts
   * import { UtpEndpoint } from "@utp/stream";
   * await using endpoint = await UtpEndpoint.bind();
   * const conn = await endpoint.connect({ port: 6881, signal: AbortSignal.timeout(5000) });
   * ```
   */
  async connect(options: UtpDialOptions): Promise<UtpConnection> {
    return await dial(this.#driver, checkDialOptions(options), false);
  }

  /**
   * Starts accepting connections on this endpoint. One listener at a time.
   *
   * @param options An optional signal that closes the listener.
   * @returns The listener.
   *
   * @example Accept one connection
   * ```ts
   * import { UtpEndpoint } from "@utp/stream";
   * await using endpoint = await UtpEndpoint.bind({ port: 6881 });
   * const conn = await endpoint.listen().accept();
   * ```
   */
  listen(options?: UtpEndpointListenOptions): UtpListener {
    const what = "listen on a µTP endpoint";
    const opts = checkOptions<UtpEndpointListenOptions>(options, what);
    const signal = checkSignal(opts.signal, what);
    if (this.#driver.closed) throw new UtpError("Cannot listen: the endpoint is closed", "ECONNABORTED");
    if (this.#driver.acceptor) throw new TypeError("Cannot listen: the endpoint already has a listener");
    const listener = new Listener(this.#driver, checkAdmission(opts, what));
    this.#listener = listener;
    closeOnAbort(signal, listener);
    return listener;
  }

  /**
   * Closes the listener and every connection, then the socket. The promise
   * settles once the runtime has let go of the port, so it can be bound again
   * (Deno frees it a moment after the close).
   *
   * @example Close explicitly
   * ```ts
   * import { UtpEndpoint } from "@utp/stream";
   * const endpoint = await UtpEndpoint.bind();
   * await endpoint.close();
   * ```
   */
  close(): Promise<void> {
    this.#listener?.close();
    this.#driver.release(this);
    this.#driver.close();
    return this.#driver.released;
  }

  /** Same as {@linkcode UtpEndpoint.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Closes `listener` when `signal` aborts (at once if it already has). */
export function closeOnAbort(signal: AbortSignal | undefined, listener: { close(): void }): void {
  if (!signal) return;
  if (signal.aborted) listener.close();
  else signal.addEventListener("abort", () => listener.close(), { once: true });
}

/** Dial options after validation. */
export interface DialTarget {
  hostname: string;
  port: number;
  signal: AbortSignal | undefined;
  connectTimeout: number;
}

/** Validates the options of a dial once (`connect()` and `endpoint.connect()`). */
export function checkDialOptions(options: unknown, what = "connect"): DialTarget {
  const opts = checkOptions<UtpDialOptions>(options, what);
  return {
    hostname: checkHostname(opts.hostname ?? "127.0.0.1", what),
    port: checkPort(opts.port, what, false),
    signal: checkSignal(opts.signal, what),
    connectTimeout: checkTimeout(opts.connectTimeout, what),
  };
}

/** Dials on a driver (options already validated). With `owned`, the driver closes when the connection ends. */
export async function dial(driver: Driver, target: DialTarget, owned: boolean): Promise<UtpConnection> {
  const what = "connect";
  const { hostname, port, signal, connectTimeout } = target;
  signal?.throwIfAborted();
  if (driver.closed) throw new UtpError("Cannot connect: the endpoint is closed", "ECONNABORTED");
  const remote = socketAddress(driver, await resolveHost(hostname, what, signal), what);
  const conn = new Connection(driver, { transport: "utp", hostname: remote.text, port }, "connecting");
  if (owned) conn.onGone = () => driver.closeWhenQuiet();
  const id = driver.connect(remote, port, conn);
  if (id === CONNECT_LIMIT) {
    throw new UtpError(
      `Cannot connect: the endpoint already holds its limit of ${driver.maxSockets} sockets (maxSockets)`,
      "EMFILE",
    );
  }
  if (id < 0) throw new UtpError("Cannot connect: the native layer refused the socket", "ECONNABORTED");
  conn.id = id;
  await conn.established(signal, connectTimeout);
  return conn;
}

/** Validates the admission options of a listener. */
export function checkAdmission(options: Partial<UtpAdmissionOptions>, what: string): UtpAdmissionOptions {
  const out: UtpAdmissionOptions = {};
  if (options.firewall !== undefined) {
    if (typeof options.firewall !== "function") {
      throw new TypeError(`Cannot ${what}: firewall must be a function`);
    }
    out.firewall = options.firewall;
  }
  if (options.maxConnections !== undefined) {
    const n = options.maxConnections;
    if (typeof n !== "number" || !Number.isInteger(n)) {
      throw new TypeError(`Cannot ${what}: maxConnections must be an integer`);
    }
    if (n < 1) throw new RangeError(`Cannot ${what}: maxConnections must be at least 1, received ${n}`);
    out.maxConnections = n;
  }
  return out;
}

/** Converts a resolved address to the endpoint socket's family, or throws. */
function socketAddress(driver: Driver, remote: IpAddress, what: string): IpAddress {
  const converted = toSocketFamily(remote, driver.family, driver.dualStack);
  if (!converted) {
    throw new TypeError(
      `Cannot ${what} to "${remote.text}": the endpoint is bound to IPv${driver.family} (${driver.addr.hostname})` +
        (driver.family === 6 ? ', bind to "::" to reach IPv4 too' : ""),
    );
  }
  return converted;
}

function checkTimeout(value: unknown, what: string): number {
  if (value === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`Cannot ${what}: connectTimeout must be a number of milliseconds`);
  }
  if (value <= 0 || value > 2 ** 31 - 1) {
    throw new RangeError(
      `Cannot ${what}: connectTimeout must be between 1 and 2147483647, received ${value}`,
    );
  }
  return value;
}
