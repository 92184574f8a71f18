// Copyright 2026 the utpstream authors. MIT license.
/**
 * Counters of the native layer, for tests and leak hunting.
 *
 * @module
 */
import { getRuntime } from "./runtime.ts";
import { driverOf, type UtpEndpoint } from "./endpoint.ts";

/** Native resources alive in this process. */
export interface NativeCounts {
  /** libutp sockets (connections) alive across all endpoints. */
  sockets: number;
  /** µTP contexts (endpoints) alive. */
  contexts: number;
}

/**
 * Counts the native resources alive in this process, or of one endpoint
 * (then `contexts` is 1 while the endpoint is open).
 *
 * @param endpoint Count only this endpoint's sockets.
 * @returns Live sockets and contexts.
 *
 * @example Check for leaks
 * ```ts
 * import { nativeCounts } from "@utp/stream/diagnostics";
 * console.log(await nativeCounts());
 * ```
 */
export async function nativeCounts(endpoint?: UtpEndpoint): Promise<NativeCounts> {
  if (endpoint !== undefined) {
    const driver = driverOf(endpoint);
    return { sockets: driver.liveSockets(), contexts: driver.closed ? 0 : 1 };
  }
  const { native } = await getRuntime();
  return { sockets: native.utps_live_sockets_total(), contexts: native.utps_live_contexts() };
}
