// Copyright 2026 the utpstream authors. MIT license.
// Unit tests of option validation (no sockets): tuning options and admission
// options give TypeError for wrong types and RangeError for values out of
// range, with messages that name the option, its range and what was received.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkTuning } from "../src/options.ts";
import { checkAdmission, checkDialOptions } from "../src/endpoint.ts";

test("tuning options: valid values pass through, absent ones stay absent", () => {
  assert.deepEqual(checkTuning({}, "bind"), {});
  assert.deepEqual(
    checkTuning({ sendBufferBytes: 4096, backlog: 65_535, maxSockets: 1, idleTimeout: 0 }, "bind"),
    { sendBufferBytes: 4096, backlog: 65_535, maxSockets: 1, idleTimeout: 0 },
  );
});

test("tuning options: wrong types are TypeErrors, out-of-range values RangeErrors", () => {
  const cases: [Record<string, unknown>, ErrorConstructor, RegExp][] = [
    [
      { receiveWindowBytes: "1 MiB" },
      TypeError,
      /^Cannot bind: receiveWindowBytes must be an integer, received 1 MiB$/,
    ],
    [{ targetDelayMs: 1.5 }, TypeError, /targetDelayMs must be an integer/],
    [
      { maxPacketSize: 575 },
      RangeError,
      /^Cannot bind: maxPacketSize must be between 576 and 65507, received 575$/,
    ],
    [{ backlog: 0 }, RangeError, /backlog must be between 1 and 65535/],
    [{ maxSockets: 1 << 20 }, RangeError, /maxSockets must be between 1 and 1048575/],
    [{ idleTimeout: -1 }, RangeError, /idleTimeout/],
    [{ sendBufferBytes: NaN }, TypeError, /sendBufferBytes/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(
      () => checkTuning(options, "bind"),
      (e: unknown) => e instanceof type && message.test((e as Error).message),
    );
  }
});

test("admission and dial options are validated once, with the same conventions", () => {
  assert.deepEqual(checkAdmission({ maxConnections: 3 }, "listen"), { maxConnections: 3 });
  assert.throws(() => checkAdmission({ maxConnections: 0 }, "listen"), RangeError);
  assert.throws(() => checkAdmission({ maxConnections: 2.5 }, "listen"), TypeError);
  assert.throws(() => checkAdmission({ firewall: "yes" as never }, "listen"), /firewall must be a function/);
  assert.deepEqual(checkDialOptions({ port: 9 }), {
    hostname: "127.0.0.1",
    port: 9,
    signal: undefined,
    connectTimeout: 10_000,
  });
  assert.throws(() => checkDialOptions({ port: 70_000 }), RangeError);
  assert.throws(() => checkDialOptions({ port: 9, connectTimeout: 0 }), RangeError);
  assert.throws(() => checkDialOptions({ port: 9, connectTimeout: "1s" }), TypeError);
  assert.throws(() => checkDialOptions(null), TypeError);
});
