// Copyright 2026 the utpstream authors. MIT license.
/**
 * A µTP connection as web streams.
 *
 * @module
 */
import { ByteStage } from "./byte_stage.ts";
import type { UtpAddr } from "./addr.ts";
import type { ConnectionEvents, Driver } from "./driver.ts";
import { abortedError, errorFromNative, UtpError } from "./errors.ts";

/**
 * One µTP connection: a reliable, ordered byte stream in each direction.
 *
 * @example Echo everything back
 * ```ts
 * import { listen } from "@utp/stream";
 * await using listener = await listen({ port: 0 });
 * for await (const conn of listener) {
 *   conn.readable.pipeTo(conn.writable).catch(() => {});
 * }
 * ```
 */
export interface UtpConnection extends AsyncDisposable {
  /** Bytes from the peer; a byte stream that also supports BYOB readers. Ends when the peer half-closes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. Closing it half-closes the connection (see {@linkcode UtpConnection.closeWrite}). */
  readonly writable: WritableStream<Uint8Array>;
  /** This side's address. */
  readonly localAddr: UtpAddr;
  /** The peer's address. */
  readonly remoteAddr: UtpAddr;
  /**
   * Half-closes: sends FIN after everything written so far. Reading goes on
   * until the peer half-closes too.
   */
  closeWrite(): Promise<void>;
  /** Closes both directions now. Unsent data is still delivered if possible. */
  close(): void;
  /**
   * Settles when the connection is gone: resolves after an orderly close,
   * rejects with a {@linkcode UtpError} when it failed.
   */
  readonly closed: Promise<void>;
  /** libutp's counters for this connection; the last values seen once it is gone. */
  stats(): UtpConnectionStats;
  /** Keeps the process alive while this connection is open (the default). */
  ref(): void;
  /** Lets the process exit even though this connection is open. */
  unref(): void;
}

/**
 * Counters of one connection, from libutp.
 *
 * @example Watch retransmissions
 * ```ts
 * import { connect } from "@utp/stream";
 * await using conn = await connect({ port: 6881 });
 * const { retransmits, delayMicros } = conn.stats();
console.log(`${retransmits} retransmits, ${delayMicros} µs of queueing delay`);
 * ```
 */
export interface UtpConnectionStats {
  /** Payload and header bytes received. */
  bytesReceived: number;
  /** Payload and header bytes sent, retransmissions included. */
  bytesSent: number;
  /** Packets received. */
  packetsReceived: number;
  /** Packets sent. */
  packetsSent: number;
  /** Packets sent again after a timeout. */
  retransmits: number;
  /** Packets sent again after duplicate acknowledgements. */
  fastRetransmits: number;
  /** Packets received more than once. */
  duplicatePackets: number;
  /** The packet size libutp uses (its MTU guess). */
  mtu: number;
  /** Our one-way queuing delay estimate, microseconds (LEDBAT's input). */
  delayMicros: number;
  /** The peer's one-way queuing delay estimate, microseconds. */
  peerDelayMicros: number;
  /** Bytes received that the application has not read yet. */
  unreadBytes: number;
}

/**
 * Largest chunk a default reader gets (see `#handOver`). Smaller chunks slowed
 * a reader of 64 connections until more was staged; larger ones left more
 * read bytes for each of V8's young collections to free (bench/RESULTS.md,
 * rounds 3 and 5).
 */
const DEFAULT_CHUNK_BYTES = 16384;
const DISPOSE_TIMEOUT_MS = 5000;

type State = "connecting" | "open" | "closing" | "destroyed";

/** The implementation of {@linkcode UtpConnection}. */
export class Connection implements UtpConnection, ConnectionEvents {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly localAddr: UtpAddr;
  readonly remoteAddr: UtpAddr;
  readonly closed: Promise<void>;

  #driver: Driver;
  #id = -1;
  #state: State;
  #error: UtpError | undefined;
  #readController!: ReadableByteStreamController;
  #writeController!: WritableStreamDefaultController;
  #readDone = false;
  #eof = false;
  #readCanceled = false;
  #delivered = 0;
  #reported = 0;
  /** What arrived while no read waited (see `onData`). */
  #stage = new ByteStage();
  /** A default reader's read waits (the stream pulled without a BYOB request). */
  #readWaiting = false;
  /** The last read that waited was a BYOB reader's. */
  #byobReads = false;
  /** Inside `#serveStaged`, where fulfilling one read may pull for the next. */
  #serving = false;
  #reporting = false;
  #writeShut = false;
  #resolveClosed!: () => void;
  #rejectClosed!: (error: unknown) => void;
  #connectWaiter: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  #onGone: (() => void) | undefined;
  #lastStats: UtpConnectionStats = {
    bytesReceived: 0,
    bytesSent: 0,
    packetsReceived: 0,
    packetsSent: 0,
    retransmits: 0,
    fastRetransmits: 0,
    duplicatePackets: 0,
    mtu: 0,
    delayMicros: 0,
    peerDelayMicros: 0,
    unreadBytes: 0,
  };

  constructor(driver: Driver, remoteAddr: UtpAddr, state: "connecting" | "open") {
    this.#driver = driver;
    this.#state = state;
    this.localAddr = driver.addr;
    this.remoteAddr = remoteAddr;
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {}); // observed by whoever awaits it
    this.readable = new ReadableStream({
      type: "bytes",
      start: (controller) => {
        this.#readController = controller;
      },
      pull: (controller) => {
        // With no queue (high-water mark 0) the stream pulls only when a read
        // waits: a default reader's, unless a BYOB request says otherwise.
        this.#byobReads = Boolean(controller.byobRequest);
        this.#readWaiting = !this.#byobReads;
        if (!this.#serving) this.#serveStaged();
        this.#reportConsumed();
      },
      cancel: () => {
        this.#readCanceled = true;
        this.#reportAll();
      },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      start: (controller) => {
        this.#writeController = controller;
      },
      write: (chunk) => this.#write(chunk),
      close: () => this.#shutdownWrite(),
      abort: () => this.close(),
    });
  }

  /** Connection id in the native layer. */
  get id(): number {
    return this.#id;
  }

  set id(id: number) {
    this.#id = id;
  }

  /** Called once the connection is gone (for owned endpoints). */
  set onGone(fn: () => void) {
    this.#onGone = fn;
  }

  /** Resolves when the handshake completes; rejects on abort or after `timeoutMs`. */
  established(signal: AbortSignal | undefined, timeoutMs: number): Promise<void> {
    if (this.#state !== "connecting") {
      return this.#error ? Promise.reject(this.#error) : Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#connectWaiter = undefined;
      };
      const onAbort = () => {
        cleanup();
        this.#abortConnect(abortedError("Connection attempt aborted"));
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        cleanup();
        const error = new UtpError(`Connection timed out: no answer within ${timeoutMs} ms`, "ETIMEDOUT");
        this.#abortConnect(error);
        reject(error);
      }, timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#connectWaiter = {
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
    });
  }

  #abortConnect(error: UtpError): void {
    this.#terminate(error, "close");
  }

  get idleTimeout(): number {
    return this.#driver.idleTimeout;
  }

  stats(): UtpConnectionStats {
    if (this.#state !== "destroyed") {
      this.#driver.stats(this.#id, (v) => {
        this.#lastStats = {
          bytesReceived: Number(v.getBigUint64(0, true)),
          bytesSent: Number(v.getBigUint64(8, true)),
          packetsReceived: v.getUint32(16, true),
          packetsSent: v.getUint32(20, true),
          retransmits: v.getUint32(24, true),
          fastRetransmits: v.getUint32(28, true),
          duplicatePackets: v.getUint32(32, true),
          mtu: v.getUint32(36, true),
          delayMicros: v.getUint32(40, true),
          peerDelayMicros: v.getUint32(44, true),
          unreadBytes: v.getUint32(48, true),
        };
      });
    }
    return { ...this.#lastStats };
  }

  ref(): void {
    this.#driver.setHolderRef(this, true);
  }

  unref(): void {
    this.#driver.setHolderRef(this, false);
  }

  onIdleTimeout(): void {
    if (this.#state !== "open" && this.#state !== "connecting") return;
    this.#terminate(
      new UtpError(
        `Connection timed out: no packet from the peer for ${this.#driver.idleTimeout} ms`,
        "ETIMEDOUT",
      ),
      "abort",
    );
  }

  async closeWrite(): Promise<void> {
    if (!this.writable.locked) {
      await this.writable.close();
      return;
    }
    this.#shutdownWrite();
  }

  close(): void {
    this.#terminate(undefined, "close");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DISPOSE_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.closed.catch(() => {}), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- events from the driver

  /** `data` is a view into the driver's event buffer, valid only during the call. */
  onData(data: Uint8Array): void {
    if (this.#readDone || this.#readCanceled) {
      this.#driver.consumed(this.#id, data.byteLength);
      return;
    }
    // A read that waits gets the bytes at once: copied into a BYOB reader's
    // own buffer, or as a new chunk for a default reader. What nobody waits
    // for is staged (pooled blocks, src/byte_stage.ts) until a read asks, so
    // that no chunk exists before a read takes it.
    if (this.#stage.length === 0) {
      const n = this.#handOver(data);
      if (n === data.byteLength) return;
      data = data.subarray(n);
      if (this.#driver.chunksOnArrival && !this.#byobReads) {
        // Bun (see Driver.chunksOnArrival): queued for the reads to come.
        for (let at = 0; at < data.byteLength; at += DEFAULT_CHUNK_BYTES) {
          this.#readController.enqueue(data.slice(at, at + DEFAULT_CHUNK_BYTES));
        }
        this.#delivered += data.byteLength;
        return;
      }
    }
    this.#stage.append(data);
    this.#serveStaged();
  }

  /**
   * Hands bytes to the read that waits, if one does: the start of `data`, or
   * without it the start of the stage. Returns how many bytes it took. A
   * default reader's chunk is made here, when a read takes it: a chunk queued
   * ahead of the reads would live long enough for V8 to move it to its old
   * generation, which is collected only when tens of MiB of such garbage have
   * piled up (Deno's receiver of 64 flows peaked at 85–136 MiB that way,
   * bench/RESULTS.md, round 5).
   */
  #handOver(data?: Uint8Array): number {
    if (this.#readWaiting) {
      this.#readWaiting = false;
      const chunk = data ? data.slice(0, DEFAULT_CHUNK_BYTES) : this.#stage.take(DEFAULT_CHUNK_BYTES);
      // Read the length first: enqueueing transfers (detaches) the chunk's buffer.
      const n = chunk.byteLength;
      this.#delivered += n;
      // Enqueueing fulfils the waiting read; the stream may call `pull` again
      // at once if another read waits.
      this.#readController.enqueue(chunk);
      return n;
    }
    const request = this.#readController.byobRequest;
    // A byte stream's request view is always a Uint8Array.
    const view = request?.view as Uint8Array | null | undefined;
    if (!request || !view || view.byteLength === 0) return 0;
    let n: number;
    if (data) {
      n = Math.min(view.byteLength, data.byteLength);
      view.set(n === data.byteLength ? data : data.subarray(0, n));
    } else {
      n = this.#stage.takeInto(view);
    }
    this.#respond(request, n);
    return n;
  }

  /** Hands staged bytes to reads while reads wait. */
  #serveStaged(): void {
    this.#serving = true;
    try {
      while (this.#stage.length > 0 && !this.#readDone && !this.#readCanceled) {
        if (this.#handOver() === 0) return;
      }
    } finally {
      this.#serving = false;
    }
  }

  #respond(request: ReadableStreamBYOBRequest, n: number): void {
    this.#delivered += n;
    request.respond(n);
  }

  onConnect(): void {
    if (this.#state !== "connecting") return;
    this.#state = "open";
    this.#connectWaiter?.resolve();
    this.#connectWaiter = undefined;
  }

  onEof(): void {
    this.#eof = true;
    this.#finishRead();
    if (this.#writeShut) this.#release();
  }

  onError(code: number): void {
    // libutp keeps a reset socket until it is closed: free it now.
    this.#terminate(errorFromNative(code), "close");
  }

  onDestroyed(): void {
    // Gone without an error: orderly if this side was closing or the peer's
    // FIN had arrived; otherwise libutp dropped it under us.
    const graceful = this.#state === "closing" || this.#readDone;
    if (!graceful) this.#error ??= new UtpError("Connection reset by the peer", "ECONNRESET");
    this.#settle();
  }

  onLinger(): void {
    // Everything we sent is delivered and our FIN acknowledged: for this side
    // the connection is over. The native socket still waits briefly for the
    // peer's FIN (in the background) before it goes away.
    if (this.#state !== "closing" || this.#error) return;
    this.#finishRead();
    this.#resolveClosed();
  }

  onEndpointClosed(): void {
    const open = this.#state !== "closing";
    if (open) this.#error ??= abortedError("Connection closed because its endpoint closed");
    this.#settle(open);
  }

  // ---- the end of life: two transitions

  /**
   * Starts the end: called once by whatever ends the connection first (the
   * application's close, a transport error, the idle timeout, a failed
   * connect). With an error the streams and a pending connect fail with it;
   * without, reading ends and writing is aborted. Then the native socket is
   * closed (FIN handshake) or aborted (reset); `closed` settles when it is
   * gone (see {@linkcode Connection.#settle}) or, for an orderly close, once
   * everything is acknowledged.
   */
  #terminate(error: UtpError | undefined, native: "close" | "abort"): void {
    if (this.#state === "closing" || this.#state === "destroyed") return;
    if (error) {
      this.#error ??= error;
      this.#fail(this.#error);
    } else {
      this.#finishRead();
      this.#failWrite(abortedError());
      this.#connectWaiter?.reject(this.#error ?? abortedError());
      this.#connectWaiter = undefined;
    }
    this.#state = "closing";
    if (native === "abort") this.#driver.abortConnection(this.#id);
    else this.#driver.closeConnection(this.#id);
  }

  /**
   * The native socket (or its whole endpoint) is gone: settle `closed` and
   * release what the connection holds. It rejects with the connection's
   * error, except this side's own `ECONNABORTED` (closing or aborting a
   * connect), which resolves unless `abortedRejects` (the endpoint closed
   * under an open connection).
   */
  #settle(abortedRejects = false): void {
    if (this.#state === "destroyed") return;
    this.#state = "destroyed";
    const error = this.#error;
    if (error && (error.code !== "ECONNABORTED" || abortedRejects)) {
      this.#fail(error);
      this.#rejectClosed(error);
    } else {
      this.#finishRead();
      this.#failWrite(abortedError());
      this.#connectWaiter?.reject(error ?? abortedError());
      this.#resolveClosed();
    }
    this.#connectWaiter = undefined;
    this.#onGone?.();
  }

  // ---- reading

  #reportConsumed(): void {
    if (this.#reporting || this.#state === "destroyed") return;
    const desired = this.#readController.desiredSize;
    const queued = desired === null ? 0 : Math.max(0, -desired);
    const consumed = this.#delivered - queued;
    const delta = consumed - this.#reported;
    if (delta <= 0) return;
    this.#reported += delta;
    this.#reporting = true;
    try {
      this.#driver.consumed(this.#id, delta);
    } finally {
      this.#reporting = false;
    }
  }

  #reportAll(): void {
    this.#delivered += this.#stage.length; // canceled: never read, but consumed
    this.#stage.clear();
    const delta = this.#delivered - this.#reported;
    this.#reported = this.#delivered;
    if (delta > 0 && this.#state !== "destroyed") this.#driver.consumed(this.#id, delta);
  }

  #finishRead(): void {
    if (this.#readDone) return;
    this.#readDone = true;
    if (this.#readCanceled) return;
    try {
      // Bytes before the end: queued ahead of the close, in chunks of the
      // size a default reader gets (a BYOB read takes what fits).
      while (this.#stage.length > 0) {
        const chunk = this.#stage.take(DEFAULT_CHUNK_BYTES);
        this.#delivered += chunk.byteLength;
        this.#readController.enqueue(chunk);
      }
      this.#readController.close();
      this.#readController.byobRequest?.respond(0);
    } catch {
      // already closed or errored
    }
  }

  #fail(error: UtpError): void {
    if (!this.#readDone && !this.#readCanceled) {
      this.#readDone = true;
      this.#stage.clear();
      try {
        this.#readController.error(error);
      } catch {
        // already closed
      }
    }
    this.#failWrite(error);
    this.#connectWaiter?.reject(error);
    this.#connectWaiter = undefined;
  }

  #failWrite(error: UtpError): void {
    if (this.#writeShut && error.code === "ECONNABORTED") return;
    try {
      this.#writeController.error(error);
    } catch {
      // already errored
    }
  }

  // ---- writing

  /**
   * The sink's write. A chunk the send buffer takes whole, the usual case,
   * completes without a promise of its own (the stream resolves the write);
   * the rest waits for room in `#writeRest`. Failures are rejections, as the
   * stream expects of its sink.
   */
  #write(chunk: Uint8Array): Promise<void> | undefined {
    if (!(chunk instanceof Uint8Array)) {
      return Promise.reject(new TypeError("Cannot write to a µTP connection: chunk must be a Uint8Array"));
    }
    const n = this.#writeSome(chunk);
    if (n < 0) return Promise.reject(this.#error ?? abortedError());
    return n === chunk.byteLength ? undefined : this.#writeRest(chunk, n);
  }

  /** Waits for room and writes until `chunk` is written from `offset` on. */
  async #writeRest(chunk: Uint8Array, offset: number): Promise<void> {
    while (offset < chunk.byteLength) {
      await this.#driver.waitWritable(this.#id);
      const n = this.#writeSome(chunk.subarray(offset));
      if (n < 0) throw this.#error ?? abortedError();
      offset += n;
    }
  }

  /** Hands what the send buffer takes of `data` to libutp; how much, or -1 once the connection cannot write. */
  #writeSome(data: Uint8Array): number {
    if (this.#error || this.#state !== "open") return -1;
    return this.#driver.write(this.#id, data);
  }

  #shutdownWrite(): void {
    if (this.#writeShut) return;
    this.#writeShut = true;
    if (this.#state !== "open") return;
    this.#driver.shutdownWrite(this.#id);
    if (this.#eof) this.#release();
  }

  /** Both directions have ended: free the native socket once our FIN is acknowledged. */
  #release(): void {
    if (this.#state === "open") this.#terminate(undefined, "close");
  }
}
