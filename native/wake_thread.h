/*
 * A thread that waits for a socket to become readable and tells JavaScript
 * through a runtime's thread-safe callback (Deno.UnsafeCallback.threadSafe,
 * Bun's JSCallback with threadsafe: true). It is how the shim receives on its
 * own with UDP receive offload: the runtime then reads nothing, and the
 * driver drains the socket when told.
 *
 * One call per wake-up: after calling fn(token) the thread waits until
 * wake_thread_arm before it looks at the socket again, so JavaScript is never
 * called twice for one readable socket.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#ifndef UTPS_WAKE_THREAD_H
#define UTPS_WAKE_THREAD_H

#include <stdint.h>

#if defined(__GNUC__) && !defined(_WIN32)
#define WAKE_THREAD_INTERNAL __attribute__((visibility("hidden")))
#else
#define WAKE_THREAD_INTERNAL
#endif

/* Called from the thread: must be a runtime's thread-safe callback. */
typedef void (*wake_thread_fn)(int32_t token);

typedef struct wake_thread wake_thread;

/* Starts a thread named "utps-wake", armed, on its own duplicate of fd. NULL when the platform
 * (Windows) or the system cannot. */
WAKE_THREAD_INTERNAL wake_thread *wake_thread_start(int fd, wake_thread_fn fn, int32_t token);

/* Lets the thread wait for, and report, the socket's next readable state. */
WAKE_THREAD_INTERNAL void wake_thread_arm(wake_thread *w);

/* Tells the thread to end; it frees itself. There is no join: a runtime's
 * thread-safe call may block until the JavaScript thread runs it, and this is
 * called from that thread. fn may still be called once after this returns,
 * so the caller ignores tokens it no longer knows. */
WAKE_THREAD_INTERNAL void wake_thread_stop(wake_thread *w);

#endif
