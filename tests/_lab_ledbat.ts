// Copyright 2026 the utpstream authors. MIT license.
// LEDBAT against TCP on the lab's bottleneck (shared by tests/lab_ledbat_test.ts
// and bench/lab.ts): a µTP bulk flow, then a TCP (cubic) bulk flow joining it,
// through a router namespace whose egress is a tbf of RATE Mbit/s. The sink
// reports cumulative byte counts every 250 ms; the router's queue is read from
// the tbf's backlog at the same moments.
import type { Lab, LabProcess } from "./_lab.ts";

export const UTP_PORT = 7101;
export const TCP_PORT = 7102;
export const SINK = "10.202.2.2";

/** One moment of a run. */
export interface Sample {
  /** Sink clock, ms. */
  t: number;
  /** Cumulative bytes received. */
  utp: number;
  tcp: number;
  /** Queueing delay at the bottleneck, ms (the tbf's backlog at the link rate). */
  queueMs: number;
}

/** Rates over a window of samples. */
export interface Window {
  utpMbit: number;
  tcpMbit: number;
  /** Median queueing delay over the window, ms. */
  queueMs: number;
}

/** A running measurement in a lab built with `path --rate RATE`. */
export class LedbatRun {
  readonly samples: Sample[] = [];
  #sink: LabProcess;
  #lab: Lab;
  #rateMbit: number;
  #runtime: "deno" | "bun" | undefined;

  private constructor(lab: Lab, sink: LabProcess, rateMbit: number, runtime?: "deno" | "bun") {
    this.#runtime = runtime;
    this.#lab = lab;
    this.#sink = sink;
    this.#rateMbit = rateMbit;
  }

  /** Builds nothing: starts the sink in `lab` (a `path` lab with a bottleneck). */
  static async start(lab: Lab, rateMbit: number, runtime?: "deno" | "bun"): Promise<LedbatRun> {
    const sink = lab.run("rcv", "flow.ts", ["sink", SINK, String(UTP_PORT), String(TCP_PORT)], runtime);
    await sink.next(20_000, "flow sink start");
    return new LedbatRun(lab, sink, rateMbit, runtime);
  }

  /** Starts a bulk source of `transport` in the sender namespace. */
  source(transport: "utp" | "tcp", seconds: number): LabProcess {
    const port = transport === "utp" ? UTP_PORT : TCP_PORT;
    return this.#lab.run(
      "snd",
      "flow.ts",
      ["source", transport, SINK, String(port), String(seconds)],
      this.#runtime,
    );
  }

  /** Reads samples until `done(window)` holds or `maxMs` of sink time pass; returns whether it held. */
  async until(windowMs: number, maxMs: number, done: (w: Window) => boolean): Promise<boolean> {
    const startT = this.samples.at(-1)?.t ?? 0;
    for (;;) {
      const line = await this.#sink.next<{ t: number; utp: number; tcp: number }>(10_000, "flow sample");
      this.samples.push({ ...line, queueMs: this.#queueMs() });
      const w = this.window(windowMs);
      if (w && line.t - startT >= windowMs && done(w)) return true;
      if (line.t - startT >= maxMs) return false;
    }
  }

  /** Rates and median queue over the last `windowMs` of samples, if there are enough. */
  window(windowMs: number): Window | undefined {
    const last = this.samples.at(-1);
    if (!last) return undefined;
    const first = [...this.samples].reverse().find((s) => last.t - s.t >= windowMs);
    if (!first) return undefined;
    const seconds = (last.t - first.t) / 1000;
    const inside = this.samples.filter((s) => s.t > first.t).map((s) => s.queueMs).sort((a, b) => a - b);
    return {
      utpMbit: ((last.utp - first.utp) * 8) / seconds / 1e6,
      tcpMbit: ((last.tcp - first.tcp) * 8) / seconds / 1e6,
      queueMs: inside[Math.floor(inside.length / 2)] ?? 0,
    };
  }

  /** The tbf's backlog converted to milliseconds at the link rate. */
  #queueMs(): number {
    const out = this.#lab.exec("rt", ["tc", "-s", "qdisc", "show", "dev", "r"]);
    const m = /backlog (\d+)([KM]?)b/.exec(out);
    if (!m) return 0;
    const bytes = Number(m[1]) * (m[2] === "K" ? 1024 : m[2] === "M" ? 1024 * 1024 : 1);
    return (bytes * 8) / (this.#rateMbit * 1e6) * 1000;
  }
}
