// Copyright 2026 the utpstream authors. MIT license.
// The prebuilt binaries in lib/ (scripts/build_targets.sh): format, exported
// symbols, dynamic dependencies, and checksums, with `file`, `objdump` and
// `nm`. Skips when lib/ has not been built or the tools are missing.
//
// With UTP_TEST_QEMU=1 (Deno only; scripts/test_foreign.sh sets it up), the
// echo and transfer tests also run on linux-arm64 under qemu-user-static with
// Deno's own linux-arm64 build, loading lib/linux-arm64/libutpstream.so
// through the normal loader.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { symbols } from "../src/ffi/symbols.ts";
import { TARGETS } from "../src/ffi/library_path.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/^\/([A-Za-z]:\/)/, "$1");
const LIB = `${ROOT}lib`;
const isDeno = (globalThis as { Bun?: unknown }).Bun === undefined &&
  (globalThis as { Deno?: unknown }).Deno !== undefined;

function have(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 16 << 20 });
}

/** What `file` must say, per target. */
const FORMAT: Record<string, RegExp> = {
  "linux-x64": /ELF 64-bit LSB shared object, x86-64/,
  "linux-arm64": /ELF 64-bit LSB shared object, ARM aarch64/,
  "linux-armv7": /ELF 32-bit LSB shared object, ARM, EABI5/,
  "darwin-x64": /Mach-O 64-bit .*x86_64/,
  "darwin-arm64": /Mach-O 64-bit .*arm64/,
  "windows-x64": /PE32\+ executable \(DLL\).* x86-64/,
};

/** Highest glibc symbol version a Linux binary may need (Deno itself needs 2.27). */
const GLIBC_MAX: Record<string, number[]> = {
  "linux-x64": [2, 27],
  "linux-arm64": [2, 27],
  "linux-armv7": [2, 28],
};
const ELF_NEEDED_OK =
  /^(libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux[-\w.]*\.so\.\d)$/;
const PE_IMPORTS_OK = /^(KERNEL32|msvcrt|WS2_32|ADVAPI32)\.dll$/i;

function built(): { target: string; file: string; path: string }[] {
  if (!existsSync(LIB)) return [];
  return readdirSync(LIB, { withFileTypes: true })
    .filter((d) => d.isDirectory() && Object.hasOwn(TARGETS, d.name))
    .map((d) => ({ target: d.name, file: TARGETS[d.name], path: `${LIB}/${d.name}/${TARGETS[d.name]}` }))
    .filter((a) => existsSync(a.path));
}

function compareVersion(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

test("prebuilt: every artefact in lib/ matches lib/checksums.json", (t) => {
  const artefacts = built();
  if (artefacts.length === 0) return t.skip("lib/ not built (bash scripts/build_targets.sh)");
  const sums = JSON.parse(readFileSync(`${LIB}/checksums.json`, "utf8")) as {
    version: string;
    files: Record<string, string>;
  };
  const denoJson = JSON.parse(readFileSync(`${ROOT}deno.json`, "utf8")) as { version: string };
  assert.equal(sums.version, denoJson.version, "checksums.json was written for another version");
  for (const a of artefacts) {
    const sha = createHash("sha256").update(readFileSync(a.path)).digest("hex");
    assert.equal(sums.files[`${a.target}/${a.file}`], sha, `${a.target}: stale or missing checksum`);
  }
  for (const key of Object.keys(sums.files)) {
    assert.ok(existsSync(`${LIB}/${key}`), `checksums.json lists ${key}, which is not in lib/`);
  }
});

test("prebuilt: format, exported symbols and dynamic dependencies of each artefact", (t) => {
  const artefacts = built();
  if (artefacts.length === 0) return t.skip("lib/ not built (bash scripts/build_targets.sh)");
  if (!have("file") || !have("objdump") || !have("nm")) return t.skip("needs file, objdump and nm");
  const wanted = Object.keys(symbols).sort();
  for (const a of artefacts) {
    const kind = run("file", ["-b", a.path]);
    assert.match(kind, FORMAT[a.target], `${a.target}: ${kind}`);
    let exported: string[];
    if (a.target.startsWith("linux-")) {
      exported = run("nm", ["-D", "--defined-only", a.path]).split("\n")
        .map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === "T").map((f) => f[2]);
      const dyn = run("objdump", ["-p", a.path]);
      const needed = [...dyn.matchAll(/^\s*NEEDED\s+(\S+)/gm)].map((m) => m[1]);
      for (const n of needed) assert.match(n, ELF_NEEDED_OK, `${a.target}: unexpected dependency ${n}`);
      const versions = [...run("objdump", ["-T", a.path]).matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)]
        .map((m) => m[1].split(".").map(Number));
      const max = versions.reduce((x, y) => (compareVersion(x, y) >= 0 ? x : y), [0]);
      assert.ok(
        compareVersion(max, GLIBC_MAX[a.target]) <= 0,
        `${a.target}: needs glibc ${max.join(".")}, more than ${GLIBC_MAX[a.target].join(".")}`,
      );
      if (a.target === "linux-armv7") {
        assert.match(run("readelf", ["-h", a.path]), /hard-float ABI/, "linux-armv7: not hard-float");
      }
    } else if (a.target.startsWith("windows-")) {
      const pe = run("objdump", ["-p", a.path]);
      const table = pe.slice(pe.indexOf("[Ordinal/Name Pointer] Table"));
      exported = [...table.matchAll(/\]\s+(\w+)\s*$/gm)].map((m) => m[1]);
      const imports = [...pe.matchAll(/DLL Name:\s+(\S+)/g)].map((m) => m[1]);
      assert.ok(imports.length > 0, `${a.target}: no import table`);
      for (const dll of imports) assert.match(dll, PE_IMPORTS_OK, `${a.target}: unexpected DLL ${dll}`);
    } else {
      // Mach-O: binutils' nm may not read it; macOS's own nm does (CI).
      const r = spawnSync("nm", ["-gU", a.path], { encoding: "utf8" });
      if (r.status !== 0) {
        t.diagnostic(`${a.target}: nm cannot read Mach-O here; symbols not checked`);
        continue;
      }
      exported = r.stdout.split("\n").map((l) => l.trim().split(/\s+/).at(-1)!.replace(/^_/, ""));
    }
    const missing = wanted.filter((s) => !exported.includes(s));
    assert.deepEqual(missing, [], `${a.target}: symbols not exported`);
  }
});

test("prebuilt: echo and transfer tests on linux-arm64 under qemu-user-static (UTP_TEST_QEMU=1)", (t) => {
  if (process.env.UTP_TEST_QEMU !== "1") return t.skip("set UTP_TEST_QEMU=1 (bash scripts/test_foreign.sh)");
  if (!isDeno) return t.skip("Deno only");
  const deno = process.env.UTP_QEMU_DENO ?? `${ROOT}.deps/deno-linux-arm64/deno`;
  const sysroot = process.env.UTP_QEMU_SYSROOT ?? "/usr/aarch64-linux-gnu";
  assert.ok(existsSync(`${LIB}/linux-arm64/libutpstream.so`), "lib/linux-arm64 not built");
  assert.ok(existsSync(deno), `no linux-arm64 Deno at ${deno}`);
  const tests = (process.env.UTP_QEMU_TESTS ?? "tests/echo_test.ts tests/transfer_test.ts").split(/\s+/);
  const probe = `${ROOT}tests/_qemu_probe.ts`;
  const started = Date.now();
  const out = spawnSync("qemu-aarch64-static", [
    "-L",
    sysroot,
    deno,
    "test",
    "--no-check", // type checking under emulation costs ~80 s and proves nothing about the binary
    "--unstable-net",
    "--allow-net",
    "--allow-ffi",
    "--allow-read",
    "--allow-env",
    probe,
    ...tests,
  ], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 540_000,
    env: {
      ...process.env,
      NO_COLOR: "1",
      UTP_LIBRARY: "",
      DENO_DIR: `${ROOT}.deps/deno-linux-arm64/deno_dir`,
    },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.diagnostic(`qemu run took ${seconds} s\n${out.stdout}`);
  assert.equal(out.status, 0, `${out.stdout}\n${out.stderr}\n${out.error ?? ""}`);
  assert.match(out.stdout, /arch=aarch64 library=\S*lib\/linux-arm64\/libutpstream\.so/);
});

/** How to compile tests/foreign/loopback.c for a target and run it here. */
const SMOKE: Record<string, { cc: string[]; run: string[] }> = {
  "linux-x64": { cc: ["gcc", "-ldl"], run: [] },
  "linux-arm64": {
    cc: ["aarch64-linux-gnu-gcc", "-ldl"],
    run: ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"],
  },
  "linux-armv7": {
    cc: ["arm-linux-gnueabihf-gcc", "-ldl"],
    run: ["qemu-arm-static", "-L", "/usr/arm-linux-gnueabihf"],
  },
  // Debian's wine64 package (no recommends) has no wrapper in PATH.
  "windows-x64": {
    cc: ["x86_64-w64-mingw32-gcc"],
    run: [existsSync("/usr/lib/wine/wine64") ? "/usr/lib/wine/wine64" : "wine"],
  },
};

test("prebuilt: C loopback transfer through each artefact, under qemu-user / wine (UTP_TEST_QEMU=1)", (t) => {
  if (process.env.UTP_TEST_QEMU !== "1") return t.skip("set UTP_TEST_QEMU=1 (bash scripts/test_foreign.sh)");
  if (process.platform !== "linux" || process.arch !== "x64") return t.skip("needs a linux-x64 host");
  const out = `${ROOT}.deps/smoke`;
  execFileSync("mkdir", ["-p", out]);
  let ran = 0;
  for (const a of built()) {
    const how = SMOKE[a.target];
    if (how === undefined) continue;
    const [cc, ...libs] = how.cc;
    if (!have(cc) || (how.run.length > 0 && !have(how.run[0]) && !existsSync(how.run[0]))) {
      t.diagnostic(`${a.target}: ${cc} or ${how.run[0]} missing; not run`);
      continue;
    }
    const exe = `${out}/loopback-${a.target}${a.target.startsWith("windows") ? ".exe" : ""}`;
    execFileSync(cc, ["-O2", "-o", exe, `${ROOT}tests/foreign/loopback.c`, ...libs]);
    const [cmd, ...pre] = how.run.length > 0 ? how.run : [exe];
    const lib = a.target.startsWith("windows") ? `Z:${a.path.replaceAll("/", "\\")}` : a.path;
    const args = how.run.length > 0 ? [...pre, exe, lib] : [lib];
    const r = spawnSync(cmd, args, {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, WINEDEBUG: "-all", WINEPREFIX: `${out}/wineprefix` },
    });
    assert.equal(r.status, 0, `${a.target}: ${r.stdout}\n${r.stderr}\n${r.error ?? ""}`);
    assert.match(r.stdout, /loopback: ok/, `${a.target}: ${r.stdout}`);
    t.diagnostic(`${a.target}: ${r.stdout.trim()}`);
    ran++;
  }
  assert.ok(ran > 0, "no artefact could be run");
});
