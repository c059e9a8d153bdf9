/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * private/compiler.h - compiler helpers, assertion levels and the report
 * path shared by every room. Never installed.
 */
#ifndef USLAB_PRIVATE_COMPILER_H
#define USLAB_PRIVATE_COMPILER_H

#ifndef USLAB_BUILDING
#error "private/compiler.h is internal to uslab; include <uslab.h> instead"
#endif

#include "config.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define USLAB_NOINLINE __attribute__((noinline))
#define USLAB_ALWAYS_INLINE __attribute__((always_inline))
#define USLAB_COLD __attribute__((cold))
#define printf_like(f, a) __attribute__((format(printf, f, a)))

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)   (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_POWER_OF_2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ul << PAGE_SHIFT)
#define CACHE_LINE 64

/*
 * Thread-local variables of the library: initial-exec, so that a shared
 * libuslab reads them with one %fs-relative load instead of calling
 * __tls_get_addr (they are few and small, so static TLS space suffices).
 */
#define USLAB_TLS __thread __attribute__((tls_model("initial-exec")))

#define READ_ONCE(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/*
 * ThreadSanitizer cannot see the ordering liburcu provides (grace periods,
 * rcu_barrier); these annotate it. No-ops in other builds.
 */
#ifdef USLAB_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_acquire(a) __tsan_acquire((void *)(a))
#define tsan_release(a) __tsan_release((void *)(a))
#else
#define tsan_acquire(a) ((void)(a))
#define tsan_release(a) ((void)(a))
#endif

/* Build switches that always compile (jemalloc's config_* style). */
static const int config_debug = USLAB_DEBUG_LEVEL;

void uslab_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn, cold));

/* Cheap: always on. */
#define USLAB_ASSERT(e) \
	do { if (unlikely(!(e))) uslab_assert_fail(#e, __FILE__, __LINE__); } while (0)
/* --enable-debug */
#define USLAB_ASSERT_INTERNAL(e) \
	do { if (config_debug >= 1 && unlikely(!(e))) uslab_assert_fail(#e, __FILE__, __LINE__); } while (0)
/* --enable-debug=full */
#define USLAB_ASSERT_EXPENSIVE(e) \
	do { if (config_debug >= 2 && unlikely(!(e))) uslab_assert_fail(#e, __FILE__, __LINE__); } while (0)

#endif /* USLAB_PRIVATE_COMPILER_H */
