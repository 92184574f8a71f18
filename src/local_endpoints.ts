// Copyright 2026 the utpstream authors. MIT license.
/**
 * The addresses this process's endpoints are bound to, so that a driver can
 * tell a peer in this same process from one elsewhere. Busy polling for such
 * a peer is futile: the spin holds the event loop that the peer needs in
 * order to answer.
 *
 * @module
 */
import { type IpAddress, isV4Mapped, parseIp } from "./addr.ts";

interface BoundAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly port: number;
}

const bound = new Map<object, BoundAddress>();

/** Records that `owner` is bound to `hostname`:`port`, until {@linkcode forgetLocalEndpoint}. */
export function rememberLocalEndpoint(owner: object, hostname: string, port: number): void {
  const ip = parseIp(hostname);
  if (ip !== undefined) bound.set(owner, { ...asV4IfMapped(ip), port });
}

/** Forgets what {@linkcode rememberLocalEndpoint} recorded for `owner`. */
export function forgetLocalEndpoint(owner: object): void {
  bound.delete(owner);
}

/**
 * Whether `hostname`:`port` is an endpoint of this process, as far as can be
 * told without the list of interfaces: one bound to that very address, or
 * one bound to the unspecified address when `hostname` is a loopback address.
 */
export function isLocalEndpoint(hostname: string, port: number): boolean {
  if (bound.size === 0) return false;
  const ip = parseIp(hostname);
  if (ip === undefined) return false;
  const remote = asV4IfMapped(ip);
  for (const local of bound.values()) {
    if (local.port !== port) continue;
    if (isUnspecified(local.bytes) ? isLoopback(remote) : sameAddress(local, remote)) return true;
  }
  return false;
}

/** The address's own bytes: 4 for IPv4 (parseIp pads them to 16), IPv4-mapped IPv6 included. */
function asV4IfMapped(ip: IpAddress): { family: 4 | 6; bytes: Uint8Array } {
  if (ip.family === 4) return { family: 4, bytes: ip.bytes.subarray(0, 4) };
  if (isV4Mapped(ip.bytes)) return { family: 4, bytes: ip.bytes.subarray(12, 16) };
  return { family: 6, bytes: ip.bytes };
}

function isUnspecified(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

function isLoopback(ip: { family: 4 | 6; bytes: Uint8Array }): boolean {
  if (ip.family === 4) return ip.bytes[0] === 127;
  return ip.bytes[15] === 1 && ip.bytes.subarray(0, 15).every((b) => b === 0);
}

function sameAddress(
  a: { family: 4 | 6; bytes: Uint8Array },
  b: { family: 4 | 6; bytes: Uint8Array },
): boolean {
  return a.family === b.family && a.bytes.every((byte, i) => byte === b.bytes[i]);
}
