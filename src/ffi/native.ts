// Copyright 2026 the utpstream authors. MIT license.
/**
 * The runtime-neutral view of the native library. Each runtime backend
 * (`deno.ts`, `bun.ts`) turns the symbol table into this interface; all
 * protocol code above it is shared.
 *
 * @module
 */

/** An opaque handle to a native `utps_ctx`. */
export type ContextHandle = unknown;

/** The native calls, one method per symbol of `native/utps.h`. */
export interface NativeApi {
  /** Path of the loaded library. */
  readonly path: string;
  create(): ContextHandle | null;
  destroy(ctx: ContextHandle): void;
  setOption(ctx: ContextHandle, opt: number, value: number): number;
  getOption(ctx: ContextHandle, opt: number): number;
  findUdpFd(family: number, port: number): number;
  setSocketBuffers(fd: number, bytes: number): number;
  getSocketBuffer(fd: number, which: number): number;
  attachFd(ctx: ContextHandle, fd: number): number;
  input(
    ctx: ContextHandle,
    buf: Uint8Array,
    len: number,
    family: number,
    addr: Uint8Array,
    port: number,
  ): number;
  drain(ctx: ContextHandle, max: number): number;
  endBatch(ctx: ContextHandle): void;
  tick(ctx: ContextHandle): void;
  connect(ctx: ContextHandle, family: number, addr: Uint8Array, port: number): number;
  write(ctx: ContextHandle, id: number, buf: Uint8Array, len: number): number;
  consumed(ctx: ContextHandle, id: number, bytes: number): number;
  shutdownWrite(ctx: ContextHandle, id: number): number;
  close(ctx: ContextHandle, id: number): number;
  abort(ctx: ContextHandle, id: number): number;
  stats(ctx: ContextHandle, id: number, out: Uint8Array): number;
  allowOnce(ctx: ContextHandle, family: number, addr: Uint8Array, port: number): number;
  takeEvents(ctx: ContextHandle, out: Uint8Array): number;
  takeDatagrams(ctx: ContextHandle, out: Uint8Array): number;
  sendDatagram(
    ctx: ContextHandle,
    buf: Uint8Array,
    len: number,
    family: number,
    addr: Uint8Array,
    port: number,
    hops: number,
  ): number;
  liveSockets(ctx: ContextHandle): number;
  liveSocketsTotal(): number;
  liveContexts(): number;
  counters(ctx: ContextHandle, out: Uint8Array): number;
}

/** Event types written by the shim (`UTPS_EV_*`). */
export const Event = {
  READ: 1,
  CONNECT: 2,
  WRITABLE: 3,
  EOF: 4,
  DESTROYED: 5,
  ERROR: 6,
  ACCEPT: 7,
  DATAGRAM: 8,
  INCOMING: 9,
  LINGER: 10,
} as const;

/** Size of the statistics record written by `utps_stats`. */
export const STATS_SIZE = 56;

/** Size of an event record header. */
export const EVENT_HEADER_SIZE = 12;
/** Size of an outgoing datagram record header. */
export const DATAGRAM_HEADER_SIZE = 24;

/** Shim option ids (`UTPS_OPT_*`). */
export const Option = {
  SNDBUF: 1,
  RCVBUF: 2,
  TARGET_DELAY: 3,
  ACCEPT: 4,
  BACKLOG: 5,
  FIREWALL: 6,
  MTU: 7,
  MAX_SOCKETS: 8,
  MAX_INBOUND: 9,
  REFUSE: 10,
} as const;

/** What `utps_connect` returns when the context holds its most sockets (`UTPS_CONNECT_LIMIT`). */
export const CONNECT_LIMIT = -2;
