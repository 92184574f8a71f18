/*
 * White-box harness for C-level tests and the libFuzzer target: includes the
 * shim itself and its POSIX I/O (so tests can reach the utp_context inside a
 * utps_ctx, and the descriptor search's helpers), drives
 * it through utps_input with crafted µTP packets, and replaces libutp's clock
 * with a fake one the test advances.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#ifndef UTPS_TEST_HARNESS_H
#define UTPS_TEST_HARNESS_H

#include "../../native/utps.c"
#include "../../native/udp_io_posix.c" /* the platform I/O behind udp_io.h; its statics are reachable too */
#include "../../native/udp_offload.c"
#include "../../native/wake_thread.c"

#include <stdio.h>

static uint64_t h_now_us = 1000000000ull;

static uint64 h_ms(utp_callback_arguments *a) {
	(void)a;
	return h_now_us / 1000;
}
static uint64 h_us(utp_callback_arguments *a) {
	(void)a;
	return h_now_us;
}
static uint64 h_log(utp_callback_arguments *a) {
	if (getenv("UTPS_TEST_LOG")) fprintf(stderr, "utp: %s\n", (const char *)a->buf);
	return 0;
}

/* A server context (accepting) on a fake clock, in runtime I/O mode: outgoing
 * datagrams are queued and read back with h_take. */
static utps_ctx *h_server(void) {
	utps_ctx *ctx = utps_create();
	utps_set_option(ctx, UTPS_OPT_ACCEPT, 1);
	utp_set_callback(ctx->utp, UTP_GET_MILLISECONDS, &h_ms);
	utp_set_callback(ctx->utp, UTP_GET_MICROSECONDS, &h_us);
	if (getenv("UTPS_TEST_LOG")) {
		utp_set_callback(ctx->utp, UTP_LOG, &h_log);
		utp_context_set_option(ctx->utp, UTP_LOG_DEBUG, 1);
		utp_context_set_option(ctx->utp, UTP_LOG_NORMAL, 1);
	}
	return ctx;
}

static const uint8_t H_PEER_ADDR[16] = {127, 0, 0, 2};
#define H_PEER_PORT 40000

typedef struct {
	uint8_t type, ext;
	uint16_t conn_id;
	uint32_t ts, ts_diff, wnd;
	uint16_t seq, ack;
} h_hdr;

/* Serialises a header into out (>= 20 bytes); returns 20. */
static int h_put_hdr(uint8_t *out, const h_hdr *h) {
	out[0] = (uint8_t)((h->type << 4) | 1);
	out[1] = h->ext;
	out[2] = (uint8_t)(h->conn_id >> 8), out[3] = (uint8_t)h->conn_id;
	uint32_t v[3] = {h->ts, h->ts_diff, h->wnd};
	for (int i = 0; i < 3; i++) {
		out[4 + 4 * i] = (uint8_t)(v[i] >> 24), out[5 + 4 * i] = (uint8_t)(v[i] >> 16);
		out[6 + 4 * i] = (uint8_t)(v[i] >> 8), out[7 + 4 * i] = (uint8_t)v[i];
	}
	out[16] = (uint8_t)(h->seq >> 8), out[17] = (uint8_t)h->seq;
	out[18] = (uint8_t)(h->ack >> 8), out[19] = (uint8_t)h->ack;
	return 20;
}

static int h_input(utps_ctx *ctx, const uint8_t *buf, int len) {
	int r = utps_input(ctx, buf, len, 4, H_PEER_ADDR, H_PEER_PORT);
	utps_end_batch(ctx);
	return r;
}

/* Parsed outgoing datagram. */
typedef struct {
	h_hdr h;
	int len;
} h_out;

/* Takes queued outgoing datagrams; fills up to max headers; returns count. */
static int h_take(utps_ctx *ctx, h_out *outs, int max) {
	static uint8_t buf[1 << 20];
	int n = utps_take_datagrams(ctx, buf, sizeof buf);
	int count = 0;
	for (int off = 0; off < n;) {
		uint32_t len = get_u32(buf + off + 4);
		const uint8_t *p = buf + off + 24;
		if (count < max && len >= 20) {
			h_out *o = &outs[count++];
			o->len = (int)len;
			o->h.type = p[0] >> 4;
			o->h.ext = p[1];
			o->h.conn_id = (uint16_t)(p[2] << 8 | p[3]);
			o->h.seq = (uint16_t)(p[16] << 8 | p[17]);
			o->h.ack = (uint16_t)(p[18] << 8 | p[19]);
			o->h.wnd = (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 | (uint32_t)p[14] << 8 | p[15];
		}
		off += 24 + (int)len;
	}
	return count;
}

/* Drains the event queue; returns how many events of `type` it held. */
static int h_events(utps_ctx *ctx, int type) {
	static uint8_t buf[1 << 20];
	int n = utps_take_events(ctx, buf, sizeof buf);
	int found = 0;
	for (int off = 0; off < n;) {
		uint8_t t = buf[off];
		uint32_t len = get_u32(buf + off + 8);
		if (t == type) found++;
		off += UTPS_HEADER_SIZE + (int)len;
	}
	return found;
}

/* Handshake state of a crafted client. */
typedef struct {
	uint16_t send_id, recv_id, seq, ack;
} h_conn;

/* Sends a SYN with conn_id; returns 0 and fills c when the SYN-ACK came back. */
static int h_handshake(utps_ctx *ctx, uint16_t conn_id, uint16_t seq, h_conn *c) {
	uint8_t pkt[20];
	h_hdr h = {4, 0, conn_id, (uint32_t)h_now_us, 0, 1 << 20, seq, 0};
	h_put_hdr(pkt, &h);
	h_input(ctx, pkt, 20);
	h_out o[8];
	int n = h_take(ctx, o, 8);
	for (int i = 0; i < n; i++) {
		if (o[i].h.type == 2 && o[i].h.ack == seq) {
			c->send_id = (uint16_t)(conn_id + 1);
			c->recv_id = conn_id;
			c->seq = (uint16_t)(seq + 1);
			c->ack = (uint16_t)(o[i].h.seq - 1);
			return 0;
		}
	}
	return -1;
}

static int h_failures = 0;
#define CHECK(cond, ...)                                                         \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                            \
			fprintf(stderr, "\n");                                   \
			h_failures++;                                            \
		}                                                                \
	} while (0)

#endif
