/*
 * C-level tests of the platform I/O seam (native/udp_io.h, POSIX side):
 * descriptor discovery by family, port and bound address (the /proc listing
 * and the fallback scan, past descriptor 4096), batch send and receive with
 * their edge cases, the one-datagram hop limit, the shim moving data over
 * real loopback sockets through it, and busy polling.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#include "harness.h"

#include <poll.h>

static const uint8_t LO1[16] = {127, 0, 0, 1};
static const uint8_t LO2[16] = {127, 0, 0, 2};
static const uint8_t LO3[16] = {127, 0, 0, 3};
static const uint8_t ANY[16] = {0};
static const uint8_t LO6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

/* A UDP socket bound to (family, addr, port), SO_REUSEADDR if asked; -1 on failure. */
static int bound_socket(int family, const uint8_t *addr, int port, int reuse) {
	int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) return -1;
	if (reuse) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
	struct sockaddr_storage ss;
	socklen_t sl;
	if (to_sockaddr(family, addr, port, &ss, &sl) != 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int port_of(int fd) {
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	uint8_t f, a[16];
	uint16_t p = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) return -1;
	if (from_sockaddr((struct sockaddr *)&ss, &f, &p, a) != 0) return -1;
	return p;
}

/* The three ways to search agree on (family, addr, port) and give `want`. */
static void check_found(int family, const uint8_t *addr, int port, int want, const char *what) {
	int pub = utps_find_udp_fd(family, addr, port);
	int listed = find_fd_listed("/proc/self/fd", family, addr, port);
	int scanned = find_fd_scanning(scan_limit(), family, addr, port);
	CHECK(pub == want, "%s: utps_find_udp_fd gave %d, want %d", what, pub, want);
	CHECK(listed == want, "%s: /proc listing gave %d, want %d", what, listed, want);
	CHECK(scanned == want, "%s: scan gave %d, want %d", what, scanned, want);
}

static void test_find_by_bound_address(void) {
	/* Same port, two loopback addresses: each finds its own socket. */
	int a = bound_socket(4, LO1, 0, 0);
	CHECK(a >= 0, "bind 127.0.0.1");
	if (a < 0) return;
	int port = port_of(a);
	int b = bound_socket(4, LO2, port, 0);
	if (b < 0) {
		printf("test_udp_io: skipping the 127.0.0.2 cases: cannot bind 127.0.0.2:%d\n", port);
	} else {
		check_found(4, LO1, port, a, "127.0.0.1 beside 127.0.0.2");
		check_found(4, LO2, port, b, "127.0.0.2 beside 127.0.0.1");
		check_found(4, LO3, port, -1, "127.0.0.3 (nothing bound)");
		check_found(4, ANY, port, -1, "wildcard (nothing bound)");
		check_found(6, LO1, port, -1, "wrong family");
		close(b);
	}
	close(a);

	/* The wildcard and a specific address on one port: all zero means the
	 * wildcard socket, even though the specific one is newer (higher). */
	int w = bound_socket(4, ANY, 0, 1);
	CHECK(w >= 0, "bind 0.0.0.0");
	if (w < 0) return;
	port = port_of(w);
	int s = bound_socket(4, LO1, port, 1);
	if (s < 0) {
		printf("test_udp_io: skipping the wildcard-beside-specific case: cannot bind 127.0.0.1:%d\n", port);
	} else {
		CHECK(s > w, "the specific socket is the newer descriptor");
		check_found(4, ANY, port, w, "0.0.0.0 beside 127.0.0.1");
		check_found(4, LO1, port, s, "127.0.0.1 beside 0.0.0.0");
		check_found(4, NULL, port, w, "NULL address is the wildcard");
		close(s);
	}
	close(w);

	int v6 = bound_socket(6, LO6, 0, 0);
	if (v6 < 0) {
		printf("test_udp_io: skipping the IPv6 case: cannot bind ::1\n");
	} else {
		port = port_of(v6);
		check_found(6, LO6, port, v6, "::1");
		check_found(6, ANY, port, -1, ":: (nothing bound)");
		check_found(4, LO1, port, -1, "IPv4 on an IPv6 socket's port");
		close(v6);
	}
	check_found(7, LO1, 1, -1, "bad family");
	CHECK(utps_find_udp_fd(4, LO1, 70000) == -1, "bad port");
}

static void test_find_past_4096(void) {
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 5100) {
		struct rlimit raised = rl;
		raised.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 8192 ? 8192 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &raised);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 5100) {
		printf("test_udp_io: skipping the >4096 descriptors case: RLIMIT_NOFILE is %llu\n",
		       (unsigned long long)rl.rlim_cur);
		return;
	}
	CHECK(rl.rlim_cur == RLIM_INFINITY || scan_limit() >= (int)(rl.rlim_cur < (1u << 20) ? rl.rlim_cur : (1u << 20)),
	      "the scan reaches the soft limit (%d)", scan_limit());
	enum { N = 5000 };
	static int nulls[N];
	int opened = 0;
	for (; opened < N; opened++) {
		nulls[opened] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nulls[opened] < 0) break;
	}
	CHECK(opened == N, "opened %d of %d /dev/null descriptors", opened, N);
	int fd = bound_socket(4, LO1, 0, 0);
	CHECK(fd > 4096, "socket descriptor %d is above 4096", fd);
	if (fd >= 0) {
		check_found(4, LO1, port_of(fd), fd, "socket above descriptor 4096");
		close(fd);
	}
	for (int i = 0; i < opened; i++) close(nulls[i]);
}

static void test_listing_unavailable(void) {
	CHECK(find_fd_listed("/nonexistent/fd", 4, LO1, 1) == UDP_IO_UNSUPPORTED, "an unreadable listing is reported");
	/* A listing that names descriptors which are not sockets finds nothing. */
	CHECK(find_fd_listed("/", 4, LO1, 1) == -1, "a directory of non-numbers finds nothing");
}

static void fill(uint8_t *p, size_t len, int seed) {
	for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(seed * 31 + (int)i);
}

static void test_batches(void) {
	int a = bound_socket(4, LO1, 0, 0), b = bound_socket(4, LO1, 0, 0);
	CHECK(a >= 0 && b >= 0, "bind two sockets");
	if (a < 0 || b < 0) return;
	int pa = port_of(a), pb = port_of(b);
	enum { N = 40, STRIDE = 256 };
	static uint8_t out[N * STRIDE], in[16 * STRIDE];
	size_t lens[N];
	struct sockaddr_storage to[N];
	socklen_t tolens[N];
	for (int i = 0; i < N; i++) {
		lens[i] = (size_t)(10 + i);
		fill(out + (size_t)i * STRIDE, lens[i], i);
		to_sockaddr(4, LO1, pb, &to[i], &tolens[i]);
	}
	uint64_t calls = 0;
	int sent = udp_io_send_batch(a, out, STRIDE, lens, to, tolens, N, &calls);
	CHECK(sent == N, "sent %d of %d", sent, N);
	CHECK(calls == 1, "%d datagrams in one sendmmsg (%llu calls)", N, (unsigned long long)calls);

	size_t rlens[16];
	struct sockaddr_storage from[16];
	socklen_t fromlens[16];
	int got = 0, bad = 0;
	calls = 0;
	for (int round = 0; round < 10 && got < N; round++) {
		int r = udp_io_recv_batch(b, in, STRIDE, rlens, from, fromlens, 16, &calls);
		if (r <= 0) break;
		for (int i = 0; i < r; i++, got++) {
			uint8_t want[STRIDE];
			fill(want, lens[got], got);
			uint8_t f, addr[16];
			uint16_t port = 0;
			from_sockaddr((struct sockaddr *)&from[i], &f, &port, addr);
			if (rlens[i] != lens[got] || memcmp(in + (size_t)i * STRIDE, want, lens[got]) != 0 || port != pa ||
			    memcmp(addr, LO1, 16) != 0 || fromlens[i] != (socklen_t)sizeof(struct sockaddr_in))
				bad++;
		}
	}
	CHECK(got == N && bad == 0, "received %d of %d in order and intact (%d bad)", got, N, bad);
	CHECK(calls == 3, "40 datagrams in three recvmmsg calls of 16 (%llu)", (unsigned long long)calls);
	calls = 0;
	CHECK(udp_io_recv_batch(b, in, STRIDE, rlens, from, fromlens, 16, &calls) == 0, "an empty queue gives 0");
	CHECK(calls == 1, "one call for the empty queue");

	/* A datagram longer than its slot is reported truncated, not delivered cut. */
	lens[0] = 200;
	calls = 0;
	CHECK(udp_io_send_batch(a, out, STRIDE, lens, to, tolens, 1, &calls) == 1, "send 200 bytes");
	CHECK(udp_io_recv_batch(b, in, 100, rlens, from, fromlens, 1, &calls) == 1 && rlens[0] == UDP_IO_TRUNCATED,
	      "a 200-byte datagram in a 100-byte slot is truncated");

	/* A datagram that fails on its own (too big for UDP) is skipped; the rest go. */
	enum { BIG = 70000 };
	uint8_t *big = (uint8_t *)calloc(3, BIG);
	size_t blens[3] = {5, BIG, 7};
	calls = 0;
	sent = udp_io_send_batch(a, big, BIG, blens, to, tolens, 3, &calls);
	CHECK(sent == 2, "an oversized datagram is skipped (%d sent)", sent);
	int r = udp_io_recv_batch(b, in, STRIDE, rlens, from, fromlens, 16, &calls);
	CHECK(r == 2 && rlens[0] == 5 && rlens[1] == 7, "the two others arrive (%d)", r);
	free(big);
	/* Into a closed descriptor nothing is sent and nothing breaks. */
	CHECK(udp_io_send_batch(-1, out, STRIDE, lens, to, tolens, 2, &calls) == 0, "bad descriptor sends nothing");
	CHECK(udp_io_recv_batch(-1, in, STRIDE, rlens, from, fromlens, 2, &calls) == 0, "bad descriptor receives nothing");
	close(a);
	close(b);
}

static int ttl_of(int fd) {
	int v = -1;
	socklen_t l = sizeof v;
	getsockopt(fd, IPPROTO_IP, IP_TTL, &v, &l);
	return v;
}

static void test_hops(void) {
	int a = bound_socket(4, LO1, 0, 0), b = bound_socket(4, LO1, 0, 0);
	CHECK(a >= 0 && b >= 0, "bind two sockets");
	if (a < 0 || b < 0) return;
	int ttl = 17;
	setsockopt(a, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
	struct sockaddr_storage to;
	socklen_t tolen;
	to_sockaddr(4, LO1, port_of(b), &to, &tolen);
	uint64_t calls = 0;
	const uint8_t msg[3] = {1, 2, 3};
	CHECK(udp_io_send_with_hops(a, msg, 3, (struct sockaddr *)&to, tolen, 3, &calls) == 1, "hop-limited send");
	CHECK(calls == 1, "one send counted");
	CHECK(ttl_of(a) == 17, "the socket's TTL is restored (%d)", ttl_of(a));
	uint8_t in[16];
	size_t len;
	struct sockaddr_storage from;
	socklen_t fromlen;
	CHECK(udp_io_recv_batch(b, in, sizeof in, &len, &from, &fromlen, 1, &calls) == 1 && len == 3 && in[2] == 3,
	      "the hop-limited datagram arrives over loopback");
	/* Through the shim: native I/O only. */
	utps_ctx *c = utps_create();
	CHECK(utps_send_datagram(c, msg, 3, 4, LO1, port_of(b), 3) == -2, "no descriptor: hop limit unsupported");
	CHECK(utps_attach_fd(c, a) == 0, "attach");
	CHECK(utps_send_datagram(c, msg, 3, 4, LO1, port_of(b), 3) == 0, "shim hop-limited send");
	uint8_t counters[UTPS_COUNTERS_SIZE];
	utps_counters(c, counters, sizeof counters);
	CHECK(get_u32(counters + 8) == 1 && get_u32(counters + 40) == 1, "counted: 1 datagram, 1 syscall");
	CHECK(ttl_of(a) == 17, "TTL restored after the shim's send");
	utps_destroy(c);
	close(a);
	close(b);
}

/* Applies the event records in buf; returns bytes of READ payload appended to got. */
static void apply_events(utps_ctx *ctx, uint8_t *got, size_t *have, size_t cap, int *connected, int *accepted) {
	static uint8_t buf[1 << 20];
	int n = utps_take_events(ctx, buf, sizeof buf);
	for (int off = 0; off < n;) {
		uint8_t type = buf[off];
		uint32_t id = get_u32(buf + off + 4), len = get_u32(buf + off + 8);
		const uint8_t *p = buf + off + UTPS_HEADER_SIZE;
		if (type == UTPS_EV_CONNECT) *connected = 1;
		if (type == UTPS_EV_ACCEPT) *accepted = 1;
		if (type == UTPS_EV_READ && got) {
			size_t take = *have + len <= cap ? len : cap - *have;
			memcpy(got + *have, p, take);
			*have += take;
			utps_consumed(ctx, id, (int)len);
		}
		off += UTPS_HEADER_SIZE + (int)len;
	}
}

/* Segmented sends: a run of equal datagrams leaves as one send and arrives as
 * ordinary datagrams; a socket that cannot segment (SO_NO_CHECK makes the
 * kernel refuse UDP_SEGMENT with EINVAL, as a device without checksum
 * offload does with EIO) falls back and still delivers everything. */
static void test_segmentation(void) {
	for (int refuse = 0; refuse <= 1; refuse++) {
		int tx = bound_socket(4, LO1, 0, 0), rx = bound_socket(4, LO1, 0, 0);
		CHECK(tx >= 0 && rx >= 0, "bind two sockets");
		if (tx < 0 || rx < 0) return;
		udp_io_set_buffers(rx, 1 << 20);
		if (refuse) {
			int one = 1;
			CHECK(setsockopt(tx, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one) == 0, "SO_NO_CHECK");
		}
		enum { N = 40, STRIDE = 2048, SEG = 1200 };
		static uint8_t bufs[N * STRIDE], in[STRIDE];
		size_t lens[N];
		struct sockaddr_storage to[N];
		socklen_t tolens[N];
		for (int i = 0; i < N; i++) {
			lens[i] = i == N - 1 ? 300 : SEG; /* the last, shorter one ends the run */
			memset(bufs + (size_t)i * STRIDE, i + 1, lens[i]);
			to_sockaddr(4, LO1, port_of(rx), &to[i], &tolens[i]);
		}
		int gso = udp_io_gso_supported(tx);
		CHECK(gso == 1, "this kernel offers UDP_SEGMENT");
		uint64_t calls = 0, segmented = 0;
		int sent = udp_io_send_batch_gso(tx, bufs, STRIDE, lens, to, tolens, N, &gso, &calls, &segmented);
		CHECK(sent == N, "refuse=%d: %d of %d datagrams sent", refuse, sent, N);
		if (refuse) {
			CHECK(gso == 0 && segmented == 0, "refused: segmentation turned off (gso %d, %llu segmented)", gso,
			      (unsigned long long)segmented);
		} else {
			CHECK(gso == 1 && segmented == N && calls == 1, "one segmented send (%llu calls, %llu segmented)",
			      (unsigned long long)calls, (unsigned long long)segmented);
		}
		int got = 0, intact = 1;
		for (int i = 0; i < N; i++) {
			ssize_t r = recv(rx, in, sizeof in, MSG_DONTWAIT);
			if (r < 0) break;
			got++;
			if ((size_t)r != lens[i] || in[0] != (uint8_t)(i + 1) || in[r - 1] != (uint8_t)(i + 1)) intact = 0;
		}
		CHECK(got == N && intact, "refuse=%d: %d of %d datagrams arrived one by one, in order, intact", refuse, got,
		      N);
		close(tx);
		close(rx);
	}
}

static void test_shim_over_loopback(int coalesce) {
	int a = bound_socket(4, LO1, 0, 0), b = bound_socket(4, LO1, 0, 0);
	CHECK(a >= 0 && b >= 0, "bind two sockets");
	if (a < 0 || b < 0) return;
	int pa = port_of(a), pb = port_of(b);
	utps_ctx *ca = utps_create(), *cb = utps_create();
	utps_set_option(cb, UTPS_OPT_ACCEPT, 1);
	CHECK(utps_set_socket_buffers(utps_find_udp_fd(4, LO1, pa), 1 << 20) > 0, "socket buffers");
	CHECK(utps_get_socket_buffer(a, 1) > 0, "send buffer readable");
	CHECK(utps_attach_fd(ca, utps_find_udp_fd(4, LO1, pa)) == 0, "attach a");
	CHECK(utps_attach_fd(cb, utps_find_udp_fd(4, LO1, pb)) == 0, "attach b");
	CHECK(utps_get_option(ca, UTPS_OPT_SEGMENTATION) == 1, "segmentation on by default");
	if (coalesce) CHECK(utps_set_option(cb, UTPS_OPT_RECEIVE_OFFLOAD, 1) == 0, "receive offload on");
	/* The shim holds its own descriptors: the originals can go. */
	int fa = ca->fd, fb = cb->fd;
	close(a);
	close(b);
	enum { SIZE = 200000 };
	static uint8_t data[SIZE], got[SIZE];
	fill(data, SIZE, 7);
	size_t have = 0, written = 0;
	int connected = 0, accepted = 0, ignored = 0;
	int32_t id = utps_connect(ca, 4, LO1, pb);
	CHECK(id > 0, "connect");
	for (int round = 0; round < 5000 && have < SIZE; round++) {
		struct pollfd pf[2] = {{fa, POLLIN, 0}, {fb, POLLIN, 0}};
		if (poll(pf, 2, 50) == 0) {
			utps_tick(ca);
			utps_tick(cb);
		}
		utps_drain(cb, 256);
		utps_end_batch(cb);
		apply_events(cb, got, &have, SIZE, &ignored, &accepted);
		utps_drain(ca, 256);
		utps_end_batch(ca);
		apply_events(ca, NULL, NULL, 0, &connected, &ignored);
		while (connected && written < SIZE) {
			int w = utps_write(ca, (uint32_t)id, data + written, (int)(SIZE - written > 16384 ? 16384 : SIZE - written));
			if (w <= 0) break;
			written += (size_t)w;
		}
	}
	CHECK(connected && accepted, "handshake over loopback (connected %d, accepted %d)", connected, accepted);
	CHECK(have == SIZE && memcmp(got, data, SIZE) == 0, "%zu of %d bytes arrived intact", have, SIZE);
	uint8_t counters[UTPS_COUNTERS_SIZE];
	CHECK(utps_counters(ca, counters, sizeof counters) == UTPS_COUNTERS_SIZE, "counters");
	uint64_t tx = get_u32(counters + 8), calls = get_u32(counters + 40), segmented = get_u32(counters + 48);
	CHECK(tx > SIZE / 1500 && calls > 0 && calls < tx, "batched: %llu datagrams in %llu syscalls",
	      (unsigned long long)tx, (unsigned long long)calls);
	CHECK(segmented > 0 && segmented <= tx, "%llu of %llu datagrams left in segmented sends",
	      (unsigned long long)segmented, (unsigned long long)tx);
	utps_counters(cb, counters, sizeof counters);
	CHECK(get_u32(counters) > SIZE / 1500, "the receiver counted its datagrams");
	uint64_t coalesced = get_u32(counters + 56);
	CHECK(coalesce ? coalesced > 0 : coalesced == 0, "coalesce=%d: %llu datagrams arrived coalesced", coalesce,
	      (unsigned long long)coalesced);
	utps_destroy(ca);
	utps_destroy(cb);
	/* utps_destroy closed the shim's descriptors. */
	CHECK(fcntl(fa, F_GETFD) == -1 && fcntl(fb, F_GETFD) == -1, "descriptors closed with their contexts");
}

/* utps_busy_poll waits its full time when nothing comes, returns at once with
 * what is queued, and refuses bad arguments and a context without a socket. */
static void test_busy_poll(void) {
	int a = bound_socket(4, LO1, 0, 0), b = bound_socket(4, LO1, 0, 0);
	CHECK(a >= 0 && b >= 0, "bind two sockets");
	if (a < 0 || b < 0) return;
	utps_ctx *ctx = utps_create();
	CHECK(utps_busy_poll(ctx, 100, 16) == -1, "no socket attached: -1");
	CHECK(utps_attach_fd(ctx, b) == 0, "attach");
	CHECK(utps_busy_poll(NULL, 100, 16) == -1 && utps_busy_poll(ctx, -1, 16) == -1 &&
	          utps_busy_poll(ctx, 100, 0) == -1,
	      "bad arguments: -1");
	uint64_t t0 = now_microseconds();
	int r = utps_busy_poll(ctx, 2000, 16);
	uint64_t waited = now_microseconds() - t0;
	CHECK(r == 0 && waited >= 2000, "nothing queued: 0 after %llu us (at least 2000)", (unsigned long long)waited);
	struct sockaddr_storage ss;
	socklen_t sl;
	to_sockaddr(4, LO1, port_of(b), &ss, &sl);
	static const uint8_t junk[3] = {1, 2, 3}; /* not µTP: counted as foreign */
	for (int i = 0; i < 3; i++) sendto(a, junk, sizeof junk, 0, (struct sockaddr *)&ss, sl);
	r = utps_busy_poll(ctx, 1000000, 16);
	CHECK(r == 3, "three queued datagrams read at once: %d", r);
	uint8_t counters[UTPS_COUNTERS_SIZE];
	utps_counters(ctx, counters, sizeof counters);
	CHECK(get_u32(counters + UTPS_COUNTER_RX_FOREIGN) == 3, "and handed on as foreign datagrams");
	utps_destroy(ctx);
	close(a);
	close(b);
}

/* utps_drain stops a round once UTPS_DRAIN_EVENT_BUDGET bytes of events wait,
 * and the next call reads on: the event queue stays near the budget. */
static void test_drain_budget(int coalesce) {
	int a = bound_socket(4, LO1, 0, 0), b = bound_socket(4, LO1, 0, 0);
	CHECK(a >= 0 && b >= 0, "bind two sockets");
	if (a < 0 || b < 0) return;
	CHECK(utps_set_socket_buffers(b, 1 << 21) > 0, "socket buffers");
	utps_ctx *ctx = utps_create();
	CHECK(utps_attach_fd(ctx, b) == 0, "attach");
	if (coalesce) CHECK(utps_set_option(ctx, UTPS_OPT_RECEIVE_OFFLOAD, 1) == 0, "receive offload on");
	struct sockaddr_storage ss;
	socklen_t sl;
	to_sockaddr(4, LO1, port_of(b), &ss, &sl);
	enum { COUNT = 300, LEN = 1400 };
	static uint8_t junk[LEN]; /* not µTP: each becomes a DATAGRAM event of 16 + LEN bytes */
	memset(junk, 0xff, sizeof junk);
	int sent = 0;
	for (int i = 0; i < COUNT; i++) sent += sendto(a, junk, sizeof junk, 0, (struct sockaddr *)&ss, sl) == LEN;
	CHECK(sent == COUNT, "queued %d datagrams", sent);
	static uint8_t events[1 << 20];
	const int per = UTPS_HEADER_SIZE + 16 + LEN;
	int rounds = 0, total = 0, largest = 0;
	for (int r; rounds < 20 && (r = utps_drain(ctx, 1024)) > 0; rounds++) {
		total += r;
		int bytes = 0;
		for (int n; (n = utps_take_events(ctx, events, sizeof events)) > 0;) bytes += n;
		CHECK(bytes == r * per, "round %d: %d events for %d datagrams", rounds, bytes / per, r);
		if (bytes > largest) largest = bytes;
	}
	CHECK(total == COUNT, "all %d datagrams read: %d", COUNT, total);
	CHECK(rounds >= 2, "in more than one round: %d", rounds);
	/* A round stops after the batch that crossed the budget. */
	CHECK(largest < UTPS_DRAIN_EVENT_BUDGET + 64 * per, "largest round held %d bytes of events", largest);
	utps_destroy(ctx);
	close(a);
	close(b);
}

int main(void) {
	test_find_by_bound_address();
	test_find_past_4096();
	test_listing_unavailable();
	test_batches();
	test_hops();
	test_segmentation();
	test_shim_over_loopback(0);
	test_shim_over_loopback(1);
	test_busy_poll();
	test_drain_budget(0);
	test_drain_budget(1);
	CHECK(utps_live_contexts() == 0, "contexts released");
	if (h_failures) {
		fprintf(stderr, "test_udp_io: %d check(s) failed\n", h_failures);
		return 1;
	}
	printf("test_udp_io: all checks passed\n");
	return 0;
}
