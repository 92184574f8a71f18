// Copyright 2026 the utpstream authors. MIT license.
/**
 * The network-lab benchmark (root only; see docs/lab.md): LEDBAT against TCP
 * on a 20 Mbit/s bottleneck, and short exchanges through 3 % random loss each
 * way against Deno's TCP, each with Deno and with Bun. `bench/main.ts` runs it
 * at the end (`--only lab` for this alone); it writes the "Lab" section at the
 * end of bench/RESULTS.md between its own markers.
 *
 *   deno run -A --unstable-net bench/lab.ts [--write] [--exchanges 100]
 *
 * @module
 */
import { Lab, labUnavailable } from "../tests/_lab.ts";
import { LedbatRun } from "../tests/_lab_ledbat.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const RESULTS = `${ROOT}/bench/RESULTS.md`;
const BEGIN = "<!-- BEGIN LAB by bench/lab.ts: do not edit by hand -->";
const END = "<!-- END LAB -->";
const RATE = 20;
const ALONE_S = 15;
const SHARED_S = 25;

type Runtime = "deno" | "bun";

/** LEDBAT figures of one runtime. */
interface LedbatFigures {
  aloneMbit: number;
  aloneQueueMs: number;
  takeoverS: number | undefined;
  sharedTcpMbit: number;
  sharedUtpMbit: number;
  sharedQueueMs: number;
}

async function ledbat(runtime: Runtime): Promise<LedbatFigures> {
  await using lab = Lab.up("path", ["--rate", String(RATE), "--queue-ms", "600"]);
  const run = await LedbatRun.start(lab, RATE, runtime);
  run.source("utp", ALONE_S + SHARED_S + 10);
  await run.until(1000, ALONE_S * 1000, () => false);
  const alone = run.window((ALONE_S - 5) * 1000)!;
  const joined = run.samples.at(-1)!.t;
  run.source("tcp", SHARED_S + 10);
  let takeover: number | undefined;
  await run.until(1000, SHARED_S * 1000, (w) => {
    if (takeover === undefined && w.tcpMbit >= 0.8 * RATE) takeover = run.samples.at(-1)!.t - joined;
    return false;
  });
  const shared = run.window(5000)!;
  return {
    aloneMbit: alone.utpMbit,
    aloneQueueMs: alone.queueMs,
    takeoverS: takeover === undefined ? undefined : takeover / 1000,
    sharedTcpMbit: shared.tcpMbit,
    sharedUtpMbit: shared.utpMbit,
    sharedQueueMs: shared.queueMs,
  };
}

/** Exchange times of one implementation. */
interface ExchangeFigures {
  intact: number;
  done: number;
  p50: number;
  p90: number;
  max: number;
  failures: string[];
}

async function exchanges(
  transport: "utp" | "tcp",
  runtime: Runtime,
  count: number,
): Promise<ExchangeFigures> {
  await using lab = Lab.up("path", ["--loss", "30"]);
  const server = lab.run("rcv", "exchange.ts", ["server", transport, "10.202.2.2", "7001"], runtime);
  await server.next(20_000, "exchange server start");
  const client = lab.run(
    "snd",
    "exchange.ts",
    ["client", transport, "10.202.2.2", "7001", String(count), "1", "65536"],
    runtime,
  );
  const r = await client.next<{ done: number; intact: number; failures: string[]; ms: number[] }>(
    count * 30_000,
    "exchanges",
  );
  const ms = [...r.ms].sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? NaN;
  return {
    intact: r.intact,
    done: r.done,
    p50: at(0.5),
    p90: at(0.9),
    max: ms.at(-1) ?? NaN,
    failures: r.failures,
  };
}

async function congestionControl(): Promise<string> {
  await using lab = Lab.up("path");
  return lab.exec("snd", ["sysctl", "-n", "net.ipv4.tcp_congestion_control"]).trim();
}

const f1 = (x: number) => Number.isFinite(x) ? x.toFixed(1) : "–";
const ms0 = (x: number) => Number.isFinite(x) ? `${x.toFixed(0)} ms` : "–";

/**
 * Runs the lab benchmark and returns its markdown section (or the reason it
 * was skipped, as a one-line section).
 *
 * @param options `write`: put the section into bench/RESULTS.md; `exchanges`: how many per row.
 * @returns The section's markdown.
 *
 * @example From bench/main.ts
 * ```ts ignore
 * console.log(await runLabBench({ write: false }));
 * ```
 */
export async function runLabBench(options: { write: boolean; exchanges?: number }): Promise<string> {
  const reason = labUnavailable();
  if (reason) {
    const text = `## Lab\n\nSkipped: network lab unavailable (${reason}).`;
    console.error(`bench: lab skipped: ${reason}`);
    return text;
  }
  const count = options.exchanges ?? 100;
  const started = new Date();
  const cc = await congestionControl();
  const rows: string[] = [];
  for (const runtime of ["deno", "bun"] as const) {
    console.error(`bench: lab LEDBAT (${runtime})`);
    const l = await ledbat(runtime);
    rows.push(
      `| µTP (${runtime === "deno" ? "Deno" : "Bun"}) | ${f1(l.aloneMbit)} | ${ms0(l.aloneQueueMs)} | ${
        l.takeoverS === undefined ? `not within ${SHARED_S} s` : `${l.takeoverS.toFixed(1)} s`
      } | ${f1(l.sharedTcpMbit)} | ${f1(l.sharedUtpMbit)} | ${ms0(l.sharedQueueMs)} |`,
    );
  }
  const exRows: string[] = [];
  for (
    const [label, transport, runtime] of [
      ["utpstream (Deno)", "utp", "deno"],
      ["utpstream (Bun)", "utp", "bun"],
      ["Deno TCP", "tcp", "deno"],
    ] as const
  ) {
    console.error(`bench: lab exchanges (${label})`);
    const e = await exchanges(transport, runtime, count);
    exRows.push(
      `| ${label} | ${e.intact}/${e.done} | ${ms0(e.p50)} | ${ms0(e.p90)} | ${ms0(e.max)} |${
        e.failures.length ? ` ${e.failures.slice(0, 2).join("; ")}` : ""
      }`,
    );
  }
  const section = [
    "## Lab",
    `Run ${started.toISOString()} — network namespaces (scripts/lab/lab.sh, docs/lab.md), offloads off, ` +
    `TCP congestion control in the lab: ${cc}.`,
    `### LEDBAT on a ${RATE} Mbit/s bottleneck (tbf on the router's egress, 600 ms queue limit)`,
    `µTP alone for ${ALONE_S} s (rate and median queueing delay over its last ${
      ALONE_S - 5
    } s), then a TCP bulk ` +
    `flow joins for ${SHARED_S} s: the time until TCP's 2 s rate reaches 80 % of the link, and both rates over ` +
    `the last 5 s. The queueing delay is the tbf's backlog at the link rate, sampled every 250 ms.`,
    "| µTP flow | alone, Mbit/s | queue, alone | TCP ≥ 80 % after | TCP, Mbit/s | µTP, Mbit/s | queue, shared |\n" +
    "| --- | --- | --- | --- | --- | --- | --- |\n" + rows.join("\n"),
    `### ${count} short exchanges through 3 % random loss each way`,
    "Each: connect, 64 KiB, half-close, a 32-byte answer (the request's SHA-256), one after another; time from " +
    "connect to the answer. No added delay: the round trip is well under a millisecond, so the times are the " +
    "recovery timers. Target for utpstream: p90 ≤ 300 ms, max ≤ 2.5 s.",
    "| implementation | intact | p50 | p90 | max |\n| --- | --- | --- | --- | --- |\n" + exRows.join("\n"),
  ].join("\n\n");
  console.log(section);
  if (options.write) {
    const existing = Deno.readTextFileSync(RESULTS);
    const block = `${BEGIN}\n\n${section}\n\n${END}`;
    const a = existing.indexOf(BEGIN);
    const b = existing.indexOf(END);
    const next = a >= 0 && b > a
      ? existing.slice(0, a) + block + existing.slice(b + END.length)
      : `${existing.trimEnd()}\n\n${block}\n`;
    Deno.writeTextFileSync(RESULTS, next);
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", RESULTS], stdout: "null", stderr: "null" })
      .output()
      .catch(() => {});
    console.error(`bench: wrote the Lab section of ${RESULTS}`);
  }
  return section;
}

if (import.meta.main) {
  const write = Deno.args.includes("--write");
  const i = Deno.args.indexOf("--exchanges");
  await runLabBench({ write, exchanges: i >= 0 ? Number(Deno.args[i + 1]) : undefined });
}
