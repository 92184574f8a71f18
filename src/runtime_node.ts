// Copyright 2026 the utpstream authors. MIT license.
/**
 * The Node backend: `node:ffi` (Node 26.1 and later) + `node:dgram`.
 *
 * @module
 */
import { importNodeFfi, type NodeFfi, openNodeLibrary } from "./ffi/node.ts";
import { bindNodeDatagramSocket } from "./udp/node.ts";
import type { Runtime } from "./runtime.ts";

/** The first Node release with `node:ffi`. */
export const MIN_NODE_VERSION = "26.1.0";

/** Whether a Node version (`process.versions.node`, e.g. `"26.12.1"`) is at least {@linkcode MIN_NODE_VERSION}. */
export function isSupportedNodeVersion(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map((part) => Number.parseInt(part, 10) || 0);
  const [minMajor = 0, minMinor = 0] = MIN_NODE_VERSION.split(".").map(Number);
  return major > minMajor || (major === minMajor && minor >= minMinor);
}

/**
 * The error for a Node without `node:ffi`: too old, or started with
 * `--no-experimental-ffi`.
 *
 * @param version `process.versions.node`.
 * @param cause Why importing `node:ffi` failed.
 *
 * @example
 * ```ts
 * import { unsupportedNodeError } from "./runtime_node.ts";
 * console.log(unsupportedNodeError("22.11.0").message);
 * ```
 */
export function unsupportedNodeError(version: string, cause?: unknown): Error {
  const message = isSupportedNodeVersion(version)
    ? `Cannot start utpstream: node:ffi is unavailable in Node ${version}; start Node without --no-experimental-ffi`
    : `Cannot start utpstream: it needs Node 26.1 or later (for node:ffi), this is Node ${version}; ` +
      `install Node 26 from https://nodejs.org/en/download or with a version manager ("nvm install 26")`;
  return new Error(message, { cause });
}

/**
 * Loads the native library through `node:ffi`; rejects with
 * {@linkcode unsupportedNodeError} where Node has no `node:ffi`.
 *
 * @example
 * ```ts ignore
 * const runtime = await openNodeRuntime();
 * console.log(runtime.native.path);
 * ```
 */
export async function openNodeRuntime(): Promise<Runtime> {
  const version =
    (globalThis as unknown as { process: { versions: { node: string } } }).process.versions.node;
  let ffi: NodeFfi;
  try {
    ffi = await importNodeFfi();
  } catch (cause) {
    throw unsupportedNodeError(version, cause);
  }
  return { name: "node", native: await openNodeLibrary(ffi), bind: bindNodeDatagramSocket };
}
