// Copyright 2026 the utpstream authors. MIT license.
/**
 * Timer helpers that work in every runtime.
 *
 * @module
 */

/** A repeating timer as the runtime returns it. */
export type Interval = ReturnType<typeof setInterval>;

/**
 * Refs or unrefs a timer: Node and Bun timers have `ref()`/`unref()`, Deno's
 * are numbers handled by `Deno.refTimer`/`Deno.unrefTimer`.
 *
 * @example Let a housekeeping timer not keep the process alive
 * ```ts
 * import { refTimer } from "./timers.ts";
 * const timer = setInterval(() => {}, 1000);
 * refTimer(timer, false);
 * clearInterval(timer);
 * ```
 */
export function refTimer(timer: Interval, ref: boolean): void {
  const t = timer as unknown as { ref?: () => void; unref?: () => void };
  if (typeof t.unref === "function") {
    if (ref) t.ref?.();
    else t.unref();
    return;
  }
  const deno = (globalThis as { Deno?: { refTimer(id: number): void; unrefTimer(id: number): void } }).Deno;
  if (deno && typeof timer === "number") {
    if (ref) deno.refTimer(timer);
    else deno.unrefTimer(timer);
  }
}
