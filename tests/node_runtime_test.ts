// Copyright 2026 the utpstream authors. MIT license.
// The Node backend as a Node user meets it: a Node without node:ffi (too old,
// or started with --no-experimental-ffi) gets an error naming Node 26.1; a
// Node process whose connections and listeners are closed exits on its own;
// ref()/unref() decide whether an open listener or connection keeps it
// alive. The processes are Node 26 children (this process when it is Node,
// else the one in .tools/), so every runtime's pass checks the same thing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { isSupportedNodeVersion, MIN_NODE_VERSION, unsupportedNodeError } from "../src/runtime_node.ts";
import { within } from "./_helpers.ts";

const here = globalThis as { Bun?: unknown; Deno?: unknown };
const selfIsNode = here.Bun === undefined && here.Deno === undefined;
const root = fileURLToPath(new URL("..", import.meta.url));
const node26 = selfIsNode ? process.execPath : join(root, ".tools/node_modules/.bin/node");
const modUrl = new URL("../mod.ts", import.meta.url).href;
const NO_NODE = `Node 26 is not installed at ${node26} (bash scripts/install_tools.sh)`;

interface Outcome {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `node [flags] -e script` (an ES module) and resolves when it exits; fails if it does not in 15 s. */
function runNode(binary: string, script: string, flags: string[] = []): Promise<Outcome> {
  const child = spawn(binary, [...flags, "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => out += d);
  child.stderr.on("data", (d) => err += d);
  return within(
    new Promise<Outcome>((resolve) => child.on("exit", (code) => resolve({ code, out, err }))),
    15_000,
    "the Node child exits on its own",
  ).catch((e) => {
    child.kill("SIGKILL");
    throw new Error(`${(e as Error).message}; stdout: ${out}; stderr: ${err}`);
  });
}

function skipWithoutNode(t: { skip(message: string): void }): boolean {
  if (existsSync(node26)) return false;
  console.log(`node_runtime_test: skipping: ${NO_NODE}`);
  t.skip(NO_NODE);
  return true;
}

test("node: versions below 26.1 are refused with an error that names the minimum and how to get it", () => {
  assert.equal(MIN_NODE_VERSION, "26.1.0");
  for (const v of ["26.1.0", "26.12.1", "27.0.0", "30.2.1"]) assert.ok(isSupportedNodeVersion(v), v);
  for (const v of ["26.0.0", "25.9.0", "22.11.0", "20.20.2", "garbage"]) {
    assert.ok(!isSupportedNodeVersion(v), v);
  }
  const old = unsupportedNodeError("22.11.0", new Error("No such built-in module: node:ffi"));
  assert.match(old.message, /^Cannot start utpstream: /);
  assert.match(old.message, /Node 26\.1 or later/);
  assert.match(old.message, /this is Node 22\.11\.0/);
  assert.match(old.message, /nodejs\.org/);
  assert.ok(old.cause instanceof Error);
  const disabled = unsupportedNodeError("26.12.1");
  assert.match(disabled.message, /node:ffi is unavailable in Node 26\.12\.1/);
  assert.match(disabled.message, /--no-experimental-ffi/);
});

test("node: Node 26 started with --no-experimental-ffi gets that error from listen()", async (t) => {
  if (skipWithoutNode(t)) return;
  const { code, out } = await runNode(
    node26,
    `
    const { listen } = await import(${JSON.stringify(modUrl)});
    try {
      await listen({ hostname: "127.0.0.1", port: 0 });
      console.log("UNEXPECTED: listening");
    } catch (e) {
      console.log("ERROR " + e.message);
    }
  `,
    ["--no-experimental-ffi"],
  );
  assert.equal(code, 0);
  assert.match(
    out,
    /ERROR Cannot start utpstream: node:ffi is unavailable in Node \d+\.\d+\.\d+; start Node without --no-experimental-ffi/,
  );
});

/** The first `node` on the PATH older than 26.1, if there is one. */
function olderNode(): { path: string; version: string } | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const path = join(dir, "node");
    if (!dir || !existsSync(path)) continue;
    const r = spawnSync(path, ["-p", "process.versions.node"], { encoding: "utf8" });
    const version = r.stdout?.trim();
    if (r.status === 0 && version && !isSupportedNodeVersion(version)) return { path, version };
  }
  return undefined;
}

test("node: an older Node (a node on the PATH below 26.1) gets the minimum-version error", async (t) => {
  const old = olderNode();
  const deno = join(root, ".tools/node_modules/.bin/deno");
  const why = old === undefined
    ? "no node below 26.1 on the PATH"
    : !existsSync(deno)
    ? `Deno (to bundle the package as the JavaScript an npm install gets) is not installed at ${deno}`
    : undefined;
  if (why) {
    console.log(`node_runtime_test: skipping: ${why}`);
    return t.skip(why);
  }
  // Node before 22.6 cannot load .ts: bundle the package to JavaScript, as
  // npm users of the JSR package get it (lib/ is not part of the bundle).
  const dir = mkdtempSync(join(tmpdir(), "utp-old-node-"));
  try {
    cpSync(join(root, "mod.ts"), join(dir, "mod.ts"));
    cpSync(join(root, "src"), join(dir, "src"), { recursive: true });
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "lib/checksums.json"), "{}");
    const bundle = spawnSync(deno, [
      "bundle",
      "--platform=node",
      "-o",
      join(dir, "bundle.mjs"),
      join(dir, "mod.ts"),
    ], {
      encoding: "utf8",
    });
    if (bundle.status !== 0) {
      const reason = `deno bundle failed: ${bundle.stderr.slice(-300)}`;
      console.log(`node_runtime_test: skipping: ${reason}`);
      return t.skip(reason);
    }
    const { code, out } = await runNode(
      old!.path,
      `
      const { listen } = await import(${JSON.stringify(new URL(`file://${dir}/bundle.mjs`).href)});
      try {
        await listen({ hostname: "127.0.0.1", port: 0 });
        console.log("UNEXPECTED: listening");
      } catch (e) {
        console.log("ERROR " + e.message);
      }
    `,
    );
    assert.equal(code, 0);
    assert.match(
      out,
      new RegExp(
        `ERROR Cannot start utpstream: it needs Node 26\\.1 or later .*this is Node ${
          old!.version.replaceAll(".", "\\.")
        }`,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("node: a process whose connections and listeners are closed exits on its own", async (t) => {
  if (skipWithoutNode(t)) return;
  const { code, out, err } = await runNode(
    node26,
    `
    const { connect, listen } = await import(${JSON.stringify(modUrl)});
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const served = (async () => {
      const conn = await listener.accept();
      await conn.readable.pipeTo(conn.writable);
      await conn.closed;
    })();
    const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const writer = conn.writable.getWriter();
    await writer.write(new TextEncoder().encode("hello"));
    await writer.close();
    let echoed = "";
    for await (const chunk of conn.readable) echoed += new TextDecoder().decode(chunk);
    await conn.closed;
    await served;
    listener.close();
    console.log("done " + echoed);
  `,
    ["--disable-warning=ExperimentalWarning"],
  );
  assert.equal(code, 0, err);
  assert.match(out, /done hello/);
});

test("node: a referenced listener keeps the process alive until unref()", async (t) => {
  if (skipWithoutNode(t)) return;
  const { code, out, err } = await runNode(
    node26,
    `
    const { listen } = await import(${JSON.stringify(modUrl)});
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    listener.unref();
    listener.ref();
    // This timer does not keep the process alive: only the listener does.
    setTimeout(() => {
      console.log("alive");
      listener.unref();
    }, 300).unref();
  `,
    ["--disable-warning=ExperimentalWarning"],
  );
  assert.equal(code, 0, err);
  assert.match(out, /alive/, "the process exited while the listener was referenced");
});

test("node: unref() on a listener and its connections lets the process exit while they are open", async (t) => {
  if (skipWithoutNode(t)) return;
  const { code, out, err } = await runNode(
    node26,
    `
    const { connect, listen } = await import(${JSON.stringify(modUrl)});
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = listener.accept();
    const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const server = await accepted;
    for (const x of [listener, conn, server]) x.unref();
    console.log("open");
    // Were anything still referenced, this would print.
    setTimeout(() => console.log("still here"), 5000).unref();
  `,
    ["--disable-warning=ExperimentalWarning"],
  );
  assert.equal(code, 0, err);
  assert.match(out, /open/);
  assert.doesNotMatch(out, /still here/);
});
