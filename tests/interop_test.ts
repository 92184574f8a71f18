// Copyright 2026 the utpstream authors. MIT license.
// Cross-runtime interop: this process (Deno or Bun) talks µTP to a child
// process running the other runtime, 64 MiB each way, verified by SHA-256.
// Skips when the other runtime is not installed in .tools/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, listen } from "../mod.ts";
import { patternHash, within, writePattern } from "./_helpers.ts";
import { Child, missingRuntime, parseGot } from "./_child.ts";

const SIZE = 64 << 20;
const TIMEOUT_MS = 60000;

const here = globalThis as { Bun?: unknown; Deno?: unknown };
const self = here.Bun !== undefined ? "bun" : "deno";
// Under Node this file would pair Node with Bun under Deno's name: interop_node_test.ts covers Node.
const underNode = here.Bun === undefined && here.Deno === undefined;
const NODE_SKIP = "Node: Node↔Deno and Node↔Bun are in interop_node_test.ts";
const other = self === "bun" ? "deno" : "bun";
const modUrl = new URL("../mod.ts", import.meta.url).href;
const helpersUrl = new URL("./_helpers.ts", import.meta.url).href;

/** Source of the child: receives SIZE bytes as listener or dialer, prints the hash. */
function childSource(role: "listen" | "dial", port = 0): string {
  return `
import process from "node:process";
import { connect, listen } from ${JSON.stringify(modUrl)};
import { hashStream } from ${JSON.stringify(helpersUrl)};
let conn, listener;
if (${JSON.stringify(role)} === "listen") {
  listener = await listen({ hostname: "127.0.0.1", port: 0 });
  console.log("PORT " + listener.addr.port);
  conn = await listener.accept();
} else {
  conn = await connect({ hostname: "127.0.0.1", port: ${port} });
}
const got = await hashStream(conn.readable);
console.log("GOT " + got.bytes + " " + got.sha256);
conn.close();
await conn.closed.catch(() => {});
listener?.close();
process.exit(0);
`;
}

test(
  `interop: ${self} dials a ${other} listener and sends 64 MiB (SHA-256)`,
  { timeout: 90000 },
  async (t) => {
    if (underNode) return t.skip(NODE_SKIP);
    const why = missingRuntime(other);
    if (why) return t.skip(why);
    const child = new Child(other, childSource("listen"));
    try {
      const port = Number(await within(child.line("PORT "), 30000, `${other} listener port`));
      const conn = await connect({ hostname: "127.0.0.1", port, signal: AbortSignal.timeout(10000) });
      try {
        await within(writePattern(conn.writable, SIZE), TIMEOUT_MS, `${self} write`);
        const got = parseGot(await within(child.line("GOT "), TIMEOUT_MS, `${other} read`));
        assert.equal(got.bytes, SIZE);
        assert.equal(got.sha256, patternHash(SIZE));
      } finally {
        conn.close();
        await within(conn.closed.catch(() => {}), 10000, "close");
      }
    } finally {
      child.kill();
    }
  },
);

test(
  `interop: a ${other} client receives 64 MiB from a ${self} listener (SHA-256)`,
  { timeout: 90000 },
  async (t) => {
    if (underNode) return t.skip(NODE_SKIP);
    const why = missingRuntime(other);
    if (why) return t.skip(why);
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    let child: Child | undefined;
    try {
      child = new Child(other, childSource("dial", listener.addr.port));
      const conn = await within(listener.accept(), 30000, `accept from ${other}`);
      try {
        await within(writePattern(conn.writable, SIZE), TIMEOUT_MS, `${self} write`);
        const got = parseGot(await within(child.line("GOT "), TIMEOUT_MS, `${other} read`));
        assert.equal(got.bytes, SIZE);
        assert.equal(got.sha256, patternHash(SIZE));
      } finally {
        conn.close();
        await within(conn.closed.catch(() => {}), 10000, "close");
      }
    } finally {
      child?.kill();
      listener.close();
    }
  },
);
