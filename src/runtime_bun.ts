// Copyright 2026 the utpstream authors. MIT license.
/**
 * The Bun backend.
 *
 * @module
 */
import { openBunLibrary } from "./ffi/bun.ts";
import { bindBunDatagramSocket } from "./udp/bun.ts";
import type { Runtime } from "./runtime.ts";

/** Loads the native library through `bun:ffi`. */
export async function openBunRuntime(): Promise<Runtime> {
  return { name: "bun", native: await openBunLibrary(), bind: bindBunDatagramSocket };
}
