// Copyright 2026 the utpstream authors. MIT license.
/**
 * Counters of the native layer, for tests and leak hunting.
 *
 * @module
 */
import { getRuntime } from "./runtime.ts";
import type { UtpEndpoint } from "./endpoint.ts";
import { type Driver, driverHeldBy } from "./driver.ts";
import type { UtpListener } from "./listener.ts";
import type { UtpConnection } from "./connection.ts";
import { CounterOffset } from "./ffi/native.ts";

/** What the diagnostics can look at: an endpoint, or the endpoint under a listener or a connection. */
export type DiagnosticsTarget = UtpEndpoint | UtpListener | UtpConnection;

// Endpoints, listeners and connections all hold their driver (Driver.hold).
function driverFor(target: DiagnosticsTarget, what: string): Driver {
  const driver = typeof target === "object" && target !== null ? driverHeldBy(target) : undefined;
  if (driver === undefined) {
    throw new TypeError(`Cannot ${what}: expected a UtpEndpoint, a UtpListener or a UtpConnection`);
  }
  return driver;
}

/** Native resources alive in this process. */
export interface NativeCounts {
  /** libutp sockets (connections) alive across all endpoints. */
  sockets: number;
  /** µTP contexts (endpoints) alive. */
  contexts: number;
}

/**
 * Counts the native resources alive in this process, or of one endpoint
 * (then `contexts` is 1 while the endpoint is open). A listener or a
 * connection stands for the endpoint it runs on (`listen()` and `connect()`
 * make one of their own).
 *
 * @param endpoint Count only this endpoint's sockets.
 * @returns Live sockets and contexts.
 *
 * @example Check for leaks
 * ```ts
 * import { nativeCounts } from "@utp/stream/diagnostics";
 * console.log(await nativeCounts());
 * ```
 */
export async function nativeCounts(endpoint?: DiagnosticsTarget): Promise<NativeCounts> {
  if (endpoint !== undefined) {
    const driver = driverFor(endpoint, "count native resources");
    return { sockets: driver.liveSockets(), contexts: driver.closed ? 0 : 1 };
  }
  const { native } = await getRuntime();
  return { sockets: native.utps_live_sockets_total(), contexts: native.utps_live_contexts() };
}

/** What one endpoint's native I/O did since it was bound (`udpIo` `"native"` or `"bulk"`). */
export interface EndpointCounters {
  /** Datagrams received, µTP or not. */
  receivedDatagrams: number;
  /** Datagrams sent. */
  sentDatagrams: number;
  /** Datagrams not sent (the socket's buffer was full, or the send failed); µTP resends. */
  droppedDatagrams: number;
  /** Received datagrams that were not µTP. */
  foreignDatagrams: number;
  /** Received datagrams too long for a receive slot, dropped. */
  truncatedDatagrams: number;
  /** Send and receive system calls. */
  systemCalls: number;
  /** Sent datagrams that left inside segmented sends (`UDP_SEGMENT`). */
  segmentedDatagrams: number;
  /** Received datagrams that arrived coalesced (`UDP_GRO`, `udpIo: "bulk"`). */
  coalescedDatagrams: number;
  /** Whether segmented sends are in use now (false once a path refused them, or with `udpOffload: false`). */
  segmenting: boolean;
  /** Whether the kernel may coalesce received datagrams (`udpIo: "bulk"` with offload). */
  coalescing: boolean;
}

/**
 * Reads an endpoint's I/O counters, or `undefined` once it is closed or when
 * it uses runtime I/O (whose datagrams the native library never sees). A
 * listener or a connection stands for the endpoint it runs on.
 *
 * @param endpoint The endpoint (or listener, or connection) to look at.
 * @returns Its counters.
 *
 * @example See whether sends were segmented
 * ```ts
 * import { UtpEndpoint } from "@utp/stream";
 * import { endpointCounters } from "@utp/stream/diagnostics";
 * await using endpoint = await UtpEndpoint.bind({ hostname: "127.0.0.1" });
 * console.log(endpointCounters(endpoint)?.segmentedDatagrams);
 * ```
 */
export function endpointCounters(endpoint: DiagnosticsTarget): EndpointCounters | undefined {
  const driver = driverFor(endpoint, "read endpoint counters");
  if (driver.udpIo === "runtime") return undefined;
  let out: EndpointCounters | undefined;
  driver.counters((view) => {
    const at = (offset: number) => Number(view.getBigUint64(offset, true));
    out = {
      receivedDatagrams: at(CounterOffset.RX_DATAGRAMS),
      sentDatagrams: at(CounterOffset.TX_DATAGRAMS),
      droppedDatagrams: at(CounterOffset.TX_DROPPED),
      foreignDatagrams: at(CounterOffset.RX_FOREIGN),
      truncatedDatagrams: at(CounterOffset.RX_TRUNCATED),
      systemCalls: at(CounterOffset.SYSCALLS),
      segmentedDatagrams: at(CounterOffset.TX_SEGMENTED),
      coalescedDatagrams: at(CounterOffset.RX_COALESCED),
      segmenting: driver.segmenting,
      coalescing: driver.coalescing,
    };
  });
  return out;
}
