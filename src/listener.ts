// Copyright 2026 the utpstream authors. MIT license.
/**
 * Accepting incoming µTP connections.
 *
 * @module
 */
import type { UtpAddr } from "./addr.ts";
import { checkOptions, checkSignal } from "./addr.ts";
import { Connection, type UtpConnection } from "./connection.ts";
import type { Driver } from "./driver.ts";
import type { AcceptSink } from "./incoming.ts";
import { abortedError } from "./errors.ts";
import type { IpAddress } from "./addr.ts";

/**
 * Decides whether a connection attempt from `remote` may proceed. Runs before
 * anything is acknowledged; returning `false` (or throwing) ignores the SYN
 * silently, so the listener stays invisible to that peer.
 */
export type UtpFirewall = (remote: UtpAddr) => boolean | Promise<boolean>;

/** Admission control of a listener. */
export interface UtpAdmissionOptions {
  /**
   * Decides per incoming connection, by remote address, before anything is
   * acknowledged. Asynchronous decisions are fine: the peer retransmits its SYN.
   */
  firewall?: UtpFirewall;
  /**
   * Most connections accepted by this listener open at once (from the SYN
   * until the application closes them); further SYNs are refused with a reset,
   * so the dialer's `connect()` fails with `ECONNREFUSED` in one round trip.
   */
  maxConnections?: number;
}

/** Options of {@linkcode UtpListener.accept}. */
export interface UtpAcceptOptions {
  /** Stops waiting; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Incoming connections on one endpoint. Iterate it with `for await`; the
 * iteration ends when the listener closes.
 *
 * @example Serve every connection
 * ```ts
 * import { listen } from "@utp/stream";
 * await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * for await (const conn of listener) {
 *   const writer = conn.writable.getWriter();
 *   await writer.write(new TextEncoder().encode("hello\n"));
 *   await writer.close();
 * }
 * ```
 */
export interface UtpListener extends AsyncIterable<UtpConnection>, AsyncDisposable {
  /** The local address connections arrive at. */
  readonly addr: UtpAddr;
  /** Waits for the next connection. Rejects with a `UtpError` (`ECONNABORTED`) once the listener is closed. */
  accept(options?: UtpAcceptOptions): Promise<UtpConnection>;
  /**
   * Stops accepting. Pending `accept()` calls reject; accepted connections stay open.
   * `await using` (or `await listener[Symbol.asyncDispose]()`) also waits, when the
   * listener came from `listen()` and its endpoint closed with it, until the port is free.
   */
  close(): void;
  /** Yields connections until the listener closes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<UtpConnection>;
  /** Keeps the process alive while the listener is open (the default). */
  ref(): void;
  /** Lets the process exit even though the listener is open. */
  unref(): void;
}

/**
 * Connections established but not yet taken with `accept()`, as a multiple
 * of the endpoint's backlog: while this many wait, new SYNs are refused with
 * a reset. Handshakes already under way (at most `backlog`) still join the
 * queue, so a burst of them never fills it while the application keeps up.
 */
const QUEUE_PER_BACKLOG = 2;

type Waiter = { resolve: (c: UtpConnection) => void; reject: (e: unknown) => void };

/** The implementation of {@linkcode UtpListener}. */
export class Listener implements UtpListener, AcceptSink {
  readonly addr: UtpAddr;
  #driver: Driver;
  #queue: Connection[] = [];
  #waiters: Waiter[] = [];
  #closed = false;
  #onClose: (() => void) | undefined;
  #firewall: UtpFirewall | undefined;
  #refusing = false;
  #queueLimit: number;
  #deciding = new Set<string>();
  readonly screensIncoming: boolean;

  constructor(driver: Driver, admission: UtpAdmissionOptions = {}, onClose?: () => void) {
    this.#driver = driver;
    this.addr = driver.addr;
    this.#onClose = onClose;
    this.#firewall = admission.firewall;
    this.screensIncoming = this.#firewall !== undefined;
    this.#queueLimit = QUEUE_PER_BACKLOG * driver.backlog;
    driver.setAcceptor(this);
    driver.setInboundLimit(admission.maxConnections ?? 0);
    driver.hold(this);
  }

  onIncoming(remote: UtpAddr, address: IpAddress, syn: Uint8Array): void {
    if (this.#closed) return;
    const key = `${remote.hostname}|${remote.port}`;
    if (this.#deciding.has(key)) return; // a retransmitted SYN while we decide
    const firewall = this.#firewall;
    if (!firewall) {
      this.#driver.admit(address, remote.port, syn);
      return;
    }
    this.#deciding.add(key);
    // Never run application code inside the driver's event dispatch.
    queueMicrotask(() => this.#decide(firewall, key, remote, address, syn));
  }

  #decide(firewall: UtpFirewall, key: string, remote: UtpAddr, address: IpAddress, syn: Uint8Array): void {
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = firewall({ ...remote });
    } catch {
      this.#deciding.delete(key);
      return;
    }
    const decide = (ok: unknown) => {
      this.#deciding.delete(key);
      if (ok === true && !this.#closed) {
        this.#driver.admit(address, remote.port, syn);
      }
    };
    if (typeof verdict === "boolean") decide(verdict);
    else Promise.resolve(verdict).then(decide, () => this.#deciding.delete(key));
  }

  onAccept(id: number, remote: UtpAddr): boolean {
    if (this.#closed) return false;
    // Limits were applied to the SYN (the native layer refuses with a reset).
    const conn = new Connection(this.#driver, remote, "open");
    conn.id = id;
    this.#driver.adopt(id, conn);
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(conn);
    else {
      this.#queue.push(conn);
      this.#updateRefusing();
    }
    return true;
  }

  /** Refuses new SYNs while the accept queue is full. */
  #updateRefusing(): void {
    const full = !this.#closed && this.#queue.length >= this.#queueLimit;
    if (full === this.#refusing) return;
    this.#refusing = full;
    this.#driver.setRefusing(full);
  }

  onEndpointClosed(): void {
    this.#shut();
  }

  accept(options?: UtpAcceptOptions): Promise<UtpConnection> {
    const opts = checkOptions<UtpAcceptOptions>(options, "accept a connection");
    const signal = checkSignal(opts.signal, "accept a connection");
    if (signal?.aborted) return Promise.reject(signal.reason);
    const queued = this.#queue.shift();
    if (queued) {
      this.#updateRefusing();
      return Promise.resolve(queued);
    }
    if (this.#closed) return Promise.reject(abortedError("Listener closed"));
    return new Promise<UtpConnection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (c) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(c);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#shut();
    if (this.#driver.acceptor === this) this.#driver.setAcceptor(undefined);
    this.#onClose?.();
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#driver.release(this);
    for (const conn of this.#queue.splice(0)) conn.close();
    const error = abortedError("Listener closed");
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<UtpConnection> {
    while (true) {
      let conn: UtpConnection;
      try {
        conn = await this.accept();
      } catch (error) {
        if (this.#closed) return;
        throw error;
      }
      yield conn;
    }
  }

  ref(): void {
    this.#driver.setHolderRef(this, true);
  }

  unref(): void {
    this.#driver.setHolderRef(this, false);
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    // An endpoint of the listener's own that closed with it: settle once its port is free.
    return this.#driver.closed ? this.#driver.released : Promise.resolve();
  }
}
