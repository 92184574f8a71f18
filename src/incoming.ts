// Copyright 2026 the utpstream authors. MIT license.
/**
 * Where incoming connections go: the listener, or a peer that `punch()`
 * expects (simultaneous open without a listener), and which SYNs wait for a
 * firewall decision. Keeps the native layer's accept and firewall options in
 * step with that.
 *
 * @module
 */
import type { IpAddress, UtpAddr } from "./addr.ts";

/** What a listener provides to the router. */
export interface AcceptSink {
  /** Offers a new connection whose handshake is confirmed; returns false to refuse it. */
  onAccept(id: number, remote: UtpAddr): boolean;
  /** Firewall mode: a SYN is waiting for a decision (`address` and `syn` are the router's copies). */
  onIncoming?(remote: UtpAddr, address: IpAddress, syn: Uint8Array): void;
  /** Whether SYNs must wait for `onIncoming` decisions. */
  readonly screensIncoming: boolean;
  /** The endpoint closed. */
  onEndpointClosed(): void;
}

/** The native operations the router needs. */
export interface IncomingControls {
  /** Sets whether SYNs are accepted at all and whether each waits for a decision. */
  configure(accepting: boolean, screening: boolean): void;
  /** Lets the held SYN from `address`:`port` through. */
  admit(address: IpAddress, port: number, syn: Uint8Array): void;
  /** Closes an accepted connection nobody wants. */
  refuse(id: number): void;
}

const keyOf = (remote: UtpAddr) => `${remote.hostname}|${remote.port}`;

/**
 * Routes accepted connections and held SYNs.
 *
 * @example Route a punched connection
 * ```ts
 * import { IncomingRouter } from "./incoming.ts";
 * const router = new IncomingRouter({
 *   configure: (accepting, screening) => console.log({ accepting, screening }),
 *   admit: () => {},
 *   refuse: (id) => console.log("refused", id),
 * });
 * const peer = { transport: "utp", hostname: "10.0.0.2", port: 6881 } as const;
 * const cancel = router.expect(peer, (id) => console.log("punched", id));
 * router.accepted(7, peer); // punched 7
 * router.accepted(8, peer); // refused 8: no listener, nothing expected any more
 * cancel();
 * ```
 */
export class IncomingRouter {
  #controls: IncomingControls;
  #acceptor: AcceptSink | undefined;
  #expected = new Map<string, (id: number) => void>();

  constructor(controls: IncomingControls) {
    this.#controls = controls;
  }

  /** The listener, if any. */
  get acceptor(): AcceptSink | undefined {
    return this.#acceptor;
  }

  /** Whether a punch expects a peer's SYN. */
  get expecting(): boolean {
    return this.#expected.size > 0;
  }

  /** Sets or removes the listener. */
  setAcceptor(acceptor: AcceptSink | undefined): void {
    this.#acceptor = acceptor;
    this.#configure();
  }

  /**
   * Routes the next incoming connection from `remote` to `onAccept`, even
   * without a listener. Returns a function that cancels.
   */
  expect(remote: UtpAddr, onAccept: (id: number) => void): () => void {
    const key = keyOf(remote);
    this.#expected.set(key, onAccept);
    this.#configure();
    return () => {
      if (this.#expected.get(key) !== onAccept) return;
      this.#expected.delete(key);
      this.#configure();
    };
  }

  /** A connection's handshake was confirmed. */
  accepted(id: number, remote: UtpAddr): void {
    const key = keyOf(remote);
    const expected = this.#expected.get(key);
    if (expected) {
      this.#expected.delete(key);
      this.#configure();
      expected(id);
      return;
    }
    if (!this.#acceptor?.onAccept(id, remote)) this.#controls.refuse(id);
  }

  /** Firewall mode: a SYN waits for a decision. The views are copied here. */
  incoming(remote: UtpAddr, address: IpAddress, syn: Uint8Array): void {
    const own: IpAddress = { family: address.family, bytes: address.bytes.slice(), text: address.text };
    const held = syn.slice();
    if (this.#expected.has(keyOf(remote))) this.#controls.admit(own, remote.port, held);
    else this.#acceptor?.onIncoming?.(remote, own, held);
  }

  /** The endpoint closed: tells the listener and forgets everything. */
  close(): void {
    const acceptor = this.#acceptor;
    this.#acceptor = undefined;
    this.#expected.clear();
    acceptor?.onEndpointClosed();
  }

  #configure(): void {
    const acceptor = this.#acceptor;
    const expecting = this.#expected.size > 0;
    // Without a listener, only expected peers get in: screen every SYN.
    this.#controls.configure(
      acceptor !== undefined || expecting,
      acceptor ? acceptor.screensIncoming : expecting,
    );
  }
}
