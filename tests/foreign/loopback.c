/*
 * Smoke test of a prebuilt library on its own CPU (run under qemu-user for
 * foreign targets by tests/foreign_arch_test.ts): loads the shipped binary
 * with dlopen, the way the runtimes do, and moves 1 MiB from one µTP context
 * to another through the shim's runtime-I/O queues (no sockets, so it runs
 * under emulation and needs no network): handshake, data, FIN, EOF.
 *
 * Usage: loopback <path of libutpstream.so or utpstream.dll>; prints "loopback: ok ..." and
 * exits 0, or prints why and exits 1.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
#define dlopen(path, flags) ((void *)LoadLibraryA(path))
#define dlsym(lib, name) ((void *)GetProcAddress((HMODULE)(lib), name))
static const char *dlerror(void) { return "LoadLibrary failed"; }
#else
#include <dlfcn.h>
#endif

typedef struct utps_ctx utps_ctx;

static utps_ctx *(*u_create)(void);
static void (*u_destroy)(utps_ctx *);
static int (*u_set_option)(utps_ctx *, int, int);
static int32_t (*u_connect)(utps_ctx *, int, const uint8_t *, int);
static int (*u_input)(utps_ctx *, const uint8_t *, int, int, const uint8_t *, int);
static void (*u_end_batch)(utps_ctx *);
static void (*u_tick)(utps_ctx *);
static int (*u_write)(utps_ctx *, uint32_t, const uint8_t *, int);
static int (*u_consumed)(utps_ctx *, uint32_t, int);
static int (*u_shutdown_write)(utps_ctx *, uint32_t);
static int (*u_close)(utps_ctx *, uint32_t);
static int (*u_take_events)(utps_ctx *, uint8_t *, int);
static int (*u_take_datagrams)(utps_ctx *, uint8_t *, int);
static int (*u_live_contexts)(void);

#define TOTAL (1 << 20)
static uint8_t evbuf[1 << 20], dgbuf[1 << 20], data[TOTAL];

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* Moves every queued datagram of `from` into `to`, as if sent from (addr, port). */
static int pump(utps_ctx *from, utps_ctx *to, const uint8_t *addr, int port) {
	int moved = 0, n;
	while ((n = u_take_datagrams(from, dgbuf, sizeof dgbuf)) > 0) {
		for (int off = 0; off + 24 <= n;) {
			uint32_t len = le32(dgbuf + off + 4);
			u_input(to, dgbuf + off + 24, (int)len, 4, addr, port);
			off += 24 + (int)len;
			moved++;
		}
	}
	if (moved) u_end_batch(to);
	return moved;
}

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n) {
	for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
	return h;
}

#define SYM(var, name)                                                    \
	do {                                                                  \
		*(void **)&var = dlsym(lib, name);                                \
		if (!var) { printf("loopback: missing symbol %s\n", name); return 1; } \
	} while (0)

int main(int argc, char **argv) {
	if (argc != 2) { printf("usage: loopback <library>\n"); return 2; }
	void *lib = dlopen(argv[1], RTLD_NOW);
	if (!lib) { printf("loopback: dlopen failed: %s\n", dlerror()); return 1; }
	SYM(u_create, "utps_create");
	SYM(u_destroy, "utps_destroy");
	SYM(u_set_option, "utps_set_option");
	SYM(u_connect, "utps_connect");
	SYM(u_input, "utps_input");
	SYM(u_end_batch, "utps_end_batch");
	SYM(u_tick, "utps_tick");
	SYM(u_write, "utps_write");
	SYM(u_consumed, "utps_consumed");
	SYM(u_shutdown_write, "utps_shutdown_write");
	SYM(u_close, "utps_close");
	SYM(u_take_events, "utps_take_events");
	SYM(u_take_datagrams, "utps_take_datagrams");
	SYM(u_live_contexts, "utps_live_contexts");

	uint32_t x = 2463534242u;
	for (size_t i = 0; i < TOTAL; i++) x ^= x << 13, x ^= x >> 17, x ^= x << 5, data[i] = (uint8_t)x;
	const uint32_t want = fnv(2166136261u, data, TOTAL);

	const uint8_t addr_a[16] = {127, 0, 0, 1}, addr_b[16] = {127, 0, 0, 2};
	const int port_a = 40001, port_b = 40002;
	utps_ctx *a = u_create(), *b = u_create();
	if (!a || !b) { printf("loopback: utps_create failed\n"); return 1; }
	u_set_option(b, 4 /* UTPS_OPT_ACCEPT */, 1);
	int32_t cid = u_connect(a, 4, addr_b, port_b);
	if (cid < 0) { printf("loopback: utps_connect failed\n"); return 1; }
	u_end_batch(a);

	int connected = 0, shut = 0, eof = 0;
	uint32_t sid = 0, got_hash = 2166136261u;
	size_t sent = 0, got = 0;
	time_t deadline = time(NULL) + 60;
	for (long iter = 0; !eof && iter < 2000000 && time(NULL) < deadline; iter++) {
		int moved = pump(a, b, addr_a, port_a) + pump(b, a, addr_b, port_b);
		int n;
		while ((n = u_take_events(a, evbuf, sizeof evbuf)) > 0) {
			for (int off = 0; off + 12 <= n;) {
				uint8_t type = evbuf[off];
				uint32_t len = le32(evbuf + off + 8);
				if (type == 2) connected = 1;
				if (type == 6) { printf("loopback: client error %u\n", len); return 1; }
				off += 12 + (type == 6 ? 0 : (type == 8 || type == 9) ? 16 + (int)len : (int)len);
			}
		}
		while ((n = u_take_events(b, evbuf, sizeof evbuf)) > 0) {
			for (int off = 0; off + 12 <= n;) {
				uint8_t type = evbuf[off];
				uint32_t id = le32(evbuf + off + 4), len = le32(evbuf + off + 8);
				if (type == 7) sid = id;
				if (type == 1) {
					got_hash = fnv(got_hash, evbuf + off + 12, len);
					got += len;
					u_consumed(b, id, (int)len);
				}
				if (type == 4) eof = 1;
				if (type == 6) { printf("loopback: server error %u\n", len); return 1; }
				off += 12 + (type == 6 ? 0 : (type == 8 || type == 9) ? 16 + (int)len : (int)len);
			}
		}
		if (connected && sent < TOTAL) {
			size_t chunk = TOTAL - sent < 65536 ? TOTAL - sent : 65536;
			int w = u_write(a, (uint32_t)cid, data + sent, (int)chunk);
			if (w > 0) sent += (size_t)w;
			u_end_batch(a);
		} else if (connected && !shut) {
			u_shutdown_write(a, (uint32_t)cid);
			shut = 1;
		}
		if (!moved) {
			u_tick(a);
			u_tick(b);
		}
	}
	if (!eof || got != TOTAL || got_hash != want) {
		printf("loopback: failed: connected=%d sent=%zu received=%zu eof=%d hash %s\n", connected, sent, got, eof,
		       got_hash == want ? "ok" : "mismatch");
		return 1;
	}
	u_close(a, (uint32_t)cid);
	u_close(b, sid);
	u_destroy(a);
	u_destroy(b);
	printf("loopback: ok, %d bytes through handshake, data, FIN, EOF (contexts left: %d, pointer size %d)\n", TOTAL,
	       u_live_contexts(), (int)sizeof(void *));
	return 0;
}
