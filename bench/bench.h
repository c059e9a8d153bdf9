/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/bench.h - what the two halves of uslab-bench share: the parent
 * (bench/uslab-bench.c) runs every allocator in a child process of the same
 * binary and parses one result line per child; the child side
 * (bench/workloads.c) times one workload with one allocator and prints it.
 *
 * Result line, the only thing a child writes on stdout:
 *   @result WORKLOAD ALLOCATOR VALUE AUX1 .. AUX8 STATUS
 * VALUE is the workload's metric (see enum bench_unit), the AUX fields are
 * workload-specific (RSS in KiB for "rss", enum bench_mem_aux for the
 * memory workloads), "nan" where a figure does not apply; STATUS is "ok" or
 * "fail:WHY".
 */
#ifndef USLAB_BENCH_H
#define USLAB_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_RESULT_TAG "@result"
#define BENCH_NR_AUX     8

/* The peers' libraries, preloaded into their children (Debian paths). */
#define BENCH_LIBDIR       "/usr/lib/x86_64-linux-gnu/"
#define BENCH_JEMALLOC_SO  BENCH_LIBDIR "libjemalloc.so.2"
#define BENCH_TCMALLOC_SO  BENCH_LIBDIR "libtcmalloc_minimal.so.4"
#define BENCH_MIMALLOC_SO  BENCH_LIBDIR "libmimalloc.so.2"

/* The decay period the memory workloads wait twice, unless USLAB_DECAY_MS says. */
#define BENCH_DEFAULT_DECAY_MS 1000u

/* How a workload's VALUE reads, and which way is better. */
enum bench_unit {
	UNIT_NS_PER_PAIR,   /* lower is better */
	UNIT_MPAIRS_PER_S,  /* higher is better */
	UNIT_RSS_RATIO,     /* RSS growth / live bytes; lower is better */
};

enum bench_target_kind {
	TARGET_NONE,
	TARGET_AT_MOST,     /* uslab / best peer <= target */
	TARGET_AT_LEAST,    /* uslab / best peer >= target */
};

struct bench_workload {
	const char *name;
	const char *what;           /* one line for the table and --help */
	enum bench_unit unit;
	bool uslab_only;            /* the accounted pair: no peer equivalent */
	bool single_thread;         /* pinned to one CPU in the child */
	enum bench_target_kind target_kind;
	double target;
	bool memory;                /* RSS, faults and syscalls: the memory table */
	bool decay;                 /* memory: wait two decay periods after the last free */
};

/*
 * The AUX fields of a memory workload (burst, burst-1k, large, large-1m).
 * RSS in KiB from /proc/self/statm; the per-round figures are means over
 * the steady-state rounds (all rounds after the first two).
 */
enum bench_mem_aux {
	MEM_BEFORE,       /* allocator initialised, before the first round */
	MEM_PEAK,         /* at the peak of the last round (burst: all live) */
	MEM_AFTER_FREE,   /* right after the last free */
	MEM_AFTER_DECAY,  /* two decay periods later (nan: not waited) */
	MEM_AFTER_TRIM,   /* after the allocator's explicit release call (nan: none) */
	MEM_FAULTS,       /* minor + major page faults per round (getrusage) */
	MEM_MADVISE,      /* madvise(2) calls per round (nan: not countable here) */
	MEM_MMCALLS,      /* mmap, munmap, mremap and brk calls per round (nan: idem) */
	MEM_NR_AUX
};
_Static_assert(MEM_NR_AUX <= BENCH_NR_AUX, "memory figures fit the result line");

extern const struct bench_workload bench_workloads[];
extern const unsigned int bench_nr_workloads;

/*
 * bench_child_main - run workload @wl with allocator @alloc ("uslab" or the
 * name of a malloc in effect: glibc, jemalloc, tcmalloc, mimalloc, or
 * "shim" for libuslab-malloc.so), print the result line. @quick selects the
 * small counts; @decay_ms is the decay period the memory workloads wait
 * (twice, untimed) after their last free. Return: exit status.
 */
int bench_child_main(const char *alloc, const char *wl, bool quick, unsigned int decay_ms);

/*
 * bench/syscount.c: count madvise and the other memory-management calls
 * (mmap, munmap, mremap, brk) of every thread from now on, through a
 * seccomp filter and a SIGSYS handler (untimed work only: a signal per
 * call). Return: 0, or -errno when it cannot count here (not x86-64 Linux,
 * seccomp unavailable).
 */
enum { SYSCOUNT_MADVISE, SYSCOUNT_MM, SYSCOUNT_NR };
int bench_syscount_start(void);
void bench_syscount_read(unsigned long out[SYSCOUNT_NR]);

/* bench/workloads.c: a monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);

/*
 * bench_callgrind_pairs - the fixed loop of "--child ALLOC lifo-callgrind"
 * (after 10^4 warm-up pairs): BENCH_CALLGRIND_PAIRS LIFO pairs of 64 bytes.
 * bench/callgrind.sh counts instructions only inside this function.
 */
#define BENCH_CALLGRIND_PAIRS 100000
void bench_callgrind_pairs(uint64_t pairs);

#endif /* USLAB_BENCH_H */
