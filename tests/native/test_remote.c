/*
 * C-level regression tests for libutp bugs a remote peer can trigger, run on
 * a build with libutp's asserts enabled and ASan/UBSan (tests/native/CMakeLists.txt).
 * The JavaScript tests in tests/hardening_crafted_test.ts cover the same
 * bugs end to end; these reach what JavaScript cannot: the fake clock (the
 * 5-second delay average) and ICMP input.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#include "harness.h"

static void send_hdr(utps_ctx *s, h_hdr h, const uint8_t *ext, int ext_len, const char *payload) {
	uint8_t pkt[256];
	int n = h_put_hdr(pkt, &h);
	if (ext_len) memcpy(pkt + n, ext, (size_t)ext_len), n += ext_len;
	if (payload) memcpy(pkt + n, payload, strlen(payload)), n += (int)strlen(payload);
	h_input(s, pkt, n);
}

/* Patch 0004: unknown extension types are skipped, for DATA, FIN and STATE. */
static void test_unknown_extensions(void) {
	utps_ctx *s = h_server();
	h_conn c;
	CHECK(h_handshake(s, 0x1234, 1000, &c) == 0, "handshake");
	h_events(s, 0);
	const uint8_t close_reason[] = {0, 4, 0, 0, 0, 3};
	send_hdr(s, (h_hdr){0, 3, c.send_id, (uint32_t)h_now_us, 0, 1 << 20, c.seq, c.ack}, close_reason, 6, "hello");
	CHECK(h_events(s, UTPS_EV_READ) == 1, "DATA with extension 3 delivered");
	send_hdr(s, (h_hdr){1, 3, c.send_id, (uint32_t)h_now_us, 0, 1 << 20, (uint16_t)(c.seq + 1), c.ack}, close_reason, 6, NULL);
	CHECK(h_events(s, UTPS_EV_EOF) == 1, "FIN with extension 3 seen");
	CHECK(s->c_rx_foreign == 0, "no µTP packet was taken for a foreign datagram");
	utps_destroy(s);
}

/* Patch 0005: a SYN with connection id 0xFFFF; later packets carry id 0. */
static void test_conn_id_wrap(void) {
	utps_ctx *s = h_server();
	h_conn c;
	CHECK(h_handshake(s, 0xffff, 1000, &c) == 0, "handshake");
	CHECK(c.send_id == 0, "wrapped id");
	h_events(s, 0);
	send_hdr(s, (h_hdr){0, 0, c.send_id, (uint32_t)h_now_us, 0, 1 << 20, c.seq, c.ack}, NULL, 0, "wrap");
	CHECK(h_events(s, UTPS_EV_READ) == 1, "data on id 0 reaches the 0xFFFF connection");
	h_out o[8];
	int n = h_take(s, o, 8), resets = 0;
	for (int i = 0; i < n; i++) resets += o[i].h.type == 3;
	CHECK(resets == 0, "no RST");
	utps_destroy(s);
}

/* Patch 0006: a re-sent SYN is answered with the same SYN-ACK. */
static void test_duplicate_syn(void) {
	utps_ctx *s = h_server();
	h_conn c;
	CHECK(h_handshake(s, 0x4567, 500, &c) == 0, "handshake");
	uint8_t syn[20];
	h_put_hdr(syn, &(h_hdr){4, 0, 0x4567, (uint32_t)h_now_us, 0, 1 << 20, 500, 0});
	h_input(s, syn, 20);
	h_out o[8];
	int n = h_take(s, o, 8);
	CHECK(n == 1 && o[0].h.type == 2 && o[0].h.ack == 500 && o[0].h.seq == (uint16_t)(c.ack + 1),
	      "SYN-ACK re-sent (n=%d)", n);
	CHECK(s->live == 1, "one connection");
	utps_destroy(s);
}

/* Patch 0007: reply_micro (timestamp_difference_microseconds) is the peer's
 * to choose. Samples of INT_MAX for a full 5-second period make the average
 * exactly INT_MAX: libutp's assert fires (this build keeps asserts). */
static void delay_samples(uint32_t offset) {
	utps_ctx *s = h_server();
	h_conn c;
	CHECK(h_handshake(s, 0x2222, 1000, &c) == 0, "handshake");
	const uint32_t base = 1000;
	send_hdr(s, (h_hdr){2, 0, c.send_id, (uint32_t)h_now_us, base, 1 << 20, c.seq, c.ack}, NULL, 0, NULL);
	for (int period = 0; period < 3; period++) {
		h_now_us += 6000000; /* next 5-second averaging period */
		for (int i = 0; i < 20; i++) {
			send_hdr(s, (h_hdr){2, 0, c.send_id, (uint32_t)h_now_us, base + offset, 1 << 20, c.seq, c.ack}, NULL, 0, NULL);
		}
	}
	CHECK(s->live == 1, "connection survives");
	utps_destroy(s);
}

static void test_delay_sample_bounds(void) {
	delay_samples(0x7fffffffu); /* every sample +INT_MAX */
	delay_samples(0x80000000u); /* every sample INT_MIN */
}

/* Patch 0008: an ICMP "fragmentation needed" below a proven MTU floor. Not
 * reachable through utpstream (the shim feeds no ICMP to libutp), checked
 * here because libutp exposes it. */
static void test_mtu_floor_above_ceiling(void) {
	utps_ctx *s = h_server();
	h_conn c;
	CHECK(h_handshake(s, 0x3333, 1000, &c) == 0, "handshake");
	uint32_t id = slot_id(s, 0);
	static uint8_t big[3000];
	memset(big, 'x', sizeof big);
	CHECK(utps_write(s, id, big, 1400) > 0, "write");
	utps_end_batch(s);
	h_out o[16];
	int n = h_take(s, o, 16);
	int probe = -1;
	for (int i = 0; i < n; i++)
		if (o[i].h.type == 0) probe = i;
	CHECK(probe >= 0 && o[probe].len > 576, "a full-size data packet (MTU probe) went out");
	if (probe < 0) return;
	/* Acknowledge it: the floor rises to the probe's size. */
	send_hdr(s, (h_hdr){2, 0, c.send_id, (uint32_t)h_now_us, 1000, 1 << 20, c.seq, o[probe].h.seq}, NULL, 0, NULL);
	/* Now a "fragmentation needed, next hop MTU 600" quoting that packet. */
	uint8_t quoted[20];
	h_put_hdr(quoted, &(h_hdr){0, 0, c.recv_id, 0, 0, 0, o[probe].h.seq, 0});
	struct sockaddr_storage ss;
	socklen_t sl;
	to_sockaddr(4, H_PEER_ADDR, H_PEER_PORT, &ss, &sl);
	CHECK(utp_process_icmp_fragmentation(s->utp, quoted, 20, (struct sockaddr *)&ss, sl, 600) == 1, "ICMP matched");
	CHECK(utps_write(s, id, big, 3000) > 0, "write after ICMP");
	utps_end_batch(s);
	n = h_take(s, o, 16);
	for (int i = 0; i < n; i++) CHECK(o[i].len <= 600, "packet of %d bytes after next hop MTU 600", o[i].len);
	utps_destroy(s);
}

int main(void) {
	test_unknown_extensions();
	test_conn_id_wrap();
	test_duplicate_syn();
	test_delay_sample_bounds();
	test_mtu_floor_above_ceiling();
	CHECK(utps_live_contexts() == 0, "contexts released");
	if (h_failures) {
		fprintf(stderr, "test_remote: %d check(s) failed\n", h_failures);
		return 1;
	}
	printf("test_remote: all checks passed\n");
	return 0;
}
