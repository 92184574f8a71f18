// Copyright 2026 the utpstream authors. MIT license.
/**
 * The Node rows of the benchmark suite (bench/main.ts): the library on Node
 * 26 (bench/peer.ts under `node`), Node against Deno and Bun, and
 * `utp-native@2.5.3` on Node (bench/node_utp_native.ts), the µTP library Node
 * users would otherwise pick.
 *
 * Node is `NODE=<path>` or the pinned one in `.tools/` (scripts/install_tools.sh);
 * utp-native is `.tools/node_modules/utp-native` or `UTP_NATIVE=<path>`.
 *
 * @module
 */

/** The Node implementations: this library on Node, and utp-native on Node. */
export type NodeImpl = "node" | "utp-native";

/** A benchmark row, as bench/main.ts defines it. */
export interface NodeRow<I extends string> {
  /** Row id for `--rows`. */
  readonly id: string;
  /** Label in the tables. */
  readonly label: string;
  /** Who sends (throughput, flows) or pings (latency). */
  readonly sender: I | NodeImpl;
  /** Who receives or echoes. */
  readonly receiver: I | NodeImpl;
  /** Only with --rows. */
  readonly optIn?: boolean;
}

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/**
 * The rows: Node→Node, the four cross-runtime pairs, and utp-native (opt-in).
 *
 * @example
 * ```ts ignore
 * const ROWS = [...rowsOfOtherRuntimes, ...NODE_ROWS];
 * ```
 */
export const NODE_ROWS: readonly NodeRow<"deno" | "bun">[] = [
  { id: "node", label: "Node→Node", sender: "node", receiver: "node" },
  { id: "node-deno", label: "Node→Deno", sender: "node", receiver: "deno" },
  { id: "deno-node", label: "Deno→Node", sender: "deno", receiver: "node" },
  { id: "node-bun", label: "Node→Bun", sender: "node", receiver: "bun" },
  { id: "bun-node", label: "Bun→Node", sender: "bun", receiver: "node" },
  // Opt-in (--rows utp-native): at ~3 MiB/s here its 500 MiB transfer alone outlasts the row's timeout.
  {
    id: "utp-native",
    label: "utp-native 2.5.3 (Node)",
    sender: "utp-native",
    receiver: "utp-native",
    optIn: true,
  },
];

/** The Node binary: `NODE`, else the pinned one in `.tools/`, else `node` on the PATH. */
export function nodePath(): string {
  const env = Deno.env.get("NODE");
  if (env) return env;
  const local = `${ROOT}/.tools/node_modules/.bin/node`;
  try {
    Deno.statSync(local);
    return local;
  } catch {
    return "node";
  }
}

/**
 * The command line of a Node implementation in a role (`recv`, `send`,
 * `pong`, `ping`, `probe`), with the role's arguments.
 *
 * @param cpuProfDir Where `--cpu-prof` writes profiles of the library's Node peers.
 *
 * @example
 * ```ts ignore
 * nodeCommand("node", "recv", ["--bytes", "1048576"]);
 * // [".../node", "--disable-warning=ExperimentalWarning", ".../bench/peer.ts", "recv", "--bytes", "1048576"]
 * ```
 */
export function nodeCommand(impl: NodeImpl, role: string, args: string[], cpuProfDir?: string): string[] {
  // node:ffi's ExperimentalWarning is expected; the bench keeps stderr for errors.
  const node = [nodePath(), "--disable-warning=ExperimentalWarning"];
  if (impl === "utp-native") return [...node, `${ROOT}/bench/node_utp_native.ts`, role, ...args];
  const prof = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
  return [...node, ...prof, `${ROOT}/bench/peer.ts`, role, ...args];
}

/** Whether an implementation is another library (a reference, not this one: no targets apply). */
export function isOtherLibrary(impl: string): boolean {
  return impl === "utp-native";
}

/**
 * The Node line of the machine description.
 *
 * @example
 * ```ts ignore
 * console.log(nodeVersionLine()); // "- Node 26.12.1 (node:ffi); utp-native 2.5.3"
 * ```
 */
export function nodeVersionLine(): string {
  let version = "unavailable";
  try {
    const out = new Deno.Command(nodePath(), { args: ["--version"], stdout: "piped", stderr: "null" })
      .outputSync();
    if (out.success) version = new TextDecoder().decode(out.stdout).trim().replace(/^v/, "");
  } catch {
    // not installed
  }
  let utpNative = "unavailable";
  try {
    const pkg = Deno.env.get("UTP_NATIVE") ?? `${ROOT}/.tools/node_modules/utp-native`;
    utpNative = JSON.parse(Deno.readTextFileSync(`${pkg}/package.json`)).version;
  } catch {
    // not installed
  }
  return `- Node ${version} (node:ffi); utp-native ${utpNative}`;
}
