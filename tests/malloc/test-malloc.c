// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/malloc/test-malloc.c - the C malloc API as libuslab-malloc.so serves
 * it. Run by tests/malloc/run.sh with the shim in LD_PRELOAD; the program
 * links nothing of uslab and first checks that malloc really is the shim's.
 *
 *   test-malloc api     every entry point: alignment of every power of two up
 *                       to 64 KiB (and 1 MiB), malloc(0), realloc keeping
 *                       contents, calloc zeroing and overflow, usable sizes,
 *                       errno values
 *   test-malloc fork    threads allocating while the main thread forks
 *                       repeatedly; each child allocates (also from a new
 *                       thread) and exits cleanly
 *   test-malloc limit   with USLAB_MALLOC_MAX set: allocations fail with
 *                       ENOMEM near the limit and work again after frees
 *
 * Built with -fno-builtin so that the compiler keeps every call.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

/* Sizes the compiler cannot see, so that it does not warn about them. */
static size_t opaque(size_t x)
{
	volatile size_t v = x;

	return v;
}

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			failures++;                                            \
		}                                                              \
	} while (0)

static void fill(void *p, size_t n, unsigned int seed)
{
	unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)(seed + i * 7);
}

static int same(const void *p, size_t n, unsigned int seed)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

/* The process's malloc must come from libuslab-malloc.so. */
static int shim_active(void)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "malloc");

	return sym && dladdr(sym, &info) && info.dli_fname && strstr(info.dli_fname, "libuslab-malloc");
}

/* ---- api ------------------------------------------------------------------------ */

static void check_block(void *p, size_t align, size_t size, const char *what)
{
	CHECK(p != NULL, "%s(align %zu, size %zu) failed: %s", what, align, size, strerror(errno));
	if (!p)
		return;
	CHECK(((uintptr_t)p & (align - 1)) == 0, "%s(align %zu, size %zu) = %p misaligned", what, align,
	      size, p);
	CHECK(malloc_usable_size(p) >= size, "%s: usable %zu < %zu", what, malloc_usable_size(p), size);
	fill(p, size, (unsigned int)size);
	CHECK(same(p, size, (unsigned int)size), "%s: contents", what);
}

static void test_malloc_sizes(void)
{
	void *a, *b;

	/* malloc(0): unique, freeable, 16-aligned. */
	a = malloc(0);
	b = malloc(0);
	CHECK(a && b && a != b, "malloc(0) %p %p", a, b);
	CHECK(((uintptr_t)a & 15) == 0 && ((uintptr_t)b & 15) == 0, "malloc(0) alignment");
	free(a);
	free(b);
	free(NULL);

	/* 16-byte alignment for every size up to 10000, then big ones. */
	for (size_t n = 1; n <= 10000; n += (n < 300 ? 1 : 37)) {
		void *p = malloc(n);

		check_block(p, 16, n, "malloc");
		free(p);
	}
	for (size_t n = 8192; n <= (64ul << 20); n *= 2) {
		void *p = malloc(n + 1);

		check_block(p, 16, n + 1, "malloc");
		free(p);
	}
	errno = 0;
	a = malloc(opaque(SIZE_MAX));
	CHECK(a == NULL && errno == ENOMEM, "malloc(SIZE_MAX) %p errno %d", a, errno);
	errno = 0;
	a = malloc(opaque(1ul << 50));
	CHECK(a == NULL && errno == ENOMEM, "malloc(1<<50) %p errno %d", a, errno);

	/* errno untouched by successful calls. */
	errno = 12345;
	a = malloc(100);
	free(a);
	a = malloc(100000);
	free(a);
	CHECK(errno == 12345, "errno changed to %d by a successful malloc/free", errno);
}

static void test_aligned(void)
{
	static const size_t sizes[] = { 0, 1, 8, 15, 16, 17, 100, 1000, 4095, 4096, 4097, 70000, 5u << 20 };

	for (size_t align = 1; align <= (1u << 20); align *= 2) {
		if (align > (64u << 10) && align != (1u << 20))
			continue;
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			void *p = memalign(align, n);

			check_block(p, align < 16 ? 16 : align, n, "memalign");
			free(p);
			p = aligned_alloc(align, n);
			check_block(p, align < 16 ? 16 : align, n, "aligned_alloc");
			free(p);
			if (align >= sizeof(void *)) {
				p = NULL;
				CHECK(posix_memalign(&p, align, n) == 0, "posix_memalign(%zu, %zu)", align, n);
				check_block(p, align, n, "posix_memalign");
				free(p);
			}
		}
	}
	/* A realloc of a big-aligned block keeps contents and can be freed. */
	{
		char *p = memalign(1u << 16, 5000), *q;

		check_block(p, 1u << 16, 5000, "memalign");
		fill(p, 5000, 3);
		q = realloc(p, 300000);
		CHECK(q && same(q, 5000, 3), "realloc of memalign(64K) block");
		q = realloc(q, 100);
		CHECK(q && same(q, 100, 3), "realloc shrink of memalign(64K) block");
		free(q);
	}
	{
		void *p = (void *)1;
		int saved;

		errno = 0;
		CHECK(posix_memalign(&p, 24, 10) == EINVAL, "posix_memalign(24)");
		CHECK(posix_memalign(&p, 4, 10) == EINVAL, "posix_memalign(4)");
		CHECK(p == (void *)1, "posix_memalign wrote *memptr on error");
		saved = errno;
		CHECK(posix_memalign(&p, 64, opaque(SIZE_MAX - 10)) == ENOMEM, "posix_memalign(SIZE_MAX)");
		CHECK(errno == saved, "posix_memalign changed errno");
		errno = 0;
		CHECK(aligned_alloc(24, 10) == NULL && errno == EINVAL, "aligned_alloc(24) errno %d", errno);
	}
	{
		void *p = valloc(100), *q = pvalloc(100), *r = pvalloc(0);

		check_block(p, 4096, 100, "valloc");
		check_block(q, 4096, 4096, "pvalloc");
		check_block(r, 4096, 4096, "pvalloc(0)");
		free(p);
		free(q);
		free(r);
	}
}

static void test_realloc(void)
{
	size_t sizes[] = { 1, 7, 16, 24, 100, 200, 1000, 5000, 9000, 70000, 1u << 20, 5u << 20, 9u << 20 };
	size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
	char *p = NULL;
	size_t have = 0;

	/* Grow through every class and past KMALLOC_MAX_SIZE, then shrink back. */
	for (size_t i = 0; i < 2 * nsizes; i++) {
		size_t n = i < nsizes ? sizes[i] : sizes[2 * nsizes - 1 - i];
		char *q = realloc(p, n);

		CHECK(q != NULL, "realloc(%p, %zu)", (void *)p, n);
		if (!q)
			return;
		CHECK(same(q, have < n ? have : n, 9), "realloc to %zu lost contents", n);
		CHECK(((uintptr_t)q & 15) == 0, "realloc alignment");
		CHECK(malloc_usable_size(q) >= n, "realloc usable");
		fill(q, n, 9);
		p = q;
		have = n;
	}
	/* A failing realloc leaves the block alone. */
	errno = 0;
	CHECK(realloc(p, opaque(SIZE_MAX / 2)) == NULL && errno == ENOMEM, "huge realloc");
	CHECK(same(p, have, 9), "failed realloc touched the block");
	/* glibc: realloc(p, 0) frees and returns NULL; realloc(NULL, n) is malloc. */
	CHECK(realloc(p, 0) == NULL, "realloc(p, 0)");
	p = realloc(NULL, 50);
	check_block(p, 16, 50, "realloc(NULL)");
	p = reallocarray(p, 100, 10);
	check_block(p, 16, 1000, "reallocarray");
	{
		/* Through a pointer: GCC would take p for freed afterwards. */
		void *(*volatile reallocarray_fn)(void *, size_t, size_t) = reallocarray;

		errno = 0;
		CHECK(reallocarray_fn(p, opaque(SIZE_MAX / 2), 3) == NULL && errno == ENOMEM,
		      "reallocarray overflow");
	}
	free(p);
}

static void test_calloc(void)
{
	static const size_t sizes[] = { 1, 16, 100, 4096, 8192, 20000, 1u << 20, 6u << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		/* Dirty a block of the size, free it, then calloc: it must be zero. */
		char *d = malloc(n), *z;

		memset(d, 0xa5, n);
		free(d);
		z = calloc(1, n);
		CHECK(z && all_zero(z, n), "calloc(1, %zu) not zeroed", n);
		free(z);
		z = calloc(n, 3);
		CHECK(z && all_zero(z, 3 * n), "calloc(%zu, 3) not zeroed", n);
		free(z);
	}
	{
		void *z = calloc(0, 10);

		CHECK(z != NULL, "calloc(0, 10)");
		free(z);
		errno = 0;
		z = calloc(opaque(SIZE_MAX / 2), 3);
		CHECK(z == NULL && errno == ENOMEM, "calloc overflow %p errno %d", z, errno);
		errno = 0;
		z = calloc(opaque((size_t)1 << 33), (size_t)1 << 33);
		CHECK(z == NULL && errno == ENOMEM, "calloc overflow 2^66");
	}
}

/*
 * Served by uslab, not by the shim's bootstrap arena: an 80-byte block is a
 * kmalloc-96 object (the arena would round it to 128).
 */
static void test_served_by_kmalloc(void)
{
	void *p[5];

	p[0] = malloc(80);
	p[1] = calloc(1, 80);
	p[2] = realloc(NULL, 80);
	p[3] = reallocarray(NULL, 8, 10);
	p[4] = realloc(malloc(20), 80);
	for (int i = 0; i < 5; i++) {
		CHECK(malloc_usable_size(p[i]) == 96, "entry %d: usable size %zu, not kmalloc-96's", i,
		      malloc_usable_size(p[i]));
		free(p[i]);
	}
}

static void test_strings(void)
{
	char *s = strdup("uslab"), *t = strndup("uslab-malloc", 5);

	CHECK(s && t && !strcmp(s, "uslab") && !strcmp(t, "uslab"), "strdup/strndup");
	free(s);
	free(t);
}

static int run_api(void)
{
	test_malloc_sizes();
	test_aligned();
	test_realloc();
	test_calloc();
	test_strings();
	test_served_by_kmalloc();
	printf("api: %s\n", failures ? "FAILED" : "every check passed");
	return failures ? 1 : 0;
}

/* ---- fork --------------------------------------------------------------------------- */

static volatile int stop_workers;

static void *churn(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	void *slot[64] = { 0 };
	unsigned long rounds = 0;

	while (!stop_workers) {
		unsigned int i = rand_r(&seed) % 64;
		size_t n = (size_t)1 << (rand_r(&seed) % 16);

		free(slot[i]);
		switch (rand_r(&seed) % 4) {
		case 0:
			slot[i] = malloc(n + rand_r(&seed) % n);
			break;
		case 1:
			slot[i] = calloc(1, n);
			break;
		case 2:
			slot[i] = memalign(64, n);
			break;
		default:
			slot[i] = realloc(malloc(16), n * 3);
			break;
		}
		if (slot[i])
			memset(slot[i], 0x5a, n);
		rounds++;
	}
	for (int i = 0; i < 64; i++)
		free(slot[i]);
	return (void *)rounds;
}

static void *child_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		free(malloc((size_t)(i * 13 % 5000)));
	return NULL;
}

static int child_work(void)
{
	void *v[200];
	pthread_t t;

	for (int i = 0; i < 200; i++) {
		v[i] = malloc((size_t)(i * 97 % 20000));
		if (!v[i])
			return 2;
		memset(v[i], 1, (size_t)(i * 97 % 20000));
	}
	for (int i = 0; i < 200; i++)
		free(v[i]);
	if (pthread_create(&t, NULL, child_thread, NULL) || pthread_join(t, NULL))
		return 3;
	return 0;
}

static int run_fork(int nforks)
{
	enum { NTHREADS = 4 };
	pthread_t th[NTHREADS];
	unsigned long total = 0;

	alarm(120); /* a deadlock fails the test instead of hanging it */
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, churn, (void *)(uintptr_t)(i + 1)))
			return 1;
	for (int i = 0; i < nforks; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			failures++;
			break;
		}
		if (pid == 0) {
			alarm(20);
			_exit(child_work());
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "fork %d: child status %#x\n", i, status);
			failures++;
		}
	}
	stop_workers = 1;
	for (int i = 0; i < NTHREADS; i++) {
		void *r;

		pthread_join(th[i], &r);
		total += (unsigned long)r;
	}
	printf("fork: %d forks while %d threads made %lu allocations\n", nforks, NTHREADS, total);
	return failures ? 1 : 0;
}

/* ---- limit --------------------------------------------------------------------------- */

static int run_limit(void)
{
	const char *env = getenv("USLAB_MALLOC_MAX");
	unsigned long max_mb = env ? strtoul(env, NULL, 10) : 0;
	enum { MAXBLOCKS = 8192 };
	static void *blk[MAXBLOCKS];
	size_t got = 0, bytes = 0;
	int err = 0;
	void *p;

	if (!max_mb) {
		fprintf(stderr, "limit: set USLAB_MALLOC_MAX to a number of MiB (\"32M\")\n");
		return 2;
	}
	/* 64 KiB blocks (kmalloc_large) and 1 KiB ones (a kmalloc-cg class), alternating. */
	while (got < MAXBLOCKS) {
		size_t n = got % 2 ? 1024 : 65536;

		errno = 0;
		blk[got] = malloc(n);
		if (!blk[got]) {
			err = errno;
			break;
		}
		memset(blk[got], 1, n);
		bytes += n;
		got++;
	}
	printf("limit: %zu MiB allocated under a %lu MiB limit, then errno %d\n", bytes >> 20, max_mb, err);
	CHECK(got < MAXBLOCKS, "no allocation failed");
	CHECK(err == ENOMEM, "errno %d", err);
	CHECK(bytes <= (max_mb << 20) && bytes >= (max_mb << 20) * 3 / 4, "stopped at %zu bytes", bytes);
	errno = 0;
	p = malloc(8u << 20);
	CHECK(p == NULL && errno == ENOMEM, "8 MiB past the limit");
	p = calloc(1, 100000);
	CHECK(p == NULL, "calloc past the limit");
	for (size_t i = 0; i < got; i++)
		free(blk[i]);
	p = malloc(8u << 20);
	CHECK(p != NULL, "8 MiB after freeing everything");
	free(p);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "api";

	if (!shim_active()) {
		fprintf(stderr, "malloc is not libuslab-malloc.so's (LD_PRELOAD missing?)\n");
		return 77;
	}
	if (!strcmp(mode, "api"))
		return run_api();
	if (!strcmp(mode, "fork"))
		return run_fork(argc > 2 ? atoi(argv[2]) : 200);
	if (!strcmp(mode, "limit"))
		return run_limit();
	fprintf(stderr, "usage: %s [api|fork [N]|limit]\n", argv[0]);
	return 2;
}
