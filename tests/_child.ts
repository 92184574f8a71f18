// Copyright 2026 the utpstream authors. MIT license.
// A child process of one of the runtimes in .tools/, running a module given as
// source, and the lines it prints: what the interop tests talk to.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A runtime that can run a child module. */
export type RuntimeName = "deno" | "bun" | "node";

/** The runtime's binary in .tools/ (scripts/install_tools.sh). */
export function runtimeBinary(runtime: RuntimeName): string {
  return fileURLToPath(new URL(`../.tools/node_modules/.bin/${runtime}`, import.meta.url));
}

/** Why `runtime` cannot be run here, or undefined when it can. */
export function missingRuntime(runtime: RuntimeName): string | undefined {
  const path = runtimeBinary(runtime);
  if (!existsSync(path)) return `${runtime} is not installed at ${path} (bash scripts/install_tools.sh)`;
  return undefined;
}

/** The command line that runs a module's source. */
function childArgs(runtime: RuntimeName, source: string): string[] {
  switch (runtime) {
    case "deno":
      return ["eval", "--unstable-net", source];
    case "bun":
      return ["-e", source];
    case "node":
      return ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", source];
  }
}

/** A child process of another runtime and the lines it prints. */
export class Child {
  readonly process: ChildProcess;
  readonly runtime: RuntimeName;
  #lines: string[] = [];
  #waiters: (() => void)[] = [];
  #stderr = "";
  #exited = false;

  constructor(runtime: RuntimeName, source: string) {
    this.runtime = runtime;
    this.process = spawn(runtimeBinary(runtime), childArgs(runtime, source), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let partial = "";
    this.process.stdout!.setEncoding("utf8");
    this.process.stdout!.on("data", (text: string) => {
      partial += text;
      const parts = partial.split("\n");
      partial = parts.pop()!;
      this.#lines.push(...parts.map((l) => l.trim()).filter((l) => l.length > 0));
      this.#wake();
    });
    this.process.stderr!.setEncoding("utf8");
    this.process.stderr!.on("data", (text: string) => {
      if (this.#stderr.length < 8192) this.#stderr += text;
    });
    this.process.on("exit", () => {
      this.#exited = true;
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves with the rest of the first printed line starting with `prefix`. */
  async line(prefix: string): Promise<string> {
    for (;;) {
      const found = this.#lines.find((l) => l.startsWith(prefix));
      if (found !== undefined) return found.slice(prefix.length);
      if (this.#exited) throw new Error(`${this.runtime} child exited without "${prefix}": ${this.#stderr}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  kill(): void {
    if (!this.#exited) this.process.kill("SIGKILL");
  }
}

/** Parses a child's "GOT <bytes> <sha256>" line (after the prefix). */
export function parseGot(line: string): { bytes: number; sha256: string } {
  const [bytes, sha256] = line.split(" ");
  return { bytes: Number(bytes), sha256: sha256! };
}
