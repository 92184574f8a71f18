// Copyright 2026 the utpstream authors. MIT license.
// The network lab from the tests: builds namespaces with scripts/lab/lab.sh,
// runs programs inside them with the same runtime as the test, tears down.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const LAB_SH = `${ROOT}scripts/lab/lab.sh`;

/** Why the lab cannot run here, or undefined if it can. */
export function labUnavailable(): string | undefined {
  const r = spawnSync("bash", [LAB_SH, "check"], { encoding: "utf8" });
  if (r.error) return `cannot run bash: ${r.error.message}`;
  if (r.status !== 0) return (r.stderr || `lab check exited ${r.status}`).trim();
  return undefined;
}

/** Prints the skip reason the way every lab test does. */
export function skipReason(reason: string): string {
  const text = `network lab unavailable: ${reason}`;
  console.log(`SKIP ${text}`);
  return text;
}

let counter = 0;

/** A lab of one topology; `close()` removes every namespace it made. */
export class Lab implements AsyncDisposable {
  readonly name: string;
  #children = new Set<LabProcess>();

  private constructor(name: string) {
    this.name = name;
  }

  /** Builds a lab: `nat` (with `--symmetric`) or `path` (`--rate`, `--queue-ms`, `--loss`). */
  static up(topology: "nat" | "path", args: string[] = []): Lab {
    removeStaleLabs();
    const name = `utplab${process.pid}x${counter++}`;
    const r = spawnSync("bash", [LAB_SH, "up", name, topology, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`lab up failed (${r.status}): ${r.stderr}`);
    return new Lab(name);
  }

  /** The full name of one of the lab's namespaces ("a", "rb", "snd", …). */
  ns(role: string): string {
    return `${this.name}-${role}`;
  }

  /** Runs a shell command inside a namespace and returns its stdout. */
  exec(role: string, command: string[]): string {
    const r = spawnSync("ip", ["netns", "exec", this.ns(role), ...command], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${command.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** Starts `tests/lab/<script>` in a namespace with this test's runtime (or the one named). */
  run(role: string, script: string, args: string[] = [], runtime?: "deno" | "bun"): LabProcess {
    const child = new LabProcess(this.ns(role), `${ROOT}tests/lab/${script}`, args, runtime);
    this.#children.add(child);
    child.exited.finally(() => this.#children.delete(child));
    return child;
  }

  /** Kills what is still running and removes the namespaces. */
  async close(): Promise<void> {
    for (const child of this.#children) child.kill();
    await Promise.all([...this.#children].map((c) => c.exited.catch(() => {})));
    spawnSync("bash", [LAB_SH, "down", this.name]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Removes labs left by test processes that died before tearing them down (killed runs). */
function removeStaleLabs(): void {
  const list = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  const stale = new Set<string>();
  for (const m of list.matchAll(/^(utplab(\d+)x\d+)-/gm)) {
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) stale.add(m[1]!);
  }
  for (const name of stale) spawnSync("bash", [LAB_SH, "down", name]);
}

/** The command line that runs a TypeScript file with the current runtime, or the one named. */
export function runtimeCommand(script: string, runtime?: "deno" | "bun"): string[] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  const current = deno && !("Bun" in globalThis) ? "deno" : "bun";
  const which = runtime ?? current;
  const exe = which === current
    ? (current === "deno" ? deno!.execPath() : process.execPath)
    : `${ROOT}.tools/node_modules/.bin/${which}`;
  return which === "deno" ? [exe, "run", "--quiet", "--unstable-net", "-A", script] : [exe, script];
}

/** A program in a namespace that speaks JSON lines on stdout. */
export class LabProcess {
  readonly exited: Promise<number>;
  #child;
  #lines: unknown[] = [];
  #waiters: Array<() => void> = [];
  #stderr = "";

  constructor(ns: string, script: string, args: string[], runtime?: "deno" | "bun") {
    const child = spawn("ip", ["netns", "exec", ns, ...runtimeCommand(script, runtime), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    });
    this.#child = child;
    let buffered = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        this.#lines.push(JSON.parse(line));
        this.#wake();
      }
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      if (this.#stderr.length < 20_000) this.#stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      child.on("close", (code) => {
        resolve(code ?? -1);
        this.#wake();
      });
    });
    this.exited.then((code) => (this.exitCode = code));
  }

  exitCode: number | undefined;

  /** What the program wrote to stderr (the first 20 000 characters). */
  get stderr(): string {
    return this.#stderr;
  }

  #wake() {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The next JSON line, or rejects after `ms` or when the program exits first. */
  async next<T = Record<string, unknown>>(ms: number, what: string): Promise<T> {
    const deadline = Date.now() + ms;
    while (this.#lines.length === 0) {
      if (this.exitCode !== undefined) {
        throw new Error(`${what}: the program exited (${this.exitCode}) first; stderr: ${this.#stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: nothing within ${ms} ms; stderr: ${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.#lines.shift() as T;
  }

  kill(): void {
    if (this.exitCode === undefined) this.#child.kill("SIGKILL");
  }
}
