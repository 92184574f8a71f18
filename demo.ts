// Copyright 2026 the utpstream authors. MIT license.
// The demo: a µTP server and client on loopback, in one process.
// Deno: deno task demo   Bun: bun run demo
import { connect, listen } from "./mod.ts";

const MiB = 1 << 20;
const SIZE = 64 * MiB;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function sha256(bytes: number, chunks: AsyncIterable<Uint8Array>): Promise<[number, string]> {
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256");
  let n = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    n += chunk.byteLength;
  }
  return [n, hash.digest("hex").slice(0, 16) + (n === bytes ? "" : " (short!)")];
}

await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
console.log(`listening on µTP ${listener.addr.hostname}:${listener.addr.port}`);

const server = (async () => {
  const conn = await listener.accept();
  console.log(`server: accepted ${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`);
  const writer = conn.writable.getWriter();
  await writer.write(new TextEncoder().encode("hello from the server: send me bytes"));
  writer.releaseLock();
  const started = performance.now();
  const [bytes, digest] = await sha256(SIZE, conn.readable);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `server: received ${bytes / MiB} MiB in ${seconds.toFixed(2)} s (${
      (bytes / MiB / seconds).toFixed(0)
    } MiB/s), sha256 ${digest}`,
  );
  const answer = conn.writable.getWriter();
  await answer.write(new TextEncoder().encode(`thanks, ${bytes} bytes arrived`));
  await answer.close();
  await conn.closed;
})();

await using conn = await connect({
  hostname: "127.0.0.1",
  port: listener.addr.port,
  signal: AbortSignal.timeout(5000),
});
const reader = conn.readable.getReader();
console.log(`client: greeting "${text((await reader.read()).value!)}"`);
reader.releaseLock();

const block = new Uint8Array(64 * 1024).map((_, i) => (i * 31) & 0xff);
const expected = await sha256(
  SIZE,
  (async function* () {
    for (let i = 0; i < SIZE / block.byteLength; i++) yield block;
  })(),
);
console.log(`client: sending ${SIZE / MiB} MiB, sha256 ${expected[1]}`);
const writer = conn.writable.getWriter();
for (let i = 0; i < SIZE / block.byteLength; i++) await writer.write(block);
writer.releaseLock();
await conn.closeWrite(); // half-close: FIN, but keep reading
let reply = "";
for await (const chunk of conn.readable) reply += text(chunk);
console.log(`client: server answered "${reply}" after our half-close`);
await server;
console.log("done: connections closed");
