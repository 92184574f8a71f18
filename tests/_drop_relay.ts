// Copyright 2026 the utpstream authors. MIT license.
// A UDP forwarder on loopback between one client and one server that drops
// exactly chosen datagrams: the k-th datagram (1-based) of a direction. It
// records the µTP packet type of every datagram it saw, so a failing case
// can say which packets it dropped.
import { createSocket, type Socket } from "node:dgram";

/** A direction through the relay. */
export type Direction = "c2s" | "s2c";

/** One datagram to drop: the `index`-th (1-based) sent in `direction`. */
export interface Drop {
  direction: Direction;
  index: number;
}

const TYPE_NAMES = ["DATA", "FIN", "STATE", "RESET", "SYN"];

/** Forwards datagrams between one client and `serverPort`, dropping the chosen ones. */
export class DropRelay {
  readonly #sock: Socket;
  readonly #serverPort: number;
  readonly #drops: Drop[];
  #clientPort = 0;
  #count: Record<Direction, number> = { c2s: 0, s2c: 0 };
  /** Packet types seen per direction, in order ("SYN", "STATE"...; "-" marks a dropped one). */
  readonly seen: Record<Direction, string[]> = { c2s: [], s2c: [] };
  #closed = false;

  private constructor(sock: Socket, serverPort: number, drops: Drop[]) {
    this.#sock = sock;
    this.#serverPort = serverPort;
    this.#drops = drops;
    sock.on("message", (msg: Uint8Array, rinfo: { port: number }) => {
      const fromServer = rinfo.port === serverPort;
      if (!fromServer && this.#clientPort === 0) this.#clientPort = rinfo.port;
      const direction: Direction = fromServer ? "s2c" : "c2s";
      const to = fromServer ? this.#clientPort : serverPort;
      if (to === 0 || this.#closed) return;
      const index = ++this.#count[direction];
      const drop = this.#drops.some((d) => d.direction === direction && d.index === index);
      const type = TYPE_NAMES[msg[0]! >> 4] ?? "?";
      if (this.seen[direction].length < 64) this.seen[direction].push(drop ? `-${type}` : type);
      if (!drop) this.#sock.send(msg, to, "127.0.0.1");
    });
  }

  /** Starts a relay in front of `serverPort` on 127.0.0.1; clients dial `relay.port`. */
  static async start(serverPort: number, drops: Drop[]): Promise<DropRelay> {
    const sock = createSocket("udp4");
    // A datagram sent to a port that has closed comes back as an ICMP error, which Bun
    // reports as an "error" event (unhandled, it throws): not a failure here.
    sock.on("error", () => {});
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
    return new DropRelay(sock, serverPort, drops);
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#sock.address().port;
  }

  /** What passed, per direction, for failure messages. */
  describe(): string {
    return `client→server [${this.seen.c2s.join(" ")}], server→client [${this.seen.s2c.join(" ")}]`;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }
}
