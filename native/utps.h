/*
 * utpstream native shim: the only C API that JavaScript calls.
 *
 * libutp reports everything through callbacks. The shim owns all of them in
 * C and turns them into compact records in a byte queue, which JavaScript
 * copies out with one call (utps_take_events) after each batch of work. No
 * call into libutp ever calls back into JavaScript.
 *
 * Addresses cross the boundary as (family, 16 address bytes, port): family is
 * 4 or 6, IPv4 addresses use the first 4 bytes. JavaScript never sees a
 * struct sockaddr.
 *
 * Connections are named by 32-bit ids (slot index plus a generation), never
 * by pointers, so a stale id from JavaScript can never reach freed memory.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#ifndef UTPS_H
#define UTPS_H

#include <stdint.h>

#ifdef _WIN32
#define UTPS_EXPORT __declspec(dllexport)
#else
#define UTPS_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct utps_ctx utps_ctx;

/* Event record: 12-byte header, then `len` payload bytes (READ, ACCEPT,
 * DATAGRAM). All integers little-endian on the platforms we support. */
enum {
	UTPS_EV_READ = 1,      /* id, len = data length, payload = data */
	UTPS_EV_CONNECT = 2,   /* id: outgoing handshake completed */
	UTPS_EV_WRITABLE = 3,  /* id: send window has room again */
	UTPS_EV_EOF = 4,       /* id: peer sent FIN and all data before it arrived */
	UTPS_EV_DESTROYED = 5, /* id: the connection is gone; the id is dead */
	UTPS_EV_ERROR = 6,     /* id, len = UTPS_ERR_* code, no payload */
	UTPS_EV_ACCEPT = 7,    /* id, family, port, payload = 16 address bytes */
	UTPS_EV_DATAGRAM = 8,  /* id = 0, family, port, len = data length, payload = 16 address bytes + data */
	UTPS_EV_INCOMING = 9,  /* firewall mode: id = 0, family, port, len = SYN length, payload = 16 address bytes + SYN */
	UTPS_EV_LINGER = 10,   /* id: closed, all sent data and the FIN acknowledged; waits for the peer's FIN */
};

enum {
	UTPS_ERR_CONNREFUSED = 0,
	UTPS_ERR_CONNRESET = 1,
	UTPS_ERR_TIMEDOUT = 2,
};

enum {
	UTPS_HEADER_SIZE = 12,
};

/* Options for utps_set_option. */
enum {
	UTPS_OPT_SNDBUF = 1,        /* libutp send buffer per connection, bytes */
	UTPS_OPT_RCVBUF = 2,        /* libutp receive window per connection, bytes */
	UTPS_OPT_TARGET_DELAY = 3,  /* LEDBAT target delay, microseconds */
	UTPS_OPT_ACCEPT = 4,        /* 1: accept incoming connections, 0: ignore SYNs */
	UTPS_OPT_BACKLOG = 5,       /* max connections accepted but not yet established */
	UTPS_OPT_FIREWALL = 6,      /* 1: hold every SYN for a decision (UTPS_EV_INCOMING, utps_allow_once) */
	UTPS_OPT_MTU = 7,           /* cap on the UDP payload size libutp uses; 0 = libutp's default */
};

/* Per-connection statistics written by utps_stats (UTPS_STATS_SIZE bytes,
 * little-endian): u64 bytes received, u64 bytes sent, u32 packets received,
 * u32 packets sent, u32 retransmits, u32 fast retransmits, u32 duplicate
 * packets received, u32 MTU guess, u32 our delay (us), u32 peer delay (us),
 * u32 unread bytes, u32 reserved. */
enum {
	UTPS_STATS_SIZE = 56,
};

UTPS_EXPORT utps_ctx *utps_create(void);
UTPS_EXPORT void utps_destroy(utps_ctx *ctx);
UTPS_EXPORT int utps_set_option(utps_ctx *ctx, int opt, int value);
UTPS_EXPORT int utps_get_option(utps_ctx *ctx, int opt);

/* Socket-level helpers for a UDP socket that the runtime created. */
UTPS_EXPORT int utps_find_udp_fd(int family, int port);
UTPS_EXPORT int utps_set_socket_buffers(int fd, int bytes);
UTPS_EXPORT int utps_get_socket_buffer(int fd, int which);
UTPS_EXPORT int utps_attach_fd(utps_ctx *ctx, int fd);

/* Packet input and the pump. */
UTPS_EXPORT int utps_input(utps_ctx *ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port);
UTPS_EXPORT int utps_drain(utps_ctx *ctx, int max_datagrams);
UTPS_EXPORT void utps_end_batch(utps_ctx *ctx);
UTPS_EXPORT void utps_tick(utps_ctx *ctx);

/* Connections. */
UTPS_EXPORT int32_t utps_connect(utps_ctx *ctx, int family, const uint8_t *addr, int port);
UTPS_EXPORT int utps_write(utps_ctx *ctx, uint32_t id, const uint8_t *buf, int len);
UTPS_EXPORT int utps_consumed(utps_ctx *ctx, uint32_t id, int bytes);
UTPS_EXPORT int utps_shutdown_write(utps_ctx *ctx, uint32_t id);
UTPS_EXPORT int utps_close(utps_ctx *ctx, uint32_t id);
UTPS_EXPORT int utps_abort(utps_ctx *ctx, uint32_t id); /* reset, no FIN handshake */
UTPS_EXPORT int utps_stats(utps_ctx *ctx, uint32_t id, uint8_t *out, int cap);
UTPS_EXPORT int utps_allow_once(utps_ctx *ctx, int family, const uint8_t *addr, int port);

/* Output queues. Datagram records (runtime I/O mode) are a 24-byte header:
 * u8 family, u8 0, u16 port, u32 length, 16 address bytes; then the data. */
UTPS_EXPORT int utps_take_events(utps_ctx *ctx, uint8_t *out, int cap);
UTPS_EXPORT int utps_take_datagrams(utps_ctx *ctx, uint8_t *out, int cap);
UTPS_EXPORT int utps_send_datagram(utps_ctx *ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port);

/* Accounting. */
UTPS_EXPORT int utps_live_sockets(utps_ctx *ctx);
UTPS_EXPORT int utps_live_sockets_total(void);
UTPS_EXPORT int utps_live_contexts(void);
UTPS_EXPORT int utps_counters(utps_ctx *ctx, uint8_t *out, int cap);

#ifdef __cplusplus
}
#endif

#endif
