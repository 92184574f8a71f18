// Copyright 2026 the utpstream authors. MIT license.
// The native library loader: resolution order, platform names, and (Deno only)
// the remote path: a child `deno run` imports mod.ts from a local HTTP server,
// so the binary is fetched relative to import.meta.url, verified and cached.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  libraryFileName,
  libraryTarget,
  platformName,
  type ResolveHost,
  resolveLibrary,
  setLibraryPath,
  TARGETS,
} from "../src/ffi/library_path.ts";
import { getRuntime } from "../src/runtime.ts";

const isDeno = (globalThis as { Bun?: unknown }).Bun === undefined &&
  (globalThis as { Deno?: unknown }).Deno !== undefined;

const PKG = "file:///pkg/src/ffi/library_path.ts";

function host(over: Partial<ResolveHost> & { files?: string[]; env?: Record<string, string> }): ResolveHost {
  const files = new Set(over.files ?? []);
  return {
    os: "linux",
    arch: "x86_64",
    getEnv: (name) => over.env?.[name],
    isFile: (path) => files.has(path),
    moduleUrl: PKG,
    ...over,
  };
}

test("loader: target names for Deno and Node/Bun spellings", () => {
  assert.equal(libraryTarget("linux", "x86_64"), "linux-x64");
  assert.equal(libraryTarget("linux", "x64"), "linux-x64");
  assert.equal(libraryTarget("linux", "aarch64"), "linux-arm64");
  assert.equal(libraryTarget("linux", "arm"), "linux-armv7");
  assert.equal(libraryTarget("darwin", "aarch64"), "darwin-arm64");
  assert.equal(libraryTarget("darwin", "x64"), "darwin-x64");
  assert.equal(libraryTarget("windows", "x86_64"), "windows-x64");
  assert.equal(libraryTarget("win32", "x64"), "windows-x64");
  assert.equal(libraryTarget("windows", "aarch64"), undefined);
  assert.equal(libraryTarget("freebsd", "x86_64"), undefined);
  assert.equal(platformName("linux", "riscv64"), "linux-riscv64");
  assert.equal(libraryFileName("win32"), "utpstream.dll");
  assert.equal(TARGETS["darwin-x64"], "libutpstream.dylib");
});

test("loader: UTP_LIBRARY, then lib/<target>, then build/", () => {
  const shipped = "/pkg/lib/linux-x64/libutpstream.so";
  const dev = "/pkg/build/libutpstream.so";
  assert.deepEqual(
    resolveLibrary(host({ env: { UTP_LIBRARY: "/x/lib.so" }, files: [shipped, dev] })),
    { source: "env", path: "/x/lib.so" },
  );
  assert.deepEqual(resolveLibrary(host({ files: [shipped, dev] })), { source: "shipped", path: shipped });
  assert.deepEqual(resolveLibrary(host({ files: [dev] })), { source: "dev", path: dev });
  assert.deepEqual(
    resolveLibrary(host({ os: "windows", files: ["/pkg/lib/windows-x64/utpstream.dll"] })),
    { source: "shipped", path: "/pkg/lib/windows-x64/utpstream.dll" },
  );
  // Existence unknown (no read permission): the shipped path is tried.
  assert.deepEqual(resolveLibrary(host({ isFile: () => undefined })), { source: "shipped", path: shipped });
  assert.throws(() => resolveLibrary(host({})), /Cannot find the native library for linux-x64.*build/);
});

test("loader: an unsupported platform names itself and how to build from source", () => {
  assert.throws(
    () => resolveLibrary(host({ os: "freebsd", arch: "x86_64" })),
    (e: Error) =>
      /no prebuilt native library for freebsd-x64/.test(e.message) && /scripts\/build\.sh/.test(e.message) &&
      /UTP_LIBRARY/.test(e.message),
  );
  assert.throws(
    () =>
      resolveLibrary(host({ arch: "riscv64", moduleUrl: "https://jsr.io/@utp/stream/0.1.0/src/ffi/x.ts" })),
    /no prebuilt native library for linux-riscv64/,
  );
  // A dev build still works on a platform without a prebuilt binary.
  assert.equal(
    resolveLibrary(host({ arch: "riscv64", files: ["/pkg/build/libutpstream.so"] })).source,
    "dev",
  );
});

test("loader: a module loaded over https resolves to the binary next to it", () => {
  const loc = resolveLibrary(
    host({ arch: "aarch64", moduleUrl: "https://jsr.io/@utp/stream/0.1.0/src/ffi/library_path.ts" }),
  );
  assert.equal(loc.source, "remote");
  if (loc.source !== "remote") return;
  assert.equal(loc.url.href, "https://jsr.io/@utp/stream/0.1.0/lib/linux-arm64/libutpstream.so");
  assert.equal(loc.key, "linux-arm64/libutpstream.so");
});

test("loader: setLibraryPath rejects an empty path", () => {
  assert.throws(() => setLibraryPath(""), TypeError);
});

// ---- Deno only: the remote path, end to end, against a local HTTP server ----

type Mode = "good" | "tampered" | "missing";

const CHILD = `
const { connect, listen } = await import(Deno.args[0] + "/mod.ts");
const { getRuntime } = await import(Deno.args[0] + "/src/runtime.ts");
await using l = await listen({ hostname: "127.0.0.1", port: 0 });
(async () => { for await (const c of l) c.readable.pipeTo(c.writable).catch(() => {}); })();
await using c = await connect({ hostname: "127.0.0.1", port: l.addr.port, signal: AbortSignal.timeout(10000) });
const w = c.writable.getWriter();
await w.write(new TextEncoder().encode("ping"));
const r = c.readable.getReader();
const { value } = await r.read();
console.log(JSON.stringify({ echo: new TextDecoder().decode(value), path: (await getRuntime()).native.path }));
`;

async function withServer(
  fn: (
    ctx: { base: string; port: number; setMode(m: Mode): void; requests: string[] },
  ) => Promise<void>,
): Promise<void> {
  const { native } = await getRuntime(); // the library these tests run on: serve it as the shipped one
  const binary = await Deno.readFile(native.path);
  const target = libraryTarget(Deno.build.os, Deno.build.arch)!;
  const key = `${target}/${TARGETS[target]}`;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", binary));
  const sha = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  const checksums = JSON.stringify({ version: "0.0.0-test", files: { [key]: sha } });
  let mode: Mode = "good";
  const requests: string[] = [];
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requests.push(path);
      if (path.includes("..")) return new Response("no", { status: 400 });
      if (path === "/__child.ts") {
        return new Response(CHILD, { headers: { "content-type": "application/typescript" } });
      }
      if (path === "/lib/checksums.json") {
        return new Response(checksums, { headers: { "content-type": "application/json" } });
      }
      if (path === `/lib/${key}`) {
        if (mode === "missing") return new Response("gone", { status: 404 });
        const body = binary.slice();
        if (mode === "tampered") body[body.length >> 1] ^= 0x01;
        return new Response(body, { headers: { "content-type": "application/octet-stream" } });
      }
      if (!/^\/(mod\.ts|src\/[\w/]+\.ts)$/.test(path)) return new Response("not found", { status: 404 });
      try {
        const text = await Deno.readTextFile(new URL(`..${path}`, import.meta.url));
        return new Response(text, { headers: { "content-type": "application/typescript" } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  try {
    const port = server.addr.port;
    await fn({ base: `http://127.0.0.1:${port}`, port, setMode: (m) => (mode = m), requests });
  } finally {
    ac.abort();
    await server.finished;
  }
}

/**
 * A fresh temporary path; the children create it. The test task grants no
 * --allow-write, so the few writes of this test (corrupting the cache,
 * cleaning up) run in `deno eval`, which has all permissions.
 */
async function tempPath(): Promise<string> {
  const { tmpdir } = await import("node:os");
  return `${tmpdir()}/utp-loader-${crypto.randomUUID()}`;
}

async function denoEval(code: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  if (out.code !== 0) throw new Error(`deno eval failed: ${new TextDecoder().decode(out.stderr)}`);
}

const removeTree = (dir: string) =>
  denoEval(`await Deno.remove(${JSON.stringify(dir)}, { recursive: true }).catch(() => {})`);

/** The variables a child needs (Windows sockets need SystemRoot); never HOME or UTP_LIBRARY. */
function passThrough(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["PATH", "SystemRoot", "windir", "TEMP", "TMP"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Path with forward slashes, for comparing paths built both ways on Windows. */
const slashes = (p: string) => p.replaceAll("\\", "/");

async function runChild(
  base: string,
  port: number,
  dir: string,
  cache: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--no-lock",
      "--quiet",
      "--unstable-net",
      `--allow-import=127.0.0.1:${port}`,
      "--allow-net=127.0.0.1,0.0.0.0",
      "--allow-ffi",
      `--allow-read=${cache}`,
      `--allow-write=${cache}`,
      "--allow-env=UTP_LIBRARY,UTP_CACHE_DIR,XDG_CACHE_HOME,HOME",
      `${base}/__child.ts`,
      base,
    ],
    clearEnv: true,
    env: { ...passThrough(), DENO_DIR: `${dir}/deno_dir`, UTP_CACHE_DIR: cache, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(90_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

test("loader (Deno): mod.ts imported over HTTP fetches, verifies, caches, then loads offline", async (t) => {
  if (!isDeno) return t.skip("Deno only: Bun cannot import modules over HTTP");
  const dir = await tempPath();
  try {
    await withServer(async ({ base, port, setMode, requests }) => {
      const cache = `${dir}/cache`;
      const target = libraryTarget(Deno.build.os, Deno.build.arch)!;
      const cached = `${cache}/0.0.0-test/${target}/${TARGETS[target]}`;

      const first = await runChild(base, port, dir, cache);
      assert.equal(first.code, 0, first.stderr);
      const result = JSON.parse(first.stdout.trim().split("\n").at(-1)!);
      assert.equal(result.echo, "ping");
      assert.equal(slashes(result.path), slashes(cached));
      assert.ok((await Deno.stat(cached)).isFile);
      assert.equal(requests.filter((p) => p.startsWith("/lib/")).length, 2); // checksums + binary

      // Second run: the binary is gone from the server; the cached copy is verified and used.
      setMode("missing");
      requests.length = 0;
      const second = await runChild(base, port, dir, cache);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(slashes(JSON.parse(second.stdout.trim().split("\n").at(-1)!).path), slashes(cached));
      assert.ok(!requests.includes(`/lib/${target}/${TARGETS[target]}`), "binary was fetched again");

      // A corrupted cache entry is replaced, not loaded.
      setMode("good");
      await denoEval(
        `const f = ${JSON.stringify(cached)}; const b = await Deno.readFile(f); b[100] ^= 0xff; ` +
          `await Deno.writeFile(f, b);`,
      );
      const third = await runChild(base, port, dir, cache);
      assert.equal(third.code, 0, third.stderr);
      assert.ok(requests.includes(`/lib/${target}/${TARGETS[target]}`), "corrupt cache was not re-fetched");
    });
  } finally {
    await removeTree(dir);
  }
});

test("loader (Deno): a tampered binary fails with a checksum error and is neither cached nor loaded", async (t) => {
  if (!isDeno) return t.skip("Deno only: Bun cannot import modules over HTTP");
  const dir = await tempPath();
  try {
    await withServer(async ({ base, port, setMode }) => {
      setMode("tampered");
      const cache = `${dir}/cache`;
      const out = await runChild(base, port, dir, cache);
      assert.notEqual(out.code, 0);
      assert.match(out.stderr, /Checksum mismatch for the native library "http:\/\/127\.0\.0\.1:\d+\/lib\//);
      assert.match(out.stderr, /It was not loaded nor cached/);
      const target = libraryTarget(Deno.build.os, Deno.build.arch)!;
      const leftovers: string[] = [];
      try {
        for await (const e of Deno.readDir(`${cache}/0.0.0-test/${target}`)) leftovers.push(e.name);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      assert.deepEqual(leftovers, []);
    });
  } finally {
    await removeTree(dir);
  }
});
