// Copyright 2026 the utpstream authors. MIT license.
/**
 * The Deno adapter of the native library: `Deno.dlopen` over the symbol
 * table, whose notation is Deno's own. The functions are exposed as Deno
 * returns them (pointers are `Deno.PointerObject`s, typed arrays pass to
 * `buffer` arguments without a copy).
 *
 * @module
 */
import { symbols } from "./symbols.ts";
import type { CallbackHandle, NativeApi, NativeFunctions, WakeCallback } from "./native.ts";
import { loadLibraryPath } from "./loader.ts";
import { loadError } from "./library_path.ts";

/**
 * Opens the native library with Deno's FFI. Asynchronous because a module
 * loaded from JSR fetches (once), verifies and caches its binary first.
 */
export async function openDenoLibrary(): Promise<NativeApi> {
  const path = await loadLibraryPath();
  let lib: Deno.DynamicLibrary<typeof symbols>;
  try {
    lib = Deno.dlopen(path, symbols satisfies Deno.ForeignLibraryInterface);
  } catch (cause) {
    if (cause instanceof Deno.errors.PermissionDenied) throw cause;
    throw loadError(path, cause);
  }
  return { path, ...(lib.symbols as unknown as NativeFunctions), makeWakeCallback };
}

function makeWakeCallback(fn: (token: number) => void): WakeCallback {
  const callback = Deno.UnsafeCallback.threadSafe({ parameters: ["i32"], result: "void" } as const, fn);
  callback.unref();
  return { pointer: callback.pointer as unknown as CallbackHandle };
}
