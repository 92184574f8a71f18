// Copyright 2026 the utpstream authors. MIT license.
// Crafted-packet regression tests for libutp bugs that a remote peer can
// trigger. A raw node:dgram socket plays the µTP client by hand (tests/_crafted.ts).
// See native/PATCHES.md for the patches these tests pin down.
import { test } from "node:test";
import assert from "node:assert/strict";
import { listen, type UtpConnection, UtpEndpoint, type UtpListener } from "../mod.ts";
import { nativeCounts } from "../src/diagnostics.ts";
import { decode, encode, within } from "./_helpers.ts";
import {
  buildPacket,
  closeReason,
  handshake,
  RawPeer,
  ST_DATA,
  ST_FIN,
  ST_RESET,
  ST_STATE,
  ST_SYN,
} from "./_crafted.ts";

interface Setup {
  endpoint: UtpEndpoint;
  listener: UtpListener;
  peer: RawPeer;
  port: number;
  close(): Promise<void>;
}

async function setup(): Promise<Setup> {
  const endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen();
  const peer = await RawPeer.open();
  return {
    endpoint,
    listener,
    peer,
    port: endpoint.addr.port,
    close: async () => {
      peer.close();
      await listener.close();
      await endpoint.close();
    },
  };
}

async function readN(conn: UtpConnection, n: number): Promise<string> {
  const reader = conn.readable.getReader();
  let s = "";
  while (s.length < n) {
    const r = await reader.read();
    if (r.done) break;
    s += decode(r.value);
  }
  reader.releaseLock();
  return s;
}

test("unknown extension (type 3, close reason) on DATA is skipped, payload delivered", async () => {
  const t = await setup();
  const { listener, peer, port } = t;
  try {
    const hs = await handshake(peer, port, 0x1234);
    const conn = await within(listener.accept(), 2000, "accept");
    await peer.send(
      buildPacket({
        type: ST_DATA,
        connId: hs.sendId,
        seq: hs.seq,
        ack: hs.ack,
        extensions: [closeReason(), { type: 77, bytes: new Uint8Array(5) }],
        payload: encode("hello"),
      }),
      port,
    );
    assert.equal(await within(readN(conn, 5), 2000, "data with extensions"), "hello");
    conn.close();
  } finally {
    await t.close();
  }
});

test("unknown extension (type 3, close reason) on FIN is skipped: the peer's end of stream is seen", async () => {
  const t = await setup();
  const { listener, peer, port } = t;
  try {
    const hs = await handshake(peer, port, 0x2345);
    const conn = await within(listener.accept(), 2000, "accept");
    await peer.send(
      buildPacket({
        type: ST_DATA,
        connId: hs.sendId,
        seq: hs.seq,
        ack: hs.ack,
        payload: encode("bye"),
      }),
      port,
    );
    await peer.send(
      buildPacket({
        type: ST_FIN,
        connId: hs.sendId,
        seq: hs.seq + 1,
        ack: hs.ack,
        extensions: [closeReason()],
      }),
      port,
    );
    const reader = conn.readable.getReader();
    const first = await within(reader.read(), 2000, "data before FIN");
    assert.equal(decode(first.value!), "bye");
    const end = await within(reader.read(), 2000, "end of stream from FIN with close reason");
    assert.equal(end.done, true);
    conn.close();
  } finally {
    await t.close();
  }
});

test("unknown extension (type 3) on STATE is skipped: it acknowledges the server's FIN", async () => {
  const t = await setup();
  const { listener, peer, port } = t;
  try {
    const hs = await handshake(peer, port, 0x3456);
    const conn = await within(listener.accept(), 2000, "accept");
    // Our (plain) FIN first; the server sees EOF and then closes, sending its FIN.
    await peer.send(buildPacket({ type: ST_FIN, connId: hs.sendId, seq: hs.seq, ack: hs.ack }), port);
    const reader = conn.readable.getReader();
    assert.equal((await within(reader.read(), 2000, "EOF")).done, true);
    reader.releaseLock();
    const from = peer.received.length;
    conn.close();
    const fin = await peer.next((p) => p.type === ST_FIN, 2000, from);
    assert.ok(fin, "server sent FIN");
    // Acknowledge it with a STATE that carries the close-reason extension.
    await peer.send(
      buildPacket({
        type: ST_STATE,
        connId: hs.sendId,
        seq: hs.seq + 1,
        ack: fin.seq,
        extensions: [closeReason()],
      }),
      port,
    );
    await within(conn.closed, 1500, "server connection closed after its FIN was acked");
    assert.equal((await nativeCounts(t.endpoint)).sockets, 0);
    const refin = peer.received.slice(from).filter((p) => p.type === ST_FIN).length;
    assert.equal(refin, 1, "the FIN was not retransmitted");
  } finally {
    await t.close();
  }
});

test("connection id 0xFFFF: data after the SYN (id wraps to 0) still arrives", async () => {
  const t = await setup();
  const { listener, peer, port } = t;
  try {
    const hs = await handshake(peer, port, 0xffff);
    assert.equal(hs.sendId, 0);
    assert.equal(hs.synAck.connId, 0xffff, "SYN-ACK carries our receive id");
    const conn = await within(listener.accept(), 2000, "accept");
    const from = peer.received.length;
    await peer.send(
      buildPacket({ type: ST_DATA, connId: hs.sendId, seq: hs.seq, ack: hs.ack, payload: encode("wrap") }),
      port,
    );
    const got = await within(readN(conn, 4), 2000, "data on wrapped id");
    assert.equal(got, "wrap");
    const ack = await peer.next((p) => p.type === ST_STATE && p.ack === hs.seq, 2000, from);
    assert.ok(ack, "data was acknowledged");
    assert.equal(peer.received.slice(from).filter((p) => p.type === ST_RESET).length, 0, "no RST");
    conn.close();
  } finally {
    await t.close();
  }
});

test("a re-sent SYN after a lost SYN-ACK gets the SYN-ACK again (one connection, not a timeout)", async () => {
  const t = await setup();
  const { listener, peer, port } = t;
  try {
    const syn = buildPacket({ type: ST_SYN, connId: 0x4567, seq: 500, ack: 0 });
    await peer.send(syn, port);
    const first = await peer.next((p) => p.type === ST_STATE && p.ack === 500, 2000);
    assert.ok(first, "first SYN-ACK");
    // Pretend the SYN-ACK was lost: re-send the identical SYN.
    const from = peer.received.length;
    await peer.send(syn, port);
    const second = await peer.next((p) => p.type === ST_STATE && p.ack === 500, 1000, from);
    assert.ok(second, "the re-sent SYN is answered");
    assert.equal(second.seq, first.seq, "same SYN-ACK (same sequence number)");
    assert.equal(second.connId, 0x4567);
    // The connection works, and it is the only one (its first data confirms it).
    await peer.send(
      buildPacket({ type: ST_DATA, connId: 0x4568, seq: 501, ack: first.seq - 1, payload: encode("once") }),
      port,
    );
    const conn = await within(listener.accept(), 2000, "accept");
    assert.equal(await within(readN(conn, 4), 2000, "data"), "once");
    assert.equal((await nativeCounts(t.endpoint)).sockets, 1, "one connection");
    conn.close();
  } finally {
    await t.close();
  }
});

test("a duplicate SYN after the server already wrote a greeting is answered with the original SYN-ACK", async () => {
  const t = await setup();
  const { listener, peer, port } = t;
  try {
    const syn = buildPacket({ type: ST_SYN, connId: 0x5678, seq: 700, ack: 0 });
    await peer.send(syn, port);
    const first = await peer.next((p) => p.type === ST_STATE && p.ack === 700, 2000);
    assert.ok(first, "first SYN-ACK");
    // The client confirms the handshake without data (it waits for a greeting).
    await peer.send(buildPacket({ type: ST_STATE, connId: 0x5679, seq: 701, ack: first.seq - 1 }), port);
    const conn = await within(listener.accept(), 2000, "accept");
    const writer = conn.writable.getWriter();
    await writer.write(encode("220 hi"));
    const greeting = await peer.next((p) => p.type === ST_DATA, 2000);
    assert.ok(greeting, "greeting sent");
    assert.equal(greeting.seq, first.seq, "the greeting is the first data packet");
    const from = peer.received.length;
    await peer.send(syn, port);
    const second = await peer.next((p) => p.type === ST_STATE && p.ack === 700, 1000, from);
    assert.ok(second, "the re-sent SYN is answered");
    assert.equal(second.seq, first.seq, "the SYN-ACK again, not the greeting's sequence number");
    writer.releaseLock();
    conn.close();
  } finally {
    await t.close();
  }
});

test("the accepting side may write first: the greeting leaves before the client sends data (patch 0001)", async () => {
  const t = await setup();
  const { listener, peer, port } = t;
  try {
    const hs = await handshake(peer, port, 0x6789);
    const conn = await within(listener.accept(), 2000, "accept");
    const writer = conn.writable.getWriter();
    await writer.write(encode("greeting"));
    const data = await peer.next((p) => p.type === ST_DATA, 2000);
    assert.ok(data, "greeting sent without any client data");
    assert.equal(decode(data.payload), "greeting");
    assert.equal(data.connId, hs.recvId);
    writer.releaseLock();
    conn.close();
  } finally {
    await t.close();
  }
});

test("closing a listener drops its half-open handshakes at once: the peer is reset, the port is free", async () => {
  const HALF_OPEN = 5;
  const t = await setup();
  const { listener, peer, port, endpoint } = t;
  try {
    // Five handshakes the peer never confirms (as a SYN flood leaves them).
    const synAcks = [];
    for (let i = 0; i < HALF_OPEN; i++) {
      const connId = 0x7000 + 2 * i;
      await peer.send(buildPacket({ type: ST_SYN, connId, seq: 900 + i, ack: 0 }), port);
      synAcks.push(await peer.next((p) => p.type === ST_STATE && p.connId === connId, 2000));
    }
    assert.ok(synAcks.every((p) => p !== undefined), "every SYN is answered");
    assert.equal((await nativeCounts(endpoint)).sockets, HALF_OPEN, "half-open sockets held");
    listener.close();
    assert.equal(
      (await nativeCounts(endpoint)).sockets,
      0,
      "half-open sockets left after the listener closed",
    );
    // A peer that confirms such a handshake late learns at once that it is gone.
    const from = peer.received.length;
    const late = synAcks[0]!;
    await peer.send(buildPacket({ type: ST_DATA, connId: 0x7001, seq: 901, ack: late.seq - 1 }), port);
    const reset = await peer.next((p) => p.type === ST_RESET, 2000, from);
    assert.ok(reset, "the late confirmation is answered with a reset");
  } finally {
    await t.close();
  }
  // A listener on an endpoint of its own gives its port back at once.
  const raw = await RawPeer.open();
  try {
    const own = await listen({ hostname: "127.0.0.1", port: 0 });
    const ownPort = own.addr.port;
    await raw.send(buildPacket({ type: ST_SYN, connId: 0x7100, seq: 1, ack: 0 }), ownPort);
    assert.ok(await raw.next((p) => p.type === ST_STATE && p.connId === 0x7100, 2000), "SYN answered");
    // Disposing settles once the port is free (Deno lets go of it a moment after the close).
    await own[Symbol.asyncDispose]();
    await using again = await UtpEndpoint.bind({ hostname: "127.0.0.1", port: ownPort });
    assert.equal(again.addr.port, ownPort);
  } finally {
    raw.close();
  }
});
