// Copyright 2026 the utpstream authors. MIT license.
// An impairment relay for tests: a UDP forwarder on loopback between one
// client and one server that drops, delays (jitter), reorders, duplicates and
// corrupts datagrams with a seeded PRNG, and counts what it did.
import { createSocket, type Socket } from "node:dgram";

export interface Impairments {
  /** Probability a datagram is dropped. */
  loss?: number;
  /** Probability a datagram is sent twice. */
  duplicate?: number;
  /** Hold datagrams and release them in a random order, this many at a time (0/1 = off). */
  reorderWindow?: number;
  /** Base delay and ± jitter in ms (uniform). */
  delayMs?: number;
  jitterMs?: number;
  /**
   * Let jitter reorder datagrams (each one delayed independently). Default
   * false: delay varies but datagrams leave in arrival order, as on a real
   * path whose queue grows and shrinks; reordering is `reorderWindow`'s job.
   */
  jitterReorders?: boolean;
  /** Probability a DATA packet gets one payload byte (past the 20-byte header) flipped. */
  corruptPayload?: number;
  /** Probability a datagram gets one header byte flipped. */
  corruptHeader?: number;
  seed?: number;
  /** Forward this many datagrams untouched first (the handshake), default 2. */
  spareFirst?: number;
}

export interface RelayCounts {
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  corruptedPayload: number;
  corruptedHeader: number;
}

export class Relay {
  readonly counts: RelayCounts = {
    forwarded: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    corruptedPayload: 0,
    corruptedHeader: 0,
  };
  readonly #sock: Socket;
  readonly #serverPort: number;
  readonly #imp: Impairments;
  #clientPort = 0;
  #x: number;
  #held: { data: Uint8Array; port: number }[] = [];
  #timers = new Set<ReturnType<typeof setTimeout>>();
  /** Per destination port: when the last delayed datagram leaves (FIFO jitter). */
  #lastDue = new Map<number, number>();
  #closed = false;

  private constructor(sock: Socket, serverPort: number, imp: Impairments) {
    this.#sock = sock;
    this.#serverPort = serverPort;
    this.#imp = imp;
    this.#x = (imp.seed ?? 1) >>> 0 || 1;
    sock.on("message", (msg: Uint8Array, rinfo: { port: number }) => {
      // The first sender that is not the server is the client.
      if (rinfo.port !== serverPort && this.#clientPort === 0) this.#clientPort = rinfo.port;
      const to = rinfo.port === serverPort ? this.#clientPort : serverPort;
      if (to !== 0) this.#impair(new Uint8Array(msg), to);
    });
  }

  /** Starts a relay in front of `serverPort`; clients connect to `relay.port`. */
  static async start(serverPort: number, imp: Impairments): Promise<Relay> {
    const sock = createSocket("udp4");
    // A datagram sent to a port that has closed comes back as an ICMP error, which Bun
    // reports as an "error" event (unhandled, it throws): not a failure here.
    sock.on("error", () => {});
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
    return new Relay(sock, serverPort, imp);
  }

  get port(): number {
    return this.#sock.address().port;
  }

  #random(): number {
    let x = this.#x;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#x = x >>> 0;
    return this.#x / 2 ** 32;
  }

  #seen = 0;

  #impair(data: Uint8Array, port: number): void {
    const imp = this.#imp;
    if (this.#seen++ < (imp.spareFirst ?? 2)) return this.#send(data, port);
    if (imp.loss && this.#random() < imp.loss) {
      this.counts.dropped++;
      return;
    }
    // Payload: bytes a DATA packet carries for the application (type ST_DATA,
    // no extension chain). The bytes after the header of other packets are
    // protocol (e.g. selective ACKs): corrupting those is header corruption.
    const isDataPayload = data.length > 20 && data[0] >> 4 === 0 && data[1] === 0;
    if (imp.corruptPayload && isDataPayload && this.#random() < imp.corruptPayload) {
      data[20 + Math.floor(this.#random() * (data.length - 20))] ^= 1 + Math.floor(this.#random() * 255);
      this.counts.corruptedPayload++;
    }
    if (imp.corruptHeader && this.#random() < imp.corruptHeader) {
      data[Math.floor(this.#random() * Math.min(20, data.length))] ^= 1 + Math.floor(this.#random() * 255);
      this.counts.corruptedHeader++;
    }
    const copies = imp.duplicate && this.#random() < imp.duplicate ? 2 : 1;
    if (copies === 2) this.counts.duplicated++;
    for (let i = 0; i < copies; i++) this.#schedule(data, port);
  }

  #schedule(data: Uint8Array, port: number): void {
    const imp = this.#imp;
    const window = imp.reorderWindow ?? 0;
    if (window > 1) {
      this.#held.push({ data, port });
      if (this.#held.length >= window) {
        // Release in a shuffled order.
        const held = this.#held;
        this.#held = [];
        for (let i = held.length - 1; i > 0; i--) {
          const j = Math.floor(this.#random() * (i + 1));
          if (j !== i) this.counts.reordered++;
          [held[i], held[j]] = [held[j], held[i]];
        }
        for (const h of held) this.#delay(h.data, h.port);
      } else if (this.#held.length === 1) {
        // Never hold a lone datagram (a handshake or a last ACK) for long.
        const t = setTimeout(() => {
          this.#timers.delete(t);
          const held = this.#held;
          this.#held = [];
          for (const h of held) this.#delay(h.data, h.port);
        }, 5);
        this.#timers.add(t);
      }
      return;
    }
    this.#delay(data, port);
  }

  #delay(data: Uint8Array, port: number): void {
    const imp = this.#imp;
    let ms = (imp.delayMs ?? 0) + (imp.jitterMs ? (this.#random() * 2 - 1) * imp.jitterMs : 0);
    if (imp.jitterMs && !imp.jitterReorders) {
      const now = performance.now();
      const due = Math.max(now + ms, this.#lastDue.get(port) ?? 0);
      this.#lastDue.set(port, due);
      ms = due - now;
    }
    if (ms <= 0) return this.#send(data, port);
    this.counts.delayed++;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#send(data, port);
    }, ms);
    this.#timers.add(t);
  }

  #send(data: Uint8Array, port: number): void {
    if (this.#closed) return;
    this.counts.forwarded++;
    this.#sock.send(data, port, "127.0.0.1");
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#sock.close();
  }
}
