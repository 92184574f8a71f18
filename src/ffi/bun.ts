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
import { type NativeType, type SymbolName, translateSymbols } from "./symbols.ts";
import type { CallbackHandle, NativeApi, NativeFunctions, WakeCallback } from "./native.ts";
import { loadError, resolveLibraryPath } from "./library_path.ts";

/** Bun's FFI type names for the table's types. */
const TYPE_MAP = {
  pointer: "ptr",
  buffer: "ptr",
  function: "function",
  i32: "i32",
  u32: "u32",
  void: "void",
} as const satisfies Record<NativeType, string>;

type BunType = (typeof TYPE_MAP)[NativeType];

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
  /** Bun's callbacks; `threadsafe` ones may be called from any thread. */
  JSCallback?: new (
    fn: (token: number) => void,
    definition: { args: readonly BunType[]; returns: BunType; threadsafe?: boolean },
  ) => { readonly ptr: number | null };
}

/** Translates the shared symbol table to `bun:ffi` notation. */
export function toBunSymbols(): Record<SymbolName, BunSymbol> {
  return translateSymbols(TYPE_MAP, (args, returns) => ({ args, returns }));
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
    throw loadError(path, cause);
  }
  const JSCallback = ffi.JSCallback;
  const makeWakeCallback = JSCallback === undefined
    ? undefined
    : (fn: (token: number) => void): WakeCallback => {
      // Bun's thread-safe callbacks do not keep the process alive.
      const callback = new JSCallback(fn, { args: ["i32"], returns: "void", threadsafe: true });
      return { pointer: callback.ptr as unknown as CallbackHandle };
    };
  return { path, ...(lib.symbols as unknown as NativeFunctions), makeWakeCallback };
}
