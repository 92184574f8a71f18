// Copyright 2026 the utpstream authors. MIT license.
/**
 * Bytes that arrived while no read waited, held until the next read asks,
 * in fixed-size blocks that every connection's stage takes from one shared
 * pool and gives back once read. A receiver that keeps up allocates nothing
 * per arrival but the chunk a read takes, and the memory staged bytes use is
 * what is unread at the time, not each connection's largest backlog so far:
 * garbage, and buffers grown once and kept, are what raised a receiver's
 * peak memory (bench/RESULTS.md, round 5). libutp's receive window bounds
 * what a stage holds, because only bytes handed to a reader count as
 * consumed.
 *
 * @module
 */

/**
 * Size of one pooled block. Each connection with bytes staged holds a
 * partly filled last block, so smaller blocks waste less across many
 * connections (64 flows: 64 KiB blocks held 4–10 MiB for 2.5 MiB staged).
 */
export const STAGE_BLOCK_BYTES = 16 * 1024;
/** Free blocks the pool keeps for reuse (4 MiB); blocks given back beyond that are left to the collector. */
const POOL_KEEP_BLOCKS = 256;

const freeBlocks: Uint8Array[] = [];
let blocksInUse = 0;

function takeBlock(): Uint8Array {
  blocksInUse++;
  return freeBlocks.pop() ?? new Uint8Array(STAGE_BLOCK_BYTES);
}

function giveBlock(block: Uint8Array): void {
  blocksInUse--;
  if (freeBlocks.length < POOL_KEEP_BLOCKS) freeBlocks.push(block);
}

/**
 * Blocks that stages hold now (not counting the pool's free ones); for tests
 * and diagnostics.
 *
 * @example
 * ```ts
 * import { stagedBlocks } from "./byte_stage.ts";
 * console.log(stagedBlocks()); // 0
 * ```
 */
export function stagedBlocks(): number {
  return blocksInUse;
}

/**
 * A FIFO of bytes in pooled blocks.
 *
 * @example
 * ```ts
 * import { ByteStage } from "./byte_stage.ts";
 * const stage = new ByteStage();
 * stage.append(new Uint8Array([1, 2, 3]));
 * const into = new Uint8Array(2);
 * console.log(stage.takeInto(into), stage.length); // 2 1
 * console.log(stage.take(10)); // Uint8Array(1) [ 3 ]
 * ```
 */
export class ByteStage {
  /** Blocks in order; bytes run from `#start` in the first to `#end` in the last. */
  #blocks: Uint8Array[] = [];
  #start = 0;
  #end = 0;
  #length = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Appends a copy of `data`. */
  append(data: Uint8Array): void {
    let at = 0;
    const n = data.byteLength;
    while (at < n) {
      if (this.#blocks.length === 0 || this.#end === STAGE_BLOCK_BYTES) {
        this.#blocks.push(takeBlock());
        this.#end = 0;
      }
      const last = this.#blocks[this.#blocks.length - 1];
      const k = Math.min(STAGE_BLOCK_BYTES - this.#end, n - at);
      last.set(k === n && at === 0 ? data : data.subarray(at, at + k), this.#end);
      this.#end += k;
      at += k;
    }
    this.#length += n;
  }

  /** Moves as many bytes as fit into `view`; returns how many. */
  takeInto(view: Uint8Array): number {
    const n = Math.min(view.byteLength, this.#length);
    let done = 0;
    while (done < n) {
      const first = this.#blocks[0];
      const stop = this.#blocks.length === 1 ? this.#end : STAGE_BLOCK_BYTES;
      const k = Math.min(stop - this.#start, n - done);
      view.set(first.subarray(this.#start, this.#start + k), done);
      done += k;
      this.#start += k;
      if (this.#start === stop) this.#dropFirst();
    }
    this.#length -= n;
    return n;
  }

  /**
   * Removes and returns up to `max` bytes as a new array, never more than
   * the rest of the first block: a copy of one block's bytes is a `slice`,
   * which need not zero its memory first (a new array and a copy into it
   * cost Bun's receiver a tenth of its throughput).
   */
  take(max: number): Uint8Array {
    if (this.#length === 0) return new Uint8Array(0);
    const first = this.#blocks[0];
    const stop = this.#blocks.length === 1 ? this.#end : STAGE_BLOCK_BYTES;
    const n = Math.min(max, stop - this.#start);
    const out = first.slice(this.#start, this.#start + n);
    this.#start += n;
    this.#length -= n;
    if (this.#start === stop) this.#dropFirst();
    return out;
  }

  /** Drops everything held; the blocks go back to the pool. */
  clear(): void {
    while (this.#blocks.length > 0) this.#dropFirst();
    this.#length = 0;
  }

  #dropFirst(): void {
    giveBlock(this.#blocks.shift()!);
    this.#start = 0;
    if (this.#blocks.length === 0) this.#end = 0;
  }
}
