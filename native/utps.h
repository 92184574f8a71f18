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

/* Event record: a 12-byte header, then `len` payload bytes. Header, all
 * integers little-endian: u8 type, u8 family (4 or 6, 0 when there is no
 * address), u16 value (the remote port for records that carry an address,
 * the UTPS_ERR_* code for ERROR, else 0), u32 connection id (0 for records of
 * no connection), u32 len (payload bytes, always). Records that carry an
 * address start their payload with its 16 bytes. */
enum {
	UTPS_EV_READ = 1,      /* id; payload = data */
	UTPS_EV_CONNECT = 2,   /* id: outgoing handshake completed */
	UTPS_EV_WRITABLE = 3,  /* id: send window has room again */
	UTPS_EV_EOF = 4,       /* id: peer sent FIN and all data before it arrived */
	UTPS_EV_DESTROYED = 5, /* id: the connection is gone; the id is dead */
	UTPS_EV_ERROR = 6,     /* id; value = UTPS_ERR_* code; no payload */
	UTPS_EV_ACCEPT = 7,    /* id, family, value = port; payload = 16 address bytes. Sent once the
	                        * initiator has confirmed the handshake (its first packet after our SYN-ACK) */
	UTPS_EV_DATAGRAM = 8,  /* id = 0, family, value = port; payload = 16 address bytes + data */
	UTPS_EV_INCOMING = 9,  /* firewall mode: id = 0, family, value = port; payload = 16 address bytes + SYN */
	UTPS_EV_LINGER = 10,   /* id: closed, all sent data and the FIN acknowledged; waits for the peer's FIN */
	UTPS_EV_TIME_WAIT = 11, /* id: closed and done (both FINs through); the native socket stays a short
	                         * while only to acknowledge the peer's FIN again (TCP's TIME_WAIT) */
};

/* Error codes of UTPS_EV_ERROR: libutp's UTP_E* numbers. */
enum {
	UTPS_ERR_CONNREFUSED = 0,
	UTPS_ERR_CONNRESET = 1,
	UTPS_ERR_TIMEDOUT = 2,
};

enum {
	UTPS_HEADER_SIZE = 12,
	/* utps_drain stops reading once this many bytes of events wait to be
	 * taken (checked between batches of datagrams), so that the event queue
	 * stays small; the caller takes the events and drains again. */
	UTPS_DRAIN_EVENT_BUDGET = 131072, /* 128 KiB */
};

/* Options for utps_set_option. */
enum {
	UTPS_OPT_SNDBUF = 1,        /* libutp send buffer per connection, bytes */
	UTPS_OPT_RCVBUF = 2,        /* libutp receive window per connection, bytes */
	UTPS_OPT_TARGET_DELAY = 3,  /* LEDBAT target delay, microseconds */
	UTPS_OPT_ACCEPT = 4,        /* 1: accept incoming connections, 0: ignore SYNs */
	UTPS_OPT_BACKLOG = 5,       /* most accepted sockets still handshaking; SYNs beyond it are refused with a reset */
	UTPS_OPT_FIREWALL = 6,      /* 1: hold every SYN for a decision (UTPS_EV_INCOMING, utps_allow_once) */
	UTPS_OPT_MTU = 7,           /* cap on the UDP payload size libutp uses; 0 = libutp's default */
	UTPS_OPT_MAX_SOCKETS = 8,   /* most sockets of the context (any direction, lingering ones too);
	                             * SYNs beyond it are refused with a reset, utps_connect fails */
	UTPS_OPT_MAX_INBOUND = 9,   /* most accepted sockets not yet closed by the application; 0 = no limit;
	                             * SYNs beyond it are refused with a reset */
	UTPS_OPT_REFUSE = 10,       /* 1: refuse every SYN with a reset (e.g. the accept queue is full) */
	UTPS_OPT_SEGMENTATION = 11, /* 1: send runs of equal datagrams as one segmented send (UDP_SEGMENT);
	                               on by default where the kernel has it; reads 0 once a path refused it */
	UTPS_OPT_RECEIVE_OFFLOAD = 12, /* 1: let the kernel coalesce received datagrams (UDP_GRO); only when
	                                  nothing but utps_drain reads the socket; cannot be turned off */
};

enum {
	UTPS_CONNECT_LIMIT = -2,
};

/* Defaults of the options above. */
enum {
	UTPS_DEFAULT_BACKLOG = 1024,
	UTPS_DEFAULT_MAX_SOCKETS = 65536,
};

/* Datagram record (runtime I/O mode, utps_take_datagrams): a 24-byte header,
 * u8 family, u8 0, u16 port, u32 length, 16 address bytes; then the data. */
enum {
	UTPS_DATAGRAM_HEADER_SIZE = 24,
};

/* Per-connection statistics written by utps_stats: UTPS_STATS_SIZE bytes,
 * little-endian, at these offsets (u64 for the byte counts, u32 otherwise;
 * delays in microseconds; the last 4 bytes are reserved). */
enum {
	UTPS_STATS_BYTES_RECEIVED = 0,
	UTPS_STATS_BYTES_SENT = 8,
	UTPS_STATS_PACKETS_RECEIVED = 16,
	UTPS_STATS_PACKETS_SENT = 20,
	UTPS_STATS_RETRANSMITS = 24,
	UTPS_STATS_FAST_RETRANSMITS = 28,
	UTPS_STATS_DUPLICATES = 32,
	UTPS_STATS_MTU = 36,
	UTPS_STATS_OUR_DELAY = 40,
	UTPS_STATS_PEER_DELAY = 44,
	UTPS_STATS_UNREAD = 48,
	UTPS_STATS_SIZE = 56,
};

/* Endpoint counters written by utps_counters: UTPS_COUNTERS_SIZE bytes, a
 * little-endian u64 at each offset. */
enum {
	UTPS_COUNTER_RX_DATAGRAMS = 0,
	UTPS_COUNTER_TX_DATAGRAMS = 8,
	UTPS_COUNTER_TX_DROPPED = 16,   /* not sent: the socket's buffer was full, or the send failed */
	UTPS_COUNTER_RX_FOREIGN = 24,   /* not µTP */
	UTPS_COUNTER_RX_TRUNCATED = 32, /* longer than the receive slot, dropped */
	UTPS_COUNTER_SYSCALLS = 40,     /* send and receive system calls */
	UTPS_COUNTER_TX_SEGMENTED = 48, /* datagrams that left inside segmented sends (UDP_SEGMENT) */
	UTPS_COUNTER_RX_COALESCED = 56, /* datagrams that arrived coalesced (UDP_GRO) */
	UTPS_COUNTERS_SIZE = 64,
};

UTPS_EXPORT utps_ctx *utps_create(void);
UTPS_EXPORT void utps_destroy(utps_ctx *ctx);
UTPS_EXPORT int utps_set_option(utps_ctx *ctx, int opt, int value);
UTPS_EXPORT int utps_get_option(utps_ctx *ctx, int opt);

/* Socket-level helpers for a UDP socket that the runtime created. */
/* The descriptor of the UDP socket bound to exactly (family, 16 address
 * bytes, port); an all-zero address is the wildcard. -1 when there is none
 * (or the platform cannot tell, Windows today). */
UTPS_EXPORT int utps_find_udp_fd(int family, const uint8_t *addr, int port);
UTPS_EXPORT int utps_set_socket_buffers(int fd, int bytes);
UTPS_EXPORT int utps_get_socket_buffer(int fd, int which);
UTPS_EXPORT int utps_attach_fd(utps_ctx *ctx, int fd);

/* Packet input and the pump. */
UTPS_EXPORT int utps_input(utps_ctx *ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port);
/* Reads up to max_datagrams datagrams from the attached socket into libutp;
 * returns how many (-1 without a socket). It stops early once
 * UTPS_DRAIN_EVENT_BUDGET bytes of events wait: take them and call again. */
UTPS_EXPORT int utps_drain(utps_ctx *ctx, int max_datagrams);
/* After a batch of input: sends the deferred ACKs, reaps destroyed sockets,
 * sends the short last packet of every write. */
UTPS_EXPORT void utps_end_batch(utps_ctx *ctx);
/* utps_end_batch, but the deferred ACKs wait for the next utps_end_batch (or
 * tick), so that a reply written meanwhile carries them. Only for a caller
 * that has that call queued. */
UTPS_EXPORT void utps_end_batch_holding_acks(utps_ctx *ctx);
UTPS_EXPORT void utps_tick(utps_ctx *ctx);
/* Busy polling (native I/O only): utps_drain until at least one datagram
 * arrived or max_us microseconds passed, yielding the CPU between attempts.
 * Returns what utps_drain returned last: datagrams read, 0 when none came,
 * -1 on bad arguments or without a socket. */
UTPS_EXPORT int utps_busy_poll(utps_ctx *ctx, int max_us, int max_datagrams);

/* Native wake-ups (native I/O only): a thread of the shim waits for the
 * socket to become readable and calls fn(token) from that thread, once; it
 * waits again after utps_wake_arm. fn must be a runtime's thread-safe
 * callback. JavaScript drains (utps_drain) and re-arms. utps_destroy stops
 * the thread; fn may be called once after that (ignore unknown tokens). */
typedef void (*utps_wake_fn)(int32_t token);
UTPS_EXPORT int utps_wake_start(utps_ctx *ctx, utps_wake_fn fn, int token);
UTPS_EXPORT void utps_wake_arm(utps_ctx *ctx);
/* Ends the thread; utps_wake_start starts a new one. */
UTPS_EXPORT void utps_wake_stop(utps_ctx *ctx);

/* Connections. */
/* Returns the new connection's id, UTPS_CONNECT_LIMIT when the context holds
 * UTPS_OPT_MAX_SOCKETS sockets, or -1. */
UTPS_EXPORT int32_t utps_connect(utps_ctx *ctx, int family, const uint8_t *addr, int port);
UTPS_EXPORT int utps_write(utps_ctx *ctx, uint32_t id, const uint8_t *buf, int len);
UTPS_EXPORT int utps_consumed(utps_ctx *ctx, uint32_t id, int bytes);
UTPS_EXPORT int utps_shutdown_write(utps_ctx *ctx, uint32_t id);
UTPS_EXPORT int utps_close(utps_ctx *ctx, uint32_t id);
UTPS_EXPORT int utps_abort(utps_ctx *ctx, uint32_t id); /* reset, no FIN handshake */
UTPS_EXPORT int utps_stats(utps_ctx *ctx, uint32_t id, uint8_t *out, int cap);
UTPS_EXPORT int utps_allow_once(utps_ctx *ctx, int family, const uint8_t *addr, int port);

/* Output queues (record formats above). */
UTPS_EXPORT int utps_take_events(utps_ctx *ctx, uint8_t *out, int cap);
UTPS_EXPORT int utps_take_datagrams(utps_ctx *ctx, uint8_t *out, int cap);
/* Sends one raw datagram from the endpoint's port. hops > 0 sets the IP TTL /
 * IPv6 hop limit of this datagram alone (native I/O only; -2 otherwise), e.g.
 * to open a NAT mapping with a datagram that dies before the far NAT. */
UTPS_EXPORT int utps_send_datagram(utps_ctx *ctx, const uint8_t *buf, int len, int family, const uint8_t *addr, int port,
                                   int hops);

/* Accounting. */
UTPS_EXPORT int utps_live_sockets(utps_ctx *ctx);
UTPS_EXPORT int utps_live_sockets_total(void);
UTPS_EXPORT int utps_live_contexts(void);
UTPS_EXPORT int utps_counters(utps_ctx *ctx, uint8_t *out, int cap);

#ifdef __cplusplus
}
#endif

#endif
