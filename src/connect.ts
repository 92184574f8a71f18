// Copyright 2026 the utpstream authors. MIT license.
/**
 * `connect()` and `listen()`: the conveniences over {@linkcode UtpEndpoint}.
 *
 * @module
 */
import { checkHostname, checkOptions, checkPort, checkSignal, parseIp, resolveHost } from "./addr.ts";
import type { UtpConnection } from "./connection.ts";
import { checkAdmission, checkDialOptions, closeOnAbort, dial, driverOf, UtpEndpoint } from "./endpoint.ts";
import { checkTuning, type UtpTuningOptions } from "./options.ts";
import type { UtpAdmissionOptions, UtpListener } from "./listener.ts";
import { Listener } from "./listener.ts";

/**
 * Options of {@linkcode connect}. The tuning options apply to the new
 * endpoint; with `endpoint` they are the endpoint's own and must be omitted.
 */
export interface UtpConnectOptions extends UtpTuningOptions {
  /** The peer's address or name; default `"127.0.0.1"`. */
  hostname?: string;
  /** The peer's UDP port. */
  port: number;
  /** Aborts the handshake; the promise rejects with `signal.reason`. Has no effect once connected. */
  signal?: AbortSignal;
  /** Milliseconds to wait for the handshake before rejecting with `ETIMEDOUT`; default 10 000. */
  connectTimeout?: number;
  /** Dial from this endpoint's port instead of a new ephemeral one. */
  endpoint?: UtpEndpoint;
}

/** Options of {@linkcode listen}: where, admission control and protocol tuning. */
export interface UtpListenOptions extends UtpAdmissionOptions, UtpTuningOptions {
  /** Local address; default `"0.0.0.0"`. */
  hostname?: string;
  /** Local UDP port; default `0` (any free port). */
  port?: number;
  /** Closes the listener when aborted. */
  signal?: AbortSignal;
}

/**
 * Opens a µTP connection. Without `endpoint` it binds a fresh ephemeral
 * port, which closes with the connection.
 *
 * @param options The peer, an optional abort signal, an optional endpoint.
 * @returns The connection, once the handshake completes.
 *
 * @example Send a greeting
 * ```ts
 * import { connect } from "@utp/stream";
 * await using conn = await connect({ hostname: "127.0.0.1", port: 6881, signal: AbortSignal.timeout(5000) });
 * const writer = conn.writable.getWriter();
 * await writer.write(new TextEncoder().encode("hello"));
 * await writer.close();
 * ```
 */
export async function connect(options: UtpConnectOptions): Promise<UtpConnection> {
  const what = "connect";
  const opts = checkOptions<UtpConnectOptions>(options, what);
  const tuning = checkTuning(opts, what);
  if (opts.endpoint !== undefined) {
    if (!(opts.endpoint instanceof UtpEndpoint)) {
      throw new TypeError("Cannot connect: endpoint must be a UtpEndpoint");
    }
    if (Object.keys(tuning).length > 0) {
      throw new TypeError("Cannot connect: tuning options belong to the endpoint when one is given");
    }
    return await dial(driverOf(opts.endpoint), checkDialOptions(opts, what), false);
  }
  const target = checkDialOptions(opts, what);
  target.signal?.throwIfAborted();
  const remote = parseIp(target.hostname) ?? await resolveHost(target.hostname, what, target.signal);
  const endpoint = await UtpEndpoint.bind({
    hostname: remote.family === 6 ? "::" : "0.0.0.0",
    port: 0,
    ...tuning,
  });
  // The endpoint is the connection's own: once it is connected, only the
  // connection keeps the process alive. The endpoint lets go only after the
  // connection holds it: an endpoint that nothing holds for a moment counts as
  // unreferenced, and Deno's socket, which cannot be unreferenced, would be
  // given up (for a receive thread once referenced again).
  const driver = driverOf(endpoint);
  try {
    const conn = await dial(driver, { ...target, hostname: remote.text }, true);
    driver.release(endpoint);
    return conn;
  } catch (error) {
    driver.close();
    throw error;
  }
}

/**
 * Listens for µTP connections on a new endpoint. Closing the listener
 * releases the endpoint once its accepted connections have ended.
 *
 * @param options Where to listen and an optional signal that closes the listener.
 * @returns The listener.
 *
 * @example An echo server
 * ```ts
 * import { listen } from "@utp/stream";
 * await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * for await (const conn of listener) conn.readable.pipeTo(conn.writable).catch(() => {});
 * ```
 */
export async function listen(options?: UtpListenOptions): Promise<UtpListener> {
  const what = "listen";
  const opts = checkOptions<UtpListenOptions>(options, what);
  const hostname = checkHostname(opts.hostname ?? "0.0.0.0", what);
  const port = checkPort(opts.port ?? 0, what, true);
  const signal = checkSignal(opts.signal, what);
  const admission = checkAdmission(opts, what);
  const tuning = checkTuning(opts, what);
  signal?.throwIfAborted();
  const endpoint = await UtpEndpoint.bind({ hostname, port, ...tuning });
  // The endpoint is the listener's own: the listener and its connections keep
  // the process alive. The endpoint lets go once the listener holds it (see connect).
  const driver = driverOf(endpoint);
  const listener = new Listener(driver, admission, () => {
    if (driver.connectionCount === 0) driver.closeWhenQuiet();
    else driver.onIdle = () => driver.closeWhenQuiet();
  });
  driver.release(endpoint);
  closeOnAbort(signal, listener);
  return listener;
}
