// Copyright 2026 the utpstream authors. MIT license.
/**
 * Protocol tuning options of an endpoint, validated.
 *
 * @module
 */

/**
 * Protocol settings of an endpoint and its connections. Every field is
 * optional; libutp's defaults apply where one is missing.
 *
 * | option | default | range |
 * | --- | --- | --- |
 * | `sendBufferBytes` | 1 MiB | 4 KiB – 64 MiB |
 * | `receiveWindowBytes` | 1 MiB | 4 KiB – 64 MiB |
 * | `targetDelayMs` | 100 | 1 – 10 000 |
 * | `maxPacketSize` | 1402 (IPv4), 1232 (IPv6) | 576 – 65 507 |
 * | `idleTimeout` | 0 (never) | 0 – 2 147 483 647 |
 * | `backlog` | 1024 | 1 – 65 535 |
 * | `maxSockets` | 65 536 | 1 – 1 048 575 |
 *
 * @example A small receive window and an idle timeout
 * ```ts
 * import { UtpEndpoint } from "@utp/stream";
 * await using endpoint = await UtpEndpoint.bind({ receiveWindowBytes: 256 * 1024, idleTimeout: 30_000 });
 * ```
 */
export interface UtpTuningOptions {
  /** libutp's send buffer per connection (`UTP_SNDBUF`), bytes. */
  sendBufferBytes?: number;
  /**
   * libutp's receive window per connection (`UTP_RCVBUF`), bytes: the most
   * data the peer may send that the application has not read yet.
   */
  receiveWindowBytes?: number;
  /** LEDBAT's target queuing delay (`UTP_TARGET_DELAY`), milliseconds. */
  targetDelayMs?: number;
  /**
   * Cap on the UDP payload size of µTP packets. Lower it for links with a
   * small MTU (tunnels); values above 1402 only help on paths that carry
   * bigger datagrams, such as loopback.
   */
  maxPacketSize?: number;
  /**
   * A connection that has seen no packet from its peer for this many
   * milliseconds fails with a `UtpError` `ETIMEDOUT`; 0 disables the check.
   * Without it, a vanished peer is noticed only while data is outstanding
   * (libutp gives up after its retransmissions time out).
   */
  idleTimeout?: number;
  /**
   * Incoming connections still handshaking at once; further SYNs are refused
   * with a reset (the dialer's `connect()` fails with `ECONNREFUSED`).
   */
  backlog?: number;
  /**
   * Most µTP sockets the endpoint holds at once, in both directions (closed
   * ones that still wait for the peer's FIN included). Beyond it incoming SYNs
   * are refused with a reset and `connect()` on the endpoint fails with
   * `EMFILE`. One idle connection costs about 4 KiB of native memory and a few
   * KiB of JavaScript objects.
   */
  maxSockets?: number;
}

const RANGES: Record<keyof UtpTuningOptions, [number, number]> = {
  sendBufferBytes: [4096, 64 << 20],
  receiveWindowBytes: [4096, 64 << 20],
  targetDelayMs: [1, 10_000],
  maxPacketSize: [576, 65_507],
  idleTimeout: [0, 2 ** 31 - 1],
  backlog: [1, 65_535],
  maxSockets: [1, (1 << 20) - 1],
};

/** Validates the tuning fields of an options object. */
export function checkTuning(options: Partial<UtpTuningOptions>, what: string): UtpTuningOptions {
  const out: UtpTuningOptions = {};
  for (const key of Object.keys(RANGES) as (keyof UtpTuningOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new TypeError(`Cannot ${what}: ${key} must be an integer, received ${String(value)}`);
    }
    const [min, max] = RANGES[key];
    if (value < min || value > max) {
      throw new RangeError(`Cannot ${what}: ${key} must be between ${min} and ${max}, received ${value}`);
    }
    out[key] = value;
  }
  return out;
}
