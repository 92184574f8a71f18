// Copyright 2026 the utpstream authors. MIT license.
/**
 * One side of a benchmark, with the library (Deno or Bun) or with the
 * runtime's own TCP (Deno). Same roles and output as utp_ref.c: the
 * listening side prints `READY <port>`, then every role prints one JSON line
 * with its result and exits.
 *
 *   deno run -A --unstable-net bench/peer.ts recv --bytes N [--flows K] [--udp-io native|bulk|runtime]
 *        [--udp-offload default|true|false] [--reader default|byob] [--busy-poll µs]
 *   bun bench/peer.ts send --port P --bytes N [--flows K]
 *   ... pong | ping --port P --count N [--warmup N] [--rtts FILE] | tcp-recv | tcp-send | tcp-pong | tcp-ping | probe
 *
 * @module
 */
import process from "node:process";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type UdpIo, type UtpConnection, UtpEndpoint } from "../mod.ts";
import { patternSlice, Verifier } from "./pattern.ts";

const WRITE_CHUNK = 64 * 1024;
const LINGER_MS = 2000;

/** The stream surface shared by µTP connections and Deno TCP connections. */
interface Conn {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): void;
}

const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    port: { type: "string", default: "0" },
    bytes: { type: "string", default: "0" },
    flows: { type: "string", default: "1" },
    count: { type: "string", default: "1000" },
    warmup: { type: "string", default: "0" },
    "udp-io": { type: "string", default: "native" },
    "udp-offload": { type: "string", default: "default" },
    "busy-poll": { type: "string", default: "0" },
    reader: { type: "string", default: "default" },
    chunk: { type: "string", default: String(WRITE_CHUNK) },
    timeout: { type: "string", default: "120" },
    rtts: { type: "string", default: "" },
  },
});

const role = positionals[0] ?? "";
const port = Number(values.port);
const totalBytes = Number(values.bytes);
const flows = Math.max(1, Number(values.flows));
const count = Number(values.count);
/**
 * Round trips before the `count` timed ones, reported apart: a runtime's JIT
 * compiles the path on helper threads during the first seconds.
 */
const warmup = Number(values.warmup);
const udpIo = values["udp-io"] as UdpIo;
/** `udpOffload`: the library's default unless "true" or "false" is given. */
const udpOffload = values["udp-offload"] === "default" ? undefined : values["udp-offload"] === "true";
/** How receivers read: a default reader (a fresh chunk per read) or a BYOB reader into one 64 KiB buffer. */
const byobReader = values.reader === "byob";
const chunkSize = Number(values.chunk);
/** `busyPoll` in µs (0: off). */
const busyPoll = Number(values["busy-poll"]);
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

const watchdog = setTimeout(() => {
  console.error(`peer ${role}: timeout after ${values.timeout} s`);
  process.exit(3);
}, Number(values.timeout) * 1000);

function peakRssKiB(): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

function cpu(): { user: number; system: number } {
  return process.cpuUsage();
}

function cpuSince(start: { user: number; system: number }): { cpuUser: number; cpuSys: number } {
  const now = cpu();
  return { cpuUser: (now.user - start.user) / 1e6, cpuSys: (now.system - start.system) / 1e6 };
}

function finish(result: Record<string, unknown>): never {
  clearTimeout(watchdog);
  console.log(JSON.stringify({ impl: runtime, ...result, peakRssKiB: peakRssKiB() }));
  process.exit(0);
}

function fail(message: string): never {
  console.error(`peer ${role}: ${message}`);
  process.exit(2);
}

/** Resolves after `promise` settles or `ms` passes, whichever is first. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

/** Reads and discards until EOF. */
async function drain(readable: ReadableStream<Uint8Array>): Promise<void> {
  const reader = readable.getReader();
  try {
    while (!(await reader.read()).done) { /* discard */ }
  } catch {
    // the peer reset after closing: fine
  } finally {
    reader.releaseLock();
  }
}

/** Receives `target` pattern bytes, then reads to EOF. Returns the time of the last byte. */
async function receive(conn: Conn, target: number): Promise<number> {
  const verifier = new Verifier();
  const reader = byobReader ? conn.readable.getReader({ mode: "byob" }) : conn.readable.getReader();
  // Only a BYOB reader needs a buffer of its own (64 KiB per flow adds up).
  let buffer = byobReader ? new Uint8Array(WRITE_CHUNK) : new Uint8Array(0);
  let tEnd = 0;
  for (;;) {
    const { value, done } = reader instanceof ReadableStreamBYOBReader
      ? await reader.read(buffer)
      : await reader.read();
    if (done || value === undefined) break;
    // The same memory, handed back by the stream:
    if (reader instanceof ReadableStreamBYOBReader) buffer = new Uint8Array(value.buffer as ArrayBuffer);
    if (verifier.offset + value.byteLength > target) fail("more bytes than expected");
    if (!verifier.check(value)) fail(`data mismatch near offset ${verifier.offset}`);
    if (verifier.offset === target) tEnd = performance.now();
  }
  if (verifier.offset !== target) fail(`stream ended after ${verifier.offset} of ${target} bytes`);
  return tEnd;
}

/** Writes `target` pattern bytes, then half-closes. */
async function send(conn: Conn, target: number): Promise<void> {
  const writer = conn.writable.getWriter();
  let sent = 0;
  while (sent < target) {
    const n = Math.min(chunkSize, target - sent);
    await writer.write(patternSlice(sent, n));
    sent += n;
  }
  await writer.close();
}

interface FlowResult {
  tStart: number;
  tEnd: number;
}

function report(results: FlowResult[], perFlow: number, cpuStart: { user: number; system: number }): never {
  const usage = cpuSince(cpuStart);
  const tFirst = Math.min(...results.map((r) => r.tStart));
  const tLast = Math.max(...results.map((r) => r.tEnd));
  const rates = results.map((r) => perFlow / 1048576 / Math.max(1e-9, (r.tEnd - r.tStart) / 1000));
  const moved = perFlow * results.length;
  const seconds = (tLast - tFirst) / 1000;
  finish({
    role: "recv",
    bytes: moved,
    flows: results.length,
    seconds,
    mibps: moved / 1048576 / seconds,
    flowMinMibps: Math.min(...rates),
    flowMaxMibps: Math.max(...rates),
    ...usage,
  });
}

/** The `q` quantile (0..1) of `xs`, sorted ascending. */
function quantile(xs: number[], q: number): number {
  return xs[Math.min(xs.length - 1, Math.floor(xs.length * q))];
}

/** Reports the timed round trips, `all` without the first `warmup`, and the warm-up's own median and p99. */
function latencyReport(all: number[], cpuStart: { user: number; system: number }): never {
  const usage = cpuSince(cpuStart);
  const warm = all.slice(0, warmup).sort((a, b) => a - b);
  const rtts = all.slice(warmup);
  if (values.rtts) writeFileSync(values.rtts, rtts.map((r) => r.toFixed(1)).join("\n") + "\n");
  rtts.sort((a, b) => a - b);
  finish({
    role: "ping",
    count: rtts.length,
    medianUs: quantile(rtts, 0.5),
    p90Us: quantile(rtts, 0.9),
    p99Us: quantile(rtts, 0.99),
    meanUs: rtts.reduce((a, b) => a + b, 0) / rtts.length,
    minUs: rtts[0],
    warmup: warm.length,
    warmupMedianUs: warm.length ? quantile(warm, 0.5) : undefined,
    warmupP99Us: warm.length ? quantile(warm, 0.99) : undefined,
    ...usage,
  });
}

/** Echoes everything until EOF. */
async function echo(conn: Conn): Promise<void> {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    await writer.write(value);
  }
  await writer.close().catch(() => {});
}

const ONE = new Uint8Array([1]);

async function pingPong(conn: Conn): Promise<number[]> {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  const rtts: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const t0 = performance.now();
    await writer.write(ONE);
    let got = 0;
    while (got < 1) {
      const { value, done } = await reader.read();
      if (done) fail("echo stream ended early");
      got += value.byteLength;
    }
    rtts.push((performance.now() - t0) * 1000);
  }
  reader.releaseLock();
  writer.releaseLock();
  return rtts;
}

// ---------------------------------------------------------------- µTP roles

async function bind(): Promise<UtpEndpoint> {
  const endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1", port: 0, udpIo, udpOffload, busyPoll });
  if (endpoint.udpIo !== udpIo) fail(`asked for udpIo ${udpIo}, got ${endpoint.udpIo}`);
  if (endpoint.busyPoll !== busyPoll) fail(`asked for busyPoll ${busyPoll}, got ${endpoint.busyPoll}`);
  return endpoint;
}

async function utpRecv(): Promise<never> {
  const endpoint = await bind();
  const listener = endpoint.listen();
  const cpuStart = cpu();
  console.log(`READY ${endpoint.addr.port}`);
  const perFlow = Math.floor(totalBytes / flows);
  const tasks: Promise<FlowResult>[] = [];
  const conns: UtpConnection[] = [];
  for (let i = 0; i < flows; i++) {
    const conn = await listener.accept();
    const tStart = performance.now();
    conns.push(conn);
    tasks.push(receive(conn, perFlow).then((tEnd) => ({ tStart, tEnd })));
  }
  const results = await Promise.all(tasks);
  for (const conn of conns) conn.close();
  await within(Promise.all(conns.map((c) => c.closed)), LINGER_MS);
  report(results, perFlow, cpuStart);
}

async function utpSend(): Promise<never> {
  const endpoint = await bind();
  const cpuStart = cpu();
  const perFlow = Math.floor(totalBytes / flows);
  const conns = await Promise.all(
    Array.from({ length: flows }, () => endpoint.connect({ hostname: "127.0.0.1", port })),
  );
  // Done once the receiver has closed every flow (it does so after the last byte).
  await Promise.all(conns.map((conn) => Promise.all([send(conn, perFlow), drain(conn.readable)])));
  const usage = cpuSince(cpuStart);
  await within(Promise.all(conns.map((c) => c.closed)), LINGER_MS);
  finish({ role: "send", bytes: perFlow * flows, flows, ...usage });
}

async function utpPong(): Promise<never> {
  const endpoint = await bind();
  const listener = endpoint.listen();
  const cpuStart = cpu();
  console.log(`READY ${endpoint.addr.port}`);
  const conn = await listener.accept();
  await echo(conn);
  const usage = cpuSince(cpuStart);
  conn.close();
  await within(conn.closed, LINGER_MS);
  finish({ role: "pong", ...usage });
}

async function utpPing(): Promise<never> {
  const endpoint = await bind();
  const cpuStart = cpu();
  const conn = await endpoint.connect({ hostname: "127.0.0.1", port });
  const rtts = await pingPong(conn);
  await conn.closeWrite();
  await within(drain(conn.readable), LINGER_MS);
  conn.close();
  await within(conn.closed, LINGER_MS);
  latencyReport(rtts, cpuStart);
}

// ---------------------------------------------------------------- TCP roles (Deno)

function denoApi(): typeof Deno {
  if (runtime !== "deno") fail("TCP roles run on Deno only");
  return Deno;
}

async function tcpRecv(): Promise<never> {
  const listener = denoApi().listen({ hostname: "127.0.0.1", port: 0 });
  const cpuStart = cpu();
  console.log(`READY ${listener.addr.port}`);
  const perFlow = Math.floor(totalBytes / flows);
  const tasks: Promise<FlowResult>[] = [];
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < flows; i++) {
    const conn = await listener.accept();
    const tStart = performance.now();
    conns.push(conn);
    tasks.push(receive(conn, perFlow).then((tEnd) => ({ tStart, tEnd })));
  }
  const results = await Promise.all(tasks);
  for (const conn of conns) await conn.closeWrite().catch(() => {});
  listener.close();
  report(results, perFlow, cpuStart);
}

async function tcpSend(): Promise<never> {
  const cpuStart = cpu();
  const perFlow = Math.floor(totalBytes / flows);
  const conns = await Promise.all(
    Array.from({ length: flows }, () => denoApi().connect({ hostname: "127.0.0.1", port })),
  );
  await Promise.all(conns.map((conn) => Promise.all([send(conn, perFlow), drain(conn.readable)])));
  const usage = cpuSince(cpuStart);
  finish({ role: "send", bytes: perFlow * flows, flows, ...usage });
}

async function tcpPong(): Promise<never> {
  const listener = denoApi().listen({ hostname: "127.0.0.1", port: 0 });
  const cpuStart = cpu();
  console.log(`READY ${listener.addr.port}`);
  const conn = await listener.accept();
  conn.setNoDelay(true);
  await echo(conn);
  const usage = cpuSince(cpuStart);
  listener.close();
  finish({ role: "pong", ...usage });
}

async function tcpPing(): Promise<never> {
  const cpuStart = cpu();
  const conn = await denoApi().connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const rtts = await pingPong(conn);
  await conn.closeWrite();
  await within(drain(conn.readable), LINGER_MS);
  latencyReport(rtts, cpuStart);
}

async function probe(): Promise<never> {
  const endpoint = await bind();
  const got = endpoint.udpIo;
  await endpoint.close();
  finish({ role: "probe", udpIo: got });
}

const roles: Record<string, () => Promise<never>> = {
  recv: utpRecv,
  send: utpSend,
  pong: utpPong,
  ping: utpPing,
  "tcp-recv": tcpRecv,
  "tcp-send": tcpSend,
  "tcp-pong": tcpPong,
  "tcp-ping": tcpPing,
  probe,
};

const run = roles[role];
if (!run) fail(`unknown role "${role}"; one of ${Object.keys(roles).join(", ")}`);
run().catch((error) => fail(error instanceof Error ? error.stack ?? error.message : String(error)));
