// Copyright 2026 the utpstream authors. MIT license.
/**
 * The one table of native symbols: every function of the C shim
 * (`native/utps.h`) that JavaScript calls, in Deno's FFI notation. The Bun
 * backend translates this same table, so the two runtimes cannot drift.
 *
 * @module
 */

/** The symbols of `libutpstream`, keyed by C name. */
export const symbols = {
  utps_create: { parameters: [], result: "pointer" }, // utps_ctx *(void)
  utps_destroy: { parameters: ["pointer"], result: "void" }, // (utps_ctx *)
  utps_set_option: { parameters: ["pointer", "i32", "i32"], result: "i32" }, // (ctx, opt, value)
  utps_get_option: { parameters: ["pointer", "i32"], result: "i32" }, // (ctx, opt)
  utps_find_udp_fd: { parameters: ["i32", "i32"], result: "i32" }, // (family, port) -> fd
  utps_set_socket_buffers: { parameters: ["i32", "i32"], result: "i32" }, // (fd, bytes)
  utps_get_socket_buffer: { parameters: ["i32", "i32"], result: "i32" }, // (fd, 0 rcv | 1 snd)
  utps_attach_fd: { parameters: ["pointer", "i32"], result: "i32" }, // (ctx, fd)
  utps_input: {
    // (ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port)
    parameters: ["pointer", "buffer", "i32", "i32", "buffer", "i32"],
    result: "i32",
  },
  utps_drain: { parameters: ["pointer", "i32"], result: "i32" }, // (ctx, max datagrams)
  utps_end_batch: { parameters: ["pointer"], result: "void" }, // (ctx)
  utps_tick: { parameters: ["pointer"], result: "void" }, // (ctx)
  utps_connect: { parameters: ["pointer", "i32", "buffer", "i32"], result: "i32" }, // (ctx, family, addr, port) -> id
  utps_write: { parameters: ["pointer", "u32", "buffer", "i32"], result: "i32" }, // (ctx, id, buf, len) -> accepted
  utps_consumed: { parameters: ["pointer", "u32", "i32"], result: "i32" }, // (ctx, id, bytes)
  utps_shutdown_write: { parameters: ["pointer", "u32"], result: "i32" }, // (ctx, id)
  utps_close: { parameters: ["pointer", "u32"], result: "i32" }, // (ctx, id)
  utps_abort: { parameters: ["pointer", "u32"], result: "i32" }, // (ctx, id): reset, no FIN
  utps_stats: { parameters: ["pointer", "u32", "buffer", "i32"], result: "i32" }, // (ctx, id, out, cap)
  utps_allow_once: { parameters: ["pointer", "i32", "buffer", "i32"], result: "i32" }, // (ctx, family, addr, port)
  utps_take_events: { parameters: ["pointer", "buffer", "i32"], result: "i32" }, // (ctx, out, cap) -> bytes
  utps_take_datagrams: { parameters: ["pointer", "buffer", "i32"], result: "i32" }, // (ctx, out, cap) -> bytes
  utps_send_datagram: {
    // (ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port, int hops) -> 0, -1, -2 (hops unsupported)
    parameters: ["pointer", "buffer", "i32", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  utps_live_sockets: { parameters: ["pointer"], result: "i32" }, // (ctx)
  utps_live_sockets_total: { parameters: [], result: "i32" }, // (void)
  utps_live_contexts: { parameters: [], result: "i32" }, // (void)
  utps_counters: { parameters: ["pointer", "buffer", "i32"], result: "i32" }, // (ctx, out, cap)
} as const satisfies Deno.ForeignLibraryInterface;

/** Names of the native functions. */
export type SymbolName = keyof typeof symbols;
