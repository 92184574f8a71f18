// Copyright 2026 the utpstream authors. MIT license.
// The C⇄TypeScript contract is written once in native/utps.h. This test reads
// the header and checks every constant and every exported prototype against
// what TypeScript uses (src/ffi/native.ts, src/ffi/symbols.ts), so neither
// side can change alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  CONNECT_LIMIT,
  CounterOffset,
  COUNTERS_SIZE,
  DATAGRAM_HEADER_SIZE,
  Defaults,
  DRAIN_EVENT_BUDGET,
  Event,
  EVENT_HEADER_SIZE,
  NativeError,
  Option,
  STATS_SIZE,
  StatsOffset,
} from "../src/ffi/native.ts";
import { type NativeType, symbols } from "../src/ffi/symbols.ts";

const header = readFileSync(new URL("../native/utps.h", import.meta.url), "utf8")
  .replace(/\/\*[\s\S]*?\*\//g, " "); // comments out

/** Every `UTPS_NAME = value` enumerator of the header. */
const constants = new Map<string, number>();
for (const m of header.matchAll(/\b(UTPS_[A-Z0-9_]+)\s*=\s*(-?\d+)/g)) constants.set(m[1]!, Number(m[2]));

/** The header's constants under `prefix`, keyed by the rest of the name. */
function group(prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of constants) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = value;
  return out;
}

test("event types, error codes and options match utps.h", () => {
  assert.deepEqual(group("UTPS_EV_"), { ...Event });
  assert.deepEqual(group("UTPS_ERR_"), { ...NativeError });
  assert.deepEqual(group("UTPS_OPT_"), { ...Option });
  assert.deepEqual(group("UTPS_DEFAULT_"), { ...Defaults });
});

test("record layouts match utps.h", () => {
  assert.equal(constants.get("UTPS_HEADER_SIZE"), EVENT_HEADER_SIZE);
  assert.equal(constants.get("UTPS_DATAGRAM_HEADER_SIZE"), DATAGRAM_HEADER_SIZE);
  assert.equal(constants.get("UTPS_CONNECT_LIMIT"), CONNECT_LIMIT);
  assert.equal(constants.get("UTPS_COUNTERS_SIZE"), COUNTERS_SIZE);
  assert.equal(constants.get("UTPS_DRAIN_EVENT_BUDGET"), DRAIN_EVENT_BUDGET);
  assert.deepEqual(group("UTPS_COUNTER_"), { ...CounterOffset });
  const stats = group("UTPS_STATS_");
  assert.equal(stats.SIZE, STATS_SIZE);
  delete stats.SIZE;
  assert.deepEqual(stats, { ...StatsOffset });
});

test("every constant of utps.h is used by TypeScript", () => {
  const known = new Set([
    ...Object.keys(Event).map((k) => `UTPS_EV_${k}`),
    ...Object.keys(NativeError).map((k) => `UTPS_ERR_${k}`),
    ...Object.keys(Option).map((k) => `UTPS_OPT_${k}`),
    ...Object.keys(Defaults).map((k) => `UTPS_DEFAULT_${k}`),
    ...Object.keys(StatsOffset).map((k) => `UTPS_STATS_${k}`),
    ...Object.keys(CounterOffset).map((k) => `UTPS_COUNTER_${k}`),
    "UTPS_STATS_SIZE",
    "UTPS_HEADER_SIZE",
    "UTPS_DATAGRAM_HEADER_SIZE",
    "UTPS_CONNECT_LIMIT",
    "UTPS_COUNTERS_SIZE",
    "UTPS_DRAIN_EVENT_BUDGET",
  ]);
  assert.deepEqual([...constants.keys()].filter((name) => !known.has(name)), []);
});

/** The table type of a C type, as the shim uses them. */
function tableType(c: string): NativeType {
  const t = c.replace(/\bconst\b/g, "").replace(/\s+/g, " ").trim();
  if (t === "utps_ctx *") return "pointer";
  if (t === "uint8_t *") return "buffer";
  if (t === "utps_wake_fn") return "function";
  if (t === "int" || t === "int32_t") return "i32";
  if (t === "uint32_t") return "u32";
  if (t === "void") return "void";
  throw new Error(`no table type for the C type "${c}"`);
}

/** Exported functions that JavaScript does not call (used inside the shim). */
const NOT_CALLED = new Set(["utps_get_socket_buffer"]);

test("every exported prototype matches its entry in the symbol table, argument by argument", () => {
  const prototypes = new Map<string, { parameters: NativeType[]; result: NativeType }>();
  for (const m of header.matchAll(/UTPS_EXPORT\s+([\w\s]+?\*?)\s*(utps_\w+)\s*\(([^)]*)\)\s*;/g)) {
    const params = m[3]!.trim() === "void" ? [] : m[3]!.split(",").map((p) => {
      const match = /^(.*?)(\w+)$/.exec(p.trim());
      assert.ok(match, `cannot parse parameter "${p}" of ${m[2]}`);
      return tableType(match[1]!);
    });
    prototypes.set(m[2]!, { parameters: params, result: tableType(m[1]!) });
  }
  assert.ok(prototypes.size >= 20, `parsed only ${prototypes.size} prototypes`);
  for (const [name, def] of Object.entries(symbols)) {
    const proto = prototypes.get(name);
    assert.ok(proto, `${name} is in the table but not exported by utps.h`);
    assert.deepEqual({ parameters: [...def.parameters], result: def.result }, proto, name);
  }
  const uncalled = [...prototypes.keys()].filter((name) => !(name in symbols));
  assert.deepEqual(uncalled.sort(), [...NOT_CALLED].sort(), "exported but missing from the table");
});
