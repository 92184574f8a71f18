// Copyright 2026 the utpstream authors. MIT license.
/**
 * The benchmark suite: throughput, latency and many flows over loopback,
 * sender and receiver as separate processes, rows interleaved within each
 * run (C→C, Deno→Deno, Bun→Bun, Deno→Bun, Bun→Deno, Deno with the runtime's
 * UDP, and Deno's own TCP). Prints markdown tables and, for a full run,
 * rewrites the generated part of bench/RESULTS.md.
 *
 *   deno task bench [--quick] [--sizes 100,500] [--runs 5] [--latency-count 10000]
 *                   [--flows 64] [--flows-size MiB] [--rows c,deno,...] [--only throughput,latency,flows,lab]
 *                   [--cpu-prof DIR] [--no-write] [--write]
 *
 * Needs build/utp_ref (bench/CMakeLists.txt; scripts/build.sh builds it).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { isOtherLibrary, NODE_ROWS, nodeCommand, type NodeImpl, nodeVersionLine } from "./node_rows.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const UTP_REF = `${ROOT}/build/utp_ref`;
const PEER = `${ROOT}/bench/peer.ts`;
const RESULTS = `${ROOT}/bench/RESULTS.md`;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------- options

const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    sizes: { type: "string" },
    runs: { type: "string" },
    "latency-count": { type: "string" },
    "latency-warmup": { type: "string" },
    flows: { type: "string", default: "64" },
    "flows-size": { type: "string" },
    rows: { type: "string" },
    only: { type: "string" },
    reader: { type: "string", default: "default" },
    "udp-offload": { type: "string", default: "default" },
    "cpu-prof": { type: "string" },
    "no-write": { type: "boolean", default: false },
    write: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

const quick = opts.quick;
const sizesMiB = (opts.sizes ?? (quick ? "20" : "100,500")).split(",").map(Number).filter((n) => n > 0);
const runs = Number(opts.runs ?? (quick ? 2 : 5));
const latencyCount = Number(opts["latency-count"] ?? (quick ? 1000 : 10000));
/**
 * Round trips before the timed ones, in every row alike (C included), and
 * reported apart: a runtime compiles the path on helper threads during its
 * first second or so, which on 2 CPUs takes turns with the two peers
 * (bench/RESULTS.md, round 10).
 */
const latencyWarmup = Number(opts["latency-warmup"] ?? (quick ? 1000 : 30000));
const flowCount = Number(opts.flows);
const flowsMiB = Number(opts["flows-size"] ?? sizesMiB[0]);
const only = new Set((opts.only ?? "throughput,latency,flows,lab").split(","));
const writeResults = opts.write || (!quick && !opts["no-write"] && !opts.rows && !opts.only);

// ---------------------------------------------------------------- implementations and rows

type Impl =
  | "c"
  | "c-ack64"
  | "c-mmsg"
  | "deno"
  | "deno-rt"
  | "deno-bulk"
  | "deno-poll"
  | "bun"
  | "bun-bulk"
  | "bun-poll"
  | "deno-tcp"
  | NodeImpl;

/**
 * The busy-poll rows' `busyPoll`, µs. Longer than the peer's answer plus its
 * stalls (a helper thread's time slice): with 100 the spin ran out often
 * enough on 2 vCPUs to double Deno's p99 (bench/RESULTS.md, round 11).
 */
const BUSY_POLL_US = 1000;

interface Row {
  id: string;
  label: string;
  sender: Impl;
  receiver: Impl;
  /** Only with --rows. */
  optIn?: boolean;
}

const ROWS: Row[] = [
  { id: "c", label: "C→C (libutp, utp_ref)", sender: "c", receiver: "c" },
  // utp_ref with sendmmsg/recvmmsg batching, like the library's native path: the ceiling of that design.
  { id: "c-mmsg", label: "C→C batched (utp_ref --mmsg 1)", sender: "c-mmsg", receiver: "c-mmsg" },
  { id: "deno", label: "Deno→Deno", sender: "deno", receiver: "deno" },
  { id: "bun", label: "Bun→Bun", sender: "bun", receiver: "bun" },
  { id: "deno-bun", label: "Deno→Bun", sender: "deno", receiver: "bun" },
  { id: "bun-deno", label: "Bun→Deno", sender: "bun", receiver: "deno" },
  { id: "deno-rt", label: "Deno→Deno (runtime UDP)", sender: "deno-rt", receiver: "deno-rt" },
  // udpIo "bulk": the native receive thread with UDP GRO (segmented sends are on in every row).
  { id: "deno-bulk", label: 'Deno→Deno (udpIo "bulk")', sender: "deno-bulk", receiver: "deno-bulk" },
  { id: "bun-bulk", label: 'Bun→Bun (udpIo "bulk")', sender: "bun-bulk", receiver: "bun-bulk" },
  // busyPoll: spin up to BUSY_POLL_US for the next datagram after traffic, on both sides.
  {
    id: "deno-poll",
    label: `Deno→Deno (busyPoll ${BUSY_POLL_US})`,
    sender: "deno-poll",
    receiver: "deno-poll",
  },
  { id: "bun-poll", label: `Bun→Bun (busyPoll ${BUSY_POLL_US})`, sender: "bun-poll", receiver: "bun-poll" },
  { id: "tcp", label: "TCP (Deno.connect/Deno.listen)", sender: "deno-tcp", receiver: "deno-tcp" },
  // utp_ref acking every 64 datagrams of a drain, like the library's batches (an experiment, not the reference).
  ...NODE_ROWS,
  { id: "c-ack64", label: "C→C (--ack-every 64)", sender: "c-ack64", receiver: "c-ack64", optIn: true },
];

if (opts.help) {
  console.log(`usage: deno task bench [options]
  --quick               20 MiB, 2 runs, 1000 round trips (does not rewrite RESULTS.md)
  --sizes 100,500       payload sizes in MiB (throughput)
  --runs 5              runs; rows are interleaved within each run
  --latency-count N     ping-pong round trips per latency sample (default 10000)
  --latency-warmup N    round trips before them, every row alike, reported apart (default 30000)
  --flows 64            concurrent connections in the many-flows test
  --flows-size MiB      total bytes of the many-flows test (default: the first size)
  --rows LIST           row ids: ${ROW_IDS_HELP()}
  --only LIST           throughput,latency,flows,lab (lab: the network lab, root only; bench/lab.ts)
  --reader default|byob how the library's receivers read (default: a default reader, a fresh chunk per read)
  --udp-offload on|off  force offloads on or off in the library's peers (default: the library's, on for bulk)
  --cpu-prof DIR        run the Deno peers with --cpu-prof into DIR
  --write / --no-write  force / skip rewriting bench/RESULTS.md`);
  Deno.exit(0);
}

function ROW_IDS_HELP(): string {
  return ROWS.map((r) => r.id).join(",");
}

const selected = opts.rows ? new Set(opts.rows.split(",")) : undefined;
if (selected && !selected.has("c")) selected.add("c"); // ratios need the C row
const rows = ROWS.filter((r) => selected ? selected.has(r.id) : !r.optIn);

function bunPath(): string {
  const env = Deno.env.get("BUN");
  if (env) return env;
  const local = `${ROOT}/.tools/node_modules/.bin/bun`;
  try {
    Deno.statSync(local);
    return local;
  } catch {
    return "bun";
  }
}
const BUN = bunPath();

/** Flags of the library's peers (bench/peer.ts) that apply to every row. */
const PEER_FLAGS = [
  "--reader",
  opts.reader,
  "--udp-offload",
  opts["udp-offload"] === "off" ? "false" : opts["udp-offload"] === "on" ? "true" : "default",
];

/** Peer flags of the library's variant rows. */
const ROW_FLAGS: Partial<Record<Impl, string[]>> = {
  "deno-rt": ["--udp-io", "runtime"],
  "deno-bulk": ["--udp-io", "bulk"],
  "bun-bulk": ["--udp-io", "bulk"],
  "deno-poll": ["--busy-poll", String(BUSY_POLL_US)],
  "bun-poll": ["--busy-poll", String(BUSY_POLL_US)],
};

function command(impl: Impl, role: string, args: string[]): string[] {
  switch (impl) {
    case "c":
      return [UTP_REF, role, ...args];
    case "c-ack64":
      return [UTP_REF, role, ...args, "--ack-every", "64"];
    case "c-mmsg":
      return [UTP_REF, role, ...args, "--mmsg", "1"];
    case "node":
    case "utp-native":
      return nodeCommand(impl, role, args, opts["cpu-prof"]);
    case "bun":
    case "bun-bulk":
    case "bun-poll":
      return [BUN, PEER, role, ...args, ...PEER_FLAGS, ...(ROW_FLAGS[impl] ?? [])];
    case "deno":
    case "deno-rt":
    case "deno-bulk":
    case "deno-poll":
    case "deno-tcp": {
      const prof = opts["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${opts["cpu-prof"]}`] : [];
      const r = impl === "deno-tcp" ? `tcp-${role}` : role;
      const extra = ROW_FLAGS[impl] ?? [];
      return [
        Deno.execPath(),
        "run",
        "-A",
        "--unstable-net",
        ...prof,
        PEER,
        r,
        ...args,
        ...PEER_FLAGS,
        ...extra,
      ];
    }
  }
}

// ---------------------------------------------------------------- processes

interface Result {
  [key: string]: number | string;
}

/** A child process whose stdout lines and stderr are collected. */
class Child {
  readonly process: Deno.ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;
  #waiters: (() => void)[] = [];

  constructor(argv: string[]) {
    this.process = new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = this.#collect(this.process.stdout, (text) => {
      const parts = text.split("\n");
      this.lines.push(...parts.filter((l) => l.length > 0));
      for (const w of this.#waiters.splice(0)) w();
    });
    const err = this.#collect(this.process.stderr, (text) => {
      this.stderr += text;
    });
    this.done = Promise.all([out, err]).then(() => this.process.status);
  }

  async #collect(stream: ReadableStream<Uint8Array>, sink: (text: string) => void): Promise<void> {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      const cut = pending.lastIndexOf("\n");
      if (cut >= 0) {
        sink(pending.slice(0, cut + 1));
        pending = pending.slice(cut + 1);
      }
    }
    if (pending) sink(pending);
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits for a line starting with `prefix` (or the end of output). */
  async line(prefix: string): Promise<string | undefined> {
    for (;;) {
      const found = this.lines.find((l) => l.startsWith(prefix));
      if (found !== undefined) return found;
      const exited = await Promise.race([
        new Promise<boolean>((resolve) => this.#waiters.push(() => resolve(false))),
        this.done.then(() => true),
      ]);
      if (exited) return this.lines.find((l) => l.startsWith(prefix));
    }
  }

  result(): Result | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      if (this.lines[i].startsWith("{")) {
        try {
          return JSON.parse(this.lines[i]);
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }

  kill(): void {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function tail(text: string): string {
  const lines = text.trim().split("\n").filter((l) => l.trim());
  return lines.slice(-3).join(" | ").slice(0, 300);
}

/**
 * Runs a listening child and a dialing child; returns both results. Both
 * children get their own --timeout and are killed if the pair overruns.
 */
async function runPair(
  receiver: [Impl, string, string[]],
  sender: [Impl, string, string[]],
  timeoutS: number,
): Promise<{ recv: Result; send: Result }> {
  const self = ["--timeout", String(timeoutS)];
  const server = new Child(command(receiver[0], receiver[1], [...receiver[2], ...self]));
  let client: Child | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutS + 5} s`)), (timeoutS + 5) * 1000);
  });
  try {
    const work = (async () => {
      const ready = await server.line("READY ");
      if (!ready) throw new Error(`receiver did not start: ${tail(server.stderr) || "no output"}`);
      const port = ready.split(" ")[1];
      client = new Child(command(sender[0], sender[1], ["--port", port, ...sender[2], ...self]));
      const [cs, ss] = await Promise.all([client.done, server.done]);
      const send = client.result();
      const recv = server.result();
      if (!cs.success || !send) throw new Error(`sender failed (${cs.code}): ${tail(client.stderr)}`);
      if (!ss.success || !recv) throw new Error(`receiver failed (${ss.code}): ${tail(server.stderr)}`);
      return { recv, send };
    })();
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    server.kill();
    client?.kill();
    await Promise.allSettled([server.done, client?.done]);
  }
}

// ---------------------------------------------------------------- probing

const skipped = new Map<Impl, string>();

async function probe(impl: Impl): Promise<void> {
  try {
    const child = new Child(command(impl, "probe", ["--timeout", "20"]));
    const timer = setTimeout(() => child.kill(), 25_000);
    const status = await child.done;
    clearTimeout(timer);
    if (!status.success || !child.result()) {
      skipped.set(impl, tail(child.stderr) || `exit code ${status.code}`);
    }
  } catch (error) {
    skipped.set(impl, error instanceof Error ? error.message : String(error));
  }
}

try {
  Deno.statSync(UTP_REF);
} catch {
  console.error(`bench: ${UTP_REF} is missing; run bash scripts/build.sh first`);
  Deno.exit(1);
}

const impls = [...new Set(rows.flatMap((r) => [r.sender, r.receiver]))].filter((i) =>
  !i.startsWith("c") && i !== "deno-tcp"
);
await Promise.all(impls.map(probe));
for (const [impl, why] of skipped) console.error(`bench: skipping rows with ${impl}: ${why}`);

function rowSkip(row: Row): string | undefined {
  const why = skipped.get(row.sender) ?? skipped.get(row.receiver);
  if (why === undefined) return undefined;
  const impl = skipped.has(row.sender) ? row.sender : row.receiver;
  return `${impl} unavailable: ${why}`;
}

// ---------------------------------------------------------------- measuring

interface Sample {
  run: number;
  recv?: Result;
  send?: Result;
  error?: string;
}

/** samples[test][rowId] */
const samples = new Map<string, Map<string, Sample[]>>();

function record(test: string, row: Row, sample: Sample): void {
  let byRow = samples.get(test);
  if (!byRow) samples.set(test, byRow = new Map());
  let list = byRow.get(row.id);
  if (!list) byRow.set(row.id, list = []);
  list.push(sample);
}

function throughputTimeout(bytes: number): number {
  return Math.ceil(30 + bytes / (4 * MiB)); // generous: 4 MiB/s worst case plus start-up
}

async function measure(
  test: string,
  row: Row,
  run: number,
  fn: () => Promise<{ recv: Result; send: Result }>,
) {
  if (rowSkip(row)) return;
  const started = performance.now();
  try {
    const { recv, send } = await fn();
    record(test, row, { run, recv, send });
    const summary = recv.mibps !== undefined
      ? `${Number(recv.mibps).toFixed(1)} MiB/s`
      : `${Number(send.medianUs).toFixed(1)} µs median`;
    console.error(
      `  run ${run} ${test.padEnd(16)} ${row.label.padEnd(32)} ${summary} (${
        ((performance.now() - started) / 1000).toFixed(1)
      } s)`,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    record(test, row, { run, error: message });
    console.error(`  run ${run} ${test.padEnd(16)} ${row.label.padEnd(32)} FAILED: ${message}`);
  }
}

const benchStart = performance.now();
const startedAt = new Date();
for (let run = 1; run <= runs; run++) {
  console.error(`bench: run ${run}/${runs}`);
  if (only.has("throughput")) {
    for (const size of sizesMiB) {
      const bytes = size * MiB;
      const args = ["--bytes", String(bytes)];
      for (const row of rows) {
        await measure(
          `throughput:${size}`,
          row,
          run,
          () => runPair([row.receiver, "recv", args], [row.sender, "send", args], throughputTimeout(bytes)),
        );
      }
    }
  }
  if (only.has("latency")) {
    for (const row of rows) {
      await measure("latency", row, run, async () => {
        // The sender row side pings, the receiver side echoes.
        const { recv, send } = await runPair(
          [row.receiver, "pong", []],
          [row.sender, "ping", ["--count", String(latencyCount), "--warmup", String(latencyWarmup)]],
          Math.ceil(30 + (latencyWarmup + latencyCount) / 200),
        );
        return { recv, send };
      });
    }
  }
  if (only.has("flows")) {
    const bytes = flowsMiB * MiB;
    const args = ["--bytes", String(bytes), "--flows", String(flowCount)];
    for (const row of rows) {
      await measure(
        "flows",
        row,
        run,
        () =>
          runPair([row.receiver, "recv", args], [row.sender, "send", args], throughputTimeout(bytes) + 30),
      );
    }
  }
}
const elapsed = (performance.now() - benchStart) / 1000;

// ---------------------------------------------------------------- reporting

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

function num(r: Result | undefined, key: string): number {
  const v = r?.[key];
  return typeof v === "number" ? v : NaN;
}

function cpuOf(r: Result | undefined): number {
  return num(r, "cpuUser") + num(r, "cpuSys");
}

function ok(samplesOf: Sample[] | undefined): Sample[] {
  return (samplesOf ?? []).filter((s) => !s.error);
}

/** Per-run ratio of `value(row)` to `value(C row)`, median over runs. */
function ratioToC(test: string, row: Row, value: (s: Sample) => number): number {
  const cs = ok(samples.get(test)?.get("c"));
  const ratios: number[] = [];
  for (const s of ok(samples.get(test)?.get(row.id))) {
    const c = cs.find((x) => x.run === s.run);
    if (c) ratios.push(value(s) / value(c));
  }
  return median(ratios);
}

function failures(test: string, row: Row): string {
  const all = samples.get(test)?.get(row.id) ?? [];
  const bad = all.filter((s) => s.error);
  if (bad.length === 0) return "";
  return `${bad.length}/${all.length} failed: ${bad[0].error}`;
}

const notes: string[] = [];
function note(text: string): string {
  let i = notes.indexOf(text);
  if (i < 0) i = notes.push(text) - 1;
  return `[^${i + 1}]`;
}

/** Rows the targets apply to: the library's, not the references. */
function isLibraryRow(row: Row): boolean {
  return row.sender !== "deno-tcp" && !row.sender.startsWith("c") && !isOtherLibrary(row.sender);
}

function mark(pass: boolean | undefined): string {
  return pass === undefined ? "" : pass ? " ✅" : " ❌";
}

function throughputTable(test: string, sizeMiB: number): string {
  const out = [
    `### Throughput, ${sizeMiB} MiB, one connection`,
    "",
    "| Row | median MiB/s | min | max | × C | CPU s send | CPU s recv | peak RSS MiB send | peak RSS MiB recv |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const skip = rowSkip(row);
    if (skip) {
      out.push(`| ${row.label} | skipped${note(skip)} | | | | | | | |`);
      continue;
    }
    const ss = ok(samples.get(test)?.get(row.id));
    const fail = failures(test, row);
    if (ss.length === 0) {
      out.push(`| ${row.label} | failed${note(fail)} | | | | | | | |`);
      continue;
    }
    const rates = ss.map((s) => num(s.recv, "mibps"));
    const ratio = row.id === "c" ? 1 : ratioToC(test, row, (s) => num(s.recv, "mibps"));
    const rssS = Math.max(...ss.map((s) => num(s.send, "peakRssKiB"))) / 1024;
    const rssR = Math.max(...ss.map((s) => num(s.recv, "peakRssKiB"))) / 1024;
    const isUtp = isLibraryRow(row);
    const rssOk = isUtp && sizeMiB >= 500 ? rssS < 200 && rssR < 200 : undefined;
    out.push(
      `| ${row.label}${fail ? note(fail) : ""} | ${fmt(median(rates))} | ${fmt(Math.min(...rates))} | ${
        fmt(Math.max(...rates))
      } | ${fmt(ratio, 2)}${mark(isUtp ? ratio >= 0.9 : undefined)} | ${
        fmt(median(ss.map((s) => cpuOf(s.send))), 2)
      } | ${fmt(median(ss.map((s) => cpuOf(s.recv))), 2)} | ${fmt(rssS)}${mark(rssOk)} | ${fmt(rssR)}${
        mark(rssOk)
      } |`,
    );
  }
  return out.join("\n");
}

function latencyTable(): string {
  const out = [
    `### Latency, 1-byte ping-pong, ${latencyCount} round trips after ${latencyWarmup} of warm-up`,
    "",
    "| Row (pinger→echoer) | median µs | p99 µs | × C (median) | × C (p99) | warm-up median µs | warm-up p99 µs | CPU s ping | CPU s echo | peak RSS MiB ping | peak RSS MiB echo |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const skip = rowSkip(row);
    if (skip) {
      out.push(`| ${row.label} | skipped${note(skip)} | | | | | | | | | |`);
      continue;
    }
    const ss = ok(samples.get("latency")?.get(row.id));
    const fail = failures("latency", row);
    if (ss.length === 0) {
      out.push(`| ${row.label} | failed${note(fail)} | | | | | | | | | |`);
      continue;
    }
    const isUtp = isLibraryRow(row);
    const rMed = row.id === "c" ? 1 : ratioToC("latency", row, (s) => num(s.send, "medianUs"));
    const rP99 = row.id === "c" ? 1 : ratioToC("latency", row, (s) => num(s.send, "p99Us"));
    out.push(
      `| ${row.label}${fail ? note(fail) : ""} | ${fmt(median(ss.map((s) => num(s.send, "medianUs"))))} | ${
        fmt(median(ss.map((s) => num(s.send, "p99Us"))))
      } | ${fmt(rMed, 2)}${mark(isUtp ? rMed <= 1.5 : undefined)} | ${fmt(rP99, 2)}${
        mark(isUtp ? rP99 <= 3 : undefined)
      } | ${fmt(median(ss.map((s) => num(s.send, "warmupMedianUs"))))} | ${
        fmt(median(ss.map((s) => num(s.send, "warmupP99Us"))))
      } | ${fmt(median(ss.map((s) => cpuOf(s.send))), 2)} | ${
        fmt(median(ss.map((s) => cpuOf(s.recv))), 2)
      } | ${fmt(Math.max(...ss.map((s) => num(s.send, "peakRssKiB"))) / 1024)} | ${
        fmt(Math.max(...ss.map((s) => num(s.recv, "peakRssKiB"))) / 1024)
      } |`,
    );
  }
  return out.join("\n");
}

function flowsTable(): string {
  const out = [
    `### Many flows: ${flowCount} concurrent connections through one listener, ${flowsMiB} MiB in total`,
    "",
    "| Row | aggregate MiB/s (median) | min | max | × C | slowest flow MiB/s | fastest flow MiB/s | CPU s send | CPU s recv | peak RSS MiB send | peak RSS MiB recv |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const skip = rowSkip(row);
    if (skip) {
      out.push(`| ${row.label} | skipped${note(skip)} | | | | | | | | | |`);
      continue;
    }
    const ss = ok(samples.get("flows")?.get(row.id));
    const fail = failures("flows", row);
    if (ss.length === 0) {
      out.push(`| ${row.label} | failed${note(fail)} | | | | | | | | | |`);
      continue;
    }
    const isUtp = isLibraryRow(row);
    const rates = ss.map((s) => num(s.recv, "mibps"));
    const ratio = row.id === "c" ? 1 : ratioToC("flows", row, (s) => num(s.recv, "mibps"));
    out.push(
      `| ${row.label}${fail ? note(fail) : ""} | ${fmt(median(rates))} | ${fmt(Math.min(...rates))} | ${
        fmt(Math.max(...rates))
      } | ${fmt(ratio, 2)}${mark(isUtp ? ratio >= 0.9 : undefined)} | ${
        fmt(median(ss.map((s) => num(s.recv, "flowMinMibps"))), 2)
      } | ${fmt(median(ss.map((s) => num(s.recv, "flowMaxMibps"))), 2)} | ${
        fmt(median(ss.map((s) => cpuOf(s.send))), 2)
      } | ${fmt(median(ss.map((s) => cpuOf(s.recv))), 2)} | ${
        fmt(Math.max(...ss.map((s) => num(s.send, "peakRssKiB"))) / 1024)
      } | ${fmt(Math.max(...ss.map((s) => num(s.recv, "peakRssKiB"))) / 1024)} |`,
    );
  }
  return out.join("\n");
}

async function text(argv: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "null" })
      .output();
    return new TextDecoder().decode(out.stdout).trim().split("\n")[0];
  } catch {
    return "unavailable";
  }
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

async function machine(): Promise<string> {
  const cpuModel = /model name\s*:\s*(.*)/.exec(readText("/proc/cpuinfo"))?.[1] ?? "unknown";
  const memGiB = Deno.systemMemoryInfo().total / 1024 ** 3;
  const bunVersion = skipped.has("bun") ? "unavailable" : await text([BUN, "--version"]);
  const cc = await text(["cc", "--version"]);
  return [
    `- CPU: ${cpuModel}, ${navigator.hardwareConcurrency} logical cores; ${fmt(memGiB)} GiB RAM`,
    `- Kernel: ${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch}); net.core.rmem_max ${
      readText("/proc/sys/net/core/rmem_max").trim()
    }, wmem_max ${readText("/proc/sys/net/core/wmem_max").trim()}`,
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); Bun ${bunVersion}; C compiler: ${cc}`,
    nodeVersionLine(),
  ].join("\n");
}

const commandLine = `deno task bench${Deno.args.length ? " " + Deno.args.join(" ") : ""}`;
const sections: string[] = [];
sections.push(
  `Run ${startedAt.toISOString()} — \`${commandLine}\` — ${runs} run(s), rows interleaved, ${
    fmt(elapsed, 0)
  } s in total.`,
);
sections.push(await machine());
if (only.has("throughput")) {
  for (const size of sizesMiB) sections.push(throughputTable(`throughput:${size}`, size));
}
if (only.has("latency")) sections.push(latencyTable());
if (only.has("flows")) sections.push(flowsTable());
sections.push(
  "MiB/s is measured at the receiver, from accept to the last byte. × C is the median over runs of the ratio to " +
    "the C row of the same run. CPU is user+system seconds of each process from just before connecting/listening " +
    "to the end of the transfer (latency: the warm-up included); peak RSS is VmHWM at exit. Latency is timed " +
    "after the warm-up, whose own median and p99 are beside it. ✅/❌: throughput ≥ 0.9× C, latency ≤ 1.5× C " +
    "(median) and ≤ 3× C (p99), peak RSS < 200 MiB per side at 500 MiB.",
);
if (notes.length) sections.push(notes.map((n, i) => `[^${i + 1}]: ${n.replaceAll("\n", " ")}`).join("\n"));
const report = sections.join("\n\n");
console.log(report);

const BEGIN = "<!-- BEGIN GENERATED by bench/main.ts: do not edit by hand -->";
const END = "<!-- END GENERATED -->";
if (writeResults) {
  const existing = readText(RESULTS);
  const block = `${BEGIN}\n\n${report}\n\n${END}`;
  let next: string;
  const a = existing.indexOf(BEGIN);
  const b = existing.indexOf(END);
  if (a >= 0 && b > a) next = existing.slice(0, a) + block + existing.slice(b + END.length);
  else next = `# Benchmark results\n\n${block}\n`;
  Deno.writeTextFileSync(RESULTS, next);
  // Keep the file as `deno fmt` wants it (deno task check).
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", RESULTS], stdout: "null", stderr: "null" })
    .output()
    .catch(() => {});
  console.error(`bench: wrote ${RESULTS}`);
}

// The network lab (bench/lab.ts): root only, otherwise it prints why it skips.
// Its "Lab" section of RESULTS.md has its own markers.
if (only.has("lab")) {
  const { runLabBench } = await import("./lab.ts");
  await runLabBench({ write: writeResults || (opts.only === "lab" && !opts["no-write"]) });
}
