// Copyright 2026 the utpstream authors. MIT license.
// The staging FIFO (src/byte_stage.ts): bytes come out in the order they
// went in, across block boundaries and partial takes, and every block goes
// back to the shared pool once its bytes are taken.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteStage, STAGE_BLOCK_BYTES, stagedBlocks } from "../src/byte_stage.ts";
import { pattern } from "./_helpers.ts";

test("a stage returns its bytes in order through partial takes across blocks", () => {
  const source = pattern(1 << 20, 9);
  const stage = new ByteStage();
  const out = new Uint8Array(source.byteLength);
  let put = 0, got = 0, step = 0;
  const before = stagedBlocks();
  while (got < source.byteLength) {
    // Uneven appends (up to 100 KiB, several blocks) and takes (up to 70 KiB).
    const n = Math.min(source.byteLength - put, (step * 7919) % 100_000);
    stage.append(source.subarray(put, put + n));
    put += n;
    const want = (step * 104_729) % 70_000 + 1;
    got += stage.takeInto(out.subarray(got, Math.min(out.byteLength, got + want)));
    assert.equal(stage.length, put - got);
    assert.ok(stagedBlocks() - before <= Math.ceil(stage.length / STAGE_BLOCK_BYTES) + 1);
    step++;
  }
  assert.deepEqual(out, source);
  assert.equal(stagedBlocks(), before, "every block went back to the pool");
});

test("take returns copies of at most what was asked, never past a block", () => {
  const stage = new ByteStage();
  const data = pattern(200_000, 3);
  stage.append(data.subarray(0, 150_000));
  assert.deepEqual(stage.take(1000), data.subarray(0, 1000));
  // The rest of the first block, not more.
  assert.deepEqual(stage.take(STAGE_BLOCK_BYTES + 5), data.subarray(1000, STAGE_BLOCK_BYTES));
  stage.append(data.subarray(150_000));
  let at = STAGE_BLOCK_BYTES;
  let last: Uint8Array = new Uint8Array(0);
  while (stage.length > 0) {
    const chunk = stage.take(STAGE_BLOCK_BYTES);
    assert.ok(chunk.byteLength > 0 && chunk.byteLength <= STAGE_BLOCK_BYTES);
    assert.deepEqual(chunk, data.subarray(at, at + chunk.byteLength));
    at += chunk.byteLength;
    last = chunk;
  }
  assert.equal(at, data.byteLength);
  assert.equal(stage.take(10).byteLength, 0);
  last.fill(0); // the copy is the caller's
  stage.append(data.subarray(0, 10));
  assert.deepEqual(stage.take(10), data.subarray(0, 10));
});

test("stages sharing the pool never see each other's bytes", () => {
  // Blocks one stage gives back are reused by another at once.
  const a = new ByteStage(), b = new ByteStage();
  const da = pattern(300_000, 1), db = pattern(300_000, 2);
  const oa = new Uint8Array(da.byteLength), ob = new Uint8Array(db.byteLength);
  let pa = 0, pb = 0, ga = 0, gb = 0, step = 0;
  while (ga < da.byteLength || gb < db.byteLength) {
    const na = Math.min(da.byteLength - pa, (step * 4099) % 40_000);
    a.append(da.subarray(pa, pa + na));
    pa += na;
    gb += b.takeInto(ob.subarray(gb, Math.min(ob.byteLength, gb + (step * 7001) % 50_000 + 1)));
    const nb = Math.min(db.byteLength - pb, (step * 6151) % 40_000);
    b.append(db.subarray(pb, pb + nb));
    pb += nb;
    ga += a.takeInto(oa.subarray(ga, Math.min(oa.byteLength, ga + (step * 5003) % 50_000 + 1)));
    step++;
  }
  assert.deepEqual(oa, da);
  assert.deepEqual(ob, db);
});

test("clear drops what is held and gives its blocks back", () => {
  const before = stagedBlocks();
  const stage = new ByteStage();
  stage.append(new Uint8Array(100_000));
  assert.equal(stagedBlocks() - before, Math.ceil(100_000 / STAGE_BLOCK_BYTES));
  stage.clear();
  assert.equal(stage.length, 0);
  assert.equal(stage.takeInto(new Uint8Array(10)), 0);
  assert.equal(stagedBlocks(), before);
});
