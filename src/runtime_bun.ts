// Copyright 2026 the utpstream authors. MIT license.
/**
 * The Bun backend.
 *
 * @module
 */
import type { Runtime } from "./runtime.ts";

/** Loads the native library through `bun:ffi`. */
export function openBunRuntime(): Promise<Runtime> {
  return Promise.reject(new Error("Cannot start utpstream: the Bun backend is not available yet"));
}
