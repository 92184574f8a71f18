// Copyright 2026 the utpstream authors. MIT license.
/**
 * Bytes that arrived while a BYOB reader was busy, kept in one reusable
 * buffer until its next read, so that a fast BYOB receiver allocates
 * nothing per arrival (each allocation is garbage that only the next
 * collection frees, and that garbage is what raises its peak memory). The
 * buffer grows when needed and is kept: libutp's receive window bounds what
 * it holds, because only bytes handed to the reader count as consumed.
 * (Giving a grown buffer back once drained made every burst allocate again:
 * Deno's receiver peaked 30–55 MiB higher at 500 MiB.)
 *
 * @module
 */

/**
 * A growable FIFO of bytes.
 *
 * @example
 * ```ts
 * import { ByteStage } from "./byte_stage.ts";
 * const stage = new ByteStage();
 * stage.append(new Uint8Array([1, 2, 3]));
 * const into = new Uint8Array(2);
 * console.log(stage.takeInto(into), stage.length); // 2 1
 * ```
 */
export class ByteStage {
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /** Bytes held. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** Appends a copy of `data`. */
  append(data: Uint8Array): void {
    const n = data.byteLength;
    if (this.#end + n > this.#buffer.byteLength) this.#makeRoom(n);
    this.#buffer.set(data, this.#end);
    this.#end += n;
  }

  /** Moves as many bytes as fit into `view`; returns how many. */
  takeInto(view: Uint8Array): number {
    const n = Math.min(view.byteLength, this.length);
    view.set(this.#buffer.subarray(this.#start, this.#start + n));
    this.#consume(n);
    return n;
  }

  /** Removes and returns everything held, as a new array. */
  takeAll(): Uint8Array {
    const out = this.#buffer.slice(this.#start, this.#end);
    this.#consume(out.byteLength);
    return out;
  }

  /** Drops everything held (the buffer stays for reuse). */
  clear(): void {
    this.#consume(this.length);
  }

  #consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  #makeRoom(extra: number): void {
    const held = this.length;
    if (held + extra <= this.#buffer.byteLength) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      let size = Math.max(64 * 1024, this.#buffer.byteLength);
      while (size < held + extra) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = next;
    }
    this.#start = 0;
    this.#end = held;
  }
}
