/*
 * The UDP offloads of udp_io.h: segmentation (UDP_SEGMENT) and receive
 * offload (UDP_GRO) on Linux, built on every platform; elsewhere they answer
 * "not supported" and fall back to udp_io_send_batch / udp_io_recv_batch.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "udp_io.h"

#ifdef __linux__
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#endif

#ifdef __linux__

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
/* Segments of one send at most (the kernel's UDP_MAX_SEGMENTS was 64 before
 * Linux 6.9 raised it to 128). */
#define UDP_IO_GSO_MAX_SEGMENTS 64
/* Payload bytes of one segmented send at most (one IP datagram). */
#define UDP_IO_GSO_MAX_BYTES 65000
/* Datagrams of one sendmmsg at most (as udp_io_send_batch). */
#define UDP_IO_GSO_BATCH 64
/* Coalesced buffers taken by one recvmmsg. */
#define UDP_IO_GRO_BATCH 8

static int offload_would_block(int err) {
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

int udp_io_gso_supported(int fd) {
	int v = 0;
	socklen_t l = sizeof v;
	return fd >= 0 && getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &l) == 0;
}

static int same_address(const struct sockaddr_storage *a, socklen_t al, const struct sockaddr_storage *b,
                        socklen_t bl) {
	return al == bl && memcmp(a, b, (size_t)al) == 0;
}

/* How many datagrams from k (before end) form one segmented send: same
 * address, same size, except that a shorter one may end the run. */
static int gso_run_length(const size_t *lens, const struct sockaddr_storage *addrs, const socklen_t *addrlens, int k,
                          int end) {
	size_t seg = lens[k];
	size_t total = seg;
	int run = 1;
	while (k + run < end && run < UDP_IO_GSO_MAX_SEGMENTS) {
		int j = k + run;
		if (lens[j] == 0 || lens[j] > seg || total + lens[j] > UDP_IO_GSO_MAX_BYTES) break;
		if (!same_address(&addrs[k], addrlens[k], &addrs[j], addrlens[j])) break;
		total += lens[j];
		run++;
		if (lens[j] < seg) break;
	}
	return run;
}

int udp_io_send_batch_gso(int fd, const uint8_t *bufs, size_t stride, const size_t *lens,
                          const struct sockaddr_storage *addrs, const socklen_t *addrlens, int n, int *gso,
                          uint64_t *syscalls, uint64_t *segmented) {
	if (!*gso) return udp_io_send_batch(fd, bufs, stride, lens, addrs, addrlens, n, syscalls);
	struct mmsghdr msgs[UDP_IO_GSO_BATCH];
	struct iovec iov[UDP_IO_GSO_BATCH];
	int count[UDP_IO_GSO_BATCH]; /* datagrams in each message */
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[UDP_IO_GSO_BATCH];
	int sent = 0;
	int done = 0; /* datagrams sent or skipped */
	while (done < n) {
		int end = n - done > UDP_IO_GSO_BATCH ? done + UDP_IO_GSO_BATCH : n;
		int nmsg = 0;
		for (int k = done; k < end; nmsg++) {
			int run = gso_run_length(lens, addrs, addrlens, k, end);
			struct mmsghdr *m = &msgs[nmsg];
			memset(m, 0, sizeof *m);
			for (int i = 0; i < run; i++) {
				iov[k - done + i].iov_base = (void *)(bufs + (size_t)(k + i) * stride);
				iov[k - done + i].iov_len = lens[k + i];
			}
			m->msg_hdr.msg_iov = &iov[k - done];
			m->msg_hdr.msg_iovlen = (size_t)run;
			m->msg_hdr.msg_name = (void *)&addrs[k];
			m->msg_hdr.msg_namelen = addrlens[k];
			if (run > 1) {
				memset(&ctl[nmsg], 0, sizeof ctl[nmsg]);
				m->msg_hdr.msg_control = ctl[nmsg].buf;
				m->msg_hdr.msg_controllen = sizeof ctl[nmsg].buf;
				struct cmsghdr *c = CMSG_FIRSTHDR(&m->msg_hdr);
				c->cmsg_level = SOL_UDP;
				c->cmsg_type = UDP_SEGMENT;
				c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
				uint16_t size = (uint16_t)lens[k];
				memcpy(CMSG_DATA(c), &size, sizeof size);
			}
			count[nmsg] = run;
			k += run;
		}
		int r = sendmmsg(fd, msgs, (unsigned)nmsg, MSG_DONTWAIT);
		(*syscalls)++;
		if (r < 0) {
			if (errno == EINTR) continue;
			if (offload_would_block(errno)) break;
			if (count[0] > 1) {
				/* This path cannot segment: send unsegmented from now on. */
				*gso = 0;
				return sent + udp_io_send_batch(fd, bufs + (size_t)done * stride, stride, lens + done, addrs + done,
				                                addrlens + done, n - done, syscalls);
			}
			done++; /* this datagram's own error: skip it */
			continue;
		}
		/* r < nmsg: message r failed or would block; the next round sees it. */
		for (int i = 0; i < r; i++) {
			done += count[i];
			sent += count[i];
			if (count[i] > 1) *segmented += (uint64_t)count[i];
		}
	}
	return sent;
}

int udp_io_gro_enable(int fd) {
	int on = 1;
	return fd >= 0 && setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
}

int udp_io_recv_batch_gro(int fd, uint8_t *bufs, size_t stride, size_t *lens, size_t *segs,
                          struct sockaddr_storage *addrs, socklen_t *addrlens, int n, uint64_t *syscalls) {
	struct mmsghdr msgs[UDP_IO_GRO_BATCH];
	struct iovec iov[UDP_IO_GRO_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[UDP_IO_GRO_BATCH];
	if (n > UDP_IO_GRO_BATCH) n = UDP_IO_GRO_BATCH;
	int r = udp_io_recvmmsg(fd, msgs, iov, bufs, stride, lens, addrs, addrlens, ctl[0].buf, sizeof ctl[0], n,
	                        syscalls);
	for (int i = 0; i < r; i++) {
		struct msghdr *h = &msgs[i].msg_hdr;
		segs[i] = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
			if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO) continue;
			int size = 0;
			memcpy(&size, CMSG_DATA(c), sizeof size);
			if (size > 0 && lens[i] != UDP_IO_TRUNCATED && (size_t)size < lens[i]) segs[i] = (size_t)size;
		}
	}
	return r;
}

#else /* no UDP offloads */

int udp_io_gso_supported(int fd) {
	(void)fd;
	return 0;
}

int udp_io_send_batch_gso(int fd, const uint8_t *bufs, size_t stride, const size_t *lens,
                          const struct sockaddr_storage *addrs, const socklen_t *addrlens, int n, int *gso,
                          uint64_t *syscalls, uint64_t *segmented) {
	(void)segmented;
	*gso = 0;
	return udp_io_send_batch(fd, bufs, stride, lens, addrs, addrlens, n, syscalls);
}

int udp_io_gro_enable(int fd) {
	(void)fd;
	return 0;
}

int udp_io_recv_batch_gro(int fd, uint8_t *bufs, size_t stride, size_t *lens, size_t *segs,
                          struct sockaddr_storage *addrs, socklen_t *addrlens, int n, uint64_t *syscalls) {
	int r = udp_io_recv_batch(fd, bufs, stride, lens, addrs, addrlens, n, syscalls);
	for (int i = 0; i < r; i++) segs[i] = 0;
	return r;
}

#endif
