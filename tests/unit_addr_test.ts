// Copyright 2026 the utpstream authors. MIT license.
// Unit tests of the address code (no sockets): IPv4/IPv6 parsing and
// formatting, IPv4-mapped addresses, converting to the socket's family.
import { test } from "node:test";
import assert from "node:assert/strict";
import { displayHostname, formatIp, parseIp, parseIPv4, parseIPv6, toSocketFamily } from "../src/addr.ts";

const hex = (b: Uint8Array | undefined) => b && [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

test("IPv4 literals parse into the first four of 16 bytes; anything else is rejected", () => {
  assert.equal(hex(parseIPv4("192.168.1.255")), "c0a801ff" + "00".repeat(12));
  for (const bad of ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.x", "01234.1.1.1", "", " 1.2.3.4", "1..2.3"]) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

test("IPv6 literals: compression, brackets, zones, embedded IPv4", () => {
  assert.equal(hex(parseIPv6("::1")), "00".repeat(15) + "01");
  assert.equal(hex(parseIPv6("::")), "00".repeat(16));
  assert.equal(hex(parseIPv6("[fe80::1%eth0]")), "fe80" + "00".repeat(13) + "01");
  assert.equal(hex(parseIPv6("2001:db8:0:0:1:0:0:1")), "20010db8000000000001000000000001");
  assert.equal(hex(parseIPv6("::ffff:10.0.0.1")), "00".repeat(10) + "ffff0a000001");
  assert.equal(hex(parseIPv6("1:2:3:4:5:6:7:8")), "00010002000300040005000600070008");
  for (
    const bad of [
      "1:2:3:4:5:6:7",
      "1::2::3",
      "12345::",
      "g::1",
      "1:2:3:4:5:6:7:8:9",
      "1.2.3.4",
      ":::",
      "1:2:3:4:5:6:7::8",
    ]
  ) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});

test("formatting compresses the longest zero run (RFC 5952) and round-trips", () => {
  const cases: [string, string][] = [
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"],
    ["FE80::ABCD", "fe80::abcd"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(formatIp(6, parseIPv6(input)!), expected, input);
    assert.equal(hex(parseIPv6(expected)), hex(parseIPv6(input)), `${expected} round-trips`);
  }
  assert.equal(formatIp(4, parseIPv4("10.1.2.3")!), "10.1.2.3");
  assert.deepEqual(parseIp("::1"), { family: 6, bytes: parseIPv6("::1"), text: "::1" });
  assert.equal(parseIp("localhost"), undefined);
});

test("IPv4-mapped addresses read as IPv4 and convert to the socket's family", () => {
  const mapped = parseIPv6("::ffff:127.0.0.1")!;
  assert.equal(displayHostname(6, mapped), "127.0.0.1");
  assert.equal(displayHostname(6, parseIPv6("::1")!), "::1");
  const v4 = parseIp("127.0.0.1")!;
  // IPv4 through a dual-stack IPv6 socket becomes ::ffff:a.b.c.d.
  assert.equal(hex(toSocketFamily(v4, 6, true)?.bytes), hex(mapped));
  assert.equal(toSocketFamily(v4, 6, false), undefined, "an IPv6-only socket cannot reach IPv4");
  // A mapped address on an IPv4 socket becomes plain IPv4.
  const back = toSocketFamily(parseIp("::ffff:127.0.0.1")!, 4, false);
  assert.equal(back?.family, 4);
  assert.equal(hex(back?.bytes), hex(v4.bytes));
  assert.equal(toSocketFamily(parseIp("::1")!, 4, false), undefined);
  assert.equal(toSocketFamily(parseIp("::ffff:127.0.0.1")!, 6, false), undefined);
});
