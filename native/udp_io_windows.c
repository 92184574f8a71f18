/*
 * udp_io.h on Windows: not implemented yet. Descriptor discovery finds
 * nothing, so the driver uses the runtime's UDP I/O (udpIo: "runtime") and
 * utps.c never reaches the batch functions; they report "unsupported" all
 * the same. A Windows implementation (finding the runtime's SOCKET, WSASendTo
 * batches) goes here without touching utps.c.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#include "udp_io.h"

int udp_io_find_fd(int family, const uint8_t *addr, int port) {
	(void)family;
	(void)addr;
	(void)port;
	return -1;
}

int udp_io_set_buffers(int fd, int bytes) {
	(void)fd;
	(void)bytes;
	return -1;
}

int udp_io_get_buffer(int fd, int which) {
	(void)fd;
	(void)which;
	return -1;
}

int udp_io_dup(int fd) {
	(void)fd;
	return -1;
}

void udp_io_close(int fd) {
	(void)fd;
}

int udp_io_send_batch(int fd, const uint8_t *bufs, size_t stride, const size_t *lens,
                      const struct sockaddr_storage *addrs, const socklen_t *addrlens, int n, uint64_t *syscalls) {
	(void)fd;
	(void)bufs;
	(void)stride;
	(void)lens;
	(void)addrs;
	(void)addrlens;
	(void)n;
	(void)syscalls;
	return 0;
}

int udp_io_recv_batch(int fd, uint8_t *bufs, size_t stride, size_t *lens, struct sockaddr_storage *addrs,
                      socklen_t *addrlens, int n, uint64_t *syscalls) {
	(void)fd;
	(void)bufs;
	(void)stride;
	(void)lens;
	(void)addrs;
	(void)addrlens;
	(void)n;
	(void)syscalls;
	return 0;
}

int udp_io_send_with_hops(int fd, const uint8_t *buf, size_t len, const struct sockaddr *to, socklen_t tolen, int hops,
                          uint64_t *syscalls) {
	(void)fd;
	(void)buf;
	(void)len;
	(void)to;
	(void)tolen;
	(void)hops;
	(void)syscalls;
	return UDP_IO_UNSUPPORTED;
}
