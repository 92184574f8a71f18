// Copyright 2026 the utpstream authors. MIT license.
// Shared helpers for the tests (node:test style, so Deno and Bun run them).
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import process from "node:process";

/** Deterministic bytes: a xorshift32 stream seeded by `seed`. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A reusable 1 MiB block of pattern bytes. */
const BLOCK = pattern(1 << 20, 7);

/** Writes `total` bytes of the repeating block pattern, then closes the writable. */
export async function writePattern(writable: WritableStream<Uint8Array>, total: number, chunkSize = 65536) {
  const writer = writable.getWriter();
  let sent = 0;
  while (sent < total) {
    const n = Math.min(chunkSize, total - sent);
    const start = sent % BLOCK.length;
    const end = Math.min(start + n, BLOCK.length);
    await writer.write(BLOCK.subarray(start, end));
    sent += end - start;
  }
  await writer.close();
}

/** The SHA-256 of `total` bytes of the repeating block pattern. */
export function patternHash(total: number): string {
  const h = createHash("sha256");
  let done = 0;
  while (done < total) {
    const n = Math.min(BLOCK.length, total - done);
    h.update(BLOCK.subarray(0, n));
    done += n;
  }
  return h.digest("hex");
}

/** Reads a stream to its end; returns byte count and SHA-256. */
export async function hashStream(
  readable: ReadableStream<Uint8Array>,
): Promise<{ bytes: number; sha256: string }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const chunk of readable) {
    h.update(chunk);
    bytes += chunk.byteLength;
  }
  return { bytes, sha256: h.digest("hex") };
}

/** Reads a stream to its end and concatenates it. */
export async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of readable) {
    parts.push(chunk);
    total += chunk.byteLength;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** Rejects after `ms` unless `promise` settles first. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Text helpers. */
export const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
export const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Runs `script` (an ES module body) in a new process of this runtime; resolves when it exits (15 s at most). */
export function runChild(script: string): Promise<{ code: number | null; out: string }> {
  const runtime = (globalThis as { Bun?: unknown }).Bun
    ? "bun"
    : (globalThis as { Deno?: unknown }).Deno
    ? "deno"
    : "node";
  const args = runtime === "bun"
    ? ["-e", script]
    : runtime === "deno"
    ? ["eval", "--unstable-net", "--allow-net", "--allow-ffi", "--allow-read", "--allow-env", script]
    : ["--input-type=module", "-e", script];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => out += d);
  return within(
    new Promise<{ code: number | null; out: string }>((resolve) =>
      child.on("exit", (code) => resolve({ code, out }))
    ),
    15_000,
    "the child process exits on its own",
  ).catch((e) => {
    child.kill("SIGKILL");
    throw e;
  });
}
