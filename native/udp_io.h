/*
 * Platform UDP I/O of the shim: the one seam between utps.c (libutp glue,
 * portable) and the operating system's socket calls.
 *
 * Everything here works on a descriptor the runtime created and bound, and
 * keeps no state: each function takes an fd and arrays of buffers and
 * addresses and returns counts. Batches are laid out as utps.c keeps them:
 * datagram i lives at bufs + i * stride.
 *
 * Implementations: udp_io_posix.c (Linux: sendmmsg/recvmmsg and /proc/self/fd;
 * macOS and other POSIX: sendto/recvfrom and a descriptor scan) and
 * udp_io_windows.c (no descriptor discovery yet: every function reports
 * "unsupported", so the runtime does the I/O). CMakeLists.txt builds exactly
 * one of them, and udp_offload.c (the UDP_SEGMENT / UDP_GRO functions below,
 * on Linux; fallbacks to the plain batches elsewhere) on every platform.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#ifndef UTPS_UDP_IO_H
#define UTPS_UDP_IO_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#endif

/* Internal to the library: not exported next to the utps_* API. */
#if defined(__GNUC__) && !defined(_WIN32)
#define UDP_IO_INTERNAL __attribute__((visibility("hidden")))
#else
#define UDP_IO_INTERNAL
#endif

/* Result of a call this platform cannot do. */
#define UDP_IO_UNSUPPORTED (-2)

/* lens[i] of a received datagram that did not fit its stride (dropped). */
#define UDP_IO_TRUNCATED ((size_t)-1)

/* The runtime's UDP socket bound to exactly (family, addr, port): family 4 or
 * 6, addr 16 bytes (IPv4 uses the first 4; all zero = the wildcard address;
 * NULL is taken as all zero). When several match, the highest descriptor (the
 * newest socket). Returns the descriptor, or -1 when there is none or the
 * platform cannot tell. */
UDP_IO_INTERNAL int udp_io_find_fd(int family, const uint8_t *addr, int port);

/* Requests `bytes` for both kernel buffers; returns the receive buffer the
 * kernel granted (udp_io_get_buffer), or -1. */
UDP_IO_INTERNAL int udp_io_set_buffers(int fd, int bytes);

/* which: 0 = receive buffer, 1 = send buffer. The kernel's value, or -errno. */
UDP_IO_INTERNAL int udp_io_get_buffer(int fd, int which);

/* A new close-on-exec descriptor for the same socket, or -1. */
UDP_IO_INTERNAL int udp_io_dup(int fd);

/* Closes a descriptor made by udp_io_dup. */
UDP_IO_INTERNAL void udp_io_close(int fd);

/* Sends n datagrams without blocking: datagram i is lens[i] bytes at
 * bufs + i * stride, to addrs[i] (addrlens[i] bytes). Stops at the first
 * "would block" or "no buffer space" (µTP resends what was not sent); skips a
 * datagram that fails on its own (e.g. EMSGSIZE). Adds each system call made
 * to *syscalls. Returns how many datagrams were sent. */
UDP_IO_INTERNAL int udp_io_send_batch(int fd, const uint8_t *bufs, size_t stride, const size_t *lens,
                                      const struct sockaddr_storage *addrs, const socklen_t *addrlens, int n,
                                      uint64_t *syscalls);

/* Receives up to n queued datagrams without blocking: datagram i into
 * bufs + i * stride (at most stride bytes), its length in lens[i]
 * (UDP_IO_TRUNCATED if it was longer) and its source in addrs[i] /
 * addrlens[i]. Adds each system call made to *syscalls. Returns how many
 * datagrams were taken off the socket: fewer than n means the queue is empty
 * (or the socket failed). */
UDP_IO_INTERNAL int udp_io_recv_batch(int fd, uint8_t *bufs, size_t stride, size_t *lens,
                                      struct sockaddr_storage *addrs, socklen_t *addrlens, int n, uint64_t *syscalls);

#ifdef __linux__
struct mmsghdr;
struct iovec;
/* The one recvmmsg of udp_io_recv_batch and udp_io_recv_batch_gro: fills
 * msgs[0..n) and iov[0..n) (the caller's arrays) to receive as
 * udp_io_recv_batch does, each message with control_len bytes of ancillary
 * space at control + i * control_len when control is not NULL, and reads
 * lens and addrlens back. Returns how many datagrams it took (0 on none or
 * on error); msgs then hold their headers, control messages included. */
UDP_IO_INTERNAL int udp_io_recvmmsg(int fd, struct mmsghdr *msgs, struct iovec *iov, uint8_t *bufs, size_t stride,
                                    size_t *lens, struct sockaddr_storage *addrs, socklen_t *addrlens,
                                    char *control, size_t control_len, int n, uint64_t *syscalls);
#endif

/* Whether the kernel offers UDP segmentation offload (UDP_SEGMENT, Linux 4.18)
 * on fd: 1 yes, 0 no (other platforms, older kernels). */
UDP_IO_INTERNAL int udp_io_gso_supported(int fd);

/* udp_io_send_batch with segmentation offload while *gso is 1: each run of
 * consecutive datagrams to one address, all of one size (the last of a run
 * may be shorter), leaves as one message with a UDP_SEGMENT control message,
 * and the kernel cuts it into ordinary datagrams again, so receivers need
 * nothing. If the kernel refuses a segmented send (EIO from a device without
 * checksum offload, EINVAL), *gso becomes 0 and this and every later batch go
 * out one datagram per message. Adds the datagrams that left inside segmented
 * sends to *segmented. Returns how many datagrams were sent. */
UDP_IO_INTERNAL int udp_io_send_batch_gso(int fd, const uint8_t *bufs, size_t stride, const size_t *lens,
                                          const struct sockaddr_storage *addrs, const socklen_t *addrlens, int n,
                                          int *gso, uint64_t *syscalls, uint64_t *segmented);

/* Turns on receive offload (UDP_GRO, Linux 5.0): the kernel may hand over
 * several datagrams of one sender as one buffer. Only for a socket that
 * nothing else reads (a runtime's reads would get coalesced buffers and could
 * not split them). 1 when on, 0 when the platform cannot. */
UDP_IO_INTERNAL int udp_io_gro_enable(int fd);

/* udp_io_recv_batch on a socket with UDP_GRO: as udp_io_recv_batch, and
 * segs[i] is the size of the datagrams coalesced in buffer i (the last may be
 * shorter), or 0 when it holds one datagram. stride should be 65536. */
UDP_IO_INTERNAL int udp_io_recv_batch_gro(int fd, uint8_t *bufs, size_t stride, size_t *lens, size_t *segs,
                                          struct sockaddr_storage *addrs, socklen_t *addrlens, int n,
                                          uint64_t *syscalls);

/* Sends one datagram with IP TTL / IPv6 hop limit `hops` (1..255) for that
 * datagram alone: the socket's own values are restored afterwards. Adds the
 * send to *syscalls. Returns 1 when sent, 0 when the send failed,
 * UDP_IO_UNSUPPORTED on a platform without it. */
UDP_IO_INTERNAL int udp_io_send_with_hops(int fd, const uint8_t *buf, size_t len, const struct sockaddr *to,
                                          socklen_t tolen, int hops, uint64_t *syscalls);

#endif
