// Copyright 2026 the utpstream authors. MIT license.
// ref()/unref() belong to each object: an endpoint stays referenced while any
// of its referenced connections (or its listener) is open. Unreferencing one
// connection used to unreference its whole endpoint, so the process exited
// under a connection that was still referenced.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runChild } from "./_helpers.ts";

test("unref() on one connection leaves its endpoint referenced by the others", async () => {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const { code, out } = await runChild(`
    const { UtpEndpoint } = await import(${JSON.stringify(mod)});
    const unrefTimer = (fn, ms) => {
      const t = setTimeout(fn, ms);
      if (typeof t === "number") Deno.unrefTimer(t); else t.unref();
    };
    const server = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
    const listener = server.listen();
    const accepted = [];
    (async () => { for await (const c of listener) accepted.push(c); })();
    const client = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
    const a = await client.connect({ port: server.addr.port });
    const b = await client.connect({ port: server.addr.port });
    while (accepted.length < 2) await new Promise((r) => setTimeout(r, 10));
    for (const x of [server, listener, client, a, ...accepted]) x.unref();
    // Only b is referenced now: the process must live until b is unreferenced too.
    unrefTimer(() => {
      console.log("alive");
      b.unref();
    }, 300);
  `);
  assert.equal(code, 0);
  assert.match(out, /alive/, "the process exited while a referenced connection was open");
});
