// Copyright 2026 the utpstream authors. MIT license.
// Bulk flows for the lab's congestion-control measurements.
//
//   flow.ts sink HOST UTP_PORT TCP_PORT
//       accepts µTP and TCP flows and reads them; prints {"ready":true}, then
//       every 250 ms {"t":ms,"utp":bytes,"tcp":bytes} (cumulative counts)
//   flow.ts source utp|tcp HOST PORT SECONDS
//       sends as fast as the transport lets it for SECONDS, then closes
import { createServer, Socket } from "node:net";
import { connect, listen } from "../../mod.ts";

const [role, ...args] = process.argv.slice(2);
const CHUNK = new Uint8Array(64 * 1024).fill(0x5a);

async function sink(host: string, utpPort: number, tcpPort: number): Promise<void> {
  const counts = { utp: 0, tcp: 0 };
  const listener = await listen({ hostname: host, port: utpPort });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        for await (const chunk of conn.readable) counts.utp += chunk.byteLength;
      })().catch(() => {});
    }
  })();
  const server = createServer((socket) => {
    socket.on("data", (chunk: Uint8Array) => (counts.tcp += chunk.byteLength));
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(tcpPort, host, () => resolve()));
  const start = performance.now();
  console.log(JSON.stringify({ ready: true }));
  setInterval(() => {
    console.log(JSON.stringify({ t: Math.round(performance.now() - start), ...counts }));
  }, 250);
}

async function sourceUtp(host: string, port: number, seconds: number): Promise<void> {
  const conn = await connect({ hostname: host, port, connectTimeout: 10_000 });
  const writer = conn.writable.getWriter();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) await writer.write(CHUNK);
  conn.close();
}

async function sourceTcp(host: string, port: number, seconds: number): Promise<void> {
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.connect(port, host, () => resolve());
  });
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    if (!socket.write(CHUNK)) await new Promise((resolve) => socket.once("drain", resolve));
  }
  socket.destroy();
}

if (role === "sink") {
  await sink(args[0], Number(args[1]), Number(args[2]));
} else if (role === "source") {
  const [transport, host, port, seconds] = args;
  if (transport === "tcp") await sourceTcp(host, Number(port), Number(seconds));
  else await sourceUtp(host, Number(port), Number(seconds));
  console.log(JSON.stringify({ done: true }));
  process.exit(0);
} else {
  console.error("usage: flow.ts sink HOST UTP_PORT TCP_PORT | source utp|tcp HOST PORT SECONDS");
  process.exit(2);
}
