// Copyright 2026 the utpstream authors. MIT license.
/**
 * The one table of native symbols: every function of the C shim
 * (`native/utps.h`) that JavaScript calls, with its C signature beside it.
 * Each runtime's adapter (`deno.ts`, `bun.ts`) opens the library with this
 * table translated to its FFI's notation and exposes the functions as they
 * are, so {@linkcode NativeApi} (derived from the table below) is the C API
 * itself: arguments in C order, lengths passed explicitly.
 * `tests/wire_format_test.ts` checks this table against the prototypes in
 * `utps.h`.
 *
 * @module
 */

/** The argument and result types the shim uses. */
/** `function` is a C function pointer: a runtime's thread-safe callback. */
export type NativeType = "pointer" | "buffer" | "function" | "i32" | "u32" | "void";

/** One native function: its parameter types and its result type. */
export interface NativeSymbol {
  /** C parameter types, in order. `buffer` is a `uint8_t *` filled or read from a `Uint8Array`. */
  readonly parameters: readonly NativeType[];
  /** C result type. */
  readonly result: NativeType;
}

/** The symbols of `libutpstream`, keyed by C name. */
export const symbols = {
  utps_create: { parameters: [], result: "pointer" }, // utps_ctx *utps_create(void)
  utps_destroy: { parameters: ["pointer"], result: "void" }, // void utps_destroy(utps_ctx *ctx)
  utps_set_option: { parameters: ["pointer", "i32", "i32"], result: "i32" }, // int (ctx, int opt, int value)
  utps_get_option: { parameters: ["pointer", "i32"], result: "i32" }, // int (ctx, int opt)
  utps_find_udp_fd: { parameters: ["i32", "buffer", "i32"], result: "i32" }, // int (family, addr, int port) -> fd or -1
  utps_set_socket_buffers: { parameters: ["i32", "i32"], result: "i32" }, // int (int fd, int bytes) -> rcvbuf
  utps_attach_fd: { parameters: ["pointer", "i32"], result: "i32" }, // int (ctx, int fd)
  // int (ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port)
  utps_input: { parameters: ["pointer", "buffer", "i32", "i32", "buffer", "i32"], result: "i32" },
  utps_drain: { parameters: ["pointer", "i32"], result: "i32" }, // int (ctx, int max_datagrams)
  utps_busy_poll: { parameters: ["pointer", "i32", "i32"], result: "i32" }, // int (ctx, int max_us, int max)
  utps_end_batch: { parameters: ["pointer"], result: "void" }, // void (ctx)
  utps_end_batch_holding_acks: { parameters: ["pointer"], result: "void" }, // void (ctx)
  utps_tick: { parameters: ["pointer"], result: "void" }, // void (ctx)
  utps_wake_start: { parameters: ["pointer", "function", "i32"], result: "i32" }, // int (ctx, utps_wake_fn fn, int token)
  utps_wake_arm: { parameters: ["pointer"], result: "void" }, // void (ctx)
  utps_wake_stop: { parameters: ["pointer"], result: "void" }, // void (ctx)
  utps_connect: { parameters: ["pointer", "i32", "buffer", "i32"], result: "i32" }, // int32_t (ctx, family, addr, port)
  utps_write: { parameters: ["pointer", "u32", "buffer", "i32"], result: "i32" }, // int (ctx, uint32_t id, buf, len)
  utps_consumed: { parameters: ["pointer", "u32", "i32"], result: "i32" }, // int (ctx, uint32_t id, int bytes)
  utps_shutdown_write: { parameters: ["pointer", "u32"], result: "i32" }, // int (ctx, uint32_t id)
  utps_close: { parameters: ["pointer", "u32"], result: "i32" }, // int (ctx, uint32_t id)
  utps_abort: { parameters: ["pointer", "u32"], result: "i32" }, // int (ctx, uint32_t id)
  utps_stats: { parameters: ["pointer", "u32", "buffer", "i32"], result: "i32" }, // int (ctx, id, uint8_t *out, int cap)
  utps_allow_once: { parameters: ["pointer", "i32", "buffer", "i32"], result: "i32" }, // int (ctx, family, addr, port)
  utps_take_events: { parameters: ["pointer", "buffer", "i32"], result: "i32" }, // int (ctx, uint8_t *out, int cap)
  utps_take_datagrams: { parameters: ["pointer", "buffer", "i32"], result: "i32" }, // int (ctx, uint8_t *out, int cap)
  // int (ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port, int hops)
  utps_send_datagram: {
    parameters: ["pointer", "buffer", "i32", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  utps_live_sockets: { parameters: ["pointer"], result: "i32" }, // int (ctx)
  utps_live_sockets_total: { parameters: [], result: "i32" }, // int (void)
  utps_live_contexts: { parameters: [], result: "i32" }, // int (void)
  utps_counters: { parameters: ["pointer", "buffer", "i32"], result: "i32" }, // int (ctx, uint8_t *out, int cap)
} as const satisfies Record<string, NativeSymbol>;

/** Names of the native functions. */
export type SymbolName = keyof typeof symbols;

/**
 * Translates the table into another FFI's notation (Bun's, Node's): every
 * type through `types`, every symbol through `shape`.
 *
 * @param types The other notation's name for each type.
 * @param shape Builds one symbol from its translated parameter and result types.
 * @returns The table, keyed by C name, in the other notation.
 *
 * @example
 * ```ts
 * import { translateSymbols } from "./symbols.ts";
 * const types = { pointer: "ptr", buffer: "ptr", function: "fn", i32: "i32", u32: "u32", void: "void" } as const;
 * const table = translateSymbols(types, (args, returns) => ({ args, returns }));
 * console.log(table.utps_create); // { args: [], returns: "ptr" }
 * ```
 */
export function translateSymbols<T, S>(
  types: Readonly<Record<NativeType, T>>,
  shape: (parameters: T[], result: T) => S,
): Record<SymbolName, S> {
  const out = {} as Record<SymbolName, S>;
  for (const name of Object.keys(symbols) as SymbolName[]) {
    const def: NativeSymbol = symbols[name];
    out[name] = shape(def.parameters.map((type) => types[type]), types[def.result]);
  }
  return out;
}
