/* Round 5's malloc probe (LD_PRELOAD): live bytes per size class, written every
 * 5 ms to $MTRACK_OUT as "total b0 b1 ..." in KiB. Build: cc -O2 -shared -fPIC
 * -o mtrack.so mtrack.c -ldl -lpthread. Not part of the bench or the tests. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
/* buckets by usable size */
#define NB 8
static const char *names[NB] = {"<=1K", "1K-8K", "8K-16K", "16K-17K", "17K-64K", "64K-65K", "65K-256K", ">256K"};
static _Atomic long live[NB], peak_total;
static _Atomic long total;
static int bucket(size_t n) {
	if (n <= 1024) return 0; if (n <= 8192) return 1; if (n < 16384) return 2; if (n <= 17408) return 3;
	if (n < 65536) return 4; if (n <= 66560) return 5; if (n <= 262144) return 6; return 7;
}
static void *(*r_malloc)(size_t); static void (*r_free)(void *); static void *(*r_calloc)(size_t, size_t);
static void *(*r_realloc)(void *, size_t); static int (*r_pm)(void **, size_t, size_t); static void *(*r_al)(size_t, size_t);
static char tmpbuf[65536]; static size_t tmpused; static int initing;
static void init(void) {
	if (r_malloc || initing) return; initing = 1;
	r_malloc = dlsym(RTLD_NEXT, "malloc"); r_free = dlsym(RTLD_NEXT, "free"); r_calloc = dlsym(RTLD_NEXT, "calloc");
	r_realloc = dlsym(RTLD_NEXT, "realloc"); r_pm = dlsym(RTLD_NEXT, "posix_memalign"); r_al = dlsym(RTLD_NEXT, "aligned_alloc");
	initing = 0;
}
#include <execinfo.h>
static __thread int in_log;
static void logbig(size_t n) { /* MTRACK_BIG=N: print callers of allocations of N bytes or more */
	if (in_log || !getenv("MTRACK_BIG") || n < (size_t)atol(getenv("MTRACK_BIG"))) return;
	in_log = 1; void *bt[6]; int k = backtrace(bt, 6); Dl_info di;
	fprintf(stderr, "BIG %zu:", n);
	for (int i = 1; i < k; i++) { if (dladdr(bt[i], &di) && di.dli_fname) fprintf(stderr, " %s+%lx(%s)", strrchr(di.dli_fname,'/') ? strrchr(di.dli_fname,'/')+1 : di.dli_fname, (unsigned long)((char*)bt[i]-(char*)di.dli_fbase), di.dli_sname ? di.dli_sname : "?"); }
	fprintf(stderr, "\n"); in_log = 0;
}
static void add(void *p, int sign) {
	if (!p) return; size_t n = malloc_usable_size(p); long d = sign * (long)n;
	atomic_fetch_add(&live[bucket(n)], d); long t = atomic_fetch_add(&total, d) + d;
	long pk = atomic_load(&peak_total); while (t > pk && !atomic_compare_exchange_weak(&peak_total, &pk, t)) {}
}
static int is_tmp(void *p) { return (char *)p >= tmpbuf && (char *)p < tmpbuf + sizeof tmpbuf; }
void *malloc(size_t n) { init(); if (!r_malloc) { void *p = tmpbuf + tmpused; tmpused += (n + 15) & ~15; return p; } void *p = r_malloc(n); add(p, 1); logbig(n); return p; }
void *calloc(size_t a, size_t b) { init(); if (!r_calloc) { void *p = tmpbuf + tmpused; tmpused += (a * b + 15) & ~15; memset(p, 0, a * b); return p; } void *p = r_calloc(a, b); add(p, 1); logbig(a*b); return p; }
void free(void *p) { if (!p || is_tmp(p)) return; init(); add(p, -1); r_free(p); }
void *realloc(void *p, size_t n) { init(); if (is_tmp(p)) { void *q = malloc(n); memcpy(q, p, n); return q; } if (p) add(p, -1); void *q = r_realloc(p, n); logbig(n); if (q) add(q, 1); else if (p && n) add(p, 1); return q; }
int posix_memalign(void **o, size_t a, size_t n) { init(); int r = r_pm(o, a, n); if (!r) add(*o, 1); return r; }
void *aligned_alloc(size_t a, size_t n) { init(); void *p = r_al(a, n); add(p, 1); return p; }
static void *reporter(void *arg) {
	const char *path = getenv("MTRACK_OUT"); if (!path) return 0;
	FILE *f = fopen(path, "w"); if (!f) return 0;
	struct timespec ts = {0, 5000000};
	for (;;) { nanosleep(&ts, 0); fprintf(f, "%ld", atomic_load(&total) >> 10);
		for (int i = 0; i < NB; i++) fprintf(f, " %ld", atomic_load(&live[i]) >> 10); fprintf(f, "\n"); fflush(f); }
	return 0;
}
__attribute__((constructor)) static void start(void) { init(); pthread_t t; if (getenv("MTRACK_OUT")) pthread_create(&t, 0, reporter, 0); }
