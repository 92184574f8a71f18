// Copyright 2026 the utpstream authors. MIT license.
// Ten thousand connections to one listener at once: every one echoes a few
// KiB, all stay open together, then all close. Every byte must come back
// intact, and afterwards no native socket may be left on either endpoint.
// Prints what one open connection costs in memory (both of its ends live in
// this process, so the figure per connection covers a client and a server).
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { type UtpConnection, UtpEndpoint } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { pattern, within } from "./_helpers.ts";

const CONNECTIONS = 10_000;
/** Dials in flight at once; the listener's backlog is sized to hold them. */
const WAVE = 256;
const MESSAGE = 2 * 1024;

const rss = () => process.memoryUsage().rss;
const mib = (bytes: number) => (bytes / (1 << 20)).toFixed(1);

test(`${CONNECTIONS} concurrent connections to one listener echo intact and are all freed`, async () => {
  const before = rss();
  await using server = await UtpEndpoint.bind({ hostname: "127.0.0.1", backlog: 1024 });
  await using client = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const listener = server.listen();

  // The server echoes every connection until the client half-closes.
  let accepted = 0;
  const echoes: Promise<void>[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      accepted++;
      const echo = conn.readable.pipeTo(conn.writable).then(() => conn.closed);
      echo.catch(() => {}); // awaited below; a failure before then must not go unhandled
      echoes.push(echo);
      if (accepted === CONNECTIONS) return;
    }
  })();

  const start = performance.now();
  const conns: UtpConnection[] = new Array(CONNECTIONS);
  const checks: Promise<void>[] = [];
  for (let i = 0; i < CONNECTIONS; i += WAVE) {
    const wave = [];
    for (let j = i; j < Math.min(i + WAVE, CONNECTIONS); j++) {
      wave.push(
        client.connect({ hostname: "127.0.0.1", port: listener.addr.port, connectTimeout: 20_000 }).then(
          (c) => {
            conns[j] = c;
            const message = pattern(MESSAGE, j);
            const reader = c.readable.getReader();
            checks.push((async () => {
              const writer = c.writable.getWriter();
              await writer.write(message);
              writer.releaseLock();
              const echoed = new Uint8Array(MESSAGE);
              let got = 0;
              while (got < MESSAGE) {
                const { value, done } = await reader.read();
                assert.ok(
                  !done && got + value.byteLength <= MESSAGE,
                  `connection ${j}: ${got} bytes, then ${done ? "EOF" : value.byteLength}`,
                );
                echoed.set(value, got);
                got += value.byteLength;
              }
              reader.releaseLock();
              assert.deepEqual(echoed, message, `connection ${j} echoed other bytes`);
            })());
          },
        ),
      );
    }
    await within(Promise.all(wave), 60_000, `dial connections ${i}..${i + wave.length - 1}`);
  }
  await within(Promise.all(checks), 60_000, "every connection echoes its message");
  const openMs = performance.now() - start;
  await within(serving, 10_000, "the listener accepted every connection");

  // All of them are open now, at once.
  assert.equal(accepted, CONNECTIONS);
  assert.equal((await nativeCounts(client)).sockets, CONNECTIONS, "client sockets while all are open");
  const open = rss();
  const perConnection = (open - before) / CONNECTIONS;
  console.log(
    `${CONNECTIONS} connections opened and echoed ${MESSAGE} B each in ${openMs.toFixed(0)} ms; ` +
      `RSS ${mib(before)} -> ${mib(open)} MiB: ${(perConnection / 1024).toFixed(1)} KiB per connection ` +
      `(client and server ends, JavaScript and native)`,
  );

  // Close every connection: each client half-closes, its echo ends, both end.
  for (const c of conns) await c.writable.close();
  await within(Promise.all(echoes), 60_000, "every echo ends");
  await within(Promise.all(conns.map((c) => c.closed)), 60_000, "every client connection closes");
  const end = performance.now() + 20_000;
  let left = { server: -1, client: -1 };
  while (performance.now() < end) {
    left = {
      server: (await nativeCounts(server)).sockets,
      client: (await nativeCounts(client)).sockets,
    };
    if (left.server === 0 && left.client === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(left, { server: 0, client: 0 }, "native sockets left after every connection closed");
  listener.close();
});
