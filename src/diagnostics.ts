// Copyright 2026 the utpstream authors. MIT license.
/**
 * Counters of the native layer, for tests and leak hunting.
 *
 * @module
 */
import { getRuntime } from "./runtime.ts";

/** Native resources alive in this process. */
export interface NativeCounts {
  /** libutp sockets (connections) alive across all endpoints. */
  sockets: number;
  /** µTP contexts (endpoints) alive. */
  contexts: number;
}

/**
 * Counts the native resources alive in this process.
 *
 * @returns Live sockets and contexts.
 *
 * @example Check for leaks
 * ```ts ignore
 * import { nativeCounts } from "@utp/stream/diagnostics";
 * console.log(await nativeCounts());
 * ```
 */
export async function nativeCounts(): Promise<NativeCounts> {
  const { native } = await getRuntime();
  return { sockets: native.liveSocketsTotal(), contexts: native.liveContexts() };
}
