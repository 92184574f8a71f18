/*
 * utp_ref: the C reference for the utpstream benchmarks.
 *
 * Drives the same patched libutp as the library, the way libutp's ucat does:
 * poll -> recvfrom until EAGAIN -> utp_process_udp each -> utp_issue_deferred_acks
 * after draining -> utp_check_timeouts every loop iteration (libutp rate-limits it).
 * Like the library's native shim, every socket written to during an iteration is
 * utp_flush()ed at the end of it (patch 0002), so the short final packet that
 * libutp's Nagle check would hold for up to 500 ms goes out at once.
 *
 * Roles (one process each; the listening side prints "READY <port>" first):
 *   utp_ref recv --bytes N [--flows K]   accept K flows, verify N bytes in total
 *   utp_ref send --port P --bytes N [--flows K]
 *   utp_ref pong                          echo server for one connection
 *   utp_ref ping --port P --count N       1-byte ping-pong, N round trips
 * Common: --timeout S (default 120): the process exits with status 3 after S seconds.
 *         --ack-every N: issue deferred acks every N datagrams of a drain too (default: only
 *         after draining, like ucat).
 *         --mmsg 1: batch datagrams with sendmmsg/recvmmsg like the library's native path
 *         (default 0: one sendto/recvfrom per datagram, like ucat).
 * Each role prints one JSON line with its result on stdout.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "utp.h"

#define SOCKET_BUFFER_BYTES (4 * 1024 * 1024) /* the library's default */
#define PATTERN_PERIOD 1048573u               /* prime, just under 1 MiB */
#define WRITE_CHUNK (64 * 1024)
#define POLL_MS 50 /* the library's tick */
#define MAX_FLOWS 1024

/* ------------------------------------------------------------ utilities */

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static void cpu_split(double *user, double *sys) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Peak RSS in KiB (VmHWM). */
static long peak_rss_kib(void) {
	FILE *f = fopen("/proc/self/status", "r");
	if (!f) return -1;
	char line[256];
	long v = -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "VmHWM:", 6) == 0) {
			v = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static void die(const char *what) {
	fprintf(stderr, "utp_ref: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void on_alarm(int sig) {
	(void)sig;
	static const char msg[] = "utp_ref: timeout\n";
	ssize_t r = write(2, msg, sizeof msg - 1);
	(void)r;
	_exit(3);
}

/* The benchmark pattern: xorshift32 bytes with a prime period; stream byte i is
 * pattern[i % PATTERN_PERIOD]. `pattern` holds two periods so any slice of up to
 * one period starting below PATTERN_PERIOD is contiguous. bench/pattern.ts makes
 * the same bytes. */
static uint8_t *pattern;

static void make_pattern(void) {
	pattern = malloc(2 * (size_t)PATTERN_PERIOD);
	if (!pattern) die("malloc");
	uint32_t x = 0x12345678u;
	for (uint32_t i = 0; i < PATTERN_PERIOD; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (uint8_t)x;
	}
	memcpy(pattern + PATTERN_PERIOD, pattern, PATTERN_PERIOD);
}

static int check_pattern(uint64_t offset, const uint8_t *buf, size_t len) {
	while (len > 0) {
		size_t at = (size_t)(offset % PATTERN_PERIOD);
		size_t n = len < PATTERN_PERIOD ? len : PATTERN_PERIOD;
		if (memcmp(pattern + at, buf, n) != 0) return 0;
		offset += n;
		buf += n;
		len -= n;
	}
	return 1;
}

/* ------------------------------------------------------------ state */

enum { ROLE_RECV, ROLE_SEND, ROLE_PONG, ROLE_PING };

typedef struct {
	utp_socket *sock;
	uint64_t target; /* bytes to move on this flow */
	uint64_t done;   /* bytes sent (sender) or received and verified (receiver) */
	double t_start;  /* accept (receiver) */
	double t_end;    /* last byte (receiver) */
	int eof;
	int destroyed;
	int shut;
	int dirty; /* written this iteration: utp_flush at the end of it */
	/* ping/pong */
	int reply; /* bytes to echo */
	int waiting;
} flow_t;

static int role;
static int fd;
static utp_context *ctx;
static flow_t flows[MAX_FLOWS];
static int nflows = 1;
static int accepted;
static int destroyed_count;
static uint64_t total_bytes;
static long ping_count = 1000;
static long ping_warmup; /* untimed round trips before the ping_count timed ones */
static const char *rtts_path; /* --rtts: every timed round trip, in µs, one per line */
static long pings_done;
static double ping_t0;
static double *rtts;
static int connected_count;
static int ack_every; /* 0: ack after draining only, like ucat */

static void write_flow(flow_t *f) {
	if (f->destroyed || f->shut) return;
	while (f->done < f->target) {
		uint64_t left = f->target - f->done;
		size_t n = left < WRITE_CHUNK ? (size_t)left : WRITE_CHUNK;
		size_t at = (size_t)(f->done % PATTERN_PERIOD);
		ssize_t r = utp_write(f->sock, pattern + at, n);
		if (r < 0) {
			fprintf(stderr, "utp_ref: utp_write failed\n");
			exit(1);
		}
		if (r > 0) f->dirty = 1;
		f->done += (uint64_t)r;
		if ((size_t)r < n) return;
	}
	utp_shutdown(f->sock, SHUT_WR); /* sends FIN after the data (patched libutp) */
	f->shut = 1;
	f->dirty = 1;
}

/* ------------------------------------------------------------ callbacks */

/* --mmsg (not the default): queue outgoing datagrams and send them with sendmmsg at the end
 * of a loop iteration (or when 64 are queued), and receive with recvmmsg, like the library's
 * native I/O path. */
static int use_mmsg;
#define MMSG_BATCH 64
static struct mmsghdr tx_msgs[MMSG_BATCH];
static struct iovec tx_iov[MMSG_BATCH];
static unsigned char tx_buf[MMSG_BATCH][1500];
static struct sockaddr_storage tx_addr[MMSG_BATCH];
static unsigned tx_count;

static void tx_flush(void) {
	unsigned off = 0;
	while (off < tx_count) {
		int n = sendmmsg(fd, tx_msgs + off, tx_count - off, 0);
		if (n <= 0) break; /* EAGAIN: the rest is lost; µTP recovers */
		off += (unsigned)n;
	}
	tx_count = 0;
}

static uint64 cb_sendto(utp_callback_arguments *a) {
	if (!use_mmsg || a->len > sizeof tx_buf[0]) {
		sendto(fd, a->buf, a->len, 0, a->address, a->address_len);
		return 0;
	}
	if (tx_count == MMSG_BATCH) tx_flush();
	unsigned i = tx_count++;
	memcpy(tx_buf[i], a->buf, a->len);
	memcpy(&tx_addr[i], a->address, a->address_len);
	tx_iov[i].iov_base = tx_buf[i];
	tx_iov[i].iov_len = a->len;
	memset(&tx_msgs[i], 0, sizeof tx_msgs[i]);
	tx_msgs[i].msg_hdr.msg_name = &tx_addr[i];
	tx_msgs[i].msg_hdr.msg_namelen = a->address_len;
	tx_msgs[i].msg_hdr.msg_iov = &tx_iov[i];
	tx_msgs[i].msg_hdr.msg_iovlen = 1;
	return 0;
}

static uint64 cb_error(utp_callback_arguments *a) {
	flow_t *f = utp_get_userdata(a->socket);
	/* A reset once the peer has half-closed is the end of a close handshake racing
	 * the peer's teardown (it reaps its socket and answers a late packet with RST). */
	if (f && f->eof) {
		f->destroyed = 1;
		destroyed_count++;
		utp_set_userdata(a->socket, NULL);
		return 0;
	}
	fprintf(stderr, "utp_ref: connection error %s\n", utp_error_code_names[a->error_code]);
	exit(1);
	return 0;
}

static uint64 cb_firewall(utp_callback_arguments *a) {
	(void)a;
	return accepted >= nflows; /* nonzero rejects */
}

static uint64 cb_accept(utp_callback_arguments *a) {
	if (accepted >= nflows) return 0;
	flow_t *f = &flows[accepted++];
	f->sock = a->socket;
	f->target = role == ROLE_RECV ? total_bytes / (uint64_t)nflows : 0;
	f->t_start = now_s();
	utp_set_userdata(a->socket, f);
	return 0;
}

static uint64 cb_read(utp_callback_arguments *a) {
	flow_t *f = utp_get_userdata(a->socket);
	if (!f) return 0;
	if (role == ROLE_RECV) {
		if (f->done + a->len > f->target || !check_pattern(f->done, a->buf, a->len)) {
			fprintf(stderr, "utp_ref: data mismatch at offset %llu\n", (unsigned long long)f->done);
			exit(2);
		}
		f->done += a->len;
		if (f->done == f->target) f->t_end = now_s();
	} else if (role == ROLE_PONG) {
		f->reply += (int)a->len;
	} else if (role == ROLE_PING) {
		f->done += a->len;
		if (f->waiting && f->done >= (uint64_t)(pings_done + 1)) {
			rtts[pings_done++] = (now_s() - ping_t0) * 1e6;
			f->waiting = 0;
		}
	}
	utp_read_drained(a->socket);
	return 0;
}

static uint64 cb_state(utp_callback_arguments *a) {
	flow_t *f = utp_get_userdata(a->socket);
	if (!f) return 0;
	switch (a->state) {
	case UTP_STATE_CONNECT:
		connected_count++;
		/* fallthrough */
	case UTP_STATE_WRITABLE:
		if (role == ROLE_SEND) write_flow(f);
		break;
	case UTP_STATE_EOF:
		f->eof = 1;
		utp_close(a->socket); /* the peer is done: close our side too */
		break;
	case UTP_STATE_DESTROYING:
		f->destroyed = 1;
		destroyed_count++;
		utp_set_userdata(a->socket, NULL);
		break;
	}
	return 0;
}

/* ------------------------------------------------------------ loop */

static void loop_once(void) {
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, POLL_MS);
	if (r < 0 && errno != EINTR) die("poll");
	if (r > 0 && (p.revents & POLLIN) && use_mmsg) {
		static unsigned char rbuf[MMSG_BATCH][2048];
		static struct sockaddr_in rsrc[MMSG_BATCH];
		static struct iovec riov[MMSG_BATCH];
		static struct mmsghdr rmsg[MMSG_BATCH];
		for (;;) {
			for (int i = 0; i < MMSG_BATCH; i++) {
				riov[i].iov_base = rbuf[i];
				riov[i].iov_len = sizeof rbuf[i];
				memset(&rmsg[i], 0, sizeof rmsg[i]);
				rmsg[i].msg_hdr.msg_name = &rsrc[i];
				rmsg[i].msg_hdr.msg_namelen = sizeof rsrc[i];
				rmsg[i].msg_hdr.msg_iov = &riov[i];
				rmsg[i].msg_hdr.msg_iovlen = 1;
			}
			int n = recvmmsg(fd, rmsg, MMSG_BATCH, MSG_DONTWAIT, NULL);
			if (n < 0) {
				if (errno == EINTR || errno == ECONNREFUSED) continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK) die("recvmmsg");
				n = 0;
			}
			for (int i = 0; i < n; i++) {
				utp_process_udp(ctx, rbuf[i], rmsg[i].msg_len, (struct sockaddr *)&rsrc[i],
				                rmsg[i].msg_hdr.msg_namelen);
			}
			if (n < MMSG_BATCH) {
				utp_issue_deferred_acks(ctx);
				break;
			}
			if (ack_every > 0) utp_issue_deferred_acks(ctx);
		}
	} else if (r > 0 && (p.revents & POLLIN)) {
		unsigned char buf[4096];
		struct sockaddr_in src;
		int got = 0;
		for (;;) {
			/* --ack-every N (not the default): also ack every N datagrams of a long drain. */
			if (ack_every > 0 && got > 0 && got % ack_every == 0) utp_issue_deferred_acks(ctx);
			got++;
			socklen_t sl = sizeof src;
			ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					utp_issue_deferred_acks(ctx);
					break;
				}
				if (errno == EINTR || errno == ECONNREFUSED) continue;
				die("recvfrom");
			}
			utp_process_udp(ctx, buf, (size_t)n, (struct sockaddr *)&src, sl);
		}
	}
	utp_check_timeouts(ctx);
	/* Application work after the batch: echo / next ping, then flush what was written. */
	for (int i = 0; i < (role == ROLE_RECV ? accepted : nflows); i++) {
		flow_t *f = &flows[i];
		if (!f->sock || f->destroyed) continue;
		if (role == ROLE_PONG && f->reply > 0 && !f->eof) {
			static uint8_t bytes[4096];
			while (f->reply > 0) {
				int n = f->reply < (int)sizeof bytes ? f->reply : (int)sizeof bytes;
				ssize_t w = utp_write(f->sock, bytes, (size_t)n);
				if (w <= 0) break;
				f->reply -= (int)w;
				f->dirty = 1;
			}
		}
		if (role == ROLE_PING && !f->waiting && connected_count > 0 && pings_done < ping_count) {
			static const uint8_t one = 1;
			ping_t0 = now_s();
			if (utp_write(f->sock, (void *)&one, 1) == 1) {
				f->waiting = 1;
				f->dirty = 1;
			}
		}
		if (f->dirty) {
			f->dirty = 0;
			utp_flush(f->sock);
		}
	}
	if (tx_count) tx_flush();
}

static void open_socket(void) {
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) die("socket");
	int bytes = SOCKET_BUFFER_BYTES;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
	int fl = fcntl(fd, F_GETFL, 0);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0) die("bind");
}

static int bound_port(void) {
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	return ntohs(sin.sin_port);
}

static int cmp_double(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Lets the closing handshakes finish, within a grace period. */
static void linger(int live_target) {
	double deadline = now_s() + 2.0;
	while (destroyed_count < live_target && now_s() < deadline) {
		loop_once();
		utp_reap(ctx); /* patch 0003: report DESTROYING now, not at the next 500 ms timeout pass */
	}
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: utp_ref recv|send|pong|ping [--port P] [--bytes N] [--flows K] [--count N]\n"
		                "       [--warmup N] [--rtts FILE] [--timeout S]\n");
		return 64;
	}
	const char *r = argv[1];
	if (strcmp(r, "recv") == 0) role = ROLE_RECV;
	else if (strcmp(r, "send") == 0) role = ROLE_SEND;
	else if (strcmp(r, "pong") == 0) role = ROLE_PONG;
	else if (strcmp(r, "ping") == 0) role = ROLE_PING;
	else {
		fprintf(stderr, "utp_ref: unknown role %s\n", r);
		return 64;
	}
	int port = 0;
	long timeout = 120;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--bytes") == 0) total_bytes = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--flows") == 0) nflows = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--count") == 0) ping_count = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--warmup") == 0) ping_warmup = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--rtts") == 0) rtts_path = argv[i + 1];
		else if (strcmp(argv[i], "--timeout") == 0) timeout = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--ack-every") == 0) ack_every = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--mmsg") == 0) use_mmsg = atoi(argv[i + 1]);
		else {
			fprintf(stderr, "utp_ref: unknown option %s\n", argv[i]);
			return 64;
		}
	}
	if (nflows < 1 || nflows > MAX_FLOWS) nflows = 1;
	if (role == ROLE_PONG || role == ROLE_PING) nflows = 1;
	signal(SIGALRM, on_alarm);
	alarm((unsigned)timeout);
	signal(SIGPIPE, SIG_IGN);

	make_pattern();
	open_socket();
	ctx = utp_init(2);
	utp_set_callback(ctx, UTP_SENDTO, &cb_sendto);
	utp_set_callback(ctx, UTP_ON_ERROR, &cb_error);
	utp_set_callback(ctx, UTP_ON_STATE_CHANGE, &cb_state);
	utp_set_callback(ctx, UTP_ON_READ, &cb_read);
	utp_set_callback(ctx, UTP_ON_FIREWALL, &cb_firewall);
	utp_set_callback(ctx, UTP_ON_ACCEPT, &cb_accept);

	double cpu0 = cpu_s();
	double u0, s0, u1, s1;
	cpu_split(&u0, &s0);
	(void)cpu0;

	if (role == ROLE_RECV || role == ROLE_PONG) {
		printf("READY %d\n", bound_port());
		fflush(stdout);
	} else {
		if (port <= 0) {
			fprintf(stderr, "utp_ref: --port is required\n");
			return 64;
		}
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
		for (int i = 0; i < nflows; i++) {
			flow_t *f = &flows[i];
			f->sock = utp_create_socket(ctx);
			f->target = role == ROLE_SEND ? total_bytes / (uint64_t)nflows : 0;
			utp_set_userdata(f->sock, f);
			if (utp_connect(f->sock, (struct sockaddr *)&to, sizeof to) != 0) {
				fprintf(stderr, "utp_ref: utp_connect failed\n");
				return 1;
			}
		}
		if (tx_count) tx_flush();
	}

	if (role == ROLE_RECV) {
		uint64_t per = total_bytes / (uint64_t)nflows;
		for (;;) {
			loop_once();
			int complete = 0;
			for (int i = 0; i < accepted; i++) complete += flows[i].done == per;
			if (accepted == nflows && complete == nflows) break;
		}
		cpu_split(&u1, &s1);
		double t_first = flows[0].t_start, t_last = flows[0].t_end;
		double fmin = 1e300, fmax = 0;
		for (int i = 0; i < nflows; i++) {
			if (flows[i].t_start < t_first) t_first = flows[i].t_start;
			if (flows[i].t_end > t_last) t_last = flows[i].t_end;
			double d = flows[i].t_end - flows[i].t_start;
			double m = (double)per / 1048576.0 / (d > 0 ? d : 1e-9);
			if (m < fmin) fmin = m;
			if (m > fmax) fmax = m;
		}
		linger(nflows);
		double secs = t_last - t_first;
		uint64_t moved = per * (uint64_t)nflows;
		printf("{\"role\":\"recv\",\"impl\":\"c\",\"bytes\":%llu,\"flows\":%d,\"seconds\":%.6f,\"mibps\":%.3f,"
		       "\"flowMinMibps\":%.3f,\"flowMaxMibps\":%.3f,\"cpuUser\":%.4f,\"cpuSys\":%.4f,\"peakRssKiB\":%ld}\n",
		       (unsigned long long)moved, nflows, secs, (double)moved / 1048576.0 / secs, fmin, fmax, u1 - u0,
		       s1 - s0, peak_rss_kib());
	} else if (role == ROLE_SEND) {
		/* Done once the receiver has closed every flow (it does so after the last byte). */
		for (;;) {
			loop_once();
			int eofs = 0;
			for (int i = 0; i < nflows; i++) eofs += flows[i].eof || flows[i].destroyed;
			if (eofs == nflows) break;
		}
		cpu_split(&u1, &s1);
		linger(nflows);
		printf("{\"role\":\"send\",\"impl\":\"c\",\"bytes\":%llu,\"flows\":%d,\"cpuUser\":%.4f,\"cpuSys\":%.4f,"
		       "\"peakRssKiB\":%ld}\n",
		       (unsigned long long)(total_bytes / (uint64_t)nflows * (uint64_t)nflows), nflows, u1 - u0, s1 - s0,
		       peak_rss_kib());
	} else if (role == ROLE_PONG) {
		while (!(accepted > 0 && (flows[0].eof || flows[0].destroyed))) loop_once();
		cpu_split(&u1, &s1);
		linger(1);
		printf("{\"role\":\"pong\",\"impl\":\"c\",\"cpuUser\":%.4f,\"cpuSys\":%.4f,\"peakRssKiB\":%ld}\n", u1 - u0,
		       s1 - s0, peak_rss_kib());
	} else {
		if (ping_count < 1 || ping_warmup < 0) ping_count = 1, ping_warmup = 0;
		rtts = calloc((size_t)(ping_warmup + ping_count), sizeof *rtts);
		if (!rtts) die("calloc");
		ping_count += ping_warmup;
		while (pings_done < ping_count) loop_once();
		cpu_split(&u1, &s1);
		utp_close(flows[0].sock);
		flows[0].dirty = 0;
		linger(1);
		/* The warm-up's own median and p99, reported apart. */
		double warm_median = 0, warm_p99 = 0;
		if (ping_warmup > 0) {
			qsort(rtts, (size_t)ping_warmup, sizeof *rtts, cmp_double);
			long w99 = (long)((double)ping_warmup * 0.99);
			warm_median = rtts[ping_warmup / 2];
			warm_p99 = rtts[w99 < ping_warmup ? w99 : ping_warmup - 1];
		}
		rtts += ping_warmup;
		ping_count -= ping_warmup;
		if (rtts_path) {
			FILE *out = fopen(rtts_path, "w");
			if (!out) die("fopen");
			for (long i = 0; i < ping_count; i++) fprintf(out, "%.1f\n", rtts[i]);
			fclose(out);
		}
		qsort(rtts, (size_t)ping_count, sizeof *rtts, cmp_double);
		double sum = 0;
		for (long i = 0; i < ping_count; i++) sum += rtts[i];
		long p99 = (long)((double)ping_count * 0.99);
		if (p99 >= ping_count) p99 = ping_count - 1;
		printf("{\"role\":\"ping\",\"impl\":\"c\",\"count\":%ld,\"medianUs\":%.2f,\"p99Us\":%.2f,\"meanUs\":%.2f,"
		       "\"minUs\":%.2f,\"warmup\":%ld,\"warmupMedianUs\":%.2f,\"warmupP99Us\":%.2f,\"cpuUser\":%.4f,"
		       "\"cpuSys\":%.4f,\"peakRssKiB\":%ld}\n",
		       ping_count, rtts[ping_count / 2], rtts[p99], sum / (double)ping_count, rtts[0], ping_warmup, warm_median,
		       warm_p99, u1 - u0, s1 - s0, peak_rss_kib());
	}
	fflush(stdout);
	utp_destroy(ctx);
	close(fd);
	return 0;
}
