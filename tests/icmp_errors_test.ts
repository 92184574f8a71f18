// Copyright 2026 the utpstream authors. MIT license.
// Sending to closed ports makes the kernel report ICMP errors to the socket.
// A hostile peer can provoke many of them (spoofed SYNs from ports that are
// closed: the listener answers each with SYN-ACKs). The endpoint must shrug
// them off: under Bun it used to close itself after 100 errors in a row, which
// ended every connection on it ("Connection closed because its endpoint closed").
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect, UtpEndpoint } from "../mod.ts";
import { decode, encode, readAll, within } from "./_helpers.ts";

/** A loopback UDP port that was just closed (nothing listens there). */
async function closedPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test("an endpoint survives ICMP errors from hundreds of datagrams sent to closed ports", async () => {
  await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
  const listener = endpoint.listen();
  const ports: number[] = [];
  for (let i = 0; i < 20; i++) ports.push(await closedPort());
  for (let round = 0; round < 25; round++) {
    for (const port of ports) await endpoint.send(encode("anyone?"), { hostname: "127.0.0.1", port });
    await new Promise((r) => setTimeout(r, 2)); // spread the sends so the errors come back one by one
  }
  // Still open, still serving.
  assert.equal(endpoint.closed, false, "the endpoint closed itself");
  const accepted = listener.accept();
  const client = await connect({ hostname: "127.0.0.1", port: endpoint.addr.port, connectTimeout: 5000 });
  const server = await within(accepted, 5000, "accept after the errors");
  const writer = client.writable.getWriter();
  await writer.write(encode("still serving"));
  await writer.close();
  assert.equal(decode(await within(readAll(server.readable), 5000, "data")), "still serving");
  assert.equal(endpoint.closed, false);
  server.close();
  client.close();
  listener.close();
});
