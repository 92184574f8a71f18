// Copyright 2026 the utpstream authors. MIT license.
/**
 * The Deno backend.
 *
 * @module
 */
import { openDenoLibrary } from "./ffi/deno.ts";
import { bindDenoDatagramSocket } from "./udp/deno.ts";
import type { Runtime } from "./runtime.ts";

/** Loads the native library through Deno's FFI. */
export async function openDenoRuntime(): Promise<Runtime> {
  return { name: "deno", native: await openDenoLibrary(), bind: bindDenoDatagramSocket };
}
