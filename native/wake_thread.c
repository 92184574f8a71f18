/*
 * wake_thread.h with POSIX threads and poll(2); a stub on Windows.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "wake_thread.h"

#include <stddef.h>

#ifdef _WIN32

wake_thread *wake_thread_start(int fd, wake_thread_fn fn, int32_t token) {
	(void)fd;
	(void)fn;
	(void)token;
	return NULL;
}

void wake_thread_arm(wake_thread *w) {
	(void)w;
}

void wake_thread_stop(wake_thread *w) {
	(void)w;
}

#else

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#if defined(__linux__) && defined(__GLIBC__)
/* glibc 2.34 moved pthread_create into libc under a new version; binding the
 * old one keeps the library loadable on glibc 2.25 (docs/platforms.md). */
#if defined(__x86_64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
#elif defined(__arm__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.4");
#endif
#else
#include <dlfcn.h>
#endif

struct wake_thread {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int armed;
	int stop;
	int fd;       /* the thread's own duplicate of the socket */
	int pipe[2];  /* written to by wake_thread_stop to end a waiting poll */
	wake_thread_fn fn;
	int32_t token;
};

static void wake_thread_free(wake_thread *w) {
	close(w->fd);
	close(w->pipe[0]);
	close(w->pipe[1]);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static void *wake_thread_main(void *arg) {
	wake_thread *w = (wake_thread *)arg;
	/* Named, so that tests (and people reading top -H) can count them. */
#if defined(__linux__)
	prctl(PR_SET_NAME, "utps-wake", 0, 0, 0); /* pthread_setname_np would need glibc 2.34's symbol */
#elif defined(__APPLE__)
	pthread_setname_np("utps-wake");
#endif
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->armed && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
		int stop = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (stop) break;
		struct pollfd p[2] = {{w->fd, POLLIN, 0}, {w->pipe[0], POLLIN, 0}};
		int r = poll(p, 2, -1);
		if (r < 0 && errno != EINTR) break;
		if (r <= 0) continue;
		pthread_mutex_lock(&w->mu);
		stop = w->stop;
		int fire = !stop && (p[0].revents & (POLLIN | POLLERR)) != 0;
		if (fire) w->armed = 0;
		pthread_mutex_unlock(&w->mu);
		if (stop) break;
		if (fire) w->fn(w->token);
	}
	wake_thread_free(w);
	return NULL;
}

/* Keeps this library mapped until the process ends: a runtime may unload it
 * (`deno test` closes a module's libraries) while a stopped thread is still
 * on its way out of poll(). On Linux the library is linked with -z nodelete
 * instead (dlopen/dladdr would raise the glibc floor to 2.34). */
static void pin_library(void) {
#if !defined(__linux__)
	static int pinned = 0;
	if (pinned) return;
	Dl_info info;
	if (dladdr((void *)&pin_library, &info) && info.dli_fname &&
	    dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE) != NULL) {
		pinned = 1;
	}
#endif
}

static int cloexec_pipe(int p[2]) {
	if (pipe(p) != 0) return -1;
	for (int i = 0; i < 2; i++) {
		fcntl(p[i], F_SETFD, FD_CLOEXEC);
		fcntl(p[i], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

wake_thread *wake_thread_start(int fd, wake_thread_fn fn, int32_t token) {
	if (fd < 0 || !fn) return NULL;
	pin_library();
	wake_thread *w = (wake_thread *)calloc(1, sizeof *w);
	if (!w) return NULL;
	w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (w->fd < 0 || cloexec_pipe(w->pipe) != 0) {
		if (w->fd >= 0) close(w->fd);
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->armed = 1;
	w->fn = fn;
	w->token = token;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t thread;
	int r = pthread_create(&thread, &attr, wake_thread_main, w);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		wake_thread_free(w);
		return NULL;
	}
	return w;
}

void wake_thread_arm(wake_thread *w) {
	if (!w) return;
	pthread_mutex_lock(&w->mu);
	if (!w->armed) {
		w->armed = 1;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

void wake_thread_stop(wake_thread *w) {
	if (!w) return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	/* Under the lock: the thread frees w only after it has seen stop. */
	char byte = 1;
	ssize_t ignored = write(w->pipe[1], &byte, 1);
	(void)ignored;
	pthread_mutex_unlock(&w->mu);
}

#endif
