// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-debug.c - the debugging and hardening suite (lib/debug.c,
 * lib/free.c free_check_object, lib/report.c, lib/fault.c). Every detector is
 * triggered twice: with a report handler installed, where the test checks
 * that the report names the cache and the object's address and that the
 * allocator is intact afterwards (uslab_cache_validate() returns 0 and the
 * cache keeps working), and with the default handler in a forked child,
 * which must die of SIGABRT after printing the same text on stderr.
 * Detectors: double free while the object sits in the CPU array, after it
 * went back to its slab, and through kfree; frees of stack, malloc'd,
 * interior and misaligned pointers; a free to the wrong cache; kfree of an
 * interior pointer of a kmalloc_large block; red zones before and after the
 * object; poison written after free. Then SLAB_STORE_USER call sites in the
 * reports and in uslab_cache_leaks(), the USLAB_DEBUG variable (slub_debug
 * syntax), the destroy-time leak report, and fault injection (uslab_fail_setup
 * and USLAB_FAIL): a long random workload that must only see clean ENOMEM
 * failures, cache filters, budgets, intervals, __GFP_NOFAIL, and a failed
 * bulk allocation giving constructed objects back intact.
 *
 * Tests that read a freed object or count on LIFO reuse skip that part under
 * AddressSanitizer, whose quarantine poisons freed objects and delays reuse.
 */
#include "lib/slab.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/testutil.h"

/* ---- helpers ------------------------------------------------------------------- */

/*
 * Every test acts as CPU 0, so that LIFO reuse and array contents do not
 * depend on where the scheduler puts the thread (forked children inherit it).
 */
static void lib_init(void)
{
	struct uslab_config cfg = { .nomerge = true };

	ck_assert_int_eq(uslab_init(&cfg), 0);
	ck_assert_int_eq(uslab_thread_set_cpu(0), 0);
}

#define VALIDATE(s) ck_assert_int_eq(uslab_cache_validate(s), 0)

static struct uslab_cache_info info_of(struct kmem_cache *s)
{
	struct uslab_cache_info i;

	ck_assert_int_eq(uslab_cache_info(s, NUMA_NO_NODE, &i), 0);
	return i;
}

/* The last report the handler received. */
static struct {
	unsigned int count;
	char cache[128];
	const void *object;
	char text[2048];
} rep;

static void record_report(const char *cache, const void *object, const char *text)
{
	rep.count++;
	snprintf(rep.cache, sizeof(rep.cache), "%s", cache ? cache : "(null)");
	rep.object = object;
	snprintf(rep.text, sizeof(rep.text), "%s", text ? text : "");
}

static void handler_on(void)
{
	memset(&rep, 0, sizeof(rep));
	uslab_set_report_handler(record_report);
}

/* "%p" of @p as the reports print it. */
static const char *addr_text(const void *p)
{
	static char buf[4][32];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%p", p);
	return buf[k];
}

/*
 * One more report arrived, for @obj of cache @cache (NULL: no cache), and
 * its text names both and contains @what.
 */
static void expect_report(unsigned int count, const char *cache, const void *obj,
			  const char *what)
{
	ck_assert_msg(rep.count == count, "expected %u reports, got %u (last: %s)", count,
		      rep.count, rep.text);
	ck_assert_ptr_eq(rep.object, obj);
	ck_assert_str_eq(rep.cache, cache ? cache : "(null)");
	ck_assert_msg(strstr(rep.text, addr_text(obj)) != NULL, "report does not name %p: %s", obj,
		      rep.text);
	if (cache)
		ck_assert_msg(strstr(rep.text, cache) != NULL, "report does not name %s: %s", cache,
			      rep.text);
	ck_assert_msg(strstr(rep.text, what) != NULL, "report lacks \"%s\": %s", what, rep.text);
}

/* The cache still validates and hands out and takes back objects. */
static void expect_cache_works(struct kmem_cache *s)
{
	void *p[8];
	unsigned int before = rep.count;

	VALIDATE(s);
	for (int i = 0; i < 8; i++) {
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(p[i]);
		pattern_fill(p[i], (uint32_t)i, kmem_cache_size(s));
	}
	for (int i = 0; i < 8; i++) {
		ck_assert(pattern_check(p[i], (uint32_t)i, kmem_cache_size(s)));
		kmem_cache_free(s, p[i]);
	}
	ck_assert_uint_eq(rep.count, before);
	VALIDATE(s);
}

/* ---- the default (aborting) handler, in a child process ------------------------- */

#define CHILD_CHECK(cond)                                                            \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "child check failed at line %d: %s\n", __LINE__, #cond); \
			_exit(3);                                                    \
		}                                                                    \
	} while (0)

/*
 * Run @fn(@arg) in a child whose stderr goes to a pipe; return its wait
 * status and what it printed (malloc'd). The parent's objects exist in the
 * child at the same addresses.
 */
static int run_child(void (*fn)(void *), void *arg, char **out)
{
	int fds[2], status = 0;
	size_t len = 0, cap = 4096;
	char *text = malloc(cap);
	pid_t pid;
	ssize_t n;

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], text + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			cap *= 2;
			text = realloc(text, cap);
			ck_assert_ptr_nonnull(text);
		}
	}
	text[len] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	*out = text;
	return status;
}

/* @fn must abort after printing a report that names @cache, @obj and @what. */
static void expect_abort(void (*fn)(void *), void *arg, const char *cache, const void *obj,
			 const char *what)
{
	char *text;
	int status = run_child(fn, arg, &text);

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		      "child did not abort (status %#x): %s", status, text);
	ck_assert_msg(strstr(text, addr_text(obj)) != NULL, "no %p in: %s", obj, text);
	ck_assert_msg(strstr(text, cache) != NULL, "no %s in: %s", cache, text);
	ck_assert_msg(strstr(text, what) != NULL, "no \"%s\" in: %s", what, text);
	free(text);
}

/* @fn must exit 0 (its own checks passed). */
static void expect_child_ok(void (*fn)(void *), void *arg)
{
	char *text;
	int status = run_child(fn, arg, &text);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %#x): %s",
		      status, text);
	free(text);
}

struct misuse {
	struct kmem_cache *s;
	void *p;
};

static void child_cache_free(void *arg)
{
	struct misuse *m = arg;

	uslab_set_report_handler(NULL);
	kmem_cache_free(m->s, m->p);
}

static void child_kfree(void *arg)
{
	struct misuse *m = arg;

	uslab_set_report_handler(NULL);
	kfree(m->p);
}

static void child_alloc(void *arg)
{
	struct misuse *m = arg;

	uslab_set_report_handler(NULL);
	(void)kmem_cache_alloc(m->s, GFP_KERNEL);
}

/* ================================================================================ */
/* double free                                                                       */
/* ================================================================================ */

START_TEST(test_double_free_in_cpu_array)
{
	struct kmem_cache *s;
	void *p, *keep;

	lib_init();
	handler_on();
	s = kmem_cache_create("df-array", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	keep = kmem_cache_alloc(s, GFP_KERNEL);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	kmem_cache_free(s, p);
	if (!TEST_UNDER_ASAN)
		ck_assert_uint_ge(info_of(s).cpu_avail, 1); /* p waits in the CPU array */
	kmem_cache_free(s, p);
	expect_report(1, "df-array", p, "double free");
	expect_cache_works(s);

	/* The default handler aborts, with the same text. */
	expect_abort(child_cache_free, &(struct misuse){ s, p }, "df-array", p, "double free");
	kmem_cache_free(s, keep);
	ck_assert_uint_eq(rep.count, 1);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_double_free_after_flush_to_slab)
{
	enum { N = 40 };
	struct kmem_cache *s;
	void *p, *q[N];

	lib_init();
	handler_on();
	s = kmem_cache_create("df-slab", 128, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_cache_tune(s, 4, 2, 0), 0);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	for (int i = 0; i < N; i++)
		q[i] = kmem_cache_alloc(s, GFP_KERNEL);
	/* p first, then more than limit others: the FIFO flush sends p to its slab. */
	kmem_cache_free(s, p);
	for (int i = 0; i < N / 2; i++)
		kmem_cache_free(s, q[i]);
	if (!TEST_UNDER_ASAN) {
		struct array_cache *ac = s->cpu_slot[0].ac.entry ? &s->cpu_slot[0].ac : NULL;

		for (unsigned int i = 0; ac && i < ac->avail; i++)
			ck_assert_ptr_ne(ac->entry[i], p);
	}
	kmem_cache_free(s, p);
	expect_report(1, "df-slab", p, "double free");
	VALIDATE(s);

	/* Also after kmem_cache_shrink() emptied every array (the slab stays: q[N-1] lives). */
	ck_assert_int_eq(kmem_cache_shrink(s), 1);
	ck_assert_uint_eq(info_of(s).cpu_avail, 0);
	kmem_cache_free(s, q[0]);
	expect_report(2, "df-slab", q[0], "double free");
	expect_cache_works(s);
	expect_abort(child_cache_free, &(struct misuse){ s, q[1] }, "df-slab", q[1], "double free");
	for (int i = N / 2; i < N; i++)
		kmem_cache_free(s, q[i]);
	ck_assert_uint_eq(rep.count, 2);
	ck_assert_int_eq(kmem_cache_shrink(s), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_double_free_via_kfree)
{
	struct kmem_cache *k128;
	void *p, *keep;

	lib_init();
	handler_on();
	k128 = uslab_cache_find("kmalloc-128");
	keep = kmalloc(100, GFP_KERNEL);
	p = kmalloc(100, GFP_KERNEL);
	ck_assert_ptr_eq(uslab_obj_cache(p), k128);
	kfree(p);
	kfree(p);
	expect_report(1, "kmalloc-128", p, "double free");
	expect_cache_works(k128);
	expect_abort(child_kfree, &(struct misuse){ NULL, p }, "kmalloc-128", p, "double free");
	kfree(keep);
	ck_assert_uint_eq(rep.count, 1);
	VALIDATE(k128);
}
END_TEST

/* ================================================================================ */
/* foreign, interior, misaligned and wrong-cache pointers                            */
/* ================================================================================ */

START_TEST(test_free_of_foreign_pointers)
{
	struct kmem_cache *s;
	long on_stack[4];
	char *heap = malloc(256);
	unsigned char *obj;
	unsigned int n = 0;

	lib_init();
	handler_on();
	s = kmem_cache_create("foreign", 96, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	obj = kmem_cache_alloc(s, GFP_KERNEL);
	pattern_fill(obj, 7, 96);

	kmem_cache_free(s, on_stack);
	expect_report(++n, "foreign", on_stack, "not allocated by uslab");
	kfree(on_stack);
	expect_report(++n, NULL, on_stack, "not allocated by uslab");
	kmem_cache_free(s, heap);
	expect_report(++n, "foreign", heap, "not allocated by uslab");
	kfree(heap);
	expect_report(++n, NULL, heap, "not allocated by uslab");
	/* The middle of an object, and a misaligned pointer (one byte in). */
	kmem_cache_free(s, obj + 48);
	expect_report(++n, "foreign", obj + 48, "not the start of an object");
	kfree(obj + 48);
	expect_report(++n, "foreign", obj + 48, "not the start of an object");
	kmem_cache_free(s, obj + 1);
	expect_report(++n, "foreign", obj + 1, "not the start of an object");
	kfree(obj + 1);
	expect_report(++n, "foreign", obj + 1, "not the start of an object");

	/* Nothing was freed: the object is intact and still allocated. */
	ck_assert(pattern_check(obj, 7, 96));
	ck_assert_int_eq(uslab_cache_leaks(s, NULL), 1);
	expect_cache_works(s);

	expect_abort(child_cache_free, &(struct misuse){ s, on_stack }, "foreign", on_stack,
		     "not allocated by uslab");
	expect_abort(child_kfree, &(struct misuse){ NULL, heap }, "(none)", heap,
		     "not allocated by uslab");
	expect_abort(child_cache_free, &(struct misuse){ s, obj + 48 }, "foreign", obj + 48,
		     "not the start of an object");
	expect_abort(child_kfree, &(struct misuse){ NULL, obj + 1 }, "foreign", obj + 1,
		     "not the start of an object");
	kmem_cache_free(s, obj);
	ck_assert_uint_eq(rep.count, n);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	free(heap);
}
END_TEST

START_TEST(test_free_to_wrong_cache)
{
	struct kmem_cache *a, *b;
	void *p;

	lib_init();
	handler_on();
	a = kmem_cache_create("wrong-a", 64, 0, 0, NULL);
	b = kmem_cache_create("wrong-b", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	p = kmem_cache_alloc(b, GFP_KERNEL);
	pattern_fill(p, 9, 64);
	kmem_cache_free(a, p);
	expect_report(1, "wrong-a", p, "belongs to cache wrong-b");
	ck_assert(pattern_check(p, 9, 64));
	ck_assert_int_eq(uslab_cache_leaks(b, NULL), 1);
	expect_cache_works(a);
	expect_cache_works(b);
	expect_abort(child_cache_free, &(struct misuse){ a, p }, "wrong-a", p, "wrong-b");
	kmem_cache_free(b, p);
	ck_assert_uint_eq(rep.count, 1);
	ck_assert_int_eq(uslab_cache_destroy(a), 0);
	ck_assert_int_eq(uslab_cache_destroy(b), 0);
}
END_TEST

START_TEST(test_kfree_interior_of_large_block)
{
	unsigned char *big, *inner;
	size_t size = KMALLOC_MAX_SIZE + 5 * PAGE_SIZE + 100;

	lib_init();
	handler_on();
	big = kvmalloc(size, GFP_KERNEL);
	ck_assert_ptr_nonnull(big);
	pattern_fill(big, 11, size);
	inner = big + 2 * PAGE_SIZE + 8;
	kfree(inner);
	expect_report(1, NULL, inner, "inside a kmalloc_large block");
	ck_assert_msg(strstr(rep.text, addr_text(big)) != NULL, "block start not named: %s", rep.text);
	/* Page-aligned interior pointers too. */
	kfree(big + PAGE_SIZE);
	expect_report(2, NULL, big + PAGE_SIZE, "inside a kmalloc_large block");
	ck_assert(pattern_check(big, 11, size));
	ck_assert_uint_ge(ksize(big), size);
	expect_abort(child_kfree, &(struct misuse){ NULL, inner }, "(none)", inner,
		     "inside a kmalloc_large block");
	kfree(big);
	ck_assert_int_eq(uslab_obj_node(big), -1);
	ck_assert_uint_eq(rep.count, 2);
}
END_TEST

/*
 * Pointers into the first pages of the address space: the page map has no
 * entry there (0), which the fast checks once took for the slab at address
 * 0 and crashed on. Every entry point reports and ignores them.
 */
START_TEST(test_low_address_pointers_reported)
{
	struct kmem_cache *s;
	void *bad[] = { (void *)0x20, (void *)0x1000, (void *)0xfff8 };
	unsigned int n = 0;

	lib_init();
	handler_on();
	s = kmem_cache_create("low-addr", 64, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		kfree(bad[i]);
		expect_report(++n, NULL, bad[i], "not allocated by uslab");
		kvfree(bad[i]);
		expect_report(++n, NULL, bad[i], "not allocated by uslab");
		kmem_cache_free(s, bad[i]);
		expect_report(++n, "low-addr", bad[i], "not allocated by uslab");
		errno = 0;
		ck_assert_ptr_null(krealloc(bad[i], 100, GFP_KERNEL));
		ck_assert_int_eq(errno, EINVAL);
		expect_report(++n, NULL, bad[i], "not allocated by uslab");
		/* ksize is quiet unless USLAB_DEBUG checks the kmalloc caches. */
		ck_assert_uint_eq(ksize(bad[i]), 0);
		ck_assert_uint_eq(rep.count, n);
	}
	/* The cache is intact and usable. */
	void *p = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kmem_cache_free(s, p);
	ck_assert_uint_eq(rep.count, n);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/*
 * ksize() of a pointer that is not a block's start is 0, not the size of
 * the block it points into; krealloc() of it, or of a freed object, is
 * reported and returns NULL without copying (it once copied a whole block's
 * size from the middle of the block, past its end).
 */
START_TEST(test_ksize_krealloc_not_a_block)
{
	size_t size = KMALLOC_MAX_SIZE + 3 * PAGE_SIZE;
	unsigned char *big, *obj, *freed;

	lib_init();
	handler_on();
	big = kvmalloc(size, GFP_KERNEL);
	ck_assert_ptr_nonnull(big);
	pattern_fill(big, 5, size);
	ck_assert_uint_eq(ksize(big), ALIGN_UP(size, PAGE_SIZE));
	ck_assert_uint_eq(ksize(big + PAGE_SIZE), 0);
	ck_assert_uint_eq(ksize(big + 8), 0);
	ck_assert_uint_eq(rep.count, 0);
	errno = 0;
	ck_assert_ptr_null(krealloc(big + PAGE_SIZE, 2 * size, GFP_KERNEL));
	ck_assert_int_eq(errno, EINVAL);
	expect_report(1, NULL, big + PAGE_SIZE, "inside a kmalloc_large block");
	ck_assert(pattern_check(big, 5, size));

	obj = kmalloc(100, GFP_KERNEL);
	ck_assert_uint_eq(ksize(obj + 8), 0);
	ck_assert_ptr_null(krealloc(obj + 8, 50, GFP_KERNEL));
	expect_report(2, "kmalloc-128", obj + 8, "not the start of an object");
	ck_assert_uint_eq(ksize(obj), 128);

	freed = kmalloc(100, GFP_KERNEL);
	kfree(freed);
	ck_assert_uint_eq(ksize(freed), 0);
	/* Smaller: it used to hand the freed object back as if it were live. */
	ck_assert_ptr_null(krealloc(freed, 50, GFP_KERNEL));
	expect_report(3, "kmalloc-128", freed, "not allocated");
	ck_assert_ptr_null(krealloc(freed, 500, GFP_KERNEL));
	expect_report(4, "kmalloc-128", freed, "not allocated");
	kfree(obj);
	kvfree(big);
	ck_assert_uint_eq(rep.count, 4);
}
END_TEST

/* ================================================================================ */
/* red zones                                                                         */
/* ================================================================================ */

/* In a red-zone report, is the zone whose value follows @label flagged "(BAD)"? */
static bool zone_bad(const char *text, const char *label)
{
	const char *at = strstr(text, label);

	ck_assert_msg(at != NULL, "no \"%s\" in %s", label, text);
	at += strlen(label) + strlen("0x") + 16;
	return strncmp(at, " (BAD)", 6) == 0;
}

static void child_validate_then_free(void *arg)
{
	struct misuse *m = arg;

	uslab_set_report_handler(NULL);
	CHILD_CHECK(uslab_cache_validate(m->s) == -EUCLEAN);
	kmem_cache_free(m->s, m->p);
}

START_TEST(test_red_zone_after_object)
{
	struct kmem_cache *s;
	unsigned char *p;
	struct stderr_capture cap;
	char *text;

	lib_init();
	handler_on();
	s = kmem_cache_create("rz-after", 24, 0, SLAB_RED_ZONE, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_ne(info_of(s).flags & SLAB_RED_ZONE, 0);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	memset(p, 0x11, 24); /* the whole object is fine */
	VALIDATE(s);
	p[24] = 0; /* one byte past object_size */

	/* The default path: the free aborts (validate flagged it first). */
	expect_abort(child_validate_then_free, &(struct misuse){ s, p }, "rz-after", p,
		     "red zone overwritten");

	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(uslab_cache_validate(s), -EUCLEAN);
	text = stderr_capture_end(&cap);
	ck_assert_msg(text[0] != '\0', "validate printed nothing");
	free(text);
	kmem_cache_free(s, p);
	expect_report(1, "rz-after", p, "red zone overwritten");
	ck_assert_msg(zone_bad(rep.text, "after it ") && !zone_bad(rep.text, "before the object "),
		      "%s", rep.text);
	/* The report repaired the red zone; the object was freed. */
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_leaks(s, NULL), 0);
	expect_cache_works(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_red_zone_before_object)
{
	struct stderr_capture cap;
	struct kmem_cache *s;
	unsigned char *p;

	lib_init();
	handler_on();
	s = kmem_cache_create("rz-before", 64, 0, SLAB_RED_ZONE, NULL);
	ck_assert_ptr_nonnull(s);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	memset(p, 0x22, 64);
	VALIDATE(s);
	p[-1] ^= 0xff; /* one byte before the object */
	expect_abort(child_validate_then_free, &(struct misuse){ s, p }, "rz-before", p,
		     "red zone overwritten");
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(uslab_cache_validate(s), -EUCLEAN);
	free(stderr_capture_end(&cap));
	kmem_cache_free(s, p);
	expect_report(1, "rz-before", p, "red zone overwritten");
	ck_assert_msg(zone_bad(rep.text, "before the object ") && !zone_bad(rep.text, "after it "),
		      "%s", rep.text);
	VALIDATE(s);
	expect_cache_works(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* poison                                                                            */
/* ================================================================================ */

static void ctor_fill(void *p)
{
	memset(p, 0xc3, 48);
}

START_TEST(test_poison_patterns)
{
	struct kmem_cache *s, *c;
	unsigned char *p, *z, *q;

	lib_init();
	handler_on();
	s = kmem_cache_create("poison", 64, 0, SLAB_POISON, NULL);
	ck_assert_ptr_nonnull(s);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_msg(bytes_all(p, 0x5a, 64), "new object not 0x5a: %02x", p[0]);
	z = kmem_cache_zalloc(s, GFP_KERNEL);
	ck_assert(bytes_all(z, 0, 64));
	memset(p, 0x11, 64);
	kmem_cache_free(s, p);
	if (!TEST_UNDER_ASAN) {
		/* Reading a freed object is what this test is about; ASan forbids it. */
		ck_assert_msg(bytes_all(p, 0x6b, 63) && p[63] == 0xa5, "freed object: %02x .. %02x",
			      p[0], p[63]);
	}
	kmem_cache_free(s, z);
	VALIDATE(s);
	ck_assert_uint_eq(rep.count, 0);

	/* A cache with a constructor is never poisoned: free objects keep their bytes. */
	c = kmem_cache_create("poison-ctor", 48, 0, SLAB_POISON, ctor_fill);
	ck_assert_ptr_nonnull(c);
	q = kmem_cache_alloc(c, GFP_KERNEL);
	ck_assert(bytes_all(q, 0xc3, 48));
	kmem_cache_free(c, q);
	q = kmem_cache_alloc(c, GFP_KERNEL);
	ck_assert(bytes_all(q, 0xc3, 48));
	kmem_cache_free(c, q);
	ck_assert_uint_eq(rep.count, 0);
	ck_assert_int_eq(uslab_cache_destroy(c), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_poison_write_after_free_reported_on_next_alloc)
{
	struct kmem_cache *s;
	unsigned char *p, *q;

	if (TEST_UNDER_ASAN) {
		/* Writing a freed object is an ASan error by itself, and reuse is delayed. */
		fprintf(stderr, "%s: skipped under ASan\n", __func__);
		return;
	}
	lib_init();
	handler_on();
	s = kmem_cache_create("poison-uaf", 64, 0, SLAB_POISON | SLAB_STORE_USER, NULL);
	ck_assert_ptr_nonnull(s);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	kmem_cache_free(s, p);
	p[10] = 0x42; /* use after free */

	/* Default handler: the next allocation (the same object, LIFO) aborts. */
	expect_abort(child_alloc, &(struct misuse){ s, NULL }, "poison-uaf", p, "poison overwritten");

	q = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);
	expect_report(1, "poison-uaf", p, "poison overwritten");
	ck_assert_msg(strstr(rep.text, "after it was freed") != NULL, "%s", rep.text);
	ck_assert_msg(strstr(rep.text, "offset 10") != NULL, "%s", rep.text);
	ck_assert_msg(strstr(rep.text, "last freed by 0x") != NULL, "%s", rep.text);
	/* The object is handed out normally, filled for allocation. */
	ck_assert(bytes_all(q, 0x5a, 64));
	kmem_cache_free(s, q);
	expect_cache_works(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* SLAB_STORE_USER                                                                   */
/* ================================================================================ */

/* The call site recorded for objects allocated here is inside this function. */
static __attribute__((noinline)) void *alloc_site(struct kmem_cache *s)
{
	void *p = kmem_cache_alloc(s, GFP_KERNEL);

	__asm__ __volatile__("" ::: "memory"); /* keep the call a call, not a tail call */
	return p;
}

/* Every "allocated by 0x..." in @text points into alloc_site(); returns how many. */
static unsigned int count_alloc_sites(const char *text)
{
	const char *at = text;
	unsigned int n = 0;

	while ((at = strstr(at, "allocated by 0x")) != NULL) {
		uintptr_t site = (uintptr_t)strtoull(at + strlen("allocated by "), NULL, 16);

		ck_assert_msg(site > (uintptr_t)alloc_site && site < (uintptr_t)alloc_site + 4096,
			      "call site %#lx is not in alloc_site %p", (unsigned long)site,
			      (void *)alloc_site);
		n++;
		at++;
	}
	return n;
}

START_TEST(test_store_user_in_reports_and_leaks)
{
	struct kmem_cache *s;
	char thread[32], *buf = NULL;
	size_t len = 0;
	FILE *f;
	void *p, *q;

	lib_init();
	handler_on();
	s = kmem_cache_create("tracked", 72, 0, SLAB_STORE_USER, NULL);
	ck_assert_ptr_nonnull(s);
	snprintf(thread, sizeof(thread), "in thread %ld", (long)syscall(SYS_gettid));
	p = alloc_site(s);
	q = alloc_site(s);
	kmem_cache_free(s, p);
	kmem_cache_free(s, p);
	expect_report(1, "tracked", p, "double free");
	ck_assert_uint_eq(count_alloc_sites(rep.text), 1);
	ck_assert_msg(strstr(rep.text, "last freed by 0x") != NULL, "%s", rep.text);
	ck_assert_msg(strstr(rep.text, thread) != NULL, "no \"%s\" in %s", thread, rep.text);

	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(uslab_cache_leaks(s, f), 1);
	fclose(f);
	ck_assert_msg(strstr(buf, addr_text(q)) != NULL, "%s", buf);
	ck_assert_uint_eq(count_alloc_sites(buf), 1);
	ck_assert_msg(strstr(buf, thread) != NULL, "%s", buf);
	free(buf);
	kmem_cache_free(s, q);
	expect_cache_works(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/* ================================================================================ */
/* USLAB_DEBUG                                                                       */
/* ================================================================================ */

#define DEBUG_BITS (SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER)

static slab_flags_t child_debug_flags(struct kmem_cache *s)
{
	struct uslab_cache_info i;

	CHILD_CHECK(uslab_cache_info(s, NUMA_NO_NODE, &i) == 0);
	return i.flags & DEBUG_BITS;
}

static void child_debug_one_cache(void *arg)
{
	struct kmem_cache *mine, *other, *twin;
	void *p;

	(void)arg;
	setenv("USLAB_DEBUG", "FZPU,mycache", 1);
	CHILD_CHECK(uslab_init(NULL) == 0);
	mine = kmem_cache_create("mycache", 64, 0, 0, NULL);
	other = kmem_cache_create("othercache", 64, 0, 0, NULL);
	twin = kmem_cache_create("mycache", 64, 0, 0, NULL);
	CHILD_CHECK(mine && other && twin);
	CHILD_CHECK(child_debug_flags(mine) == DEBUG_BITS);
	CHILD_CHECK(child_debug_flags(twin) == DEBUG_BITS);
	CHILD_CHECK(child_debug_flags(other) == 0);
	CHILD_CHECK(child_debug_flags(uslab_cache_find("kmalloc-64")) == 0);
	/* Debug caches are never merged; the plain one merges into kmalloc-64. */
	CHILD_CHECK(!strcmp(uslab_cache_name(mine), "mycache"));
	CHILD_CHECK(twin != mine);
	CHILD_CHECK(other == uslab_cache_find("kmalloc-64"));
	p = kmem_cache_alloc(mine, GFP_KERNEL);
	CHILD_CHECK(p && bytes_all(p, 0x5a, 64));
	kmem_cache_free(mine, p);
	CHILD_CHECK(uslab_cache_validate(mine) == 0);
	CHILD_CHECK(uslab_cache_destroy(mine) == 0);
	CHILD_CHECK(uslab_cache_destroy(twin) == 0);
	CHILD_CHECK(uslab_cache_destroy(other) == 0);
}

static void child_debug_all_caches(void *arg)
{
	struct kmem_cache *a;

	(void)arg;
	setenv("USLAB_DEBUG", "Z", 1);
	CHILD_CHECK(uslab_init(NULL) == 0);
	a = kmem_cache_create("anycache", 64, 0, 0, NULL);
	CHILD_CHECK(a && !strcmp(uslab_cache_name(a), "anycache"));
	CHILD_CHECK(child_debug_flags(a) == SLAB_RED_ZONE);
	CHILD_CHECK(child_debug_flags(uslab_cache_find("kmalloc-64")) == SLAB_RED_ZONE);
	CHILD_CHECK(child_debug_flags(uslab_cache_find("kmalloc-rcl-512")) == SLAB_RED_ZONE);
	CHILD_CHECK(uslab_cache_destroy(a) == 0);
}

static void child_debug_unknown_letters_and_blocks(void *arg)
{
	struct kmem_cache *a, *b, *c;

	(void)arg;
	setenv("USLAB_DEBUG", "QXZ?,a*;P,bee;", 1);
	CHILD_CHECK(uslab_init(NULL) == 0);
	a = kmem_cache_create("alpha", 64, 0, 0, NULL);
	b = kmem_cache_create("bee", 64, 0, 0, NULL);
	c = kmem_cache_create("cee", 64, 0, 0, NULL);
	CHILD_CHECK(a && b && c);
	CHILD_CHECK(child_debug_flags(a) == SLAB_RED_ZONE);
	CHILD_CHECK(child_debug_flags(b) == SLAB_POISON);
	CHILD_CHECK(child_debug_flags(c) == 0);
	CHILD_CHECK(child_debug_flags(uslab_cache_find("kmalloc-64")) == 0);
}

static void child_debug_default_letters(void *arg)
{
	struct kmem_cache *a;

	(void)arg;
	setenv("USLAB_DEBUG", "1", 1);
	CHILD_CHECK(uslab_init(NULL) == 0);
	a = kmem_cache_create("every", 64, 0, 0, NULL);
	CHILD_CHECK(a && child_debug_flags(a) == DEBUG_BITS);
	CHILD_CHECK(child_debug_flags(uslab_cache_find("kmalloc-8")) == DEBUG_BITS);
}

/* Each case initialises the library in a fresh child with its own variable. */
START_TEST(test_uslab_debug_env_one_cache)
{
	expect_child_ok(child_debug_one_cache, NULL);
}
END_TEST

START_TEST(test_uslab_debug_env_all_caches)
{
	expect_child_ok(child_debug_all_caches, NULL);
}
END_TEST

START_TEST(test_uslab_debug_env_unknown_letters_and_blocks)
{
	expect_child_ok(child_debug_unknown_letters_and_blocks, NULL);
}
END_TEST

START_TEST(test_uslab_debug_env_default_letters)
{
	expect_child_ok(child_debug_default_letters, NULL);
}
END_TEST

/* ================================================================================ */
/* leak reports                                                                      */
/* ================================================================================ */

static unsigned int count_lines_with(const char *text, const char *needle)
{
	unsigned int n = 0;

	for (const char *at = text; (at = strstr(at, needle)) != NULL; at++)
		n++;
	return n;
}

START_TEST(test_destroy_leak_report)
{
	enum { N = 40 };
	struct kmem_cache *s;
	struct stderr_capture cap;
	char *text, *buf = NULL;
	size_t len = 0;
	void *p[N];
	FILE *f;

	lib_init();
	handler_on();
	s = kmem_cache_create("leaky", 48, 0, SLAB_STORE_USER, NULL);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < N; i++)
		p[i] = alloc_site(s);
	/* Free objects (in the CPU array or not) are not leaks. */
	kmem_cache_free(s, alloc_site(s));

	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), -EBUSY);
	text = stderr_capture_end(&cap);
	ck_assert_msg(strstr(text, "kmem_cache_destroy leaky: Slab cache still has objects") != NULL,
		      "%s", text);
	ck_assert_uint_eq(count_lines_with(text, "  object 0x"), 16);
	ck_assert_msg(strstr(text, "... and 24 more") != NULL, "%s", text);
	ck_assert_uint_eq(count_alloc_sites(text), 16);
	free(text);
	VALIDATE(s);

	/* uslab_cache_leaks() lists every one. */
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(uslab_cache_leaks(s, f), N);
	fclose(f);
	ck_assert_uint_eq(count_lines_with(buf, "  object 0x"), N);
	for (int i = 0; i < N; i++)
		ck_assert_msg(strstr(buf, addr_text(p[i])) != NULL, "%p missing from %s", p[i], buf);
	ck_assert_uint_eq(count_alloc_sites(buf), N);
	free(buf);
	ck_assert_int_eq(uslab_cache_leaks(s, NULL), N);
	ck_assert_int_eq(uslab_cache_leaks(NULL, NULL), -EINVAL);

	/* The cache stayed usable; once empty it goes. */
	expect_cache_works(s);
	for (int i = 0; i < N; i++)
		kmem_cache_free(s, p[i]);
	ck_assert_int_eq(uslab_cache_leaks(s, NULL), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
	ck_assert_uint_eq(rep.count, 0);
}
END_TEST

START_TEST(test_destroy_leak_report_few_objects)
{
	struct kmem_cache *s;
	struct stderr_capture cap;
	char *text;
	void *p[3];

	lib_init();
	s = kmem_cache_create("leaky3", 200, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 3; i++)
		p[i] = kmem_cache_alloc(s, GFP_KERNEL);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	ck_assert_int_eq(uslab_cache_destroy(s), -EBUSY);
	text = stderr_capture_end(&cap);
	ck_assert_msg(strstr(text, "kmem_cache_destroy leaky3: Slab cache still has objects") != NULL,
		      "%s", text);
	ck_assert_uint_eq(count_lines_with(text, "  object 0x"), 3);
	ck_assert_msg(strstr(text, "more") == NULL, "%s", text);
	for (int i = 0; i < 3; i++) {
		ck_assert(strstr(text, addr_text(p[i])) != NULL);
		kmem_cache_free(s, p[i]);
	}
	free(text);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

/*
 * A SLAB_TYPESAFE_BY_RCU cache whose tenant child had an object, all freed:
 * nothing is left, so the destroy must succeed.
 */
START_TEST(test_destroy_rcu_cache_with_empty_tenant_child)
{
	struct mem_cgroup *t;
	struct kmem_cache *s;
	struct stderr_capture cap;
	char *text;
	void *p;
	int rc;

	lib_init();
	t = mem_cgroup_create(NULL, "rcu-tenant");
	ck_assert_ptr_nonnull(t);
	s = kmem_cache_create("rcu-acct", 64, 0, SLAB_ACCOUNT | SLAB_TYPESAFE_BY_RCU, NULL);
	ck_assert_ptr_nonnull(s);
	set_active_memcg(t);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	set_active_memcg(NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_ne(uslab_obj_cache(p), s); /* in the tenant's child */
	kmem_cache_free(s, p);
	ck_assert_int_eq(stderr_capture_begin(&cap), 0);
	rc = uslab_cache_destroy(s);
	text = stderr_capture_end(&cap);
	ck_assert_msg(rc == 0, "destroy of an empty cache = %d: %s", rc, text);
	free(text);
	ck_assert_int_eq(mem_cgroup_destroy(t), 0);
}
END_TEST

/* ================================================================================ */
/* fault injection                                                                   */
/* ================================================================================ */

static void fail_off(void)
{
	ck_assert_int_eq(uslab_fail_setup(NULL), 0);
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A live block of the workload: where it came from, and its pattern. */
struct wl_obj {
	void *p;
	size_t size;
	int cache;      /* index into the caches, -1: kmalloc */
	uint32_t tag;
};

START_TEST(test_fault_pages_random_workload)
{
	enum { SLOTS = 1500, OPS = 200000, NCACHES = 4 };
	static const unsigned int sizes[NCACHES] = { 32, 200, 1500, 5000 };
	struct kmem_cache *caches[NCACHES];
	struct wl_obj *objs = calloc(SLOTS, sizeof(*objs));
	unsigned long nulls = 0, ok = 0;
	uint64_t x = 0x2545f4914f6cdd1dull;
	uint32_t tag = 0;

	ck_assert_ptr_nonnull(objs);
	lib_init();
	handler_on();
	for (int c = 0; c < NCACHES; c++) {
		char name[32];

		snprintf(name, sizeof(name), "wl-%u", sizes[c]);
		caches[c] = kmem_cache_create(name, sizes[c], 0, c == 1 ? SLAB_RED_ZONE : 0, NULL);
		ck_assert_ptr_nonnull(caches[c]);
	}
	ck_assert_int_eq(uslab_fail_setup(&(struct uslab_fail_attr){ .probability = 1,
								  .pages = true }), 0);
	ck_assert_uint_eq(uslab_fail_count(), 0);

	for (int op = 0; op < OPS; op++) {
		uint64_t r = rng_next(&x);
		struct wl_obj *o = &objs[r % SLOTS];

		if (o->p) {
			ck_assert(pattern_check(o->p, o->tag, o->size < 256 ? o->size : 256));
			if (o->cache >= 0)
				kmem_cache_free(caches[o->cache], o->p);
			else
				kfree(o->p);
			o->p = NULL;
			continue;
		}
		unsigned int kind = (unsigned int)(r >> 16) % 16;
		void *batch[16];

		errno = 0;
		if (kind < 8) {
			o->cache = (int)(kind % NCACHES);
			o->size = sizes[o->cache];
			o->p = kmem_cache_alloc(caches[o->cache], GFP_KERNEL);
		} else if (kind < 14) {
			/* kmalloc, one in six large (up to ~200 KiB) */
			o->cache = -1;
			o->size = kind == 13 ? 8193 + (size_t)((r >> 24) % (200u << 10))
					     : 1 + (size_t)((r >> 24) % 4096);
			o->p = kmalloc(o->size, GFP_KERNEL);
		} else {
			/* bulk: all or nothing */
			struct kmem_cache *s = caches[(r >> 20) % NCACHES];
			int n = 1 + (int)((r >> 28) % 16);
			int got = kmem_cache_alloc_bulk(s, GFP_KERNEL, (size_t)n, batch);

			if (!got) {
				ck_assert_int_eq(errno, ENOMEM);
				nulls++;
			} else {
				ck_assert_int_eq(got, n);
				kmem_cache_free_bulk(s, (size_t)n, batch);
				ok++;
			}
			continue;
		}
		if (!o->p) {
			ck_assert_msg(errno == ENOMEM, "NULL with errno %d", errno);
			nulls++;
			continue;
		}
		ok++;
		o->tag = ++tag;
		pattern_fill(o->p, o->tag, o->size < 256 ? o->size : 256);
		if (op % 40000 == 0)
			for (int c = 0; c < NCACHES; c++)
				VALIDATE(caches[c]);
	}
	ck_assert_uint_gt(uslab_fail_count(), 0);
	ck_assert_uint_gt(nulls, 0);
	ck_assert_uint_gt(ok, nulls);
	fail_off();
	for (int c = 0; c < NCACHES; c++)
		VALIDATE(caches[c]);
	for (int i = 0; i < SLOTS; i++) {
		if (!objs[i].p)
			continue;
		ck_assert(pattern_check(objs[i].p, objs[i].tag, objs[i].size < 256 ? objs[i].size : 256));
		if (objs[i].cache >= 0)
			kmem_cache_free(caches[objs[i].cache], objs[i].p);
		else
			kfree(objs[i].p);
	}
	for (int c = 0; c < NCACHES; c++) {
		VALIDATE(caches[c]);
		ck_assert_int_eq(uslab_cache_leaks(caches[c], NULL), 0);
		ck_assert_int_eq(uslab_cache_destroy(caches[c]), 0);
	}
	VALIDATE(uslab_cache_find("kmalloc-4096"));
	VALIDATE(uslab_cache_find("kmalloc-64"));
	ck_assert_uint_eq(rep.count, 0);
	free(objs);
}
END_TEST

START_TEST(test_fault_slab_only_named_cache)
{
	struct kmem_cache *victim, *bystander;
	void *p;

	lib_init();
	victim = kmem_cache_create("victim", 64, 0, 0, NULL);
	bystander = kmem_cache_create("bystander", 64, 0, 0, NULL);
	ck_assert_int_eq(uslab_fail_setup(&(struct uslab_fail_attr){
				 .probability = 100, .times = -1, .slab = true, .cache = "victim" }),
			 0);
	for (int i = 0; i < 20; i++) {
		errno = 0;
		ck_assert_ptr_null(kmem_cache_alloc(victim, GFP_KERNEL));
		ck_assert_int_eq(errno, ENOMEM);
		p = kmem_cache_alloc(bystander, GFP_KERNEL);
		ck_assert_ptr_nonnull(p);
		kmem_cache_free(bystander, p);
		p = kmalloc(64, GFP_KERNEL);
		ck_assert_ptr_nonnull(p);
		kfree(p);
	}
	ck_assert_uint_eq(uslab_fail_count(), 20);
	/* __GFP_NOFAIL is never failed on purpose. */
	p = kmem_cache_alloc(victim, GFP_KERNEL | __GFP_NOFAIL);
	ck_assert_ptr_nonnull(p);
	kmem_cache_free(victim, p);
	ck_assert_uint_eq(uslab_fail_count(), 20);
	/* Stopping it. */
	fail_off();
	p = kmem_cache_alloc(victim, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	kmem_cache_free(victim, p);
	ck_assert_uint_eq(uslab_fail_count(), 20);
	VALIDATE(victim);
	VALIDATE(bystander);
	ck_assert_int_eq(uslab_cache_destroy(victim), 0);
	ck_assert_int_eq(uslab_cache_destroy(bystander), 0);
}
END_TEST

START_TEST(test_fault_times_and_interval)
{
	struct kmem_cache *s;
	unsigned long base;
	void *p;

	lib_init();
	s = kmem_cache_create("budget", 32, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);

	/* times = 3: exactly three failures, then none. */
	ck_assert_int_eq(uslab_fail_setup(&(struct uslab_fail_attr){
				 .probability = 100, .times = 3, .slab = true, .cache = "budget" }),
			 0);
	for (int i = 0; i < 10; i++) {
		p = kmem_cache_alloc(s, GFP_KERNEL);
		if (i < 3) {
			ck_assert_ptr_null(p);
		} else {
			ck_assert_ptr_nonnull(p);
			kmem_cache_free(s, p);
		}
	}
	ck_assert_uint_eq(uslab_fail_count(), 3);

	/* interval = 4: every fourth eligible call fails. */
	base = uslab_fail_count();
	ck_assert_int_eq(uslab_fail_setup(&(struct uslab_fail_attr){
				 .probability = 100, .interval = 4, .times = -1, .slab = true,
				 .cache = "budget" }),
			 0);
	for (int i = 1; i <= 40; i++) {
		p = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_msg((p == NULL) == (i % 4 == 0), "call %d: %p", i, p);
		kmem_cache_free(s, p);
	}
	ck_assert_uint_eq(uslab_fail_count() - base, 10);

	/* Bad settings. */
	ck_assert_int_eq(uslab_fail_setup(&(struct uslab_fail_attr){ .probability = 101, .slab = true }),
			 -EINVAL);
	ck_assert_int_eq(uslab_fail_setup(&(struct uslab_fail_attr){ .probability = 5 }), -EINVAL);
	fail_off();
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

START_TEST(test_fault_pages_never_fail_nofail)
{
	struct kmem_cache *s;
	void *p, *big;

	lib_init();
	s = kmem_cache_create("nofail-pages", 256, 0, 0, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(uslab_fail_setup(&(struct uslab_fail_attr){
				 .probability = 100, .times = -1, .pages = true }),
			 0);
	/* A fresh cache must grow a slab: the page grab is eligible, but not for NOFAIL. */
	errno = 0;
	ck_assert_ptr_null(kmem_cache_alloc(s, GFP_KERNEL));
	ck_assert_int_eq(errno, ENOMEM);
	p = kmem_cache_alloc(s, GFP_KERNEL | __GFP_NOFAIL);
	ck_assert_msg(p != NULL, "__GFP_NOFAIL allocation failed by page injection (errno %d)", errno);
	big = kvmalloc(KMALLOC_MAX_SIZE + 3 * PAGE_SIZE, GFP_KERNEL | __GFP_NOFAIL);
	ck_assert_msg(big != NULL, "__GFP_NOFAIL kmalloc_large failed by page injection");
	void *cls = kmalloc(3 * PAGE_SIZE, GFP_KERNEL | __GFP_NOFAIL);
	ck_assert_msg(cls != NULL, "__GFP_NOFAIL kmalloc-16k failed by page injection");
	fail_off();
	kmem_cache_free(s, p);
	kfree(big);
	kfree(cls);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

static void ctor_a5(void *p)
{
	memset(p, 0xa5, 64);
}

/*
 * A bulk allocation that fails part way gives back the objects it took; with
 * __GFP_ZERO they were already zeroed, and a constructed cache must not get
 * unconstructed objects back.
 */
START_TEST(test_fault_failed_bulk_keeps_constructed_objects)
{
	struct kmem_cache *s;
	void *p[5], *q[2];

	if (TEST_UNDER_ASAN) {
		fprintf(stderr, "%s: skipped: ASan quarantine delays reuse\n", __func__);
		return;
	}
	lib_init();
	s = kmem_cache_create("bulk-ctor", 64, 0, 0, ctor_a5);
	ck_assert_ptr_nonnull(s);
	/* Fresh cache, empty array: every object is an eligible call; the third fails. */
	ck_assert_int_eq(uslab_fail_setup(&(struct uslab_fail_attr){
				 .probability = 100, .interval = 3, .times = 1, .slab = true,
				 .cache = "bulk-ctor" }),
			 0);
	errno = 0;
	ck_assert_int_eq(kmem_cache_alloc_bulk(s, GFP_KERNEL | __GFP_ZERO, 5, p), 0);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_eq(uslab_fail_count(), 1);
	fail_off();
	/* The two objects it had taken come back first (LIFO). */
	for (int i = 0; i < 2; i++) {
		q[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(q[i]);
		ck_assert_msg(bytes_all(q[i], 0xa5, 64), "object %p lost its constructor's bytes: %02x",
			      q[i], ((unsigned char *)q[i])[0]);
	}
	for (int i = 0; i < 2; i++)
		kmem_cache_free(s, q[i]);
	VALIDATE(s);
	ck_assert_int_eq(uslab_cache_destroy(s), 0);
}
END_TEST

static void child_fail_env(void *arg)
{
	struct kmem_cache *s;
	void *p;

	(void)arg;
	setenv("USLAB_FAIL", "probability=100,times=2", 1);
	CHILD_CHECK(uslab_init(NULL) == 0);
	s = kmem_cache_create("env-fail", 40, 0, 0, NULL);
	CHILD_CHECK(s != NULL);
	errno = 0;
	CHILD_CHECK(kmem_cache_alloc(s, GFP_KERNEL) == NULL && errno == ENOMEM);
	CHILD_CHECK(kmalloc(100, GFP_KERNEL) == NULL && errno == ENOMEM);
	CHILD_CHECK(uslab_fail_count() == 2);
	p = kmem_cache_alloc(s, GFP_KERNEL);
	CHILD_CHECK(p != NULL);
	kmem_cache_free(s, p);
	CHILD_CHECK(uslab_fail_count() == 2);
	CHILD_CHECK(uslab_cache_validate(s) == 0);
	CHILD_CHECK(uslab_cache_destroy(s) == 0);
}

static void child_fail_env_bad(void *arg)
{
	(void)arg;
	setenv("USLAB_FAIL", "probability=100,bogus=1", 1);
	CHILD_CHECK(uslab_init(NULL) == -EINVAL);
}

START_TEST(test_fault_env)
{
	expect_child_ok(child_fail_env, NULL);
	expect_child_ok(child_fail_env_bad, NULL);
}
END_TEST

/* ================================================================================ */

static Suite *debug_suite(void)
{
	Suite *s = suite_create("debug");
	TCase *tc;

	tc = tcase_create("double-free");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_double_free_in_cpu_array);
	tcase_add_test(tc, test_double_free_after_flush_to_slab);
	tcase_add_test(tc, test_double_free_via_kfree);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad-pointers");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_free_of_foreign_pointers);
	tcase_add_test(tc, test_free_to_wrong_cache);
	tcase_add_test(tc, test_kfree_interior_of_large_block);
	tcase_add_test(tc, test_low_address_pointers_reported);
	tcase_add_test(tc, test_ksize_krealloc_not_a_block);
	suite_add_tcase(s, tc);

	tc = tcase_create("red-zone-poison");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_red_zone_after_object);
	tcase_add_test(tc, test_red_zone_before_object);
	tcase_add_test(tc, test_poison_patterns);
	tcase_add_test(tc, test_poison_write_after_free_reported_on_next_alloc);
	suite_add_tcase(s, tc);

	tc = tcase_create("store-user-env");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_store_user_in_reports_and_leaks);
	tcase_add_test(tc, test_uslab_debug_env_one_cache);
	tcase_add_test(tc, test_uslab_debug_env_all_caches);
	tcase_add_test(tc, test_uslab_debug_env_unknown_letters_and_blocks);
	tcase_add_test(tc, test_uslab_debug_env_default_letters);
	suite_add_tcase(s, tc);

	tc = tcase_create("leaks");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_destroy_leak_report);
	tcase_add_test(tc, test_destroy_leak_report_few_objects);
	tcase_add_test(tc, test_destroy_rcu_cache_with_empty_tenant_child);
	suite_add_tcase(s, tc);

	tc = tcase_create("fault-injection");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fault_pages_random_workload);
	tcase_add_test(tc, test_fault_slab_only_named_cache);
	tcase_add_test(tc, test_fault_times_and_interval);
	tcase_add_test(tc, test_fault_pages_never_fail_nofail);
	tcase_add_test(tc, test_fault_failed_bulk_keeps_constructed_objects);
	tcase_add_test(tc, test_fault_env);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(debug_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
