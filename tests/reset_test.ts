// Copyright 2026 the utpstream authors. MIT license.
// A reset ends only the connection it is meant for (patch 0021). A reset
// carries the receiver's send id, except the answer to a SYN, which can only
// carry the dialer's receive id. libutp matched a receive id in any state, so
// when one endpoint dialed many connections to one peer (adjacent random ids),
// the reset answering a stale packet of a finished connection reset an
// innocent neighbour: 15–20 of 4000 echo connections failed with ECONNRESET.
import { test } from "node:test";
import assert from "node:assert/strict";
import { UtpEndpoint, UtpError } from "../mod.ts";
import { buildPacket, RawPeer, ST_DATA, ST_RESET, ST_STATE, ST_SYN } from "./_crafted.ts";
import { decode, encode, within } from "./_helpers.ts";

test("an established connection ignores a reset with its receive id and obeys one with its send id", async () => {
  const peer = await RawPeer.open();
  try {
    await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
    const dialing = endpoint.connect({ hostname: "127.0.0.1", port: peer.port, connectTimeout: 5000 });
    const syn = await peer.next((p) => p.type === ST_SYN, 3000);
    assert.ok(syn, "no SYN arrived");
    const recvId = syn.connId; // the id we put on packets to the dialer
    const sendId = (recvId + 1) & 0xffff; // the id the dialer puts on packets to us
    const port = endpoint.addr.port;
    const ourSeq = 4000;
    await peer.send(buildPacket({ type: ST_STATE, connId: recvId, seq: ourSeq, ack: syn.seq }), port);
    const conn = await within(dialing, 3000, "connect");

    // Meant for a connection whose send id is our receive id: not this one.
    await peer.send(buildPacket({ type: ST_RESET, connId: recvId, seq: 1, ack: 0 }), port);
    await peer.send(
      buildPacket({
        type: ST_DATA,
        connId: recvId,
        seq: ourSeq,
        ack: syn.seq,
        payload: encode("still here"),
      }),
      port,
    );
    const reader = conn.readable.getReader();
    const first = await within(reader.read(), 3000, "data after the stray reset");
    assert.equal(decode(first.value!), "still here");

    // Meant for this connection: it fails with ECONNRESET.
    await peer.send(buildPacket({ type: ST_RESET, connId: sendId, seq: 1, ack: 0 }), port);
    await assert.rejects(
      within(reader.read(), 3000, "read after the reset"),
      (e: unknown) => e instanceof UtpError && e.code === "ECONNRESET",
    );
    await assert.rejects(conn.closed, (e: unknown) => e instanceof UtpError && e.code === "ECONNRESET");
  } finally {
    peer.close();
  }
});
