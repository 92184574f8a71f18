/*
 * udp_io.h on Linux, macOS and other POSIX systems. Linux batches with
 * sendmmsg/recvmmsg and finds descriptors in /proc/self/fd; the others send
 * and receive one datagram per call and scan descriptor numbers. UDP
 * segmentation and receive offload are in udp_offload.c.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "udp_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ------------------------------------------------------ descriptor discovery */

/* The most descriptor numbers the fallback scan tries (a soft limit of
 * "unlimited" or millions would otherwise take seconds). */
#define UDP_IO_SCAN_CAP (1 << 20)
/* The fewest it tries: a limit lowered below descriptors already open. */
#define UDP_IO_SCAN_FLOOR 4096

/* Whether fd is a datagram socket bound to exactly (family, addr, port). */
static int fd_is_bound_to(int fd, int family, const uint8_t *addr, int port) {
	int type = 0;
	socklen_t tl = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM) return 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) return 0;
	static const uint8_t zero[16];
	if (!addr) addr = zero;
	if (ss.ss_family == AF_INET && family == 4) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		return ntohs(a->sin_port) == port && memcmp(&a->sin_addr, addr, 4) == 0;
	}
	if (ss.ss_family == AF_INET6 && family == 6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		return ntohs(a->sin6_port) == port && memcmp(&a->sin6_addr, addr, 16) == 0;
	}
	return 0;
}

static int descending(const void *x, const void *y) {
	int a = *(const int *)x, b = *(const int *)y;
	return (a < b) - (a > b);
}

/* Looks through the descriptors listed in `dir` (a /proc/self/fd-like
 * directory: one entry per open descriptor, named by its number), highest
 * first. Returns the descriptor, -1 when none matches, or UDP_IO_UNSUPPORTED
 * when the directory cannot be read. */
static int find_fd_listed(const char *dir, int family, const uint8_t *addr, int port) {
	DIR *d = opendir(dir);
	if (!d) return UDP_IO_UNSUPPORTED;
	int own = dirfd(d);
	int *fds = NULL;
	size_t n = 0, cap = 0;
	int failed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		errno = 0;
		long v = strtol(e->d_name, &end, 10);
		if (end == e->d_name || *end != '\0' || errno != 0 || v < 0 || v > INT_MAX || v == own) continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 256;
			int *p = (int *)realloc(fds, c * sizeof(int));
			if (!p) {
				failed = 1;
				break;
			}
			fds = p;
			cap = c;
		}
		fds[n++] = (int)v;
	}
	closedir(d);
	if (failed) {
		free(fds);
		return UDP_IO_UNSUPPORTED;
	}
	if (n > 1) qsort(fds, n, sizeof(int), descending);
	int found = -1;
	for (size_t i = 0; i < n && found < 0; i++) {
		if (fd_is_bound_to(fds[i], family, addr, port)) found = fds[i];
	}
	free(fds);
	return found;
}

/* How many descriptor numbers the fallback scan tries: the soft
 * RLIMIT_NOFILE, within [UDP_IO_SCAN_FLOOR, UDP_IO_SCAN_CAP]. */
static int scan_limit(void) {
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return UDP_IO_SCAN_FLOOR;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)UDP_IO_SCAN_CAP) return UDP_IO_SCAN_CAP;
	if (rl.rlim_cur < (rlim_t)UDP_IO_SCAN_FLOOR) return UDP_IO_SCAN_FLOOR;
	return (int)rl.rlim_cur;
}

/* Tries every descriptor number below `limit`, highest first. */
static int find_fd_scanning(int limit, int family, const uint8_t *addr, int port) {
	for (int fd = limit - 1; fd >= 0; fd--) {
		if (fd_is_bound_to(fd, family, addr, port)) return fd;
	}
	return -1;
}

int udp_io_find_fd(int family, const uint8_t *addr, int port) {
	if ((family != 4 && family != 6) || port < 0 || port > 65535) return -1;
#ifdef __linux__
	int fd = find_fd_listed("/proc/self/fd", family, addr, port);
	if (fd != UDP_IO_UNSUPPORTED) return fd;
#endif
	return find_fd_scanning(scan_limit(), family, addr, port);
}

/* ------------------------------------------------------------ socket setup */

int udp_io_get_buffer(int fd, int which) {
	int v = 0;
	socklen_t l = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, which ? SO_SNDBUF : SO_RCVBUF, &v, &l) != 0) return -errno;
	return v;
}

int udp_io_set_buffers(int fd, int bytes) {
	if (fd < 0 || bytes <= 0) return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
	return udp_io_get_buffer(fd, 0);
}

int udp_io_dup(int fd) {
	if (fd < 0) return -1;
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

void udp_io_close(int fd) {
	if (fd >= 0) close(fd);
}

/* ----------------------------------------------------------------- batches */

static int send_would_block(int err) {
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

#ifdef __linux__

/* The most datagrams one sendmmsg/recvmmsg call takes from the caller's arrays. */
#define UDP_IO_MMSG_BATCH 64

int udp_io_send_batch(int fd, const uint8_t *bufs, size_t stride, const size_t *lens,
                      const struct sockaddr_storage *addrs, const socklen_t *addrlens, int n, uint64_t *syscalls) {
	struct mmsghdr msgs[UDP_IO_MMSG_BATCH];
	struct iovec iov[UDP_IO_MMSG_BATCH];
	int sent = 0;
	int done = 0; /* sent or skipped */
	while (done < n) {
		int want = n - done;
		if (want > UDP_IO_MMSG_BATCH) want = UDP_IO_MMSG_BATCH;
		memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)want);
		for (int i = 0; i < want; i++) {
			int k = done + i;
			iov[i].iov_base = (void *)(bufs + (size_t)k * stride);
			iov[i].iov_len = lens[k];
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = (void *)&addrs[k];
			msgs[i].msg_hdr.msg_namelen = addrlens[k];
		}
		int r = sendmmsg(fd, msgs, (unsigned)want, MSG_DONTWAIT);
		(*syscalls)++;
		if (r < 0) {
			if (errno == EINTR) continue;
			if (send_would_block(errno)) break;
			done++; /* this datagram's own error: skip it */
			continue;
		}
		done += r;
		sent += r;
	}
	return sent;
}

int udp_io_recvmmsg(int fd, struct mmsghdr *msgs, struct iovec *iov, uint8_t *bufs, size_t stride, size_t *lens,
                    struct sockaddr_storage *addrs, socklen_t *addrlens, char *control, size_t control_len, int n,
                    uint64_t *syscalls) {
	if (n <= 0) return 0;
	memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)n);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = bufs + (size_t)i * stride;
		iov[i].iov_len = stride;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &addrs[i];
		msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
		if (control) {
			msgs[i].msg_hdr.msg_control = control + (size_t)i * control_len;
			msgs[i].msg_hdr.msg_controllen = control_len;
		}
	}
	int r;
	do {
		r = recvmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT, NULL);
		(*syscalls)++;
	} while (r < 0 && errno == EINTR);
	if (r <= 0) return 0;
	for (int i = 0; i < r; i++) {
		lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? UDP_IO_TRUNCATED : (size_t)msgs[i].msg_len;
		addrlens[i] = msgs[i].msg_hdr.msg_namelen;
	}
	return r;
}

int udp_io_recv_batch(int fd, uint8_t *bufs, size_t stride, size_t *lens, struct sockaddr_storage *addrs,
                      socklen_t *addrlens, int n, uint64_t *syscalls) {
	struct mmsghdr msgs[UDP_IO_MMSG_BATCH];
	struct iovec iov[UDP_IO_MMSG_BATCH];
	if (n > UDP_IO_MMSG_BATCH) n = UDP_IO_MMSG_BATCH;
	return udp_io_recvmmsg(fd, msgs, iov, bufs, stride, lens, addrs, addrlens, NULL, 0, n, syscalls);
}

#else /* POSIX without sendmmsg/recvmmsg */

int udp_io_send_batch(int fd, const uint8_t *bufs, size_t stride, const size_t *lens,
                      const struct sockaddr_storage *addrs, const socklen_t *addrlens, int n, uint64_t *syscalls) {
	int sent = 0;
	for (int i = 0; i < n; i++) {
		ssize_t r = sendto(fd, bufs + (size_t)i * stride, lens[i], 0, (const struct sockaddr *)&addrs[i], addrlens[i]);
		(*syscalls)++;
		if (r < 0 && send_would_block(errno)) break;
		if (r >= 0) sent++;
	}
	return sent;
}

int udp_io_recv_batch(int fd, uint8_t *bufs, size_t stride, size_t *lens, struct sockaddr_storage *addrs,
                      socklen_t *addrlens, int n, uint64_t *syscalls) {
	int got = 0;
	while (got < n) {
		socklen_t fl = sizeof addrs[got];
		ssize_t r = recvfrom(fd, bufs + (size_t)got * stride, stride, MSG_DONTWAIT, (struct sockaddr *)&addrs[got], &fl);
		(*syscalls)++;
		if (r < 0) {
			if (errno == EINTR) continue;
			break;
		}
		lens[got] = (size_t)r;
		addrlens[got] = fl;
		got++;
	}
	return got;
}

#endif

/* ---------------------------------------------------------------- hop limit */

int udp_io_send_with_hops(int fd, const uint8_t *buf, size_t len, const struct sockaddr *to, socklen_t tolen, int hops,
                          uint64_t *syscalls) {
	/* Both levels are set: one of the two fails on a socket of the other
	 * family, which is fine. */
	int old4 = -1, old6 = -1, v = 0;
	socklen_t l = sizeof v;
	if (getsockopt(fd, IPPROTO_IP, IP_TTL, &v, &l) == 0) old4 = v;
	l = sizeof v;
	if (getsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &l) == 0) old6 = v;
	setsockopt(fd, IPPROTO_IP, IP_TTL, &hops, sizeof hops);
	setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops);
	ssize_t r = sendto(fd, buf, len, MSG_DONTWAIT, to, tolen);
	(*syscalls)++;
	if (old4 >= 0) setsockopt(fd, IPPROTO_IP, IP_TTL, &old4, sizeof old4);
	/* -1 (also what a failed read leaves) is the kernel's "route default" */
	setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &old6, sizeof old6);
	return r >= 0 ? 1 : 0;
}
