/*
 * utpstream native shim. See utps.h for the contract.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "utps.h"
#include "udp_io.h"
#include "wake_thread.h" /* the platform's socket calls; also its socket headers */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef _WIN32
#include <sched.h>  /* sched_yield */
#include <unistd.h> /* getpid */
#endif

#ifdef __linux__
#include <sys/random.h>
#endif

#include "utp.h"

/* ---------------------------------------------------------------- slots */

#define SLOT_BITS 20
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define GEN_MASK 0x7ffu /* ids stay below 2^31 */

enum {
	SLOT_FREE = 0,
	SLOT_LIVE = 1,
	SLOT_NAGLE = 2,     /* written since the last end of batch */
	SLOT_PENDING = 4,   /* accepted, the initiator has not confirmed the handshake (counts against backlog) */
	SLOT_CLOSED = 8,    /* utp_close called */
	SLOT_ANNOUNCED = 16, /* JavaScript knows the id: events are reported */
	SLOT_INBOUND = 32,  /* accepted and not yet closed by the application (counts against max_inbound) */
};

typedef struct {
	utp_socket *sock;
	uint32_t gen;
	uint32_t unread; /* bytes handed to JavaScript and not yet consumed */
	uint32_t flags;
	uint32_t next_free;
} slot_t;

/* ------------------------------------------------------------- byte queue */

typedef struct {
	uint8_t *data;
	size_t len;  /* bytes written */
	size_t head; /* bytes already taken */
	size_t cap;
} bytequeue_t;

static int bq_reserve(bytequeue_t *q, size_t extra) {
	if (q->head > 0 && q->head == q->len) {
		q->head = q->len = 0;
	}
	if (q->len + extra <= q->cap) return 0;
	if (q->head > 0) {
		memmove(q->data, q->data + q->head, q->len - q->head);
		q->len -= q->head;
		q->head = 0;
		if (q->len + extra <= q->cap) return 0;
	}
	size_t cap = q->cap ? q->cap : 65536;
	while (cap < q->len + extra) cap *= 2;
	uint8_t *p = (uint8_t *)realloc(q->data, cap);
	if (!p) return -1;
	q->data = p;
	q->cap = cap;
	return 0;
}

/* ------------------------------------------------------------ tx batching */

/* Batch buffers stay at 64 KiB each: allocations above glibc's mmap
 * threshold (128 KiB), freed and made again per endpoint, raise that
 * threshold and then fragment the heap (RSS grew ~100 KiB per endpoint in the
 * churn test with 4 MiB receive batches). Datagrams larger than a receive
 * slot are dropped and counted (rx_truncated); µTP packets are far smaller. */
#define TX_BATCH 32
#define TX_SLOT_BYTES 2048
#define RX_BATCH 16
#define RX_SLOT_BYTES 4096

struct utps_ctx {
	utp_context *utp;
	int fd; /* -1 unless utps_attach_fd */
	int destroying;
	int accepting;
	int backlog;
	int pending;
	int firewall;
	int max_sockets;  /* UTPS_OPT_MAX_SOCKETS */
	int max_inbound;  /* UTPS_OPT_MAX_INBOUND, 0 = none */
	int inbound;      /* slots with SLOT_INBOUND */
	int refuse;       /* UTPS_OPT_REFUSE */
	/* resets sent for refused SYNs in the current second, and that second */
	int resets_sent;
	uint64_t resets_second;
	int mtu_cap;
	size_t rx_slot; /* receive slot size, grows with the MTU cap */
	/* the datagram being processed, for UTPS_EV_INCOMING */
	const uint8_t *cur_buf;
	size_t cur_len;
	/* addresses allowed to open one connection each (firewall mode) */
	struct sockaddr_storage allow[32];
	int nallow;

	slot_t *slots;
	uint32_t nslots;
	uint32_t first_free; /* index + 1, 0 = none */
	int live;

	bytequeue_t events;
	size_t last_read_record; /* offset + 1 of the last READ header, 0 = none */
	bytequeue_t datagrams;   /* runtime I/O mode outgoing queue */

	uint32_t *nagle;
	uint32_t nnagle, nagle_cap;

	uint64_t rng;

	/* native I/O */
	uint8_t *txbuf;
	struct sockaddr_storage txaddr[TX_BATCH];
	socklen_t txaddrlen[TX_BATCH];
	size_t txlen[TX_BATCH];
	int ntx;
	uint8_t *rxbuf;
	int gso;              /* 1: runs of equal datagrams leave segmented (UDP_SEGMENT) */
	int gro;              /* 1: the socket coalesces received datagrams (UDP_GRO) */
	uint8_t *grobuf;      /* GRO_BATCH buffers of GRO_SLOT_BYTES */
	wake_thread *waiter;  /* utps_wake_start */

	/* counters, see utps_counters */
	uint64_t c_rx_datagrams, c_tx_datagrams, c_tx_dropped, c_rx_foreign, c_rx_truncated, c_syscalls;
	uint64_t c_tx_segmented, c_rx_coalesced;
	uint64_t c_refused;
};

/* Resets for refused SYNs, at most this many per second (each answers one
 * SYN with a packet of the same size: no amplification, but bounded). */
#define MAX_REFUSALS_PER_SECOND 16384

static int g_live_sockets = 0;
static int g_live_contexts = 0;

/* ---------------------------------------------------------------- helpers */

static uint64_t splitmix(uint64_t *s) {
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int to_sockaddr(int family, const uint8_t *addr, int port, struct sockaddr_storage *ss, socklen_t *len) {
	memset(ss, 0, sizeof *ss);
	if (port < 0 || port > 65535) return -1;
	if (family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		memcpy(&a->sin_addr, addr, 4);
		*len = sizeof *a;
		return 0;
	}
	if (family == 6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		memcpy(&a->sin6_addr, addr, 16);
		*len = sizeof *a;
		return 0;
	}
	return -1;
}

/* Writes family, port and 16 address bytes; returns 0 on success. */
static int from_sockaddr(const struct sockaddr *sa, uint8_t *family, uint16_t *port, uint8_t addr[16]) {
	memset(addr, 0, 16);
	if (!sa) return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		*family = 4;
		*port = ntohs(a->sin_port);
		memcpy(addr, &a->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		*family = 6;
		*port = ntohs(a->sin6_port);
		memcpy(addr, &a->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static void put_u16(uint8_t *p, uint16_t v) {
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p) {
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t slot_id(utps_ctx *ctx, uint32_t index) {
	return (index & SLOT_MASK) | ((ctx->slots[index].gen & GEN_MASK) << SLOT_BITS);
}

static slot_t *slot_by_id(utps_ctx *ctx, uint32_t id) {
	uint32_t index = id & SLOT_MASK;
	if (index >= ctx->nslots) return NULL;
	slot_t *s = &ctx->slots[index];
	if (s->flags == SLOT_FREE) return NULL;
	if ((s->gen & GEN_MASK) != (id >> SLOT_BITS)) return NULL;
	return s;
}

static slot_t *slot_of(utps_ctx *ctx, utp_socket *sock, uint32_t *index_out) {
	uintptr_t v = (uintptr_t)utp_get_userdata(sock);
	if (v == 0) return NULL;
	uint32_t index = (uint32_t)(v - 1);
	if (index >= ctx->nslots || ctx->slots[index].sock != sock) return NULL;
	if (index_out) *index_out = index;
	return &ctx->slots[index];
}

static int slot_alloc(utps_ctx *ctx, utp_socket *sock, uint32_t *index_out) {
	uint32_t index;
	if (ctx->first_free) {
		index = ctx->first_free - 1;
		ctx->first_free = ctx->slots[index].next_free;
	} else {
		if (ctx->nslots >= SLOT_MASK) return -1;
		uint32_t n = ctx->nslots ? ctx->nslots * 2 : 64;
		if (n > SLOT_MASK) n = SLOT_MASK;
		slot_t *p = (slot_t *)realloc(ctx->slots, n * sizeof(slot_t));
		if (!p) return -1;
		memset(p + ctx->nslots, 0, (n - ctx->nslots) * sizeof(slot_t));
		for (uint32_t i = n; i-- > ctx->nslots + 1;) {
			p[i].next_free = ctx->first_free;
			ctx->first_free = i + 1;
		}
		index = ctx->nslots;
		ctx->slots = p;
		ctx->nslots = n;
	}
	slot_t *s = &ctx->slots[index];
	s->sock = sock;
	s->gen = (s->gen + 1) & GEN_MASK;
	s->unread = 0;
	s->flags = SLOT_LIVE;
	s->next_free = 0;
	utp_set_userdata(sock, (void *)(uintptr_t)(index + 1));
	ctx->live++;
	g_live_sockets++;
	*index_out = index;
	return 0;
}

static void inbound_done(utps_ctx *ctx, slot_t *s) {
	if (!(s->flags & SLOT_INBOUND)) return;
	s->flags &= ~(uint32_t)SLOT_INBOUND;
	ctx->inbound--;
}

static void slot_release(utps_ctx *ctx, uint32_t index) {
	slot_t *s = &ctx->slots[index];
	if (s->flags & SLOT_PENDING) ctx->pending--;
	inbound_done(ctx, s);
	if (s->sock) utp_set_userdata(s->sock, NULL);
	s->sock = NULL;
	s->flags = SLOT_FREE;
	s->unread = 0;
	s->next_free = ctx->first_free;
	ctx->first_free = index + 1;
	ctx->live--;
	g_live_sockets--;
}

/* --------------------------------------------------------------- events */

/* Appends a record with room for `len` payload bytes; returns the payload. */
static uint8_t *event_push(utps_ctx *ctx, uint8_t type, uint32_t id, uint8_t family, uint16_t value, size_t len) {
	if (ctx->destroying) return NULL;
	if (bq_reserve(&ctx->events, UTPS_HEADER_SIZE + len) != 0) return NULL;
	uint8_t *h = ctx->events.data + ctx->events.len;
	h[0] = type;
	h[1] = family;
	put_u16(h + 2, value);
	put_u32(h + 4, id);
	put_u32(h + 8, (uint32_t)len);
	ctx->events.len += UTPS_HEADER_SIZE + len;
	ctx->last_read_record = 0;
	return h + UTPS_HEADER_SIZE;
}

static void event_read(utps_ctx *ctx, uint32_t id, const uint8_t *data, size_t len) {
	if (ctx->destroying) return;
	/* Coalesce consecutive reads for one connection into one record. */
	if (ctx->last_read_record && ctx->last_read_record - 1 >= ctx->events.head) {
		size_t off = ctx->last_read_record - 1;
		uint8_t *h = ctx->events.data + off;
		uint32_t have = get_u32(h + 8);
		if (get_u32(h + 4) == id && have + len <= 64 * 1024 &&
		    off + UTPS_HEADER_SIZE + have == ctx->events.len) {
			/* bq_reserve may realloc or compact the queue; the record is the
			 * last one either way, so find it again from the end. */
			if (bq_reserve(&ctx->events, len) != 0) return;
			h = ctx->events.data + (ctx->events.len - UTPS_HEADER_SIZE - have);
			memcpy(ctx->events.data + ctx->events.len, data, len);
			ctx->events.len += len;
			put_u32(h + 8, have + (uint32_t)len);
			ctx->last_read_record = (size_t)(h - ctx->events.data) + 1;
			return;
		}
	}
	uint8_t *p = event_push(ctx, UTPS_EV_READ, id, 0, 0, len);
	if (!p) return;
	memcpy(p, data, len);
	ctx->last_read_record = (size_t)(p - UTPS_HEADER_SIZE - ctx->events.data) + 1;
}

/* --------------------------------------------------------------- sending */

static void tx_flush(utps_ctx *ctx) {
	if (ctx->ntx == 0) return;
	int n = ctx->ntx;
	ctx->ntx = 0;
	/* Datagrams not sent (the socket's buffer was full, or one failed on its
	 * own) are dropped and counted: µTP resends. */
	int sent = udp_io_send_batch_gso(ctx->fd, ctx->txbuf, TX_SLOT_BYTES, ctx->txlen, ctx->txaddr, ctx->txaddrlen, n,
	                                 &ctx->gso, &ctx->c_syscalls, &ctx->c_tx_segmented);
	ctx->c_tx_datagrams += (uint64_t)sent;
	ctx->c_tx_dropped += (uint64_t)(n - sent);
}

static void tx_queue_runtime(utps_ctx *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to) {
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	if (from_sockaddr(to, &family, &port, addr) != 0) return;
	if (bq_reserve(&ctx->datagrams, 24 + len) != 0) return;
	uint8_t *h = ctx->datagrams.data + ctx->datagrams.len;
	h[0] = family;
	h[1] = 0;
	put_u16(h + 2, port);
	put_u32(h + 4, (uint32_t)len);
	memcpy(h + 8, addr, 16);
	memcpy(h + 24, buf, len);
	ctx->datagrams.len += 24 + len;
}

static void tx_send(utps_ctx *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to, socklen_t tolen) {
	if (ctx->fd < 0 || len > TX_SLOT_BYTES || tolen > (socklen_t)sizeof(struct sockaddr_storage)) {
		tx_queue_runtime(ctx, buf, len, to);
		return;
	}
	if (ctx->ntx == TX_BATCH) tx_flush(ctx);
	int i = ctx->ntx++;
	memcpy(ctx->txbuf + (size_t)i * TX_SLOT_BYTES, buf, len);
	ctx->txlen[i] = len;
	memcpy(&ctx->txaddr[i], to, (size_t)tolen);
	ctx->txaddrlen[i] = tolen;
}

/* ------------------------------------------------------------- callbacks */

static utps_ctx *ctx_of(utp_callback_arguments *a) {
	return (utps_ctx *)utp_context_get_userdata(a->context);
}

static uint64 cb_sendto(utp_callback_arguments *a) {
	utps_ctx *ctx = ctx_of(a);
	if (ctx) tx_send(ctx, a->buf, a->len, a->address, a->address_len);
	return 0;
}

static uint64 cb_on_read(utp_callback_arguments *a) {
	utps_ctx *ctx = ctx_of(a);
	uint32_t index;
	slot_t *s = ctx ? slot_of(ctx, a->socket, &index) : NULL;
	if (!s || !(s->flags & SLOT_ANNOUNCED)) return 0;
	s->unread += (uint32_t)a->len;
	event_read(ctx, slot_id(ctx, index), a->buf, a->len);
	/* Data is acknowledged by the deferred-ACK pass at the end of the batch;
	 * the window reopens when JavaScript reports the bytes consumed. */
	return 0;
}

static uint64 cb_get_read_buffer_size(utp_callback_arguments *a) {
	utps_ctx *ctx = ctx_of(a);
	slot_t *s = ctx ? slot_of(ctx, a->socket, NULL) : NULL;
	return s ? s->unread : 0;
}

/* The initiator confirmed the handshake of an accepted socket: hand it to
 * JavaScript now, with its peer's address. Until then nothing about it is
 * reported (a half-open socket that expires was never seen). */
static void announce_accepted(utps_ctx *ctx, utp_socket *sock, slot_t *s, uint32_t id) {
	s->flags &= ~(uint32_t)SLOT_PENDING;
	ctx->pending--;
	s->flags |= SLOT_ANNOUNCED;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	uint8_t family = 0;
	uint16_t port = 0;
	uint8_t addr[16];
	memset(addr, 0, sizeof addr);
	if (utp_getpeername(sock, (struct sockaddr *)&ss, &sl) == 0) {
		from_sockaddr((struct sockaddr *)&ss, &family, &port, addr);
	}
	uint8_t *p = event_push(ctx, UTPS_EV_ACCEPT, id, family, port, 16);
	if (p) memcpy(p, addr, 16);
}

static uint64 cb_on_state_change(utp_callback_arguments *a) {
	utps_ctx *ctx = ctx_of(a);
	uint32_t index;
	slot_t *s = ctx ? slot_of(ctx, a->socket, &index) : NULL;
	if (!s) return 0;
	uint32_t id = slot_id(ctx, index);
	if (a->state == UTP_STATE_WRITABLE && (s->flags & SLOT_PENDING)) {
		/* libutp reports the end of an accepted socket's handshake so (0017) */
		announce_accepted(ctx, a->socket, s, id);
		return 0;
	}
	if (a->state == UTP_STATE_DESTROYING) {
		if (s->flags & SLOT_ANNOUNCED) event_push(ctx, UTPS_EV_DESTROYED, id, 0, 0, 0);
		slot_release(ctx, index);
		return 0;
	}
	if (!(s->flags & SLOT_ANNOUNCED)) return 0;
	switch (a->state) {
	case UTP_STATE_CONNECT:
		event_push(ctx, UTPS_EV_CONNECT, id, 0, 0, 0);
		break;
	case UTP_STATE_WRITABLE:
		event_push(ctx, UTPS_EV_WRITABLE, id, 0, 0, 0);
		break;
	case UTP_STATE_EOF:
		event_push(ctx, UTPS_EV_EOF, id, 0, 0, 0);
		break;
	case UTP_STATE_LINGER:
		event_push(ctx, UTPS_EV_LINGER, id, 0, 0, 0);
		break;
	case UTP_STATE_TIME_WAIT:
		event_push(ctx, UTPS_EV_TIME_WAIT, id, 0, 0, 0);
		break;
	}
	return 0;
}

static uint64 cb_on_error(utp_callback_arguments *a) {
	utps_ctx *ctx = ctx_of(a);
	uint32_t index;
	slot_t *s = ctx ? slot_of(ctx, a->socket, &index) : NULL;
	if (!s || !(s->flags & SLOT_ANNOUNCED)) return 0;
	event_push(ctx, UTPS_EV_ERROR, slot_id(ctx, index), 0, (uint16_t)a->error_code, 0);
	return 0;
}

static int same_endpoint(const struct sockaddr *x, const struct sockaddr_storage *y) {
	uint8_t fx, fy, ax[16], ay[16];
	uint16_t px, py;
	if (from_sockaddr(x, &fx, &px, ax) != 0 || from_sockaddr((const struct sockaddr *)y, &fy, &py, ay) != 0) return 0;
	return fx == fy && px == py && memcmp(ax, ay, 16) == 0;
}

/* A monotonic clock. */
static uint64_t now_microseconds(void) {
#ifdef _WIN32
	static LARGE_INTEGER freq;
	LARGE_INTEGER t;
	if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
	QueryPerformanceCounter(&t);
	return (uint64_t)(t.QuadPart / freq.QuadPart) * 1000000u +
	       (uint64_t)(t.QuadPart % freq.QuadPart) * 1000000u / (uint64_t)freq.QuadPart;
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
#endif
}

static uint64_t now_seconds(void) {
	return now_microseconds() / 1000000u;
}

/* Answers the SYN being processed (ctx->cur_buf) with an ST_RESET, so the
 * initiator's connect fails with ECONNREFUSED at once instead of timing out.
 * The reset carries the SYN's connection id (the initiator's receive id) and
 * acknowledges its sequence number, as libutp's own resets do. */
static void refuse_syn(utps_ctx *ctx, const struct sockaddr *to, socklen_t tolen) {
	ctx->c_refused++;
	const uint8_t *syn = ctx->cur_buf;
	if (!syn || ctx->cur_len < 20 || syn[0] != 0x41) return; /* ST_SYN, version 1 */
	uint64_t second = now_seconds();
	if (second != ctx->resets_second) {
		ctx->resets_second = second;
		ctx->resets_sent = 0;
	}
	if (ctx->resets_sent >= MAX_REFUSALS_PER_SECOND) return;
	ctx->resets_sent++;
	uint8_t rst[20];
	memset(rst, 0, sizeof rst);
	rst[0] = 0x31;           /* ST_RESET << 4 | version 1 */
	rst[2] = syn[2];         /* connection id, big-endian */
	rst[3] = syn[3];
	uint16_t seq = (uint16_t)splitmix(&ctx->rng);
	rst[16] = (uint8_t)(seq >> 8);
	rst[17] = (uint8_t)seq;
	rst[18] = syn[16];       /* ack_nr = the SYN's seq_nr */
	rst[19] = syn[17];
	tx_send(ctx, rst, sizeof rst, to, tolen);
}

static uint64 cb_on_firewall(utp_callback_arguments *a) {
	utps_ctx *ctx = ctx_of(a);
	/* No listener: stay silent, as if nothing were there. */
	if (!ctx || !ctx->accepting) return 1;
	int allowed = !ctx->firewall;
	for (int i = 0; !allowed && i < ctx->nallow; i++) {
		if (same_endpoint(a->address, &ctx->allow[i])) {
			ctx->allow[i] = ctx->allow[--ctx->nallow];
			allowed = 1;
		}
	}
	if (allowed) {
		/* Limits: refuse out loud, so the initiator learns it in one round trip. */
		if (ctx->refuse || (ctx->max_sockets > 0 && ctx->live >= ctx->max_sockets) ||
		    (ctx->backlog > 0 && ctx->pending >= ctx->backlog) ||
		    (ctx->max_inbound > 0 && ctx->inbound >= ctx->max_inbound)) {
			refuse_syn(ctx, a->address, a->address_len);
			return 1;
		}
		return 0;
	}
	/* Hold the SYN: JavaScript decides, then re-injects it with
	 * utps_allow_once + utps_input. Nothing has been acknowledged. */
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	if (ctx->cur_buf && from_sockaddr(a->address, &family, &port, addr) == 0) {
		uint8_t *p = event_push(ctx, UTPS_EV_INCOMING, 0, family, port, 16 + ctx->cur_len);
		if (p) {
			memcpy(p, addr, 16);
			memcpy(p + 16, ctx->cur_buf, ctx->cur_len);
		}
	}
	return 1;
}

static uint64 cb_get_udp_mtu(utp_callback_arguments *a) {
	utps_ctx *ctx = ctx_of(a);
	/* libutp's defaults: 1402 for IPv4, 1232 for IPv6 (assumed Teredo). */
	uint64 mtu = (a->address && a->address->sa_family == AF_INET6) ? 1232 : 1402;
	if (ctx && ctx->mtu_cap > 0 && (uint64)ctx->mtu_cap < mtu) mtu = (uint64)ctx->mtu_cap;
	return mtu;
}

static uint64 cb_on_accept(utp_callback_arguments *a) {
	utps_ctx *ctx = ctx_of(a);
	if (!ctx) return 0;
	uint32_t index;
	if (slot_alloc(ctx, a->socket, &index) != 0) {
		utp_close(a->socket);
		return 0;
	}
	/* Reported to JavaScript once the initiator confirms (announce_accepted). */
	ctx->slots[index].flags |= SLOT_PENDING | SLOT_INBOUND;
	ctx->pending++;
	ctx->inbound++;
	return 0;
}

static uint64 cb_get_random(utp_callback_arguments *a) {
	utps_ctx *ctx = ctx_of(a);
	if (!ctx) return (uint64)rand();
	return splitmix(&ctx->rng) & 0xffffffffu;
}

/* ------------------------------------------------------------ public API */

UTPS_EXPORT utps_ctx *utps_create(void) {
	utps_ctx *ctx = (utps_ctx *)calloc(1, sizeof *ctx);
	if (!ctx) return NULL;
	ctx->fd = -1;
	ctx->rx_slot = RX_SLOT_BYTES;
	ctx->utp = utp_init(2);
	if (!ctx->utp) {
		free(ctx);
		return NULL;
	}
	uint64_t seed = 0;
#ifdef __linux__
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) seed = 0;
#endif
#ifdef _WIN32
	/* MinGW's default CRT (msvcrt) has no timespec_get. */
	LARGE_INTEGER qpc;
	FILETIME ft;
	QueryPerformanceCounter(&qpc);
	GetSystemTimeAsFileTime(&ft);
	seed ^= (uint64_t)qpc.QuadPart * 0x9e3779b97f4a7c15ull ^
	        ((uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime) ^ (uint64_t)(uintptr_t)ctx;
	seed ^= (uint64_t)GetCurrentProcessId() << 32;
#else
	struct timespec ts;
	timespec_get(&ts, TIME_UTC);
	seed ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)ctx;
	seed ^= (uint64_t)getpid() << 32;
#endif
	ctx->rng = seed;
	utp_context_set_userdata(ctx->utp, ctx);
	utp_set_callback(ctx->utp, UTP_SENDTO, &cb_sendto);
	utp_set_callback(ctx->utp, UTP_ON_READ, &cb_on_read);
	utp_set_callback(ctx->utp, UTP_GET_READ_BUFFER_SIZE, &cb_get_read_buffer_size);
	utp_set_callback(ctx->utp, UTP_ON_STATE_CHANGE, &cb_on_state_change);
	utp_set_callback(ctx->utp, UTP_ON_ERROR, &cb_on_error);
	utp_set_callback(ctx->utp, UTP_ON_FIREWALL, &cb_on_firewall);
	utp_set_callback(ctx->utp, UTP_ON_ACCEPT, &cb_on_accept);
	utp_set_callback(ctx->utp, UTP_GET_RANDOM, &cb_get_random);
	utp_set_callback(ctx->utp, UTP_GET_UDP_MTU, &cb_get_udp_mtu);
	ctx->backlog = UTPS_DEFAULT_BACKLOG;
	ctx->max_sockets = UTPS_DEFAULT_MAX_SOCKETS;
	g_live_contexts++;
	return ctx;
}

UTPS_EXPORT void utps_destroy(utps_ctx *ctx) {
	if (!ctx) return;
	ctx->destroying = 1;
	wake_thread_stop(ctx->waiter);
	ctx->waiter = NULL;
	tx_flush(ctx);
	for (uint32_t i = 0; i < ctx->nslots; i++) {
		if (ctx->slots[i].flags != SLOT_FREE) slot_release(ctx, i);
	}
	utp_destroy(ctx->utp);
	tx_flush(ctx);
	udp_io_close(ctx->fd);
	free(ctx->slots);
	free(ctx->events.data);
	free(ctx->datagrams.data);
	free(ctx->nagle);
	free(ctx->txbuf);
	free(ctx->rxbuf);
	free(ctx->grobuf);
	free(ctx);
	g_live_contexts--;
}

/* Accepting stopped (the listener closed): the half-open handshakes nobody
 * will take are dropped now instead of holding the endpoint, and its port,
 * until they expire. A peer that goes on sends to a connection id libutp no
 * longer knows and is answered with a reset. */
static void drop_pending(utps_ctx *ctx) {
	int dropped = 0;
	for (uint32_t i = 0; i < ctx->nslots; i++) {
		slot_t *s = &ctx->slots[i];
		if (!(s->flags & SLOT_PENDING) || (s->flags & SLOT_CLOSED) || !s->sock) continue;
		s->flags |= SLOT_CLOSED;
		inbound_done(ctx, s);
		utp_close(s->sock);
		dropped = 1;
	}
	if (dropped) utp_reap(ctx->utp);
}

UTPS_EXPORT int utps_set_option(utps_ctx *ctx, int opt, int value) {
	if (!ctx) return -1;
	switch (opt) {
	case UTPS_OPT_SNDBUF:
		return utp_context_set_option(ctx->utp, UTP_SNDBUF, value);
	case UTPS_OPT_RCVBUF:
		return utp_context_set_option(ctx->utp, UTP_RCVBUF, value);
	case UTPS_OPT_TARGET_DELAY:
		return utp_context_set_option(ctx->utp, UTP_TARGET_DELAY, value);
	case UTPS_OPT_ACCEPT:
		ctx->accepting = value != 0;
		if (!ctx->accepting) drop_pending(ctx);
		return 0;
	case UTPS_OPT_BACKLOG:
		ctx->backlog = value;
		return 0;
	case UTPS_OPT_FIREWALL:
		ctx->firewall = value != 0;
		return 0;
	case UTPS_OPT_MTU:
		if (value != 0 && (value < 576 || value > 65507)) return -1;
		ctx->mtu_cap = value;
		if ((size_t)value + 64 > ctx->rx_slot) {
			/* bigger packets need bigger receive slots: reallocate on next drain */
			ctx->rx_slot = (size_t)value + 64;
			free(ctx->rxbuf);
			ctx->rxbuf = NULL;
		}
		return 0;
	case UTPS_OPT_MAX_SOCKETS:
		if (value < 1 || value > (int)SLOT_MASK) return -1;
		ctx->max_sockets = value;
		return 0;
	case UTPS_OPT_MAX_INBOUND:
		if (value < 0) return -1;
		ctx->max_inbound = value;
		return 0;
	case UTPS_OPT_REFUSE:
		ctx->refuse = value != 0;
		return 0;
	case UTPS_OPT_SEGMENTATION:
		ctx->gso = value != 0 && udp_io_gso_supported(ctx->fd);
		return value == 0 || ctx->gso ? 0 : -1;
	case UTPS_OPT_RECEIVE_OFFLOAD:
		if (value == 0) return ctx->gro ? -1 : 0; /* cannot be undone: buffers may be coalesced already */
		if (!ctx->gro) ctx->gro = udp_io_gro_enable(ctx->fd);
		return ctx->gro ? 0 : -1;
	}
	return -1;
}

UTPS_EXPORT int utps_get_option(utps_ctx *ctx, int opt) {
	if (!ctx) return -1;
	switch (opt) {
	case UTPS_OPT_SNDBUF:
		return utp_context_get_option(ctx->utp, UTP_SNDBUF);
	case UTPS_OPT_RCVBUF:
		return utp_context_get_option(ctx->utp, UTP_RCVBUF);
	case UTPS_OPT_TARGET_DELAY:
		return utp_context_get_option(ctx->utp, UTP_TARGET_DELAY);
	case UTPS_OPT_ACCEPT:
		return ctx->accepting;
	case UTPS_OPT_BACKLOG:
		return ctx->backlog;
	case UTPS_OPT_FIREWALL:
		return ctx->firewall;
	case UTPS_OPT_MTU:
		return ctx->mtu_cap;
	case UTPS_OPT_MAX_SOCKETS:
		return ctx->max_sockets;
	case UTPS_OPT_MAX_INBOUND:
		return ctx->max_inbound;
	case UTPS_OPT_REFUSE:
		return ctx->refuse;
	case UTPS_OPT_SEGMENTATION:
		return ctx->gso;
	case UTPS_OPT_RECEIVE_OFFLOAD:
		return ctx->gro;
	}
	return -1;
}

UTPS_EXPORT int utps_find_udp_fd(int family, const uint8_t *addr, int port) {
	return udp_io_find_fd(family, addr, port);
}

UTPS_EXPORT int utps_set_socket_buffers(int fd, int bytes) {
	return udp_io_set_buffers(fd, bytes);
}

/* which: 0 = receive buffer, 1 = send buffer. Returns the kernel's value. */
UTPS_EXPORT int utps_get_socket_buffer(int fd, int which) {
	return udp_io_get_buffer(fd, which);
}

UTPS_EXPORT int utps_attach_fd(utps_ctx *ctx, int fd) {
	if (!ctx || fd < 0) return -1;
	if (!ctx->txbuf) ctx->txbuf = (uint8_t *)malloc((size_t)TX_BATCH * TX_SLOT_BYTES);
	if (!ctx->txbuf) return -1;
	/* Our own descriptor for the runtime's socket: it stays valid even if the
	 * runtime closes its handle (see the unref path of the Deno backend). */
	int own = udp_io_dup(fd);
	if (own < 0) return -1;
	udp_io_close(ctx->fd);
	ctx->fd = own;
	ctx->gso = udp_io_gso_supported(own);
	return 0;
}

static int process_datagram(utps_ctx *ctx, const uint8_t *buf, size_t len, const struct sockaddr *sa, socklen_t salen) {
	ctx->c_rx_datagrams++;
	ctx->cur_buf = buf;
	ctx->cur_len = len;
	int handled = utp_process_udp(ctx->utp, buf, len, sa, salen);
	ctx->cur_buf = NULL;
	ctx->cur_len = 0;
	if (handled) return 1;
	ctx->c_rx_foreign++;
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	if (from_sockaddr(sa, &family, &port, addr) != 0) return 0;
	uint8_t *p = event_push(ctx, UTPS_EV_DATAGRAM, 0, family, port, 16 + len);
	if (p) {
		memcpy(p, addr, 16);
		memcpy(p + 16, buf, len);
	}
	return 0;
}

UTPS_EXPORT int utps_input(utps_ctx *ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port) {
	if (!ctx || !buf || len < 0 || !addr) return -1;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (to_sockaddr(family, addr, port, &ss, &sl) != 0) return -1;
	return process_datagram(ctx, buf, (size_t)len, (struct sockaddr *)&ss, sl);
}

/* Coalesced receive buffers per recvmmsg, and their size (the most the kernel
 * coalesces is one 64 KiB datagram's worth). */
#define GRO_BATCH 4
#define GRO_SLOT_BYTES 65536

/* Bytes of events not yet taken (utps_take_events). */
static size_t events_waiting(const utps_ctx *ctx) {
	return ctx->events.len - ctx->events.head;
}

/* utps_drain on a socket with UDP_GRO: a buffer may hold a run of datagrams
 * of one sender, cut here at the segment size the kernel reports. Counts
 * datagrams, not buffers. */
static int drain_coalesced(utps_ctx *ctx, int max_datagrams) {
	if (!ctx->grobuf) ctx->grobuf = (uint8_t *)malloc((size_t)GRO_BATCH * GRO_SLOT_BYTES);
	if (!ctx->grobuf) return -1;
	size_t lens[GRO_BATCH], segs[GRO_BATCH];
	struct sockaddr_storage from[GRO_BATCH];
	socklen_t fromlens[GRO_BATCH];
	int total = 0;
	while (total < max_datagrams) {
		int r = udp_io_recv_batch_gro(ctx->fd, ctx->grobuf, GRO_SLOT_BYTES, lens, segs, from, fromlens, GRO_BATCH,
		                              &ctx->c_syscalls);
		if (r <= 0) break;
		for (int i = 0; i < r; i++) {
			if (lens[i] == UDP_IO_TRUNCATED) {
				ctx->c_rx_truncated++;
				total++;
				continue;
			}
			const uint8_t *p = ctx->grobuf + (size_t)i * GRO_SLOT_BYTES;
			size_t left = lens[i];
			size_t seg = segs[i] ? segs[i] : left;
			if (segs[i]) ctx->c_rx_coalesced += (uint64_t)((left + seg - 1) / seg);
			do { /* a zero-length datagram is still one datagram */
				size_t n = left < seg ? left : seg;
				process_datagram(ctx, p, n, (struct sockaddr *)&from[i], fromlens[i]);
				p += n;
				left -= n;
				total++;
			} while (left > 0);
		}
		if (r < GRO_BATCH || events_waiting(ctx) >= UTPS_DRAIN_EVENT_BUDGET) break;
	}
	return total;
}

UTPS_EXPORT int utps_drain(utps_ctx *ctx, int max_datagrams) {
	if (!ctx || ctx->fd < 0) return -1;
	if (ctx->gro) return drain_coalesced(ctx, max_datagrams);
	if (!ctx->rxbuf) ctx->rxbuf = (uint8_t *)malloc((size_t)RX_BATCH * ctx->rx_slot);
	if (!ctx->rxbuf) return -1;
	const size_t slot = ctx->rx_slot;
	size_t lens[RX_BATCH];
	struct sockaddr_storage from[RX_BATCH];
	socklen_t fromlens[RX_BATCH];
	int total = 0;
	while (total < max_datagrams) {
		int want = max_datagrams - total;
		if (want > RX_BATCH) want = RX_BATCH;
		int r = udp_io_recv_batch(ctx->fd, ctx->rxbuf, slot, lens, from, fromlens, want, &ctx->c_syscalls);
		if (r <= 0) break;
		for (int i = 0; i < r; i++) {
			if (lens[i] == UDP_IO_TRUNCATED) {
				ctx->c_rx_truncated++;
				continue;
			}
			process_datagram(ctx, ctx->rxbuf + (size_t)i * slot, lens[i], (struct sockaddr *)&from[i], fromlens[i]);
		}
		total += r;
		if (r < want || events_waiting(ctx) >= UTPS_DRAIN_EVENT_BUDGET) break;
	}
	return total;
}

UTPS_EXPORT int utps_busy_poll(utps_ctx *ctx, int max_us, int max_datagrams) {
	if (!ctx || ctx->fd < 0 || max_us < 0 || max_datagrams <= 0) return -1;
	const uint64_t deadline = now_microseconds() + (uint64_t)max_us;
	for (;;) {
		int n = utps_drain(ctx, max_datagrams);
		if (n != 0) return n;
		if (now_microseconds() >= deadline) return 0;
		/* Let other runnable threads of this CPU go first: the runtime's
		 * helpers, or the peer on a small machine. Spinning without it gave
		 * the lowest median but 1.5-2x the p99 (bench/RESULTS.md). */
#ifdef _WIN32
		SwitchToThread();
#else
		sched_yield();
#endif
	}
}

UTPS_EXPORT int utps_wake_start(utps_ctx *ctx, utps_wake_fn fn, int token) {
	if (!ctx || ctx->fd < 0 || !fn) return -1;
	if (ctx->waiter) return 0;
	ctx->waiter = wake_thread_start(ctx->fd, (wake_thread_fn)fn, (int32_t)token);
	return ctx->waiter ? 0 : -1;
}

UTPS_EXPORT void utps_wake_arm(utps_ctx *ctx) {
	if (ctx) wake_thread_arm(ctx->waiter);
}

UTPS_EXPORT void utps_wake_stop(utps_ctx *ctx) {
	if (!ctx) return;
	wake_thread_stop(ctx->waiter);
	ctx->waiter = NULL;
}

static void nagle_mark(utps_ctx *ctx, uint32_t index) {
	slot_t *s = &ctx->slots[index];
	if (s->flags & SLOT_NAGLE) return;
	if (ctx->nnagle == ctx->nagle_cap) {
		uint32_t n = ctx->nagle_cap ? ctx->nagle_cap * 2 : 64;
		uint32_t *p = (uint32_t *)realloc(ctx->nagle, n * sizeof(uint32_t));
		if (!p) return;
		ctx->nagle = p;
		ctx->nagle_cap = n;
	}
	s->flags |= SLOT_NAGLE;
	ctx->nagle[ctx->nnagle++] = slot_id(ctx, index);
}

static void end_batch(utps_ctx *ctx, int hold_acks) {
	if (!hold_acks) utp_issue_deferred_acks(ctx->utp);
	if (ctx->live > 0) utp_reap(ctx->utp);
	/* Send the short final packet of every write since the last batch instead
	 * of holding it until the next 500 ms timeout check. */
	uint32_t n = ctx->nnagle;
	ctx->nnagle = 0;
	for (uint32_t i = 0; i < n; i++) {
		slot_t *s = slot_by_id(ctx, ctx->nagle[i]);
		if (!s) continue;
		s->flags &= ~(uint32_t)SLOT_NAGLE;
		utp_flush(s->sock);
	}
	tx_flush(ctx);
}

UTPS_EXPORT void utps_end_batch(utps_ctx *ctx) {
	if (ctx) end_batch(ctx, 0);
}

UTPS_EXPORT void utps_end_batch_holding_acks(utps_ctx *ctx) {
	if (ctx) end_batch(ctx, 1);
}

UTPS_EXPORT void utps_tick(utps_ctx *ctx) {
	if (!ctx) return;
	utp_check_timeouts(ctx->utp);
	utps_end_batch(ctx);
}

UTPS_EXPORT int32_t utps_connect(utps_ctx *ctx, int family, const uint8_t *addr, int port) {
	if (!ctx || !addr) return -1;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (to_sockaddr(family, addr, port, &ss, &sl) != 0) return -1;
	if (ctx->live >= ctx->max_sockets) return UTPS_CONNECT_LIMIT;
	utp_socket *sock = utp_create_socket(ctx->utp);
	if (!sock) return -1;
	uint32_t index;
	if (slot_alloc(ctx, sock, &index) != 0) {
		utp_close(sock);
		return -1;
	}
	ctx->slots[index].flags |= SLOT_ANNOUNCED;
	uint32_t id = slot_id(ctx, index);
	if (utp_connect(sock, (struct sockaddr *)&ss, sl) != 0) {
		utp_close(sock);
		slot_release(ctx, index);
		return -1;
	}
	tx_flush(ctx);
	return (int32_t)id;
}

UTPS_EXPORT int utps_write(utps_ctx *ctx, uint32_t id, const uint8_t *buf, int len) {
	if (!ctx || len < 0) return -1;
	slot_t *s = slot_by_id(ctx, id);
	if (!s || (s->flags & SLOT_CLOSED)) return -1;
	if (len == 0) return 0;
	ssize_t r = utp_write(s->sock, (void *)buf, (size_t)len);
	if (r > 0) nagle_mark(ctx, id & SLOT_MASK);
	tx_flush(ctx);
	return (int)r;
}

UTPS_EXPORT int utps_consumed(utps_ctx *ctx, uint32_t id, int bytes) {
	if (!ctx || bytes < 0) return -1;
	slot_t *s = slot_by_id(ctx, id);
	if (!s) return -1;
	s->unread = (uint32_t)bytes >= s->unread ? 0 : s->unread - (uint32_t)bytes;
	if (!(s->flags & SLOT_CLOSED)) {
		utp_read_drained(s->sock);
		tx_flush(ctx);
	}
	return 0;
}

UTPS_EXPORT int utps_shutdown_write(utps_ctx *ctx, uint32_t id) {
	if (!ctx) return -1;
	slot_t *s = slot_by_id(ctx, id);
	if (!s || (s->flags & SLOT_CLOSED)) return -1;
	utp_shutdown(s->sock, SHUT_WR);
	nagle_mark(ctx, id & SLOT_MASK);
	utps_end_batch(ctx);
	return 0;
}

UTPS_EXPORT int utps_close(utps_ctx *ctx, uint32_t id) {
	if (!ctx) return -1;
	slot_t *s = slot_by_id(ctx, id);
	if (!s || (s->flags & SLOT_CLOSED)) return -1;
	s->flags |= SLOT_CLOSED;
	s->unread = 0;
	inbound_done(ctx, s);
	utp_close(s->sock);
	/* The slot lives until libutp reports DESTROYING. */
	utp_flush(s->sock);
	utp_reap(ctx->utp);
	tx_flush(ctx);
	return 0;
}

static void put_u64(uint8_t *p, uint64_t v) {
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

UTPS_EXPORT int utps_abort(utps_ctx *ctx, uint32_t id) {
	if (!ctx) return -1;
	slot_t *s = slot_by_id(ctx, id);
	if (!s || !s->sock) return -1;
	s->flags |= SLOT_CLOSED;
	s->unread = 0;
	inbound_done(ctx, s);
	utp_abort(s->sock);
	utp_reap(ctx->utp);
	tx_flush(ctx);
	return 0;
}

UTPS_EXPORT int utps_stats(utps_ctx *ctx, uint32_t id, uint8_t *out, int cap) {
	if (!ctx || !out || cap < UTPS_STATS_SIZE) return -1;
	slot_t *s = slot_by_id(ctx, id);
	if (!s || !s->sock) return -1;
	memset(out, 0, UTPS_STATS_SIZE);
	utp_socket_stats *st = utp_get_stats(s->sock);
	if (st) {
		put_u64(out, st->nbytes_recv);
		put_u64(out + 8, st->nbytes_xmit);
		put_u32(out + 16, st->nrecv);
		put_u32(out + 20, st->nxmit);
		put_u32(out + 24, st->rexmit);
		put_u32(out + 28, st->fastrexmit);
		put_u32(out + 32, st->nduprecv);
		put_u32(out + 36, st->mtu_guess);
	}
	uint32_t ours = 0, theirs = 0, age = 0;
	utp_get_delays(s->sock, &ours, &theirs, &age);
	put_u32(out + 40, ours);
	put_u32(out + 44, theirs);
	put_u32(out + 48, s->unread);
	return UTPS_STATS_SIZE;
}

UTPS_EXPORT int utps_allow_once(utps_ctx *ctx, int family, const uint8_t *addr, int port) {
	if (!ctx || !addr) return -1;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (to_sockaddr(family, addr, port, &ss, &sl) != 0) return -1;
	for (int i = 0; i < ctx->nallow; i++) {
		if (same_endpoint((struct sockaddr *)&ss, &ctx->allow[i])) return 0;
	}
	if (ctx->nallow == (int)(sizeof ctx->allow / sizeof ctx->allow[0])) {
		/* forget the oldest permission */
		memmove(&ctx->allow[0], &ctx->allow[1], sizeof ctx->allow[0] * (size_t)(ctx->nallow - 1));
		ctx->nallow--;
	}
	ctx->allow[ctx->nallow++] = ss;
	return 0;
}

/* Copies out whole records: `header` bytes, then the u32 length at `len_at`. */
static int take(bytequeue_t *q, uint8_t *out, int cap, size_t header, size_t len_at) {
	size_t avail = q->len - q->head;
	size_t n = 0;
	while (n < avail) {
		const uint8_t *h = q->data + q->head + n;
		size_t rec = header + get_u32(h + len_at);
		if (n + rec > (size_t)cap) break;
		n += rec;
	}
	if (n == 0) return 0;
	memcpy(out, q->data + q->head, n);
	q->head += n;
	if (q->head == q->len) q->head = q->len = 0;
	return (int)n;
}

UTPS_EXPORT int utps_take_events(utps_ctx *ctx, uint8_t *out, int cap) {
	if (!ctx || !out || cap <= 0) return -1;
	int n = take(&ctx->events, out, cap, UTPS_HEADER_SIZE, 8);
	ctx->last_read_record = 0;
	return n;
}

UTPS_EXPORT int utps_take_datagrams(utps_ctx *ctx, uint8_t *out, int cap) {
	if (!ctx || !out || cap <= 0) return -1;
	return take(&ctx->datagrams, out, cap, UTPS_DATAGRAM_HEADER_SIZE, 4);
}

UTPS_EXPORT int utps_send_datagram(utps_ctx *ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port,
                                   int hops) {
	if (!ctx || !buf || !addr || len < 0 || hops < 0 || hops > 255) return -1;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (to_sockaddr(family, addr, port, &ss, &sl) != 0) return -1;
	if (hops == 0) {
		tx_send(ctx, buf, (size_t)len, (struct sockaddr *)&ss, sl);
		tx_flush(ctx);
		return 0;
	}
	/* A hop limit needs the descriptor (native I/O). */
	if (ctx->fd < 0) return -2;
	tx_flush(ctx);
	int r = udp_io_send_with_hops(ctx->fd, buf, (size_t)len, (struct sockaddr *)&ss, sl, hops, &ctx->c_syscalls);
	if (r == UDP_IO_UNSUPPORTED) return -2;
	if (r > 0) ctx->c_tx_datagrams++;
	return r > 0 ? 0 : -1;
}

UTPS_EXPORT int utps_live_sockets(utps_ctx *ctx) {
	return ctx ? ctx->live : -1;
}

UTPS_EXPORT int utps_live_sockets_total(void) {
	return g_live_sockets;
}

UTPS_EXPORT int utps_live_contexts(void) {
	return g_live_contexts;
}

/* UTPS_COUNTERS_SIZE bytes of u64 counters, at the UTPS_COUNTER_* offsets. */
UTPS_EXPORT int utps_counters(utps_ctx *ctx, uint8_t *out, int cap) {
	if (!ctx || !out || cap < UTPS_COUNTERS_SIZE) return -1;
	uint64_t v[8] = {ctx->c_rx_datagrams, ctx->c_tx_datagrams, ctx->c_tx_dropped, ctx->c_rx_foreign,
	                 ctx->c_rx_truncated, ctx->c_syscalls, ctx->c_tx_segmented, ctx->c_rx_coalesced};
	for (int i = 0; i < 8; i++) {
		put_u32(out + i * 8, (uint32_t)v[i]);
		put_u32(out + i * 8 + 4, (uint32_t)(v[i] >> 32));
	}
	return UTPS_COUNTERS_SIZE;
}
