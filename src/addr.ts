// Copyright 2026 the utpstream authors. MIT license.
/**
 * Addresses: validation, IP literal parsing and name resolution.
 *
 * @module
 */

/**
 * The address of one end of a µTP connection, shaped like `Deno.NetAddr`.
 *
 * @example Printing where a listener listens
 * ```ts
 * import { listen } from "@utp/stream";
 * await using listener = await listen({ port: 0 });
 * const { hostname, port } = listener.addr;
 * console.log(`µTP on ${hostname}:${port}`);
 * ```
 */
export interface UtpAddr {
  /** Always `"utp"`. */
  transport: "utp";
  /** The IP address, e.g. `"127.0.0.1"` or `"::1"`. */
  hostname: string;
  /** The UDP port. */
  port: number;
}

/** An IP address as the native layer wants it. */
export interface IpAddress {
  family: 4 | 6;
  bytes: Uint8Array;
  text: string;
}

/** Checks a port argument. */
export function checkPort(port: unknown, what: string, allowZero: boolean): number {
  if (typeof port !== "number" || !Number.isInteger(port)) {
    throw new TypeError(`Cannot ${what}: port must be an integer, received ${describe(port)}`);
  }
  const min = allowZero ? 0 : 1;
  if (port < min || port > 65535) {
    throw new RangeError(`Cannot ${what}: port must be between ${min} and 65535, received ${port}`);
  }
  return port;
}

/** Checks a hostname argument. */
export function checkHostname(hostname: unknown, what: string): string {
  if (typeof hostname !== "string") {
    throw new TypeError(`Cannot ${what}: hostname must be a string, received ${describe(hostname)}`);
  }
  if (hostname.length === 0 || hostname.length > 253 || /[\s/\\]/.test(hostname)) {
    throw new TypeError(`Cannot ${what}: invalid hostname "${hostname}"`);
  }
  return hostname;
}

/** Checks an optional AbortSignal argument. */
export function checkSignal(signal: unknown, what: string): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) {
    throw new TypeError(`Cannot ${what}: signal must be an AbortSignal, received ${describe(signal)}`);
  }
  return signal;
}

/** Checks that an options argument is an object (or undefined). */
export function checkOptions<T extends object>(options: unknown, what: string): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot ${what}: options must be an object, received ${describe(options)}`);
  }
  return options as Partial<T>;
}

function describe(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (value === null) return "null";
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  return `${typeof value} ${String(value)}`;
}

/** Parses an IPv4 literal, or returns undefined. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** Parses an IPv6 literal (optionally in brackets), or returns undefined. */
export function parseIPv6(input: string): Uint8Array | undefined {
  let text = input;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  if (!text.includes(":")) return undefined;
  const words: number[] = [];
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parseHalf = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const groups = half.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = parseHalf(halves[0]!);
  const tail = halves.length === 2 ? parseHalf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    words.push(...head, ...new Array<number>(fill).fill(0), ...tail);
  } else {
    if (head.length !== 8) return undefined;
    words.push(...head);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Formats 16 address bytes as text. */
export function formatIp(family: number, bytes: Uint8Array): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!).toString(16));
  // compress the longest run of zero words
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(":");
  return `${words.slice(0, best).join(":")}::${words.slice(best + bestLen).join(":")}`;
}

/** Parses an IP literal of either family. */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4, text };
  const v6 = parseIPv6(text);
  if (v6) return { family: 6, bytes: v6, text: formatIp(6, v6) };
  return undefined;
}

/** Resolves a hostname (IP literal, "localhost" or a DNS name). */
export async function resolveHost(hostname: string, what: string, signal?: AbortSignal): Promise<IpAddress> {
  const literal = parseIp(hostname);
  if (literal) return literal;
  if (hostname === "localhost") return parseIp("127.0.0.1")!;
  signal?.throwIfAborted();
  const dns = await import("node:dns");
  const found = await new Promise<string>((resolve, reject) => {
    dns.lookup(hostname, (error, address) => {
      if (error) {
        reject(new TypeError(`Cannot ${what}: cannot resolve hostname "${hostname}"`, { cause: error }));
      } else resolve(address);
    });
  });
  signal?.throwIfAborted();
  const parsed = parseIp(found);
  if (!parsed) throw new TypeError(`Cannot ${what}: cannot resolve hostname "${hostname}"`);
  return parsed;
}

/** Whether 16 address bytes are an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`). */
export function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Text of an address as users see it: IPv4-mapped addresses read as IPv4. */
export function displayHostname(family: number, bytes: Uint8Array): string {
  if (family === 6 && isV4Mapped(bytes)) {
    return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  return formatIp(family, bytes);
}

/**
 * Converts a destination to the family of the local socket: IPv4 through a
 * dual-stack IPv6 socket becomes `::ffff:a.b.c.d`; an IPv4-mapped address on
 * an IPv4 socket becomes plain IPv4. Returns undefined when impossible.
 */
export function toSocketFamily(
  addr: IpAddress,
  socketFamily: 4 | 6,
  dualStack: boolean,
): IpAddress | undefined {
  if (addr.family === socketFamily) {
    if (socketFamily === 6 && isV4Mapped(addr.bytes) && !dualStack) return undefined;
    return addr;
  }
  if (socketFamily === 6) {
    if (!dualStack) return undefined;
    const bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(addr.bytes.subarray(0, 4), 12);
    return { family: 6, bytes, text: addr.text };
  }
  if (isV4Mapped(addr.bytes)) {
    const bytes = new Uint8Array(16);
    bytes.set(addr.bytes.subarray(12, 16), 0);
    return { family: 4, bytes, text: displayHostname(6, addr.bytes) };
  }
  return undefined;
}
