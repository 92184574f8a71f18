// Copyright 2026 the utpstream authors. MIT license.
/**
 * `utpcat`: netcat for µTP. Listen or connect; pipe stdin/stdout or send and
 * receive files; a live progress line on stderr.
 *
 * ```sh
 * deno run --unstable-net --allow-net --allow-ffi --allow-read --allow-write --allow-env jsr:@utp/stream/cli -l -p 9000 -o out.bin
 * bun jsr:@utp/stream/cli --send big.iso 127.0.0.1 9000
 * ```
 *
 * Exit codes: 0 success, 1 transport failure (`UtpError`), 2 usage error,
 * 3 file or pipe error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { open, stat } from "node:fs/promises";
import process from "node:process";
import { connect, UtpEndpoint, UtpError } from "../mod.ts";
import type { UtpConnection } from "./connection.ts";

/** Exit codes of `utpcat`. */
export const ExitCode = { OK: 0, TRANSPORT: 1, USAGE: 2, IO: 3 } as const;

const HELP = `utpcat: send and receive bytes over µTP (BEP 29)

Usage:
  utpcat [options] <host> <port>          connect, then copy stdin -> peer -> stdout
  utpcat [options] -l [-p port] [host]    accept one connection, then the same

Options:
  -l, --listen            listen instead of connecting
  -p, --port <port>       local port (listen: default 0 = any, printed on stderr)
  -s, --send <file>       send this file instead of stdin (half-closes after it)
  -o, --output <file>     write received bytes to this file instead of stdout
  -t, --timeout <ms>      connect timeout, and idle timeout of the transfer (default 10000)
  -q, --quiet             no progress line
      --progress          always show the progress line (default: when stderr is a terminal)
  -h, --help              this help

Exit codes: 0 done, 1 transport failure, 2 usage error, 3 file or pipe error.
`;

class UsageError extends Error {}

interface Options {
  listen: boolean;
  host: string | undefined;
  port: number;
  localPort: number;
  send: string | undefined;
  output: string | undefined;
  timeout: number;
  progress: boolean;
}

function parse(argv: string[]): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        listen: { type: "boolean", short: "l" },
        port: { type: "string", short: "p" },
        send: { type: "string", short: "s" },
        output: { type: "string", short: "o" },
        timeout: { type: "string", short: "t" },
        quiet: { type: "boolean", short: "q" },
        progress: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  const int = (text: string | undefined, name: string, min: number, max: number, fallback: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
    }
    return n;
  };
  const listen = v.listen === true;
  const pos = parsed.positionals;
  let host: string | undefined;
  let port = 0;
  if (listen) {
    if (pos.length > 1) {
      throw new UsageError("listen mode takes at most one positional argument, the local host");
    }
    host = pos[0];
  } else {
    if (pos.length !== 2) throw new UsageError("expected <host> <port>");
    host = pos[0];
    port = int(pos[1], "port", 1, 65535, 0);
  }
  const isTty = (process.stderr as { isTTY?: boolean }).isTTY === true;
  return {
    listen,
    host,
    port,
    localPort: int(v.port, "--port", 0, 65535, 0),
    send: v.send,
    output: v.output,
    timeout: int(v.timeout, "--timeout", 1, 2 ** 31 - 1, 10_000),
    progress: v.quiet ? false : (v.progress === true || isTty),
  };
}

/** A live progress line on stderr: bytes, rate and, when the size is known, ETA. */
class Progress {
  #sent = 0;
  #received = 0;
  #started = performance.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #total: number | undefined;

  constructor(enabled: boolean, total?: number) {
    this.#total = total;
    if (enabled) this.#timer = setInterval(() => this.#draw(false), 250);
  }

  sent(n: number): void {
    this.#sent += n;
  }

  received(n: number): void {
    this.#received += n;
  }

  #draw(final: boolean): void {
    const seconds = Math.max((performance.now() - this.#started) / 1000, 1e-3);
    const moved = this.#sent + this.#received;
    const rate = moved / seconds;
    let line = `sent ${fmt(this.#sent)}  received ${fmt(this.#received)}  ${fmt(rate)}/s`;
    if (this.#total !== undefined && this.#total > 0) {
      const pct = Math.min(100, (this.#sent / this.#total) * 100);
      const eta = rate > 0 ? Math.max(0, (this.#total - this.#sent) / rate) : Infinity;
      line += `  ${pct.toFixed(1)}%  ETA ${Number.isFinite(eta) ? `${eta.toFixed(1)} s` : "?"}`;
    }
    process.stderr.write(`\r${line}\x1b[K${final ? "\n" : ""}`);
  }

  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw(true);
  }
}

function fmt(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

class IoError extends Error {}

async function pumpIn(conn: UtpConnection, file: string | undefined, progress: Progress): Promise<void> {
  const writer = conn.writable.getWriter();
  if (file !== undefined) {
    let handle;
    try {
      handle = await open(file, "r");
    } catch (e) {
      throw new IoError(`cannot open "${file}": ${(e as Error).message}`);
    }
    try {
      const buf = new Uint8Array(256 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, buf.byteLength, null);
        if (bytesRead === 0) break;
        await writer.write(buf.slice(0, bytesRead));
        progress.sent(bytesRead);
      }
    } finally {
      await handle.close();
    }
  } else {
    for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      await writer.write(bytes);
      progress.sent(bytes.byteLength);
    }
  }
  await writer.close(); // half-close: the peer sees EOF, we keep reading
}

async function pumpOut(conn: UtpConnection, file: string | undefined, progress: Progress): Promise<void> {
  if (file !== undefined) {
    let handle;
    try {
      handle = await open(file, "w");
    } catch (e) {
      throw new IoError(`cannot open "${file}" for writing: ${(e as Error).message}`);
    }
    try {
      for await (const chunk of conn.readable) {
        await handle.write(chunk);
        progress.received(chunk.byteLength);
      }
    } finally {
      await handle.close();
    }
    return;
  }
  for await (const chunk of conn.readable) {
    progress.received(chunk.byteLength);
    if (!process.stdout.write(chunk)) {
      await new Promise<void>((resolve) => process.stdout.once("drain", () => resolve()));
    }
  }
}

/**
 * Runs `utpcat` with the given arguments and returns its exit code.
 *
 * @param argv The arguments, without the program name.
 * @returns The exit code (see {@linkcode ExitCode}).
 *
 * @example Receive one file
 * ```ts
 * import { main } from "@utp/stream/cli";
 * const code = await main(["-l", "-p", "9000", "-o", "received.bin"]);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  let opts: Options | "help";
  try {
    opts = parse(argv);
  } catch (e) {
    process.stderr.write(`utpcat: ${(e as Error).message}\nTry "utpcat --help".\n`);
    return ExitCode.USAGE;
  }
  if (opts === "help") {
    process.stdout.write(HELP);
    return ExitCode.OK;
  }
  let total: number | undefined;
  if (opts.send !== undefined) {
    try {
      total = (await stat(opts.send)).size;
    } catch (e) {
      process.stderr.write(`utpcat: cannot read "${opts.send}": ${(e as Error).message}\n`);
      return ExitCode.IO;
    }
  }
  let endpoint: UtpEndpoint | undefined;
  let conn: UtpConnection | undefined;
  const progress = new Progress(opts.progress, total);
  try {
    if (opts.listen) {
      endpoint = await UtpEndpoint.bind({
        hostname: opts.host ?? "0.0.0.0",
        port: opts.localPort,
        idleTimeout: opts.timeout,
      });
      process.stderr.write(`utpcat: listening on ${endpoint.addr.hostname}:${endpoint.addr.port}\n`);
      const listener = endpoint.listen();
      conn = await listener.accept();
      listener.close();
      process.stderr.write(`utpcat: connection from ${conn.remoteAddr.hostname}:${conn.remoteAddr.port}\n`);
    } else {
      if (opts.localPort !== 0) {
        endpoint = await UtpEndpoint.bind({ port: opts.localPort, idleTimeout: opts.timeout });
        conn = await endpoint.connect({ hostname: opts.host, port: opts.port, connectTimeout: opts.timeout });
      } else {
        conn = await connect({
          hostname: opts.host,
          port: opts.port,
          connectTimeout: opts.timeout,
          idleTimeout: opts.timeout,
        });
      }
    }
    await Promise.all([pumpIn(conn, opts.send, progress), pumpOut(conn, opts.output, progress)]);
    progress.stop();
    conn.close();
    await conn.closed.catch(() => {});
    return ExitCode.OK;
  } catch (e) {
    progress.stop();
    conn?.close();
    if (e instanceof IoError) {
      process.stderr.write(`utpcat: ${e.message}\n`);
      return ExitCode.IO;
    }
    if (e instanceof UtpError) {
      process.stderr.write(`utpcat: ${e.message} (${e.code})\n`);
      return ExitCode.TRANSPORT;
    }
    if (e instanceof TypeError || e instanceof RangeError) {
      process.stderr.write(`utpcat: ${e.message}\n`);
      return ExitCode.USAGE;
    }
    process.stderr.write(`utpcat: ${(e as Error).message ?? e}\n`);
    return ExitCode.IO;
  } finally {
    await endpoint?.close();
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
