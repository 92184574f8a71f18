// Copyright 2026 the utpstream authors. MIT license.
/**
 * One side of a benchmark with `utp-native@2.5.3` (the µTP library Node users
 * have had, unmaintained since 2021), run by Node 26. Same roles and output
 * as bench/peer.ts and utp_ref.c: the listening side prints `READY <port>`,
 * then every role prints one JSON line with its result and exits.
 *
 *   node bench/node_utp_native.ts recv --bytes N [--flows K]
 *   node bench/node_utp_native.ts send --port P --bytes N [--flows K]
 *   ... pong | ping --port P --count N [--warmup N] | probe
 *
 * utp-native is found in `.tools/node_modules` (scripts/install_tools.sh) or
 * at `UTP_NATIVE=<path to the package>`.
 *
 * @module
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { patternSlice, Verifier } from "./pattern.ts";

/** The part of a utp-native connection (a Node duplex stream) used here. */
interface UtpNativeConnection {
  write(data: Uint8Array): boolean;
  end(): void;
  destroy(): void;
  on(event: "data", fn: (data: Uint8Array) => void): this;
  on(event: "end" | "close" | "drain" | "connect", fn: () => void): this;
  on(event: "error", fn: (error: Error) => void): this;
  once(event: "drain" | "connect" | "end" | "close", fn: () => void): this;
}

/** A utp-native socket: one UDP port that listens and dials. */
interface UtpNativeSocket {
  listen(port: number, host: string, onListening: () => void): void;
  connect(port: number, host: string): UtpNativeConnection;
  address(): { port: number };
  on(event: "connection", fn: (conn: UtpNativeConnection) => void): this;
  close(): void;
}

const ROOT = new URL("..", import.meta.url).pathname;
const WRITE_CHUNK = 64 * 1024;
/** How long a side waits for its FIN to be acknowledged (the connection to close) before exiting. */
const LINGER_MS = 2000;

const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    port: { type: "string", default: "0" },
    bytes: { type: "string", default: "0" },
    flows: { type: "string", default: "1" },
    count: { type: "string", default: "1000" },
    warmup: { type: "string", default: "0" },
    timeout: { type: "string", default: "120" },
  },
});

const role = positionals[0] ?? "";
const port = Number(values.port);
const totalBytes = Number(values.bytes);
const flows = Math.max(1, Number(values.flows));
const count = Number(values.count);
/** Untimed round trips before the timed ones. */
const warmup = Number(values.warmup);

const watchdog = setTimeout(() => {
  console.error(`utp-native ${role}: timeout after ${values.timeout} s`);
  process.exit(3);
}, Number(values.timeout) * 1000);

function fail(message: string): never {
  console.error(`utp-native ${role}: ${message}`);
  process.exit(2);
}

function loadUtpNative(): () => UtpNativeSocket {
  const require = createRequire(import.meta.url);
  const where = process.env.UTP_NATIVE ?? `${ROOT}.tools/node_modules/utp-native`;
  try {
    return require(where) as () => UtpNativeSocket;
  } catch (error) {
    fail(`cannot load utp-native from ${where}: ${(error as Error).message}`);
  }
}

const utp = loadUtpNative();

function peakRssKiB(): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

type Cpu = { user: number; system: number };

function cpuSince(start: Cpu): { cpuUser: number; cpuSys: number } {
  const now = process.cpuUsage();
  return { cpuUser: (now.user - start.user) / 1e6, cpuSys: (now.system - start.system) / 1e6 };
}

function finish(result: Record<string, unknown>): never {
  clearTimeout(watchdog);
  console.log(JSON.stringify({ impl: "utp-native", ...result, peakRssKiB: peakRssKiB() }));
  process.exit(0);
}

/** Resolves when `conn` has closed, or after LINGER_MS (so the FIN just sent gets out). */
function closed(conn: UtpNativeConnection): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, LINGER_MS);
    conn.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function listen(socket: UtpNativeSocket): Promise<number> {
  return new Promise((resolve) => socket.listen(0, "127.0.0.1", () => resolve(socket.address().port)));
}

function connected(conn: UtpNativeConnection): Promise<UtpNativeConnection> {
  return new Promise((resolve, reject) => {
    conn.once("connect", () => resolve(conn));
    conn.on("error", reject);
  });
}

/** Writes `target` pattern bytes in 64 KiB chunks, respecting backpressure, then ends. */
function send(conn: UtpNativeConnection, target: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    conn.on("error", reject);
    const more = () => {
      while (sent < target) {
        const n = Math.min(WRITE_CHUNK, target - sent);
        const ok = conn.write(patternSlice(sent, n));
        sent += n;
        if (!ok) return conn.once("drain", more);
      }
      conn.end();
      resolve();
    };
    more();
  });
}

/** Receives `target` pattern bytes; resolves with the time of the last byte. */
function receive(conn: UtpNativeConnection, target: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const verifier = new Verifier();
    let tEnd = 0;
    conn.on("data", (chunk) => {
      if (verifier.offset + chunk.byteLength > target) fail("more bytes than expected");
      if (!verifier.check(chunk)) fail(`data mismatch near offset ${verifier.offset}`);
      if (verifier.offset === target) tEnd = performance.now();
    });
    conn.on("end", () => {
      if (verifier.offset !== target) fail(`stream ended after ${verifier.offset} of ${target} bytes`);
      resolve(tEnd);
    });
    conn.on("error", reject);
  });
}

async function recvRole(): Promise<never> {
  const socket = utp();
  const perFlow = Math.floor(totalBytes / flows);
  const tasks: Promise<{ tStart: number; tEnd: number }>[] = [];
  const conns: UtpNativeConnection[] = [];
  let allAccepted: () => void = () => {};
  const accepted = new Promise<void>((resolve) => allAccepted = resolve);
  socket.on("connection", (conn) => {
    const tStart = performance.now();
    conns.push(conn);
    tasks.push(receive(conn, perFlow).then((tEnd) => ({ tStart, tEnd })));
    if (conns.length === flows) allAccepted();
  });
  const cpuStart = process.cpuUsage();
  console.log(`READY ${await listen(socket)}`);
  await accepted;
  const results = await Promise.all(tasks);
  const usage = cpuSince(cpuStart);
  for (const conn of conns) conn.end();
  await Promise.all(conns.map(closed));
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

async function sendRole(): Promise<never> {
  const socket = utp();
  await listen(socket);
  const cpuStart = process.cpuUsage();
  const perFlow = Math.floor(totalBytes / flows);
  const conns = await Promise.all(
    Array.from({ length: flows }, () => connected(socket.connect(port, "127.0.0.1"))),
  );
  // Done once the receiver ended every flow (it does so after the last byte).
  await Promise.all(conns.map((conn) =>
    Promise.all([
      send(conn, perFlow),
      new Promise<void>((resolve) => {
        conn.on("data", () => {});
        conn.once("end", resolve);
      }),
    ])
  ));
  const usage = cpuSince(cpuStart);
  await Promise.all(conns.map(closed));
  finish({ role: "send", bytes: perFlow * flows, flows, ...usage });
}

async function pongRole(): Promise<never> {
  const socket = utp();
  const cpuStart = process.cpuUsage();
  const done = new Promise<UtpNativeConnection>((resolve) => {
    socket.on("connection", (conn) => {
      conn.on("data", (data) => conn.write(data));
      conn.on("end", () => {
        conn.end();
        resolve(conn);
      });
    });
  });
  console.log(`READY ${await listen(socket)}`);
  const conn = await done;
  const usage = cpuSince(cpuStart);
  await closed(conn);
  finish({ role: "pong", ...usage });
}

async function pingRole(): Promise<never> {
  const socket = utp();
  await listen(socket);
  const cpuStart = process.cpuUsage();
  const conn = await connected(socket.connect(port, "127.0.0.1"));
  const rtts: number[] = [];
  let echoed: () => void = () => {};
  conn.on("data", () => echoed());
  const one = new Uint8Array([1]);
  for (let i = 0; i < warmup + count; i++) {
    const t0 = performance.now();
    const back = new Promise<void>((resolve) => echoed = resolve);
    conn.write(one);
    await back;
    rtts.push((performance.now() - t0) * 1000);
  }
  const usage = cpuSince(cpuStart);
  conn.end();
  await closed(conn);
  const warm = rtts.splice(0, warmup).sort((a, b) => a - b);
  rtts.sort((a, b) => a - b);
  finish({
    role: "ping",
    warmup: warm.length,
    warmupMedianUs: warm.length ? warm[warm.length >> 1] : undefined,
    warmupP99Us: warm.length ? warm[Math.min(warm.length - 1, Math.floor(warm.length * 0.99))] : undefined,
    count: rtts.length,
    medianUs: rtts[rtts.length >> 1],
    p99Us: rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * 0.99))],
    meanUs: rtts.reduce((a, b) => a + b, 0) / rtts.length,
    minUs: rtts[0],
    ...usage,
  });
}

async function probeRole(): Promise<never> {
  const socket = utp();
  await listen(socket);
  socket.close();
  finish({ role: "probe" });
}

const roles: Record<string, () => Promise<never>> = {
  recv: recvRole,
  send: sendRole,
  pong: pongRole,
  ping: pingRole,
  probe: probeRole,
};

const run = roles[role];
if (!run) fail(`unknown role "${role}"; one of ${Object.keys(roles).join(", ")}`);
run().catch((error) => fail(error instanceof Error ? error.stack ?? error.message : String(error)));
