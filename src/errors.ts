// Copyright 2026 the utpstream authors. MIT license.
/**
 * Transport errors.
 *
 * @module
 */

import { NativeError } from "./ffi/native.ts";

/**
 * Why a µTP connection failed.
 *
 * | code | meaning |
 * | --- | --- |
 * | `ECONNREFUSED` | the peer refused the connection |
 * | `ECONNRESET` | the peer reset the connection |
 * | `ETIMEDOUT` | the peer stopped answering (handshake or data) |
 * | `ECONNABORTED` | this side closed the connection or its endpoint |
 * | `EMFILE` | the endpoint already holds its `maxSockets` sockets |
 */
export type UtpErrorCode = "ECONNREFUSED" | "ECONNRESET" | "ETIMEDOUT" | "ECONNABORTED" | "EMFILE";

/**
 * A transport failure of a µTP connection, listener or endpoint. Bad
 * arguments throw `TypeError` or `RangeError` instead.
 *
 * @example Telling a timeout from a reset
 * ```ts
 * import { connect, UtpError } from "@utp/stream";
 * try {
 *   await connect({ hostname: "127.0.0.1", port: 9 });
 * } catch (error) {
 *   if (error instanceof UtpError && error.code === "ETIMEDOUT") {
 *     console.log("nobody answered");
 *   }
 * }
 * ```
 */
export class UtpError extends Error {
  /** The error's name, always `"UtpError"`. */
  override name = "UtpError";
  /** Machine-readable reason. */
  readonly code: UtpErrorCode;

  /**
   * Creates a transport error.
   *
   * @param message Human-readable description.
   * @param code Machine-readable reason.
   * @param options Standard error options, e.g. a `cause`.
   */
  constructor(message: string, code: UtpErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The error of each native code (`UTPS_ERR_*`, see `NativeError`). */
const NATIVE_CODES: Readonly<Record<number, UtpErrorCode>> = {
  [NativeError.CONNREFUSED]: "ECONNREFUSED",
  [NativeError.CONNRESET]: "ECONNRESET",
  [NativeError.TIMEDOUT]: "ETIMEDOUT",
};
const MESSAGES: Record<UtpErrorCode, string> = {
  ECONNREFUSED: "Connection refused by the peer",
  ECONNRESET: "Connection reset by the peer",
  ETIMEDOUT: "Connection timed out: the peer stopped answering",
  ECONNABORTED: "Connection closed by this side",
  EMFILE: "Too many connections on this endpoint",
};

/** Builds the error for a libutp error number (`UTP_E*`). */
export function errorFromNative(code: number): UtpError {
  const name = NATIVE_CODES[code] ?? "ECONNRESET";
  return new UtpError(MESSAGES[name], name);
}

/** Builds the error for a connection closed locally. */
export function abortedError(what = "Connection closed by this side"): UtpError {
  return new UtpError(what, "ECONNABORTED");
}
