// Copyright 2026 the utpstream authors. MIT license.
// Which addresses count as an endpoint of this process (src/local_endpoints.ts):
// a busy-polled endpoint does not spin for such a peer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { forgetLocalEndpoint, isLocalEndpoint, rememberLocalEndpoint } from "../src/local_endpoints.ts";

test("an endpoint bound to an address is local at that address and port only", () => {
  const owner = {};
  rememberLocalEndpoint(owner, "127.0.0.1", 40001);
  try {
    assert.equal(isLocalEndpoint("127.0.0.1", 40001), true);
    assert.equal(isLocalEndpoint("::ffff:7f00:1", 40001), true, "IPv4-mapped form");
    assert.equal(isLocalEndpoint("127.0.0.1", 40002), false, "another port");
    assert.equal(isLocalEndpoint("127.0.0.2", 40001), false, "another address");
    assert.equal(isLocalEndpoint("10.0.0.1", 40001), false);
    assert.equal(isLocalEndpoint("not an address", 40001), false);
  } finally {
    forgetLocalEndpoint(owner);
  }
  assert.equal(isLocalEndpoint("127.0.0.1", 40001), false, "forgotten");
});

test("an endpoint bound to the unspecified address is local at every loopback address", () => {
  const v4 = {};
  const v6 = {};
  rememberLocalEndpoint(v4, "0.0.0.0", 40003);
  rememberLocalEndpoint(v6, "::", 40004);
  try {
    assert.equal(isLocalEndpoint("127.0.0.1", 40003), true);
    assert.equal(isLocalEndpoint("127.1.2.3", 40003), true);
    assert.equal(isLocalEndpoint("192.0.2.1", 40003), false, "not loopback: unknown without the interfaces");
    assert.equal(isLocalEndpoint("::1", 40004), true);
    assert.equal(isLocalEndpoint("127.0.0.1", 40004), true, "a dual-stack socket's IPv4 loopback");
    assert.equal(isLocalEndpoint("::2", 40004), false);
    assert.equal(isLocalEndpoint("2001:db8::1", 40004), false);
  } finally {
    forgetLocalEndpoint(v4);
    forgetLocalEndpoint(v6);
  }
});

test("IPv6 endpoints match their own address", () => {
  const owner = {};
  rememberLocalEndpoint(owner, "::1", 40005);
  try {
    assert.equal(isLocalEndpoint("::1", 40005), true);
    assert.equal(isLocalEndpoint("0:0:0:0:0:0:0:1", 40005), true, "another spelling");
    assert.equal(isLocalEndpoint("127.0.0.1", 40005), false);
  } finally {
    forgetLocalEndpoint(owner);
  }
});
