// Copyright 2026 the utpstream authors. MIT license.
/**
 * Picks the runtime backend once, lazily: Deno (`Deno.dlopen` +
 * `Deno.listenDatagram`), Bun (`bun:ffi` + `Bun.udpSocket`) or Node 26.1+
 * (`node:ffi` + `node:dgram`). Importing this module touches no runtime's
 * APIs; only the first endpoint does.
 *
 * @module
 */
import type { NativeApi } from "./ffi/native.ts";
import type { BindDatagramSocket } from "./udp/datagram_socket.ts";

/** What a runtime backend provides. */
export interface Runtime {
  readonly name: "deno" | "bun" | "node";
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
  const g = globalThis as { Bun?: unknown; Deno?: unknown; process?: { versions?: { node?: string } } };
  if (g.Bun !== undefined) {
    const { openBunRuntime } = await import("./runtime_bun.ts");
    return openBunRuntime();
  }
  if (g.Deno !== undefined) {
    const { openDenoRuntime } = await import("./runtime_deno.ts");
    return openDenoRuntime();
  }
  // Deno and Bun also have process.versions.node: Node is what is neither.
  if (typeof g.process?.versions?.node === "string") {
    const { openNodeRuntime } = await import("./runtime_node.ts");
    return openNodeRuntime();
  }
  throw new Error("Cannot start utpstream: the runtime is neither Deno, Bun nor Node");
}
