// Copyright 2026 the utpstream authors. MIT license.
/**
 * The Node adapter of the native library: `node:ffi` `dlopen` (Node 26.1 and
 * later) over the shared symbol table, translated to Node's type names. The
 * functions are exposed as Node returns them: pointers come back as `bigint`
 * (`isNull()` in `native.ts` accepts `0n`), typed arrays pass to `buffer`
 * arguments without a copy.
 *
 * `node:ffi` is imported with a computed specifier so that Deno's and Bun's
 * module graphs never resolve it.
 *
 * @module
 */
import { type NativeType, type SymbolName, translateSymbols } from "./symbols.ts";
import type { NativeApi, NativeFunctions } from "./native.ts";
import { loadError, resolveLibraryPath } from "./library_path.ts";

/** Node's FFI type names (`ffi.types`) for the table's types. */
const TYPE_MAP = {
  pointer: "pointer",
  buffer: "buffer",
  function: "pointer",
  i32: "int32",
  u32: "uint32",
  void: "void",
} as const satisfies Record<NativeType, string>;

type NodeType = (typeof TYPE_MAP)[NativeType];

/** One symbol in `node:ffi` notation. */
export interface NodeSymbol {
  /** Parameter types, in order. */
  readonly arguments: readonly NodeType[];
  /** Result type. */
  readonly return: NodeType;
}

/** The minimal part of `node:ffi` that utpstream uses. */
export interface NodeFfi {
  /** Opens a library and resolves the named functions. */
  dlopen(
    path: string,
    definitions: Record<string, NodeSymbol>,
  ): { lib: { close(): void }; functions: Record<string, (...args: unknown[]) => unknown> };
}

/**
 * Translates the shared symbol table to `node:ffi` notation.
 *
 * @example
 * ```ts
 * import { toNodeSymbols } from "./node.ts";
 * console.log(toNodeSymbols().utps_create); // { arguments: [], return: "pointer" }
 * ```
 */
export function toNodeSymbols(): Record<SymbolName, NodeSymbol> {
  return translateSymbols(TYPE_MAP, (args, result) => ({ arguments: args, return: result }));
}

/**
 * Loads `node:ffi` without a static import (so Deno and Bun never resolve
 * it). Rejects where Node has no `node:ffi` (before 26.1, or started with
 * `--no-experimental-ffi`).
 *
 * @example
 * ```ts ignore
 * const ffi = await importNodeFfi();
 * ```
 */
export async function importNodeFfi(): Promise<NodeFfi> {
  const spec = "node:ffi";
  return (await import(spec)) as NodeFfi;
}

interface NodeProcess {
  readonly platform: string;
  readonly env: Record<string, string | undefined>;
}

function nodeProcess(): NodeProcess {
  return (globalThis as unknown as { process: NodeProcess }).process;
}

/**
 * Opens the native library with `node:ffi` (from `setLibraryPath()`,
 * `UTP_LIBRARY`, the shipped `lib/` binary or `build/`, like Bun).
 *
 * @example
 * ```ts ignore
 * const native = await openNodeLibrary();
 * const ctx = native.utps_create();
 * ```
 */
export async function openNodeLibrary(ffi?: NodeFfi): Promise<NativeApi> {
  const node = ffi ?? await importNodeFfi();
  const proc = nodeProcess();
  const path = resolveLibraryPath(proc.platform, (name) => proc.env[name]);
  let opened: ReturnType<NodeFfi["dlopen"]>;
  try {
    opened = node.dlopen(path, toNodeSymbols());
  } catch (cause) {
    // The permission model (--permission without --allow-ffi) is not a loading problem.
    if ((cause as { code?: string }).code === "ERR_ACCESS_DENIED") throw cause;
    throw loadError(path, cause);
  }
  return { path, ...(opened.functions as unknown as NativeFunctions) };
}
