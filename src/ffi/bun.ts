// Copyright 2026 the utpstream authors. MIT license.
/**
 * The Bun backend of the native library: `bun:ffi` `dlopen` over the shared
 * symbol table, translated from Deno's notation. Typed arrays pass to pointer
 * arguments directly (no copy); pointers come back as numbers.
 *
 * `bun:ffi` is imported with a computed specifier so that this module stays
 * part of Deno's module graph without Deno ever resolving `bun:ffi`.
 *
 * @module
 */
import { type SymbolName, symbols } from "./symbols.ts";
import type { ContextHandle, NativeApi } from "./native.ts";
import { resolveLibraryPath } from "./library_path.ts";

/** Bun's FFI type names for the Deno names used in the table. */
const TYPE_MAP = {
  pointer: "ptr",
  buffer: "ptr",
  i32: "i32",
  u32: "u32",
  void: "void",
} as const;

type DenoType = keyof typeof TYPE_MAP;
type BunType = (typeof TYPE_MAP)[DenoType];

/** One symbol in `bun:ffi` notation. */
export interface BunSymbol {
  readonly args: readonly BunType[];
  readonly returns: BunType;
}

/** The minimal part of `bun:ffi` that utpstream uses. */
export interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, BunSymbol>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown>; close(): void };
}

/** Translates the shared symbol table to `bun:ffi` notation. */
export function toBunSymbols(): Record<SymbolName, BunSymbol> {
  const out = {} as Record<SymbolName, BunSymbol>;
  for (const name of Object.keys(symbols) as SymbolName[]) {
    const def = symbols[name];
    out[name] = {
      args: (def.parameters as readonly DenoType[]).map((t) => translate(name, t)),
      returns: translate(name, def.result as DenoType),
    };
  }
  return out;
}

function translate(name: string, type: DenoType): BunType {
  const mapped = TYPE_MAP[type];
  if (mapped === undefined) throw new TypeError(`Cannot translate FFI type "${type}" of ${name} to bun:ffi`);
  return mapped;
}

/** Loads `bun:ffi` without a static import (so Deno never resolves it). */
export async function importBunFfi(): Promise<BunFfi> {
  const spec = "bun:ffi";
  return (await import(spec)) as BunFfi;
}

function getEnv(name: string): string | undefined {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return g.process?.env?.[name];
}

function platform(): string {
  const g = globalThis as { process?: { platform?: string } };
  return g.process?.platform ?? "linux";
}

/** Opens the native library with `bun:ffi`. */
export async function openBunLibrary(): Promise<NativeApi> {
  const ffi = await importBunFfi();
  const path = resolveLibraryPath(platform(), getEnv);
  let lib: ReturnType<BunFfi["dlopen"]>;
  try {
    lib = ffi.dlopen(path, toBunSymbols());
  } catch (cause) {
    throw new Error(
      `Cannot load the native library "${path}": build it with "bash scripts/build.sh" or set UTP_LIBRARY`,
      { cause },
    );
  }
  const s = lib.symbols as { [K in SymbolName]: (...args: unknown[]) => number };
  const v = lib.symbols as { [K in SymbolName]: (...args: unknown[]) => void };
  return {
    path,
    create: () => {
      const p = s.utps_create();
      return p === null || p === 0 ? null : p;
    },
    destroy: (ctx: ContextHandle) => v.utps_destroy(ctx),
    setOption: (ctx, opt, value) => s.utps_set_option(ctx, opt, value),
    getOption: (ctx, opt) => s.utps_get_option(ctx, opt),
    findUdpFd: (family, port) => s.utps_find_udp_fd(family, port),
    setSocketBuffers: (fd, bytes) => s.utps_set_socket_buffers(fd, bytes),
    getSocketBuffer: (fd, which) => s.utps_get_socket_buffer(fd, which),
    attachFd: (ctx, fd) => s.utps_attach_fd(ctx, fd),
    input: (ctx, buf, len, family, addr, port) => s.utps_input(ctx, buf, len, family, addr, port),
    drain: (ctx, max) => s.utps_drain(ctx, max),
    endBatch: (ctx) => v.utps_end_batch(ctx),
    tick: (ctx) => v.utps_tick(ctx),
    connect: (ctx, family, addr, port) => s.utps_connect(ctx, family, addr, port),
    write: (ctx, id, buf, len) => s.utps_write(ctx, id, buf, len),
    consumed: (ctx, id, bytes) => s.utps_consumed(ctx, id, bytes),
    shutdownWrite: (ctx, id) => s.utps_shutdown_write(ctx, id),
    close: (ctx, id) => s.utps_close(ctx, id),
    abort: (ctx, id) => s.utps_abort(ctx, id),
    stats: (ctx, id, out) => s.utps_stats(ctx, id, out, out.byteLength),
    allowOnce: (ctx, family, addr, port) => s.utps_allow_once(ctx, family, addr, port),
    takeEvents: (ctx, out) => s.utps_take_events(ctx, out, out.byteLength),
    takeDatagrams: (ctx, out) => s.utps_take_datagrams(ctx, out, out.byteLength),
    sendDatagram: (ctx, buf, len, family, addr, port, hops) =>
      s.utps_send_datagram(ctx, buf, len, family, addr, port, hops),
    liveSockets: (ctx) => s.utps_live_sockets(ctx),
    liveSocketsTotal: () => s.utps_live_sockets_total(),
    liveContexts: () => s.utps_live_contexts(),
    counters: (ctx, out) => s.utps_counters(ctx, out, out.byteLength),
  };
}
