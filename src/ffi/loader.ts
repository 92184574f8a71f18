// Copyright 2026 the utpstream authors. MIT license.
/**
 * Deno's library loader: the resolution order of `library_path.ts`, plus the
 * remote case. When this module was loaded from `http(s):` (JSR serves
 * modules to Deno over HTTPS), the binary for this platform is fetched once
 * from `lib/<target>/<file>` relative to `import.meta.url`, its SHA-256 is
 * checked against `lib/checksums.json` (a JSON module, so it is part of the
 * module graph and covered by Deno's integrity checks), and it is stored in
 * a per-user cache keyed by version and target with an atomic rename. A
 * cached copy is re-checked on every load. A mismatch is an error; the bytes
 * are never written to the cache nor loaded.
 *
 * Cache root: `UTP_CACHE_DIR` if set, else `$XDG_CACHE_HOME/utpstream` or
 * `~/.cache/utpstream` (Linux), `~/Library/Caches/utpstream` (macOS),
 * `%LOCALAPPDATA%\utpstream` (Windows); then `<version>/<target>/<file>`.
 *
 * @module
 */
import {
  BUILD_FROM_SOURCE_HINT,
  type LibraryLocation,
  type ResolveHost,
  resolveLibrary,
} from "./library_path.ts";

/** Contents of `lib/checksums.json`, written by `scripts/build_targets.sh`. */
export interface Checksums {
  /** Package version the binaries were built for. */
  readonly version: string;
  /** SHA-256 (lowercase hex) per `<target>/<file>`. */
  readonly files: Readonly<Record<string, string>>;
}

/** Environment variable that overrides the cache root. */
export const CACHE_ENV = "UTP_CACHE_DIR";

/** Options of {@linkcode loadLibraryPath}; the defaults describe the running Deno. */
export interface LoadOptions extends Partial<ResolveHost> {
  /** Checksums to verify against (tests); default: import `lib/checksums.json`. */
  readonly checksums?: Checksums;
  /** Download timeout in milliseconds (default 120 000). */
  readonly timeoutMs?: number;
}

/** Returns a local path of the native library, fetching and caching it if needed. */
export async function loadLibraryPath(options: LoadOptions = {}): Promise<string> {
  const host: ResolveHost = {
    os: options.os ?? Deno.build.os,
    arch: options.arch ?? Deno.build.arch,
    getEnv: options.getEnv ?? denoGetEnv,
    isFile: options.isFile,
    moduleUrl: options.moduleUrl,
  };
  const location = resolveLibrary(host);
  if (location.source !== "remote") return location.path;
  const checksums = options.checksums ?? await importChecksums(location);
  return await fetchVerified(location, checksums, host, options.timeoutMs ?? 120_000);
}

function denoGetEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: fall through to the next source
  }
}

async function importChecksums(location: LibraryLocation & { source: "remote" }): Promise<Checksums> {
  let mod: { default: unknown };
  try {
    mod = await import("../../lib/checksums.json", { with: { type: "json" } });
  } catch (cause) {
    throw new Error(
      `Cannot verify the native library for ${location.target}: lib/checksums.json is missing from the package ` +
        `at "${
          new URL("../..", location.url).href
        }"; set UTP_LIBRARY to a local library, or ${BUILD_FROM_SOURCE_HINT}`,
      { cause },
    );
  }
  const c = mod.default as Partial<Checksums>;
  if (typeof c?.version !== "string" || typeof c.files !== "object" || c.files === null) {
    throw new Error("Cannot verify the native library: lib/checksums.json is malformed");
  }
  return c as Checksums;
}

/** Lowercase hex SHA-256 of some bytes. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The cache root for a platform, from the environment; throws when there is none. */
export function cacheRoot(os: string, getEnv: (name: string) => string | undefined): string {
  const override = getEnv(CACHE_ENV);
  if (override) return override;
  const sep = os === "windows" ? "\\" : "/";
  if (os === "windows") {
    const local = getEnv("LOCALAPPDATA");
    if (local) return `${local}${sep}utpstream`;
  } else if (os === "darwin") {
    const home = getEnv("HOME");
    if (home) return `${home}/Library/Caches/utpstream`;
  } else {
    const xdg = getEnv("XDG_CACHE_HOME");
    if (xdg) return `${xdg}/utpstream`;
    const home = getEnv("HOME");
    if (home) return `${home}/.cache/utpstream`;
  }
  throw new Error(
    `Cannot cache the native library: no cache directory (set ${CACHE_ENV}, or grant --allow-env so that ` +
      `${os === "windows" ? "LOCALAPPDATA" : "HOME"} can be read), or set UTP_LIBRARY to a local library`,
  );
}

async function readIfPresent(path: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function fetchVerified(
  location: LibraryLocation & { source: "remote" },
  checksums: Checksums,
  host: ResolveHost,
  timeoutMs: number,
): Promise<string> {
  const expected = checksums.files[location.key]?.toLowerCase();
  if (expected === undefined || !/^[0-9a-f]{64}$/.test(expected)) {
    throw new Error(
      `utpstream ${checksums.version} was published without a native library for ${location.target}; ` +
        BUILD_FROM_SOURCE_HINT,
    );
  }
  const sep = host.os === "windows" ? "\\" : "/";
  const safeVersion = checksums.version.replace(/[^0-9A-Za-z.+_-]/g, "_");
  const fileName = location.key.slice(location.key.lastIndexOf("/") + 1);
  const dir = [cacheRoot(host.os, host.getEnv), safeVersion, location.target].join(sep);
  const path = `${dir}${sep}${fileName}`;

  const cached = await readIfPresent(path);
  if (cached !== undefined && await sha256Hex(cached) === expected) return path;

  let bytes: Uint8Array<ArrayBuffer>;
  try {
    const response = await fetch(location.url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`);
    }
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (cause) {
    if (cause instanceof Deno.errors.PermissionDenied || cause instanceof Deno.errors.NotCapable) throw cause;
    throw new Error(`Cannot download the native library from "${location.url.href}"`, { cause });
  }
  const actual = await sha256Hex(bytes);
  if (actual !== expected) {
    throw new Error(
      `Checksum mismatch for the native library "${location.url.href}": expected SHA-256 ${expected}, got ` +
        `${actual}. It was not loaded nor cached.`,
    );
  }

  await Deno.mkdir(dir, { recursive: true });
  const tmp = await Deno.makeTempFile({ dir, prefix: `.${fileName}.`, suffix: ".tmp" });
  try {
    await Deno.writeFile(tmp, bytes, { mode: 0o644 });
    await Deno.rename(tmp, path); // atomic: a concurrent loader sees the old file or the whole new one
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    // Another process may have won the race (on Windows a loaded DLL cannot be replaced).
    const now = await readIfPresent(path).catch(() => undefined);
    if (now !== undefined && await sha256Hex(now) === expected) return path;
    throw error;
  }
  return path;
}
