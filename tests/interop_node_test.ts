// Copyright 2026 the utpstream authors. MIT license.
// Node interop across processes: 64 MiB each way, verified by SHA-256.
// Under Node this process pairs with a Deno child and with a Bun child; under
// Deno or Bun it pairs with a Node 26 child (the one in .tools/). In each
// pair this side dials and sends, then the child dials and sends. Skips, with
// the reason, when a runtime is not installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, listen } from "../mod.ts";
import { hashStream, patternHash, within, writePattern } from "./_helpers.ts";
import { Child, missingRuntime, parseGot, type RuntimeName } from "./_child.ts";

const SIZE = 64 << 20;
const TIMEOUT_MS = 60000;

const here = globalThis as { Bun?: unknown; Deno?: unknown };
const self: RuntimeName = here.Bun !== undefined ? "bun" : here.Deno !== undefined ? "deno" : "node";
const others: RuntimeName[] = self === "node" ? ["deno", "bun"] : ["node"];
const modUrl = new URL("../mod.ts", import.meta.url).href;
const helpersUrl = new URL("./_helpers.ts", import.meta.url).href;

/**
 * Source of the child. "receive": listens, prints its port, receives SIZE
 * bytes and prints their count and hash. "send": dials `port` and sends SIZE
 * pattern bytes.
 */
function childSource(role: "receive" | "send", port = 0): string {
  return `
import { connect, listen } from ${JSON.stringify(modUrl)};
import { hashStream, writePattern } from ${JSON.stringify(helpersUrl)};
if (${JSON.stringify(role)} === "receive") {
  const listener = await listen({ hostname: "127.0.0.1", port: 0 });
  console.log("PORT " + listener.addr.port);
  const conn = await listener.accept();
  const got = await hashStream(conn.readable);
  console.log("GOT " + got.bytes + " " + got.sha256);
  conn.close();
  await conn.closed.catch(() => {});
  listener.close();
} else {
  const conn = await connect({ hostname: "127.0.0.1", port: ${port}, signal: AbortSignal.timeout(10000) });
  await writePattern(conn.writable, ${SIZE});
  await conn.closed.catch(() => {});
  console.log("SENT");
}
process.exit(0);
`;
}

for (const other of others) {
  test(
    `interop: ${self} dials a ${other} listener and sends 64 MiB (SHA-256)`,
    { timeout: 90000 },
    async (t) => {
      const why = missingRuntime(other);
      if (why) {
        console.log(`interop_node_test: skipping: ${why}`);
        return t.skip(why);
      }
      const child = new Child(other, childSource("receive"));
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

  test(`interop: a ${other} client dials a ${self} listener and sends 64 MiB (SHA-256)`, {
    timeout: 90000,
  }, async (t) => {
    const why = missingRuntime(other);
    if (why) {
      console.log(`interop_node_test: skipping: ${why}`);
      return t.skip(why);
    }
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    let child: Child | undefined;
    try {
      child = new Child(other, childSource("send", listener.addr.port));
      const conn = await within(listener.accept(), 30000, `accept from ${other}`);
      try {
        const got = await within(hashStream(conn.readable), TIMEOUT_MS, `${self} read`);
        assert.equal(got.bytes, SIZE);
        assert.equal(got.sha256, patternHash(SIZE));
        conn.close(); // both directions ended: the sender's connection closes too
        await within(child.line("SENT"), TIMEOUT_MS, `${other} sender finishes`);
      } finally {
        conn.close();
        await within(conn.closed.catch(() => {}), 10000, "close");
      }
    } finally {
      child?.kill();
      listener.close();
    }
  });
}
