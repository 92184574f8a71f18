// Copyright 2026 the utpstream authors. MIT license.
/**
 * The hole-punching procedure behind `UtpEndpoint.punch()`.
 *
 * Home routers map a flow when its first packet goes out, and Linux
 * conntrack (and many routers like it) also records an unsolicited packet
 * that comes *in*: when the peer's first punch reaches this side's NAT before
 * this side has sent anything to the peer, the NAT keeps an unreplied entry
 * for that pair of addresses, and this side's own punch must then get another
 * public port, one the peer never hears of. So the procedure runs in two
 * phases:
 *
 * 1. **Opening** (`openingMs`, default 600 ms): punches with a small IP TTL
 *    (`punchTtl`, default 2) every 100 ms. They open this side's mapping
 *    toward the peer but expire on the way, before the peer's NAT, so they
 *    create nothing there. Both peers start within `openingMs` of each other,
 *    so at the end of it both mappings exist.
 * 2. **Connecting**: punches with the normal TTL every 250 ms (which now pass
 *    both NATs as replies), and the dialing side's SYN, which libutp
 *    retransmits, until the connection is up or `timeout` ends.
 *
 * @module
 */
import type { IpAddress, UtpAddr } from "./addr.ts";
import { Connection, type UtpConnection } from "./connection.ts";
import type { Driver } from "./driver.ts";
import { UtpError } from "./errors.ts";

/** Default length of the opening phase (low-TTL punches only), in milliseconds. */
export const DEFAULT_OPENING_MS = 600;

/** Default IP TTL (IPv6 hop limit) of the opening punches. */
export const DEFAULT_PUNCH_TTL = 2;

/** Bytes of the hole-punching datagram; not µTP (version nibble 0), so the peer's µTP stack ignores it. */
export const PUNCH_DATAGRAM: Uint8Array = new TextEncoder().encode("\x00utpstream-punch");

/** Spacing of the opening punches. */
const OPENING_INTERVAL_MS = 100;

/** Spacing of the normal punches while the handshake runs. */
const PUNCH_INTERVAL_MS = 250;

/** Dials on a driver (the endpoint module's `dial`). */
export type DialFunction = (
  driver: Driver,
  target: { hostname: string; port: number; signal: AbortSignal | undefined; connectTimeout: number },
  owned: boolean,
) => Promise<UtpConnection>;

/** Everything one punching attempt needs, already validated. */
export interface PunchPlan {
  /** The endpoint's driver. */
  driver: Driver;
  /** The peer's public address, in the socket's family. */
  remote: IpAddress;
  /** The peer's public port. */
  port: number;
  /** Which side sends the SYN. */
  role: "dial" | "accept";
  /** Aborts the attempt. */
  signal?: AbortSignal;
  /** Milliseconds for the whole attempt, opening phase included. */
  timeout: number;
  /** IP TTL of the opening punches; 0 sends none (the opening phase is then only a wait). */
  punchTtl: number;
  /** Length of the opening phase in milliseconds (0: none). */
  openingMs: number;
  /** How to dial. */
  dial: DialFunction;
}

/**
 * Runs one hole-punching attempt and resolves with the connection.
 *
 * @param plan The validated attempt.
 * @returns The connection with the peer.
 *
 * @example What `UtpEndpoint.punch()` does
 * ```ts ignore
 * const conn = await punchConnection({
 *   driver, remote, port: 40001, role: "dial", timeout: 10_000,
 *   punchTtl: DEFAULT_PUNCH_TTL, openingMs: DEFAULT_OPENING_MS, dial,
 * });
 * ```
 */
export async function punchConnection(plan: PunchPlan): Promise<UtpConnection> {
  const { driver, remote, port, role, signal } = plan;
  const deadline = Date.now() + plan.timeout;
  const remoteAddr: UtpAddr = { transport: "utp", hostname: remote.text, port };
  // The accepting side listens for the peer's SYN from the start: a peer that
  // began earlier may already be dialing.
  const accepted = role === "accept" ? expectSyn(driver, remoteAddr, plan.timeout, signal) : undefined;
  accepted?.catch(() => {});
  const puncher = new Puncher(driver, remote, port, plan.punchTtl);
  try {
    puncher.start(plan.openingMs > 0 && plan.punchTtl > 0);
    if (plan.openingMs > 0) {
      const done = accepted ? accepted.then(() => true, () => true) : undefined;
      await sleep(Math.min(plan.openingMs, plan.timeout), signal, done);
    }
    signal?.throwIfAborted();
    puncher.start(false);
    if (accepted) return await accepted;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw timedOut(plan.timeout);
    return await plan.dial(
      driver,
      { hostname: remote.text, port, signal, connectTimeout: remaining },
      false,
    );
  } finally {
    puncher.stop();
  }
}

/** Sends punches at a steady pace: low-TTL ones while opening, normal ones after. */
class Puncher {
  #timer: ReturnType<typeof setInterval> | undefined;

  // Plain fields, not parameter properties: Node's type stripping cannot run those.
  private readonly driver: Driver;
  private readonly remote: IpAddress;
  private readonly port: number;
  private readonly ttl: number;

  constructor(driver: Driver, remote: IpAddress, port: number, ttl: number) {
    this.driver = driver;
    this.remote = remote;
    this.port = port;
    this.ttl = ttl;
  }

  /** Punches now and then periodically; `opening` selects the low TTL. */
  start(opening: boolean): void {
    this.stop();
    const send = opening ? () => this.#sendLow() : () => this.#sendNormal();
    send();
    this.#timer = setInterval(send, opening ? OPENING_INTERVAL_MS : PUNCH_INTERVAL_MS);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sendLow(): void {
    // Runtime I/O cannot set a TTL: then the opening phase only waits.
    this.driver.sendDatagramWithHops(PUNCH_DATAGRAM, this.remote, this.port, this.ttl);
  }

  #sendNormal(): void {
    if (this.driver.closed) return this.stop();
    this.driver.sendDatagram(PUNCH_DATAGRAM, this.remote, this.port);
  }
}

/** Resolves with the connection opened by the peer's SYN from `remoteAddr`. */
function expectSyn(
  driver: Driver,
  remoteAddr: UtpAddr,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<UtpConnection> {
  return new Promise<UtpConnection>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      cancel();
    };
    const onAbort = () => {
      cleanup();
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(timedOut(timeout));
    }, timeout);
    signal?.addEventListener("abort", onAbort, { once: true });
    const cancel = driver.expect(remoteAddr, (id) => {
      cleanup();
      const conn = new Connection(driver, remoteAddr, "open");
      conn.id = id;
      driver.adopt(id, conn);
      resolve(conn);
    });
  });
}

function timedOut(timeout: number): UtpError {
  return new UtpError(
    `Hole punching timed out: no connection with the peer within ${timeout} ms`,
    "ETIMEDOUT",
  );
}

/** Waits `ms`, or less if `signal` aborts or `early` settles. Never rejects. */
function sleep(ms: number, signal: AbortSignal | undefined, early?: Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    early?.then(done);
  });
}

/**
 * Validates the punching options that tune the procedure.
 *
 * @param options The user's `punchTtl` and `openingMs`.
 * @param what The operation, for error messages.
 * @returns Both values, defaults filled in.
 *
 * @example Defaults
 * ```ts ignore
 * checkPunchTuning({}, "punch a connection"); // { punchTtl: 2, openingMs: 600 }
 * ```
 */
export function checkPunchTuning(
  options: { punchTtl?: unknown; openingMs?: unknown },
  what: string,
): { punchTtl: number; openingMs: number } {
  const punchTtl = options.punchTtl ?? DEFAULT_PUNCH_TTL;
  if (typeof punchTtl !== "number" || !Number.isInteger(punchTtl)) {
    throw new TypeError(`Cannot ${what}: punchTtl must be an integer`);
  }
  if (punchTtl < 0 || punchTtl > 255) {
    throw new RangeError(`Cannot ${what}: punchTtl must be between 0 and 255, received ${punchTtl}`);
  }
  const openingMs = options.openingMs ?? DEFAULT_OPENING_MS;
  if (typeof openingMs !== "number" || Number.isNaN(openingMs)) {
    throw new TypeError(`Cannot ${what}: openingMs must be a number of milliseconds`);
  }
  if (openingMs < 0 || openingMs > 60_000) {
    throw new RangeError(`Cannot ${what}: openingMs must be between 0 and 60000, received ${openingMs}`);
  }
  return { punchTtl, openingMs };
}
