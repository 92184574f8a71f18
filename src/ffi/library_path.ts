// Copyright 2026 the utpstream authors. MIT license.
/**
 * Where the native library lives. Resolution order: an explicit path given
 * to {@linkcode setLibraryPath}, then the `UTP_LIBRARY` environment variable,
 * then the library built in this checkout (`build/`).
 *
 * @module
 */

let explicitPath: string | undefined;

/** Overrides the native library path; must be called before first use. */
export function setLibraryPath(path: string): void {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError("Cannot set library path: path must be a non-empty string");
  }
  explicitPath = path;
}

/** File name of the library on an operating system. */
export function libraryFileName(os: string): string {
  if (os === "windows" || os === "win32") return "utpstream.dll";
  if (os === "darwin") return "libutpstream.dylib";
  return "libutpstream.so";
}

/** Resolves the library path for the given OS and environment lookup. */
export function resolveLibraryPath(os: string, getEnv: (name: string) => string | undefined): string {
  if (explicitPath) return explicitPath;
  const fromEnv = getEnv("UTP_LIBRARY");
  if (fromEnv) return fromEnv;
  const url = new URL(`../../build/${libraryFileName(os)}`, import.meta.url);
  if (url.protocol !== "file:") {
    throw new Error(
      `Cannot load the native library from "${url.href}": set UTP_LIBRARY to a local build of libutpstream`,
    );
  }
  return fileUrlToPath(url);
}

function fileUrlToPath(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  // Windows: "/C:/x" -> "C:/x"
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;
}
