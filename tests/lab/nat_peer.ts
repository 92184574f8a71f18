// Copyright 2026 the utpstream authors. MIT license.
// A lab peer behind a NAT: registers with the rendezvous from its endpoint's
// own port, learns the other peer's public mapping, waits DELAY ms (to set
// which peer punches first), punches, then sends BYTES and reads the peer's
// BYTES. Prints one JSON line: {"ok":true,…} or {"ok":false,"code":…}.
// Usage: nat_peer.ts RDV_HOST RDV_PORT PAIR ROLE DELAY_MS TIMEOUT_MS BYTES [OPENING_MS]
import { UtpEndpoint, UtpError } from "../../mod.ts";
import { hashStream, writePattern } from "../_helpers.ts";

const [rdvHost, rdvPort, pair, role, delayMs, timeoutMs, bytes, openingMs] = process.argv.slice(2);
const total = Number(bytes);
const endpoint = await UtpEndpoint.bind({ hostname: "0.0.0.0", port: 0 });
const reader = endpoint.datagrams.getReader();
const encoder = new TextEncoder();
const rendezvous = { hostname: rdvHost, port: Number(rdvPort) };

/** Registers (repeating every 200 ms, at most 25 times) until the rendezvous names the peer. */
async function register(): Promise<{ hostname: string; port: number }> {
  let pending = reader.read();
  for (let i = 0; i < 25; i++) {
    await endpoint.send(encoder.encode(`REG ${pair}`), rendezvous);
    const deadline = Date.now() + 200;
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<"tick">((r) => timer = setTimeout(() => r("tick"), deadline - Date.now()));
      const got = await Promise.race([pending, tick]);
      clearTimeout(timer);
      if (got === "tick") break;
      if (got.done) throw new Error("endpoint closed");
      pending = reader.read();
      const [verb, host, port] = new TextDecoder().decode(got.value.data).split(" ");
      if (verb === "PEER") {
        drain(pending);
        return { hostname: host, port: Number(port) };
      }
    }
  }
  throw new Error("the rendezvous never answered");
}

/** Keeps reading datagrams (the peer's punches) so none piles up. */
function drain(pending: Promise<ReadableStreamReadResult<unknown>>): void {
  (async () => {
    let r = await pending;
    while (!r.done) r = await reader.read();
  })().catch(() => {});
}

const started = Date.now();
let result: Record<string, unknown>;
let punchStart: number | undefined;
try {
  const peer = await register();
  await new Promise((r) => setTimeout(r, Number(delayMs)));
  punchStart = Date.now();
  const conn = await endpoint.punch({
    ...peer,
    role: role as "dial" | "accept",
    timeout: Number(timeoutMs),
    openingMs: openingMs === undefined ? undefined : Number(openingMs),
  });
  const connectedMs = Date.now() - punchStart;
  const [, received] = await Promise.all([writePattern(conn.writable, total), hashStream(conn.readable)]);
  await conn.closed;
  result = { ok: true, peer, connectedMs, ...received, ms: Date.now() - started };
} catch (err) {
  result = {
    ok: false,
    code: err instanceof UtpError ? err.code : undefined,
    message: String(err),
    punchMs: punchStart === undefined ? undefined : Date.now() - punchStart,
    ms: Date.now() - started,
  };
}
console.log(JSON.stringify(result));
await endpoint.close();
process.exit(0);
