// Copyright 2026 the utpstream authors. MIT license.
// One bulk transfer for the lab's offload test, with the endpoint's I/O
// counters at the end. Prints JSON lines.
//
//   offload_transfer.ts server HOST PORT UDPIO
//        prints {"ready":PORT}, then {"bytes":N,"sha256":HEX,"counters":{…}} after one connection
//   offload_transfer.ts client HOST PORT BYTES UDPIO
//        prints {"sent":BYTES,"counters":{…}} once the connection has closed
import { type UdpIo, UtpEndpoint } from "../../mod.ts";
import { endpointCounters } from "../../src/diagnostics.ts";
import { hashStream, writePattern } from "../_helpers.ts";

const [role, host, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);

if (role === "server") {
  const udpIo = rest[0] as UdpIo;
  await using endpoint = await UtpEndpoint.bind({ hostname: host, port, udpIo });
  const listener = endpoint.listen();
  console.log(JSON.stringify({ ready: endpoint.addr.port, udpIo: endpoint.udpIo }));
  const conn = await listener.accept();
  const got = await hashStream(conn.readable);
  conn.close();
  await conn.closed.catch(() => {});
  console.log(JSON.stringify({ ...got, counters: endpointCounters(endpoint) }));
} else {
  const bytes = Number(rest[0]);
  const udpIo = rest[1] as UdpIo;
  await using endpoint = await UtpEndpoint.bind({ hostname: "0.0.0.0", udpIo });
  const conn = await endpoint.connect({ hostname: host, port, signal: AbortSignal.timeout(60_000) });
  await writePattern(conn.writable, bytes);
  await conn.closed;
  console.log(JSON.stringify({ sent: bytes, udpIo: endpoint.udpIo, counters: endpointCounters(endpoint) }));
}
