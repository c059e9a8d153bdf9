/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/bench.h - what the two halves of uslab-bench share: the parent
 * (bench/uslab-bench.c) runs every allocator in a child process of the same
 * binary and parses one result line per child; the child side
 * (bench/workloads.c) times one workload with one allocator and prints it.
 *
 * Result line, the only thing a child writes on stdout:
 *   @result WORKLOAD ALLOCATOR VALUE AUX1 AUX2 AUX3 STATUS
 * VALUE is the workload's metric (see enum bench_unit), the AUX fields are
 * workload-specific (RSS in KiB for "rss"), STATUS is "ok" or "fail:WHY".
 */
#ifndef USLAB_BENCH_H
#define USLAB_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_RESULT_TAG "@result"

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
};

extern const struct bench_workload bench_workloads[];
extern const unsigned int bench_nr_workloads;

/*
 * bench_child_main - run workload @wl with allocator @alloc ("uslab" or the
 * name of a peer whose malloc is in effect: glibc, jemalloc, ...), print the
 * result line. @quick selects the small counts. Return: exit status.
 */
int bench_child_main(const char *alloc, const char *wl, bool quick);

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
