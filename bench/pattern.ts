// Copyright 2026 the utpstream authors. MIT license.
/**
 * The benchmark's deterministic payload, byte for byte the same as
 * `make_pattern()` in utp_ref.c: xorshift32 bytes with a prime period, so
 * stream byte `i` is `pattern[i % PATTERN_PERIOD]`. A lost, duplicated or
 * reordered packet shows up as a mismatch.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** Period of the pattern in bytes (a prime just under 1 MiB). */
export const PATTERN_PERIOD = 1048573;

/** Two periods back to back, so any slice of up to one period is contiguous. */
export const PATTERN: Uint8Array = (() => {
  const p = new Uint8Array(2 * PATTERN_PERIOD);
  let x = 0x12345678;
  for (let i = 0; i < PATTERN_PERIOD; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    p[i] = x & 0xff;
  }
  p.copyWithin(PATTERN_PERIOD, 0, PATTERN_PERIOD);
  return p;
})();

const patternBuffer = Buffer.from(PATTERN.buffer, PATTERN.byteOffset, PATTERN.byteLength);

/** The `length` (at most one period) stream bytes starting at `offset`. */
export function patternSlice(offset: number, length: number): Uint8Array {
  const at = offset % PATTERN_PERIOD;
  return PATTERN.subarray(at, at + length);
}

/** Checks received bytes against the pattern, in stream order. */
export class Verifier {
  /** Bytes verified so far. */
  offset = 0;

  /** Returns false on the first mismatch. */
  check(chunk: Uint8Array): boolean {
    let pos = 0;
    while (pos < chunk.byteLength) {
      const n = Math.min(chunk.byteLength - pos, PATTERN_PERIOD);
      const at = this.offset % PATTERN_PERIOD;
      const got = Buffer.from(chunk.buffer, chunk.byteOffset + pos, n);
      if (!got.equals(patternBuffer.subarray(at, at + n))) return false;
      pos += n;
      this.offset += n;
    }
    return true;
  }
}
