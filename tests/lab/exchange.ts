// Copyright 2026 the utpstream authors. MIT license.
// Short request/answer exchanges for the lab (µTP, or TCP for comparison):
// the client connects, sends a request of REQUEST bytes, half-closes; the
// server reads to the end and answers with the request's SHA-256 (32 bytes)
// and closes; the client checks the answer. Prints JSON lines.
//
//   exchange.ts server utp|tcp HOST PORT        prints {"ready":PORT}, runs until killed
//   exchange.ts client utp|tcp HOST PORT COUNT CONCURRENCY REQUEST_BYTES
//        prints {"done":COUNT,"intact":N,"failures":[…],"ms":[per exchange],"connectMs":[per exchange]}
import { createHash } from "node:crypto";
import { connect, listen, type UtpConnection } from "../../mod.ts";
import { pattern } from "../_helpers.ts";

const [role, transport, host, portText, countText, concurrencyText, requestText] = process.argv.slice(2);
const port = Number(portText);

/** One exchange's connection, µTP or TCP. */
type Exchange = {
  readAll(): Promise<Uint8Array>;
  write(data: Uint8Array): Promise<void>;
  closeWrite(): Promise<void>;
  close(): Promise<void>;
};

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function overUtp(conn: UtpConnection): Exchange {
  const writer = conn.writable.getWriter();
  return {
    async readAll() {
      const parts: Uint8Array[] = [];
      for await (const chunk of conn.readable) parts.push(chunk.slice());
      return concat(parts);
    },
    write: (data) => writer.write(data),
    closeWrite: () => writer.close(),
    close: () => conn.closed.catch(() => {}),
  };
}

/** Deno's TCP through `read`/`write` (its streams close the socket at the first EOF). */
function overTcp(conn: Deno.TcpConn): Exchange {
  conn.setNoDelay(true);
  return {
    async readAll() {
      const parts: Uint8Array[] = [];
      for (;;) {
        const buf = new Uint8Array(65536);
        const n = await conn.read(buf);
        if (n === null) return concat(parts);
        parts.push(buf.subarray(0, n));
      }
    },
    async write(data) {
      for (let at = 0; at < data.byteLength;) at += await conn.write(data.subarray(at));
    },
    closeWrite: () => conn.closeWrite(),
    close: () => {
      try {
        conn.close();
      } catch {
        // already closed
      }
      return Promise.resolve();
    },
  };
}

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** Serves one exchange: read to the end, answer with the digest, half-close. */
async function serve(conn: Exchange): Promise<void> {
  try {
    const request = await conn.readAll();
    await conn.write(sha256(request));
    await conn.closeWrite();
  } finally {
    await conn.close();
  }
}

/** The runtime's own TCP (Deno.listen / Deno.connect); Deno only. */
const deno = (globalThis as { Deno?: typeof Deno }).Deno;

async function server(): Promise<void> {
  if (transport === "tcp") {
    if (!deno) throw new Error("the TCP comparison uses Deno's TCP");
    const listener = deno.listen({ hostname: host, port });
    console.log(JSON.stringify({ ready: port }));
    for await (const conn of listener) serve(overTcp(conn)).catch(() => {});
    return;
  }
  const listener = await listen({ hostname: host, port });
  console.log(JSON.stringify({ ready: listener.addr.port }));
  for await (const conn of listener) serve(overUtp(conn)).catch(() => {});
}

/** Times of one exchange: until connected, and until the answer arrived. */
type Timing = { connectMs: number; ms: number };

async function exchangeOnce(seed: number, requestBytes: number): Promise<Timing> {
  const request = pattern(requestBytes, seed);
  const started = performance.now();
  const conn = transport === "tcp" ? overTcp(await deno!.connect({ hostname: host, port })) : overUtp(
    await connect({ hostname: host, port, signal: AbortSignal.timeout(30_000), connectTimeout: 10_000 }),
  );
  const connectMs = performance.now() - started;
  try {
    const answer = conn.readAll();
    await conn.write(request);
    await conn.closeWrite();
    const got = await answer;
    const want = sha256(request);
    if (got.byteLength !== 32 || !got.every((b, i) => b === want[i])) {
      throw new Error(`answer of ${got.byteLength} bytes does not match the request's SHA-256`);
    }
    return { connectMs, ms: performance.now() - started };
  } finally {
    await conn.close();
  }
}

async function client(): Promise<void> {
  const count = Number(countText);
  const concurrency = Number(concurrencyText);
  const requestBytes = Number(requestText);
  const ms: number[] = [];
  const connectMs: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const seed = ++next;
      try {
        const t = await exchangeOnce(seed, requestBytes);
        ms.push(t.ms);
        connectMs.push(t.connectMs);
      } catch (err) {
        failures.push(`exchange ${seed}: ${err}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  console.log(JSON.stringify({ done: count, intact: ms.length, failures, ms, connectMs }));
}

if (role === "server") await server();
else {
  await client();
  process.exit(0);
}
