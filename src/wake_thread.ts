// Copyright 2026 the utpstream authors. MIT license.
/**
 * The receive threads of `udpIo: "bulk"` endpoints (and of Deno endpoints
 * referenced again after their runtime socket was given up), seen from
 * JavaScript.
 * Each such endpoint's socket is watched by a thread of the native library
 * (`native/wake_thread.c`), which calls one process-wide thread-safe callback
 * with the endpoint's token when the socket becomes readable; the endpoint
 * then drains the socket itself and re-arms its thread. Tokens are never
 * reused, so a late call for a closed endpoint finds nothing and is ignored.
 *
 * The callback never keeps the process alive; a referenced timer does, while
 * any endpoint with a running thread is referenced.
 *
 * @module
 */
import type { ContextHandle, NativeApi, WakeCallback } from "./ffi/native.ts";
import { type Interval, refTimer } from "./timers.ts";

let callback: WakeCallback | undefined;
const handlers = new Map<number, () => void>();
const running = new Set<number>();
let nextToken = 1;
let keepAlive: Interval | undefined;

function updateKeepAlive(): void {
  if (running.size > 0 && keepAlive === undefined) {
    keepAlive = setInterval(() => {}, 1 << 30);
    refTimer(keepAlive, true);
  } else if (running.size === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/**
 * One endpoint's receive thread: started and stopped with the endpoint's
 * reference state (a thread must never call into a runtime that is shutting
 * down, and an unreferenced endpoint must not keep the process alive).
 *
 * @example
 * ```ts ignore
 * const thread = WakeThread.create(native, ctx, () => drain());
 * thread?.run(true); // the thread watches the socket; drain() re-arms it
 * ```
 */
export class WakeThread {
  readonly #native: NativeApi;
  readonly #ctx: ContextHandle;
  readonly #token: number;
  readonly #callback: WakeCallback;
  #running = false;

  private constructor(native: NativeApi, ctx: ContextHandle, token: number, callback: WakeCallback) {
    this.#native = native;
    this.#ctx = ctx;
    this.#token = token;
    this.#callback = callback;
  }

  /**
   * Registers `onReadable` for an endpoint's context; undefined where the
   * runtime has no thread-safe callbacks (Node).
   */
  static create(native: NativeApi, ctx: ContextHandle, onReadable: () => void): WakeThread | undefined {
    if (native.makeWakeCallback === undefined) return undefined;
    callback ??= native.makeWakeCallback((token) => handlers.get(token)?.());
    const token = nextToken++;
    handlers.set(token, onReadable);
    return new WakeThread(native, ctx, token, callback);
  }

  /** Starts (`true`) or stops the thread; false if it could not start. */
  run(on: boolean): boolean {
    if (on === this.#running) return true;
    if (on) {
      if (this.#native.utps_wake_start(this.#ctx, this.#callback.pointer, this.#token) !== 0) return false;
      running.add(this.#token);
    } else {
      this.#native.utps_wake_stop(this.#ctx);
      running.delete(this.#token);
    }
    this.#running = on;
    updateKeepAlive();
    return true;
  }

  /** Lets the thread report the socket's next readable state. */
  arm(): void {
    if (this.#running) this.#native.utps_wake_arm(this.#ctx);
  }

  /** Ends the thread and forgets the endpoint; call before its context is destroyed. */
  close(): void {
    this.run(false);
    handlers.delete(this.#token);
  }
}
