// Copyright 2026 the utpstream authors. MIT license.
/**
 * The runtime-neutral view of the native library: the functions of the
 * symbol table (`symbols.ts`) with JavaScript types, and the constants of the
 * shim's wire format (`native/utps.h`; `tests/wire_format_test.ts` checks
 * every one of them against the header).
 *
 * @module
 */
import type { NativeType, SymbolName, symbols } from "./symbols.ts";

/** An opaque handle to a native `utps_ctx` (a pointer in the runtime's own representation). */
export type ContextHandle = { readonly __brand: "utps_ctx" };

/** A C function pointer made by a runtime (see {@linkcode WakeCallback}). */
export type CallbackHandle = { readonly __brand: "callback" };

/** The JavaScript type of a native parameter or result. */
type JsType<T extends NativeType> = T extends "pointer" ? ContextHandle
  : T extends "function" ? CallbackHandle
  : T extends "buffer" ? Uint8Array
  : T extends "void" ? void
  : number;

type JsParameters<P extends readonly NativeType[]> = { -readonly [K in keyof P]: JsType<P[K]> };

type JsFunction<S extends { parameters: readonly NativeType[]; result: NativeType }> = (
  ...args: JsParameters<S["parameters"]>
) => S["result"] extends "pointer" ? ContextHandle | null : JsType<S["result"]>;

/** The native functions, typed from the symbol table: one method per C function, same name, same arguments. */
export type NativeFunctions = { readonly [K in SymbolName]: JsFunction<(typeof symbols)[K]> };

/** A runtime's thread-safe callback `void (int32_t token)`, which native threads may call. */
export interface WakeCallback {
  /** The function pointer, for `utps_wake_start`. */
  readonly pointer: CallbackHandle;
}

/** The loaded native library. */
export interface NativeApi extends NativeFunctions {
  /** Path of the loaded library. */
  readonly path: string;
  /**
   * Makes a thread-safe callback that never keeps the process alive; absent
   * where the runtime has none (Node). Made once per process and never freed.
   */
  readonly makeWakeCallback?: (fn: (token: number) => void) => WakeCallback;
}

/** Whether a pointer result is NULL, in any runtime's representation (null, 0, 0n). */
export function isNull(pointer: unknown): boolean {
  return pointer === null || pointer === undefined || pointer === 0 || pointer === 0n;
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
  TIME_WAIT: 11,
} as const;

/** Error codes of ERROR records (`UTPS_ERR_*`, libutp's `UTP_E*`). */
export const NativeError = {
  CONNREFUSED: 0,
  CONNRESET: 1,
  TIMEDOUT: 2,
} as const;

/** Size of an event record header (`UTPS_HEADER_SIZE`). */
export const EVENT_HEADER_SIZE = 12;
/** Bytes of waiting events at which `utps_drain` stops early (`UTPS_DRAIN_EVENT_BUDGET`). */
export const DRAIN_EVENT_BUDGET = 128 * 1024;
/** Size of an outgoing datagram record header (`UTPS_DATAGRAM_HEADER_SIZE`). */
export const DATAGRAM_HEADER_SIZE = 24;
/** Address bytes at the start of ACCEPT, DATAGRAM and INCOMING payloads. */
export const ADDRESS_SIZE = 16;

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
  SEGMENTATION: 11,
  RECEIVE_OFFLOAD: 12,
} as const;

/** What `utps_connect` returns when the context holds its most sockets (`UTPS_CONNECT_LIMIT`). */
export const CONNECT_LIMIT = -2;

/** Size of the statistics record written by `utps_stats` (`UTPS_STATS_SIZE`). */
export const STATS_SIZE = 56;

/** Byte offsets in the statistics record (little-endian; see `utps.h`). */
export const StatsOffset = {
  BYTES_RECEIVED: 0, // u64
  BYTES_SENT: 8, // u64
  PACKETS_RECEIVED: 16, // u32
  PACKETS_SENT: 20,
  RETRANSMITS: 24,
  FAST_RETRANSMITS: 28,
  DUPLICATES: 32,
  MTU: 36,
  OUR_DELAY: 40,
  PEER_DELAY: 44,
  UNREAD: 48,
} as const;

/** Size of the counters record written by `utps_counters` (`UTPS_COUNTERS_SIZE`). */
export const COUNTERS_SIZE = 64;

/** Byte offsets of the u64 counters in the counters record (see `utps.h`). */
export const CounterOffset = {
  RX_DATAGRAMS: 0,
  TX_DATAGRAMS: 8,
  TX_DROPPED: 16,
  RX_FOREIGN: 24,
  RX_TRUNCATED: 32,
  SYSCALLS: 40,
  TX_SEGMENTED: 48,
  RX_COALESCED: 56,
} as const;

/** Defaults of the shim's limits (`UTPS_DEFAULT_*`). */
export const Defaults = {
  BACKLOG: 1024,
  MAX_SOCKETS: 65536,
} as const;
