// Copyright 2026 the utpstream authors. MIT license.
/**
 * Picks the runtime backend once, lazily: Deno (`Deno.dlopen` +
 * `Deno.listenDatagram`) or Bun (`bun:ffi` + `Bun.udpSocket`). Importing this
 * module touches neither runtime's APIs; only the first endpoint does.
 *
 * @module
 */
import type { NativeApi } from "./ffi/native.ts";
import type { BindDatagramSocket } from "./udp/datagram_socket.ts";

/** What a runtime backend provides. */
export interface Runtime {
  readonly name: "deno" | "bun";
  readonly native: NativeApi;
  readonly bind: BindDatagramSocket;
}

let current: Promise<Runtime> | undefined;

/** Returns the backend of the running runtime, loading it on first use. */
export function getRuntime(): Promise<Runtime> {
  current ??= loadRuntime();
  return current;
}

async function loadRuntime(): Promise<Runtime> {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) {
    const { openBunRuntime } = await import("./runtime_bun.ts");
    return openBunRuntime();
  }
  if (g.Deno !== undefined) {
    const { openDenoRuntime } = await import("./runtime_deno.ts");
    return openDenoRuntime();
  }
  throw new Error("Cannot start utpstream: the runtime is neither Deno nor Bun");
}
