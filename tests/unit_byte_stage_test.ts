// Copyright 2026 the utpstream authors. MIT license.
// The BYOB staging buffer (src/byte_stage.ts): bytes come out in the order
// they went in, across growth, compaction and partial takes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteStage } from "../src/byte_stage.ts";
import { pattern } from "./_helpers.ts";

test("a stage returns its bytes in order through partial takes, growth and compaction", () => {
  const source = pattern(1 << 20, 9);
  const stage = new ByteStage();
  const out = new Uint8Array(source.byteLength);
  let put = 0, got = 0, step = 0;
  while (got < source.byteLength) {
    // Uneven appends (up to 100 KiB, past the base size) and takes (up to 70 KiB).
    const n = Math.min(source.byteLength - put, (step * 7919) % 100_000);
    stage.append(source.subarray(put, put + n));
    put += n;
    const want = (step * 104_729) % 70_000 + 1;
    got += stage.takeInto(out.subarray(got, Math.min(out.byteLength, got + want)));
    assert.equal(stage.length, put - got);
    step++;
  }
  assert.deepEqual(out, source);
});

test("takeAll empties the stage and returns a copy", () => {
  const stage = new ByteStage();
  const data = pattern(200_000, 3);
  stage.append(data.subarray(0, 150_000));
  stage.takeInto(new Uint8Array(1000));
  stage.append(data.subarray(150_000));
  const all = stage.takeAll();
  assert.deepEqual(all, data.subarray(1000));
  assert.equal(stage.length, 0);
  all.fill(0); // the copy is the caller's
  stage.append(data.subarray(0, 10));
  assert.deepEqual(stage.takeAll(), data.subarray(0, 10));
});

test("clear drops what is held", () => {
  const stage = new ByteStage();
  stage.append(new Uint8Array(100_000));
  stage.clear();
  assert.equal(stage.length, 0);
  assert.equal(stage.takeInto(new Uint8Array(10)), 0);
});
