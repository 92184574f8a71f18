// Copyright 2026 the utpstream authors. MIT license.
/**
 * The runtime-neutral UDP socket that an endpoint drives. Each runtime
 * backend implements it over its own UDP API.
 *
 * @module
 */

/** Receives each datagram; `data` is only valid during the call. */
export type DatagramHandler = (data: Uint8Array, hostname: string, port: number) => void;

/** Called once after each batch of datagrams delivered by a batching socket. */
export type BatchEndHandler = () => void;

/** A bound UDP socket. */
export interface DatagramSocket {
  /** Local address the socket is bound to. */
  readonly hostname: string;
  /** Local port the socket is bound to. */
  readonly port: number;
  /**
   * True if the runtime reads datagrams from the kernel in batches and then
   * delivers them one by one: the driver must not read the socket itself
   * during a delivery (that would reorder datagrams) and finishes its batch
   * work in `onBatchEnd`, which the socket calls once after each batch.
   */
  readonly deliversBatches?: boolean;
  /** Starts delivering datagrams to `handler` until the socket closes. */
  start(handler: DatagramHandler, onError: (error: unknown) => void, onBatchEnd?: BatchEndHandler): void;
  /** Sends one datagram; resolves when the runtime has taken it. */
  send(data: Uint8Array, hostname: string, port: number): Promise<void>;
  /** Lets the process exit while the socket is open (`false`), or not. */
  setRef(ref: boolean): void;
  /** Whether `setRef(false)` works; false where the runtime has no unref (Deno). */
  readonly canUnref: boolean;
  /**
   * Optional: stop receiving for good and give up the runtime's handle while
   * the native layer keeps the socket (it holds its own descriptor). Used
   * where the runtime cannot unref its socket, and when the native layer
   * receives on its own thread (`udpIo: "bulk"`). Returns false if not
   * supported.
   */
  detach?(): boolean;
  /**
   * Closes the socket; no handler call happens afterwards. Resolves once the
   * runtime has let go of the port (Deno does when its pending receive has
   * settled, a moment after the close); a repeated call gets the same promise.
   */
  close(): Promise<void>;
}

/** Binds a UDP socket. */
export type BindDatagramSocket = (hostname: string, port: number) => Promise<DatagramSocket>;
