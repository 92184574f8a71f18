// Copyright 2026 the utpstream authors. MIT license.
/**
 * Where the native library lives. Resolution order, first match wins:
 *
 * 1. a path given to {@linkcode setLibraryPath};
 * 2. the `UTP_LIBRARY` environment variable;
 * 3. the binary shipped with the module for this OS and CPU,
 *    `lib/<target>/<file>` next to the package root (see {@linkcode TARGETS}).
 *    When the module itself was loaded from `http(s):` (Deno importing from
 *    JSR), that binary is fetched once, checked against `lib/checksums.json`
 *    and cached per user (`loader.ts`);
 * 4. the library built in this checkout by `scripts/build.sh` (`build/`).
 *
 * This module is runtime-neutral and synchronous; it never fetches.
 *
 * @module
 */

let explicitPath: string | undefined;

/**
 * Loads the native library from an explicit path instead of searching for
 * it. Call it before the first endpoint is created; later calls have no
 * effect on a library that is already loaded.
 *
 * @param path Path of `libutpstream.so`, `libutpstream.dylib` or `utpstream.dll`.
 *
 * @example Use a library built from source
 * ```ts
 * import { listen, setLibraryPath } from "@utp/stream";
 * setLibraryPath("/opt/utpstream/libutpstream.so");
 * await using listener = await listen({ port: 0 });
 * ```
 */
export function setLibraryPath(path: string): void {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError("Cannot set library path: path must be a non-empty string");
  }
  explicitPath = path;
}

/** The prebuilt targets and their file names (`lib/<target>/<file>`). */
export const TARGETS: Readonly<Record<string, string>> = {
  "linux-x64": "libutpstream.so",
  "linux-arm64": "libutpstream.so",
  "linux-armv7": "libutpstream.so",
  "darwin-x64": "libutpstream.dylib",
  "darwin-arm64": "libutpstream.dylib",
  "windows-x64": "utpstream.dll",
};

/** Environment variable that names the library file (step 2). */
export const LIBRARY_ENV = "UTP_LIBRARY";

/** File name of the library on an operating system (Deno or Node/Bun names). */
export function libraryFileName(os: string): string {
  const o = normalizeOs(os);
  if (o === "windows") return "utpstream.dll";
  if (o === "darwin") return "libutpstream.dylib";
  return "libutpstream.so";
}

function normalizeOs(os: string): string {
  return os === "win32" ? "windows" : os;
}

function normalizeArch(arch: string): string {
  switch (arch) {
    case "x86_64":
    case "x64":
      return "x64";
    case "aarch64":
    case "arm64":
      return "arm64";
    case "arm":
    case "armv7":
    case "armv7l":
      return "armv7";
    default:
      return arch;
  }
}

/** The platform as `<os>-<arch>` (`linux-x64`, `darwin-arm64`, `windows-x64`, …). */
export function platformName(os: string, arch: string): string {
  return `${normalizeOs(os)}-${normalizeArch(arch)}`;
}

/** The prebuilt target for a platform, or `undefined` when none is shipped. */
export function libraryTarget(os: string, arch: string): string | undefined {
  const name = platformName(os, arch);
  return Object.hasOwn(TARGETS, name) ? name : undefined;
}

/** How to build the library from source; appended to loader errors. */
export const BUILD_FROM_SOURCE_HINT =
  `build it from source (needs cmake and a C++ compiler: clone the utpstream repository and run ` +
  `"bash scripts/build.sh", which prints the library's path) and point ${LIBRARY_ENV} or setLibraryPath() at it`;

/** The error for a library file that exists (or was named) but cannot be opened; the same in every runtime. */
export function loadError(path: string, cause: unknown): Error {
  return new Error(
    `Cannot load the native library "${path}": ${BUILD_FROM_SOURCE_HINT}`,
    { cause },
  );
}

/** The error for a platform without a prebuilt library. */
export function unsupportedPlatformError(os: string, arch: string): Error {
  return new Error(
    `utpstream ships no prebuilt native library for ${platformName(os, arch)} ` +
      `(prebuilt: ${Object.keys(TARGETS).join(", ")}); ${BUILD_FROM_SOURCE_HINT}`,
  );
}

/** Where the library was found. */
export type LibraryLocation =
  | {
    /** Step 1, 2, 3 (a local module) or 4 of the resolution order. */
    readonly source: "option" | "env" | "shipped" | "dev";
    /** A local file path. */
    readonly path: string;
  }
  | {
    /** Step 3 for a module loaded from `http(s):`: fetch, verify, cache. */
    readonly source: "remote";
    /** URL of the shipped binary, relative to the module. */
    readonly url: URL;
    /** The target, e.g. `linux-x64`. */
    readonly target: string;
    /** The key in `lib/checksums.json`: `<target>/<file>`. */
    readonly key: string;
  };

/** What {@linkcode resolveLibrary} needs to know about the host. */
export interface ResolveHost {
  /** `Deno.build.os` or `process.platform`. */
  readonly os: string;
  /** `Deno.build.arch` or `process.arch`. */
  readonly arch: string;
  /** Reads an environment variable; `undefined` when unset or not permitted. */
  getEnv(name: string): string | undefined;
  /** Whether a regular file exists; `undefined` when that cannot be known (no permission). */
  isFile?(path: string): boolean | undefined;
  /** URL of this module (tests put the package elsewhere). */
  readonly moduleUrl?: string;
}

/** Applies the resolution order (see the module documentation). Never fetches. */
export function resolveLibrary(host: ResolveHost): LibraryLocation {
  if (explicitPath) return { source: "option", path: explicitPath };
  const fromEnv = host.getEnv(LIBRARY_ENV);
  if (fromEnv) return { source: "env", path: fromEnv };

  const moduleUrl = host.moduleUrl ?? import.meta.url;
  const target = libraryTarget(host.os, host.arch);
  const shipped = target === undefined
    ? undefined
    : new URL(`../../lib/${target}/${TARGETS[target]}`, moduleUrl);
  if (shipped !== undefined && shipped.protocol !== "file:") {
    if (shipped.protocol !== "http:" && shipped.protocol !== "https:") {
      throw new Error(
        `Cannot load the native library next to a module at "${moduleUrl}"; set ${LIBRARY_ENV} or call setLibraryPath()`,
      );
    }
    return { source: "remote", url: shipped, target: target!, key: `${target}/${TARGETS[target!]}` };
  }
  const base = new URL(moduleUrl);
  if (base.protocol !== "file:") {
    if (target === undefined) throw unsupportedPlatformError(host.os, host.arch);
    throw new Error(`Cannot load the native library next to a module at "${moduleUrl}"`);
  }

  const isFile = host.isFile ?? defaultIsFile;
  const candidates: { source: "shipped" | "dev"; path: string }[] = [];
  if (shipped !== undefined) candidates.push({ source: "shipped", path: fileUrlToPath(shipped) });
  candidates.push({
    source: "dev",
    path: fileUrlToPath(new URL(`../../build/${libraryFileName(host.os)}`, moduleUrl)),
  });
  const known = candidates.map((c) => ({ ...c, exists: isFile(c.path) }));
  const found = known.find((c) => c.exists === true) ?? known.find((c) => c.exists === undefined);
  if (found) return { source: found.source, path: found.path };
  if (target === undefined) throw unsupportedPlatformError(host.os, host.arch);
  throw new Error(
    `Cannot find the native library for ${target}: looked for ${
      candidates.map((c) => c.path).join(" and ")
    }; ` +
      `run "bash scripts/build_targets.sh" or "bash scripts/build.sh" in a checkout, or ${BUILD_FROM_SOURCE_HINT}`,
  );
}

/**
 * Resolves the library to a local path, synchronously (steps 1-4). A module
 * loaded from `http(s):` needs the asynchronous `loadLibraryPath()` of
 * `loader.ts` instead; this function throws for it.
 *
 * @param os `Deno.build.os` or `process.platform`.
 * @param getEnv Reads an environment variable.
 * @param arch `Deno.build.arch` or `process.arch`; defaults to the running process's.
 */
export function resolveLibraryPath(
  os: string,
  getEnv: (name: string) => string | undefined,
  arch: string = currentArch(),
): string {
  const location = resolveLibrary({ os, arch, getEnv });
  if (location.source === "remote") {
    throw new Error(
      `The native library of a module loaded from "${location.url.origin}" must be fetched asynchronously ` +
        `(loader.ts loadLibraryPath); set ${LIBRARY_ENV} to load a local file instead`,
    );
  }
  return location.path;
}

/** The running process's CPU architecture (`Deno.build.arch` or `process.arch`). */
export function currentArch(): string {
  const g = globalThis as { Deno?: { build?: { arch?: string } }; process?: { arch?: string } };
  return g.Deno?.build?.arch ?? g.process?.arch ?? "unknown";
}

/** Converts a `file:` URL to a path (also `C:/…` on Windows). */
export function fileUrlToPath(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  // Windows: "/C:/x" -> "C:/x"
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;
}

interface DenoFs {
  permissions: { querySync?(d: { name: "read"; path: string }): { state: string } };
  statSync(path: string): { isFile: boolean };
}
interface NodeFs {
  statSync(path: string, o: { throwIfNoEntry: false }): { isFile(): boolean } | undefined;
}

function defaultIsFile(path: string): boolean | undefined {
  const g = globalThis as {
    Deno?: DenoFs;
    process?: { getBuiltinModule?(id: string): unknown };
  };
  try {
    if (g.Deno !== undefined && g.Deno.statSync !== undefined) {
      // Ask first: statSync without --allow-read would prompt or throw.
      const state = g.Deno.permissions.querySync?.({ name: "read", path }).state;
      if (state !== "granted") return undefined;
      try {
        return g.Deno.statSync(path).isFile;
      } catch (e) {
        if ((e as Error).name === "NotFound") return false;
        return undefined;
      }
    }
    const fs = g.process?.getBuiltinModule?.("node:fs") as NodeFs | undefined;
    if (fs === undefined) return undefined;
    return fs.statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return undefined;
  }
}
