// Copyright 2026 the utpstream authors. MIT license.
/**
 * µTP (BEP 29, the Micro Transport Protocol) for Deno and Bun, over
 * BitTorrent's libutp: reliable, ordered, LEDBAT-congestion-controlled byte
 * streams over UDP, as web streams.
 *
 * Deno needs `--unstable-net --allow-net --allow-ffi` (plus `--allow-read`
 * and `--allow-env` to locate the native library).
 *
 * @example Echo over loopback
 * ```ts
 * import { connect, listen } from "@utp/stream";
 * await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * (async () => {
 *   for await (const conn of listener) conn.readable.pipeTo(conn.writable).catch(() => {});
 * })();
 * await using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * ```
 *
 * @module
 */
export { connect, listen, type UtpConnectOptions, type UtpListenOptions } from "./src/connect.ts";
export {
  type UtpDatagram,
  type UtpDatagramTarget,
  type UtpDialOptions,
  UtpEndpoint,
  type UtpEndpointListenOptions,
  type UtpEndpointOptions,
  type UtpPunchOptions,
} from "./src/endpoint.ts";
export type { UtpConnection, UtpConnectionStats } from "./src/connection.ts";
export type { UtpAcceptOptions, UtpAdmissionOptions, UtpFirewall, UtpListener } from "./src/listener.ts";
export type { UtpTuningOptions } from "./src/options.ts";
export type { UtpAddr } from "./src/addr.ts";
export { UtpError, type UtpErrorCode } from "./src/errors.ts";
export type { UdpIo } from "./src/driver.ts";
export { setLibraryPath } from "./src/ffi/library_path.ts";
