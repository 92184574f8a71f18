// Copyright 2026 the utpstream authors. MIT license.
/**
 * The Deno backend of the native library: `Deno.dlopen` over the shared
 * symbol table.
 *
 * @module
 */
import { symbols } from "./symbols.ts";
import type { ContextHandle, NativeApi } from "./native.ts";
import { loadLibraryPath } from "./loader.ts";

type Ptr = Deno.PointerValue;

/**
 * Opens the native library with Deno's FFI. Asynchronous because a module
 * loaded from JSR fetches (once), verifies and caches its binary first.
 */
export async function openDenoLibrary(): Promise<NativeApi> {
  const path = await loadLibraryPath();
  let lib: Deno.DynamicLibrary<typeof symbols>;
  try {
    lib = Deno.dlopen(path, symbols);
  } catch (cause) {
    if (cause instanceof Deno.errors.PermissionDenied) throw cause;
    throw new Error(
      `Cannot load the native library "${path}": build it with "deno task build" or set UTP_LIBRARY`,
      { cause },
    );
  }
  const s = lib.symbols;
  const c = (ctx: ContextHandle) => ctx as Ptr;
  return {
    path,
    create: () => s.utps_create(),
    destroy: (ctx) => s.utps_destroy(c(ctx)),
    setOption: (ctx, opt, value) => s.utps_set_option(c(ctx), opt, value),
    getOption: (ctx, opt) => s.utps_get_option(c(ctx), opt),
    findUdpFd: (family, port) => s.utps_find_udp_fd(family, port),
    setSocketBuffers: (fd, bytes) => s.utps_set_socket_buffers(fd, bytes),
    getSocketBuffer: (fd, which) => s.utps_get_socket_buffer(fd, which),
    attachFd: (ctx, fd) => s.utps_attach_fd(c(ctx), fd),
    input: (ctx, buf, len, family, addr, port) =>
      s.utps_input(
        c(ctx),
        buf as Uint8Array<ArrayBuffer>,
        len,
        family,
        addr as Uint8Array<ArrayBuffer>,
        port,
      ),
    drain: (ctx, max) => s.utps_drain(c(ctx), max),
    endBatch: (ctx) => s.utps_end_batch(c(ctx)),
    tick: (ctx) => s.utps_tick(c(ctx)),
    connect: (ctx, family, addr, port) =>
      s.utps_connect(c(ctx), family, addr as Uint8Array<ArrayBuffer>, port),
    write: (ctx, id, buf, len) => s.utps_write(c(ctx), id, buf as Uint8Array<ArrayBuffer>, len),
    consumed: (ctx, id, bytes) => s.utps_consumed(c(ctx), id, bytes),
    shutdownWrite: (ctx, id) => s.utps_shutdown_write(c(ctx), id),
    close: (ctx, id) => s.utps_close(c(ctx), id),
    abort: (ctx, id) => s.utps_abort(c(ctx), id),
    allowOnce: (ctx, family, addr, port) =>
      s.utps_allow_once(c(ctx), family, addr as Uint8Array<ArrayBuffer>, port),
    stats: (ctx, id, out) => s.utps_stats(c(ctx), id, out as Uint8Array<ArrayBuffer>, out.byteLength),
    takeEvents: (ctx, out) => s.utps_take_events(c(ctx), out as Uint8Array<ArrayBuffer>, out.byteLength),
    takeDatagrams: (ctx, out) =>
      s.utps_take_datagrams(c(ctx), out as Uint8Array<ArrayBuffer>, out.byteLength),
    sendDatagram: (ctx, buf, len, family, addr, port, hops) =>
      s.utps_send_datagram(
        c(ctx),
        buf as Uint8Array<ArrayBuffer>,
        len,
        family,
        addr as Uint8Array<ArrayBuffer>,
        port,
        hops,
      ),
    liveSockets: (ctx) => s.utps_live_sockets(c(ctx)),
    liveSocketsTotal: () => s.utps_live_sockets_total(),
    liveContexts: () => s.utps_live_contexts(),
    counters: (ctx, out) => s.utps_counters(c(ctx), out as Uint8Array<ArrayBuffer>, out.byteLength),
  };
}
