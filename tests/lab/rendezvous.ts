// Copyright 2026 the utpstream authors. MIT license.
// The lab's rendezvous service (runs in the "internet" namespace): a peer
// sends "REG <pair>" from its endpoint's port; once both peers of a pair have
// registered, each gets "PEER <host> <port>": the other's public mapping.
// Usage: rendezvous.ts HOST PORT (bind the exact address, so replies leave from it). Prints {"ready":PORT}, then runs until killed.
import { UtpEndpoint } from "../../mod.ts";

const [host, portText] = process.argv.slice(2);
const port = Number(portText);
await using endpoint = await UtpEndpoint.bind({ hostname: host, port });
type Peer = { hostname: string; port: number };
const pairs = new Map<string, Peer>();
const answered = new Map<string, string>(); // "pair|host|port" -> the answer already sent
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const reader = endpoint.datagrams.getReader();
console.log(JSON.stringify({ ready: endpoint.addr.port }));
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  const [verb, pair] = decoder.decode(value.data).split(" ");
  if (verb !== "REG" || !pair) continue;
  const me = { hostname: value.remoteAddr.hostname, port: value.remoteAddr.port };
  const again = answered.get(`${pair}|${me.hostname}|${me.port}`);
  if (again) {
    await endpoint.send(encoder.encode(again), me); // the answer was lost or crossed a repeated REG
    continue;
  }
  const other = pairs.get(pair);
  if (!other) {
    pairs.set(pair, me);
    continue;
  }
  if (other.hostname === me.hostname && other.port === me.port) continue; // a repeated REG
  pairs.delete(pair);
  const toOther = `PEER ${me.hostname} ${me.port}`;
  const toMe = `PEER ${other.hostname} ${other.port}`;
  answered.set(`${pair}|${other.hostname}|${other.port}`, toOther);
  answered.set(`${pair}|${me.hostname}|${me.port}`, toMe);
  await endpoint.send(encoder.encode(toOther), other);
  await endpoint.send(encoder.encode(toMe), me);
  console.log(JSON.stringify({ paired: pair, first: other, second: me }));
}
