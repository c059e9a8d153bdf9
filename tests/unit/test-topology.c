// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/unit/test-topology.c - unit tests of the topology room: discovery of
 * synthetic, XML and real machines, node distances, init rules, the current
 * CPU (rseq and sched_getcpu paths, thread overrides) and the page provider
 * (alignment, node accounting, reuse, memory really returned to the OS,
 * failure paths, concurrency, mbind on real nodes).
 *
 * check runs every test in a forked child (forced below), so each test calls
 * topology_init() with a machine of its own. Tests that need something this
 * machine lacks (more than one real NUMA node, mbind) print "skipped" and
 * return. The rseq-off case re-executes this program with
 * GLIBC_TUNABLES=glibc.pthread.rseq=0 and a private argument.
 */
#include "topology/internal.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

#define CHUNK_PAGES (TOPOLOGY_CHUNK_SIZE / PAGE_SIZE)
#define CPU_CHECK_CHILD_ARG "--topology-cpu-check-child"

static void skipped(const char *test, const char *why)
{
	printf("%s: skipped: %s\n", test, why);
}

/* Path of a file of tests/data, from $top_srcdir (make check) or this source's place. */
static const char *data_path(const char *name)
{
	static char path[4096];
	const char *top = getenv("top_srcdir");

	if (top) {
		snprintf(path, sizeof(path), "%s/tests/data/%s", top, name);
		if (access(path, R_OK) == 0)
			return path;
	}
	snprintf(path, sizeof(path), "%s", __FILE__);
	char *slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, sizeof(path) - (size_t)(slash ? slash + 1 - path : 0),
		 "../data/%s", name);
	ck_assert_msg(access(path, R_OK) == 0,
		      "%s not found: run from the source tree or set top_srcdir", path);
	return path;
}

static unsigned long node_in_use(int node)
{
	unsigned long in_use = ~0ul;

	ck_assert_int_eq(uslab_node_pages(node, NULL, &in_use), 0);
	return in_use;
}

static unsigned long node_mapped(int node)
{
	unsigned long mapped = ~0ul;

	ck_assert_int_eq(uslab_node_pages(node, &mapped, NULL), 0);
	return mapped;
}

static struct uslab_page_stats node_stats(int node)
{
	struct uslab_page_stats st;

	ck_assert_int_eq(uslab_node_page_stats(node, &st), 0);
	return st;
}

/* ---- discovery ---------------------------------------------------------- */

static const struct {
	const char *spec;
	unsigned int nodes, cpus;
	const char *describe;
} synth[] = {
	{ "node:1 core:2 pu:2", 1, 4, "synthetic: 1 node, 4 cpus" },
	{ "node:2 core:3 pu:1", 2, 6, "synthetic: 2 nodes, 6 cpus" },
	{ "node:4 core:2 pu:1", 4, 8, "synthetic: 4 nodes, 8 cpus" },
	{ "pack:2 numa:2 core:2 pu:1", 4, 8, "synthetic: 4 nodes, 8 cpus" },
	{ "node:8 core:2 pu:2", 8, 32, "synthetic: 8 nodes, 32 cpus" },
	{ "node:64 pu:1", 64, 64, "synthetic: 64 nodes, 64 cpus" },	/* the limit itself */
};

START_TEST(test_synthetic_machines)
{
	unsigned int per_node = synth[_i].cpus / synth[_i].nodes;
	unsigned int sum = 0;
	int order[USLAB_MAX_NUMNODES];
	char buf[128];
	int cpu, node;

	ck_assert_int_eq(topology_init(synth[_i].spec), 0);
	ck_assert_uint_eq(uslab_nr_node_ids(), synth[_i].nodes);
	ck_assert_uint_eq(uslab_nr_cpu_ids(), synth[_i].cpus);
	ck_assert_uint_eq(nr_cpu_ids, synth[_i].cpus);
	ck_assert(uslab_topology_is_synthetic());
	ck_assert_int_eq(uslab_topology_describe(buf, sizeof(buf)), (int)strlen(synth[_i].describe));
	ck_assert_str_eq(buf, synth[_i].describe);

	for_each_possible_cpu(cpu)
		ck_assert_int_eq(cpu_to_node(cpu), cpu / (int)per_node);
	ck_assert_int_eq(cpu_to_node(-1), -1);
	ck_assert_int_eq(cpu_to_node((int)synth[_i].cpus), -1);

	for_each_node(node) {
		unsigned int counted = 0;

		ck_assert_uint_eq(uslab_nr_cpus_node(node), per_node);
		sum += uslab_nr_cpus_node(node);
		for_each_cpu_of_node(cpu, node)
			counted++;
		ck_assert_uint_eq(counted, per_node);

		/* No distance matrix in a synthetic machine: the SLIT defaults. */
		for (int to = 0; to < (int)synth[_i].nodes; to++)
			ck_assert_int_eq(node_distance(node, to), node == to ? 10 : 20);
		ck_assert_uint_eq(topology_nodes_by_distance(node, order, USLAB_MAX_NUMNODES),
				  synth[_i].nodes);
		ck_assert_int_eq(order[0], node);
		for (int k = 1, expect = 0; k < (int)synth[_i].nodes; k++, expect++) {
			if (expect == node)
				expect++;
			ck_assert_int_eq(order[k], expect);
		}
	}
	ck_assert_uint_eq(sum, synth[_i].cpus);
	ck_assert_uint_eq(uslab_nr_cpus_node(-1), 0);
	ck_assert_uint_eq(uslab_nr_cpus_node((int)synth[_i].nodes), 0);
	ck_assert_int_eq(node_distance(-1, 0), -1);
	ck_assert_int_eq(node_distance(0, (int)synth[_i].nodes), -1);
	ck_assert_uint_eq(topology_nodes_by_distance(-1, order, 4), 0);
	ck_assert_uint_eq(topology_nodes_by_distance((int)synth[_i].nodes, order, 4), 0);
}
END_TEST

/* The latency matrix of tests/data/numa4-asym.xml (see tests/data/README). */
static const int asym_latency[4][4] = {
	{ 10, 16, 30, 22 },
	{ 18, 10, 22, 34 },
	{ 30, 22, 10, 16 },
	{ 22, 22, 16, 10 },
};
static const int asym_order[4][4] = {
	{ 0, 1, 3, 2 },
	{ 1, 0, 2, 3 },
	{ 2, 3, 1, 0 },
	{ 3, 2, 0, 1 },		/* 0 and 1 tie at 22: by id */
};

static void check_asym_machine(const char *kind)
{
	static const int os_index[4] = { 0, 2, 5, 7 };
	int order[USLAB_MAX_NUMNODES];
	char buf[64], expect[64];

	ck_assert_uint_eq(uslab_nr_node_ids(), 4);
	ck_assert_uint_eq(uslab_nr_cpu_ids(), 8);
	ck_assert(uslab_topology_is_synthetic());
	snprintf(expect, sizeof(expect), "%s: 4 nodes, 8 cpus", kind);
	uslab_topology_describe(buf, sizeof(buf));
	ck_assert_str_eq(buf, expect);
	for (int cpu = 0; cpu < 8; cpu++)
		ck_assert_int_eq(cpu_to_node(cpu), cpu / 2);
	for (int from = 0; from < 4; from++) {
		/* uslab ids are dense; the XML's OS indexes are kept aside. */
		ck_assert_int_eq(topology_node_os_index(from), os_index[from]);
		for (int to = 0; to < 4; to++)
			ck_assert_msg(node_distance(from, to) == asym_latency[from][to],
				      "distance %d->%d is %d, want %d", from, to,
				      node_distance(from, to), asym_latency[from][to]);
		ck_assert_uint_eq(topology_nodes_by_distance(from, order, USLAB_MAX_NUMNODES), 4);
		for (int k = 0; k < 4; k++)
			ck_assert_msg(order[k] == asym_order[from][k], "order from %d: [%d] is %d, want %d",
				      from, k, order[k], asym_order[from][k]);
	}
	/* max bounds what is written. */
	order[2] = -7;
	ck_assert_uint_eq(topology_nodes_by_distance(3, order, 2), 2);
	ck_assert_int_eq(order[0], 3);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], -7);
	ck_assert_int_eq(topology_node_os_index(4), -1);
}

START_TEST(test_xml_asymmetric_distances)
{
	ck_assert_int_eq(topology_init(data_path("numa4-asym.xml")), 0);
	check_asym_machine("xml");
}
END_TEST

/* A spec naming an existing file is XML even without the .xml suffix. */
START_TEST(test_xml_without_suffix)
{
	char tmp[] = "/tmp/uslab-topo-XXXXXX";
	char buf[4096];
	FILE *in = fopen(data_path("numa4-asym.xml"), "r");
	int fd = mkstemp(tmp);
	size_t n;

	ck_assert_ptr_nonnull(in);
	ck_assert_int_ge(fd, 0);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	fclose(in);
	close(fd);
	ck_assert_int_eq(topology_init(tmp), 0);
	unlink(tmp);
	check_asym_machine("xml");
}
END_TEST

START_TEST(test_bad_spec_then_good)
{
	static const char *const bad[] = {
		"bogus:3",
		"node:4 core:x",
		"/nonexistent/machine.xml",
		"node:65 pu:1",		/* more than USLAB_MAX_NUMNODES */
		"pu:1025",		/* more than USLAB_NR_CPUS */
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(topology_init(bad[i]) == -EINVAL, "spec '%s' accepted", bad[i]);
	ck_assert_int_eq(topology_init("node:2 pu:2"), 0);
	ck_assert_uint_eq(uslab_nr_node_ids(), 2);
	ck_assert_uint_eq(uslab_nr_cpu_ids(), 4);
	ck_assert_int_eq(cpu_to_node(3), 1);
}
END_TEST

START_TEST(test_init_once)
{
	ck_assert_int_eq(topology_init("node:2 core:2 pu:1"), 0);
	ck_assert_int_eq(topology_init("node:2 core:2 pu:1"), 0);
	ck_assert_int_eq(topology_init(NULL), 0);
	ck_assert_int_eq(topology_init("node:4 core:2 pu:1"), -EBUSY);
	ck_assert_int_eq(topology_init(""), -EBUSY);	/* the real machine differs too */
	ck_assert_int_eq(topology_init("bogus:1"), -EBUSY);
	ck_assert_uint_eq(uslab_nr_node_ids(), 2);
	ck_assert_uint_eq(uslab_nr_cpu_ids(), 4);
}
END_TEST

START_TEST(test_env_spec)
{
	ck_assert_int_eq(setenv("USLAB_TOPOLOGY", "node:3 core:1 pu:1", 1), 0);
	/* Any public call initialises lazily from the environment. */
	ck_assert_uint_eq(uslab_nr_node_ids(), 3);
	ck_assert(uslab_topology_is_synthetic());
	ck_assert_int_eq(topology_init(NULL), 0);
	ck_assert_int_eq(topology_init("node:3 core:1 pu:1"), 0);
	ck_assert_int_eq(topology_init("node:2 core:1 pu:1"), -EBUSY);
}
END_TEST

START_TEST(test_env_bad_falls_back_to_real)
{
	char buf[64];

	ck_assert_int_eq(setenv("USLAB_TOPOLOGY", "nonsense:9", 1), 0);
	ck_assert_uint_ge(uslab_nr_cpu_ids(), 1);
	ck_assert(!uslab_topology_is_synthetic());
	uslab_topology_describe(buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "real: ", 6) == 0, "describe says '%s'", buf);
	/* Without a spec, later calls accept what is in use. */
	ck_assert_int_eq(topology_init(NULL), 0);
}
END_TEST

START_TEST(test_real_machine)
{
	hwloc_topology_t t;
	char buf[64];
	int cpu;

	ck_assert_int_eq(topology_init(NULL), 0);
	ck_assert(!uslab_topology_is_synthetic());
	ck_assert_int_eq(hwloc_topology_init(&t), 0);
	ck_assert_int_eq(hwloc_topology_load(t), 0);
	ck_assert_int_eq((int)uslab_nr_cpu_ids(), hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU));
	ck_assert_int_eq((int)uslab_nr_node_ids(), hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE));
	for (int n = 0; n < (int)uslab_nr_node_ids(); n++)
		ck_assert_int_eq(topology_node_os_index(n),
				 (int)hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, (unsigned)n)->os_index);
	for_each_possible_cpu(cpu) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, (unsigned)cpu);
		int node = cpu_to_node(cpu);
		hwloc_obj_t nobj = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, (unsigned)node);

		ck_assert_int_ge(node, 0);
		ck_assert(hwloc_bitmap_isset(nobj->cpuset, pu->os_index));
	}
	hwloc_topology_destroy(t);
	ck_assert_int_eq(node_distance(0, 0), 10);
	snprintf(buf, sizeof(buf), "real: %u node%s, %u cpu%s", uslab_nr_node_ids(),
		 uslab_nr_node_ids() == 1 ? "" : "s", uslab_nr_cpu_ids(), uslab_nr_cpu_ids() == 1 ? "" : "s");
	char got[64];
	uslab_topology_describe(got, sizeof(got));
	ck_assert_str_eq(got, buf);
}
END_TEST

START_TEST(test_describe_truncates)
{
	char buf[5];

	ck_assert_int_eq(topology_init("node:4 core:2 pu:1"), 0);
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(uslab_topology_describe(buf, sizeof(buf)), 26);
	ck_assert_str_eq(buf, "synt");
	ck_assert_int_eq(uslab_topology_describe(NULL, 0), 26);
}
END_TEST

/* ---- the current CPU ---------------------------------------------------- */

static void *other_thread_cpu(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)topology_cpu_is_emulated();
}

START_TEST(test_thread_set_cpu)
{
	pthread_t th;
	void *ret;

	ck_assert_int_eq(topology_init("node:4 core:2 pu:1"), 0);
	ck_assert_int_eq(uslab_thread_set_cpu(-2), -EINVAL);
	ck_assert_int_eq(uslab_thread_set_cpu(8), -EINVAL);
	ck_assert(!topology_cpu_is_emulated());
	for (int cpu = 7; cpu >= 0; cpu--) {
		ck_assert_int_eq(uslab_thread_set_cpu(cpu), 0);
		ck_assert(topology_cpu_is_emulated());
		ck_assert_int_eq(smp_processor_id(), cpu);
		ck_assert_int_eq(topology_current_cpu(), cpu);
		ck_assert_int_eq(numa_node_id(), cpu / 2);
	}
	/* The choice is the calling thread's only. */
	ck_assert_int_eq(pthread_create(&th, NULL, other_thread_cpu, NULL), 0);
	ck_assert_int_eq(pthread_join(th, &ret), 0);
	ck_assert_ptr_null(ret);
	ck_assert_int_eq(uslab_thread_set_cpu(8), -EINVAL);
	ck_assert_int_eq(smp_processor_id(), 0);	/* a failed call changed nothing */
	ck_assert_int_eq(uslab_thread_set_cpu(-1), 0);
	ck_assert(!topology_cpu_is_emulated());
	ck_assert_int_ge(smp_processor_id(), 0);
	ck_assert_int_lt(smp_processor_id(), 8);
}
END_TEST

struct cpu_range_arg {
	int nr_cpus, nr_nodes;
	int bad;
};

static void *cpu_range_thread(void *p)
{
	struct cpu_range_arg *a = p;

	for (int i = 0; i < 200000; i++) {
		int cpu = smp_processor_id();
		int node = numa_node_id();

		if (cpu < 0 || cpu >= a->nr_cpus || node < 0 || node >= a->nr_nodes)
			__atomic_add_fetch(&a->bad, 1, __ATOMIC_RELAXED);
		if (i % 1000 == 0)
			sched_yield();	/* invite migrations */
	}
	return NULL;
}

static const char *const cpu_range_specs[] = {
	"node:1 core:3 pu:1",	/* fewer CPUs than the host may have */
	"node:4 core:4 pu:1",	/* more */
	NULL,			/* the real machine */
};

START_TEST(test_smp_processor_id_threads)
{
	struct cpu_range_arg a = { 0 };
	pthread_t th[8];

	ck_assert_int_eq(topology_init(cpu_range_specs[_i]), 0);
	a.nr_cpus = (int)uslab_nr_cpu_ids();
	a.nr_nodes = (int)uslab_nr_node_ids();
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, cpu_range_thread, &a), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert_int_eq(a.bad, 0);
}
END_TEST

/*
 * Pin the thread to each CPU it may use; smp_processor_id() must then name
 * exactly that CPU: its hwloc logical index on the real machine, os % nr on
 * an emulated one. Returns the number of mismatches (printed).
 */
static int check_pinned_cpus(bool real)
{
	hwloc_topology_t t = NULL;
	cpu_set_t allowed, one;
	int bad = 0, tried = 0;

	if (real) {
		hwloc_topology_init(&t);
		hwloc_topology_load(t);
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return 1;
	for (int os = 0; os < CPU_SETSIZE; os++) {
		int expect, got;

		if (!CPU_ISSET(os, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(os, &one);
		if (sched_setaffinity(0, sizeof(one), &one) != 0)
			continue;
		if (real) {
			hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(t, (unsigned)os);

			expect = pu ? (int)pu->logical_index : os % (int)uslab_nr_cpu_ids();
		} else {
			expect = os % (int)uslab_nr_cpu_ids();
		}
		got = smp_processor_id();
		tried++;
		if (got != expect || topology_current_cpu_slow() != expect) {
			fprintf(stderr, "pinned to OS cpu %d: smp_processor_id() %d, want %d\n",
				os, got, expect);
			bad++;
		}
	}
	sched_setaffinity(0, sizeof(allowed), &allowed);
	if (t)
		hwloc_topology_destroy(t);
	return tried ? bad : 1;
}

START_TEST(test_pinned_cpu_synthetic)
{
	ck_assert_int_eq(topology_init("node:2 core:3 pu:1"), 0);
	ck_assert_int_eq(check_pinned_cpus(false), 0);
}
END_TEST

START_TEST(test_pinned_cpu_real)
{
	ck_assert_int_eq(topology_init(NULL), 0);
	ck_assert_int_eq(check_pinned_cpus(true), 0);
}
END_TEST

START_TEST(test_rseq_used)
{
	const char *tun = getenv("GLIBC_TUNABLES");

	if (tun && strstr(tun, "rseq=0")) {
		skipped("test_rseq_used", "GLIBC_TUNABLES turns rseq off");
		return;
	}
	ck_assert_int_eq(topology_init("node:2 core:1 pu:1"), 0);
	/* glibc 2.36 on Linux >= 4.18 registers rseq for every thread. */
	ck_assert(topology_real_cpu_uses_rseq());
}
END_TEST

/* The sched_getcpu() fallback: this program again, with glibc's rseq off. */
static int cpu_check_child(void)
{
	if (topology_real_cpu_uses_rseq()) {
		fprintf(stderr, "child: rseq still registered\n");
		return 2;
	}
	if (topology_init("node:2 core:3 pu:1") != 0)
		return 3;
	return check_pinned_cpus(false) == 0 ? 0 : 4;
}

START_TEST(test_cpu_without_rseq)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *argv[] = { "test-topology", CPU_CHECK_CHILD_ARG, NULL };

		setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ---- the page provider -------------------------------------------------- */

START_TEST(test_pages_alignment_accounting)
{
	static const size_t pages[] = { 1, 2, 3, 8, 64, TOPOLOGY_PAGES_MAX_RUN,
					TOPOLOGY_PAGES_MAX_RUN + 1, 1024 };
	void *p[4][ARRAY_SIZE(pages)];
	unsigned long total = 0;

	ck_assert_int_eq(topology_init("node:4 core:2 pu:1"), 0);
	for (int n = 0; n < 4; n++) {
		ck_assert_uint_eq(node_in_use(n), 0);
		ck_assert_uint_eq(node_mapped(n), 0);
	}
	for (int n = 0; n < 4; n++) {
		unsigned long node_total = 0;

		for (unsigned int i = 0; i < ARRAY_SIZE(pages); i++) {
			size_t size = pages[i] * PAGE_SIZE;

			p[n][i] = topology_alloc_pages(n, size);
			ck_assert_ptr_nonnull(p[n][i]);
			ck_assert_uint_eq((uintptr_t)p[n][i] % PAGE_SIZE, 0);
			memset(p[n][i], 0x40 + n, size);
			node_total += pages[i];
		}
		ck_assert_uint_eq(node_in_use(n), node_total);
		ck_assert_uint_ge(node_mapped(n), node_total);
		/* Other nodes are untouched by this node's allocations. */
		for (int m = n + 1; m < 4; m++)
			ck_assert_uint_eq(node_in_use(m), 0);
		total += node_total;
	}
	/* No two allocations overlap, and each still holds its own bytes. */
	for (int n = 0; n < 4; n++) {
		for (unsigned int i = 0; i < ARRAY_SIZE(pages); i++) {
			unsigned char *c = p[n][i];
			size_t size = pages[i] * PAGE_SIZE;

			ck_assert_uint_eq(c[0], 0x40 + n);
			ck_assert_uint_eq(c[size - 1], 0x40 + n);
			for (int m = 0; m < 4; m++)
				for (unsigned int j = 0; j < ARRAY_SIZE(pages); j++) {
					char *d = p[m][j];

					if (m == n && j == i)
						continue;
					ck_assert((char *)c + size <= d || d + pages[j] * PAGE_SIZE <= (char *)c);
				}
		}
	}
	for (int n = 0; n < 4; n++)
		for (unsigned int i = 0; i < ARRAY_SIZE(pages); i++)
			topology_free_pages(p[n][i], pages[i] * PAGE_SIZE, n);
	for (int n = 0; n < 4; n++) {
		unsigned long node_total = 0;

		for (unsigned int i = 0; i < ARRAY_SIZE(pages); i++)
			node_total += pages[i];
		/* Every freed page stays cached for reuse, until a trim. */
		ck_assert_uint_eq(node_in_use(n), 0);
		ck_assert_uint_eq(node_stats(n).pooled, node_total);
		ck_assert_uint_eq(topology_pages_pooled(n), node_total);
	}
	ck_assert_uint_eq(topology_pages_pooled(-1), total);
	ck_assert_uint_eq(topology_pages_purge(-1, true), total);
	for (int n = 0; n < 4; n++) {
		ck_assert_uint_eq(node_stats(n).pooled, 0);
		ck_assert_uint_eq(node_mapped(n), 0);
	}
	ck_assert_uint_gt(total, 0);
}
END_TEST

START_TEST(test_pages_bad_args)
{
	ck_assert_int_eq(topology_init("node:2 core:1 pu:1"), 0);
	errno = 0;
	ck_assert_ptr_null(topology_alloc_pages(-1, PAGE_SIZE));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(topology_alloc_pages(2, PAGE_SIZE));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(topology_alloc_pages(0, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(topology_alloc_pages(0, PAGE_SIZE + 100));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(uslab_node_pages(-1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(uslab_node_pages(2, NULL, NULL), -EINVAL);
	ck_assert_int_eq(uslab_node_pages(1, NULL, NULL), 0);
	ck_assert_int_eq(uslab_node_page_stats(1, NULL), -EINVAL);
	ck_assert_int_eq(uslab_node_page_stats(2, &(struct uslab_page_stats){ 0 }), -EINVAL);
	ck_assert_uint_eq(node_in_use(0), 0);
}
END_TEST

START_TEST(test_pages_reuse)
{
	void *a, *b, *c;
	unsigned long mapped;

	ck_assert_int_eq(topology_init("node:2 core:1 pu:1"), 0);
	a = topology_alloc_pages(1, 4 * PAGE_SIZE);
	ck_assert_ptr_nonnull(a);
	memset(a, 1, 4 * PAGE_SIZE);
	mapped = node_mapped(1);
	ck_assert_uint_eq(mapped, CHUNK_PAGES);
	topology_free_pages(a, 4 * PAGE_SIZE, 1);
	ck_assert_uint_eq(node_in_use(1), 0);
	b = topology_alloc_pages(1, 4 * PAGE_SIZE);
	ck_assert_ptr_eq(b, a);			/* the freed run, still resident */
	ck_assert_uint_eq(node_mapped(1), mapped);
	/* A smaller request fits in the hole left by a freed bigger one. */
	c = topology_alloc_pages(1, 8 * PAGE_SIZE);
	ck_assert_ptr_nonnull(c);
	topology_free_pages(b, 4 * PAGE_SIZE, 1);
	b = topology_alloc_pages(1, 2 * PAGE_SIZE);
	ck_assert_ptr_eq(b, a);
	topology_free_pages(b, 2 * PAGE_SIZE, 1);
	topology_free_pages(c, 8 * PAGE_SIZE, 1);

	/*
	 * Growing and shrinking by many chunks' worth, again and again: after
	 * the first round the page cache serves everything, without a single
	 * system call (a repeated burst costs no mmap, madvise or fault).
	 */
	enum { N = 3 * CHUNK_PAGES / 16 };
	static void *v[N];
	struct uslab_page_stats first = { 0 }, now;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			v[i] = topology_alloc_pages(0, 16 * PAGE_SIZE);
			ck_assert_ptr_nonnull(v[i]);
			memset(v[i], round, 16 * PAGE_SIZE);
		}
		if (round == 0)
			mapped = node_mapped(0);
		else
			ck_assert_uint_eq(node_mapped(0), mapped);
		ck_assert_uint_le(mapped, 4 * CHUNK_PAGES);
		for (int i = 0; i < N; i++)
			topology_free_pages(v[i], 16 * PAGE_SIZE, 0);
		ck_assert_uint_eq(node_stats(0).pooled, (unsigned long)N * 16);
		if (round == 0)
			first = node_stats(0);
	}
	now = node_stats(0);
	ck_assert_uint_eq(now.nr_mmap, first.nr_mmap);
	ck_assert_uint_eq(now.nr_munmap, first.nr_munmap);
	ck_assert_uint_eq(now.nr_madvise, first.nr_madvise);
	ck_assert_uint_eq(now.purged, first.purged);
}
END_TEST

/* First fit inside a chunk: holes are reused lowest first, only when big enough. */
START_TEST(test_pages_first_fit)
{
	enum { N = CHUNK_PAGES - 1 };	/* what one chunk holds next to its header */
	static char *p[N];
	char *q, *r;

	ck_assert_int_eq(topology_init("node:1 core:1 pu:1"), 0);
	for (int i = 0; i < N; i++) {
		p[i] = topology_alloc_pages(0, PAGE_SIZE);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_ptr_eq(p[i], p[0] + (size_t)i * PAGE_SIZE);
	}
	ck_assert_uint_eq(node_mapped(0), CHUNK_PAGES);
	for (int i = 1; i < N; i += 2)
		topology_free_pages(p[i], PAGE_SIZE, 0);
	/* Only one-page holes: two pages need a new chunk. */
	q = topology_alloc_pages(0, 2 * PAGE_SIZE);
	ck_assert_ptr_nonnull(q);
	ck_assert(q + 2 * PAGE_SIZE <= p[0] || q >= p[N - 1] + PAGE_SIZE);
	ck_assert_uint_eq(node_mapped(0), 2 * CHUNK_PAGES);
	/* Freeing p[2] joins holes 1..3: the next three-page request gets them. */
	topology_free_pages(p[2], PAGE_SIZE, 0);
	r = topology_alloc_pages(0, 3 * PAGE_SIZE);
	ck_assert_ptr_eq(r, p[1]);
	ck_assert_uint_eq(node_in_use(0), (N + 1) / 2 - 1 + 2 + 3);
	topology_free_pages(q, 2 * PAGE_SIZE, 0);
	topology_free_pages(r, 3 * PAGE_SIZE, 0);
	for (int i = 0; i < N; i += 2)
		if (i != 2)
			topology_free_pages(p[i], PAGE_SIZE, 0);
	ck_assert_uint_eq(node_in_use(0), 0);
	ck_assert_uint_eq(node_mapped(0), 2 * CHUNK_PAGES);	/* cached, until a trim */
	topology_pages_purge(0, true);
	ck_assert_uint_eq(node_mapped(0), 0);
}
END_TEST

/* Resident pages of process (from /proc/self/statm). */
static long rss_pages(void)
{
	long size = 0, resident = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident;
}

/* Pages of [p, p+len) in memory; an unmapped range has none. */
static unsigned long resident_in(void *p, size_t len)
{
	unsigned char vec[4 * TOPOLOGY_PAGES_MAX_RUN * 4];
	unsigned long n = 0;

	ck_assert_uint_le(len / PAGE_SIZE, sizeof(vec));
	if (mincore(p, len, vec) != 0) {
		ck_assert_int_eq(errno, ENOMEM);
		return 0;
	}
	for (size_t i = 0; i < len / PAGE_SIZE; i++)
		n += vec[i] & 1;
	return n;
}

/* Touch every page of @p, @pages long. */
static void touch_pages(void *p, size_t pages)
{
	for (size_t k = 0; k < pages; k++)
		((volatile char *)p)[k * PAGE_SIZE] = 1;
}

/*
 * The page cache keeps freed pages resident; a trim gives back every one at
 * once (RSS and mincore fall), wholly free chunks and spans unmapped.
 */
START_TEST(test_pages_trim)
{
	enum { RUN = 4, N = (64 << 20) / (RUN * PAGE_SIZE) };	/* 64 MiB */
	static void *v[N];
	const size_t big_pages = TOPOLOGY_PAGES_MAX_RUN + 1;
	long before, touched, after;
	unsigned long still = 0;
	void *big;

	ck_assert_int_eq(topology_init("node:2 core:1 pu:1"), 0);
	before = rss_pages();
	for (int i = 0; i < N; i++) {
		v[i] = topology_alloc_pages(1, RUN * PAGE_SIZE);
		ck_assert_ptr_nonnull(v[i]);
		touch_pages(v[i], RUN);
	}
	touched = rss_pages();
	ck_assert_int_ge(touched - before, (long)N * RUN * 9 / 10);
	for (int i = 0; i < N; i++)
		topology_free_pages(v[i], RUN * PAGE_SIZE, 1);
	/* All cached, all still resident: a new burst would not fault. */
	for (int i = 0; i < N; i++)
		still += resident_in(v[i], RUN * PAGE_SIZE);
	ck_assert_uint_eq(still, (unsigned long)N * RUN);
	ck_assert_uint_eq(node_stats(1).pooled, (unsigned long)N * RUN);
	ck_assert_uint_eq(node_in_use(1), 0);

	ck_assert_uint_eq(topology_pages_purge(-1, true), (unsigned long)N * RUN);
	after = rss_pages();
	still = 0;
	for (int i = 0; i < N; i++)
		still += resident_in(v[i], RUN * PAGE_SIZE);
	ck_assert_uint_eq(still, 0);
	/* Slack for what else the process touched meanwhile (stdio, check). */
	ck_assert_int_ge(touched - after, (long)N * RUN - 512);
	ck_assert_uint_eq(node_mapped(1), 0);
	ck_assert_uint_eq(node_stats(1).pooled, 0);

	/* A span is cached too, and unmapped by the trim. */
	big = topology_alloc_pages(0, big_pages * PAGE_SIZE);
	ck_assert_ptr_nonnull(big);
	touch_pages(big, big_pages);
	ck_assert_uint_eq(node_mapped(0), big_pages);
	topology_free_pages(big, big_pages * PAGE_SIZE, 0);
	ck_assert_uint_eq(resident_in(big, big_pages * PAGE_SIZE), big_pages);
	ck_assert_uint_eq(node_stats(0).pooled, big_pages);
	ck_assert_uint_eq(topology_pages_purge(0, true), big_pages);
	ck_assert_uint_eq(resident_in(big, big_pages * PAGE_SIZE), 0);
	ck_assert_uint_eq(node_mapped(0), 0);
}
END_TEST

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The decay returns exactly what has been free for the decay period:
 * neighbouring old pages in one madvise, young ones kept. Time is what is
 * tested here, so the test waits for it (polling the clock, not sleeping a
 * guess).
 */
START_TEST(test_pages_decay)
{
	enum { DECAY = 200, RUNS = 8, RUN = 8 };
	void *old[RUNS], *young;
	struct uslab_page_stats st0, st1;
	uint64_t t0;

	ck_assert_int_eq(topology_init("node:1 core:1 pu:1"), 0);
	topology_pages_set_decay(DECAY, false);
	ck_assert_uint_eq(topology_pages_decay_ms(), DECAY);
	for (int i = 0; i < RUNS; i++) {
		old[i] = topology_alloc_pages(0, RUN * PAGE_SIZE);
		ck_assert_ptr_nonnull(old[i]);
		touch_pages(old[i], RUN);
	}
	young = topology_alloc_pages(0, RUN * PAGE_SIZE);
	touch_pages(young, RUN);
	/* Neighbours, so that the decay can return them with one call. */
	for (int i = 1; i < RUNS; i++)
		ck_assert_ptr_eq(old[i], (char *)old[0] + (size_t)i * RUN * PAGE_SIZE);
	t0 = mono_ms();
	for (int i = 0; i < RUNS; i++)
		topology_free_pages(old[i], RUN * PAGE_SIZE, 0);
	st0 = node_stats(0);
	/* Too young: the decay leaves them (unless this thread was descheduled for the period). */
	if (topology_pages_purge(0, false) != 0)
		ck_assert_uint_ge(mono_ms() - t0, DECAY);
	while (mono_ms() - t0 < DECAY + 20)	/* COARSE clock granularity */
		;
	topology_free_pages(young, RUN * PAGE_SIZE, 0);
	ck_assert_uint_eq(topology_pages_purge(0, false), RUNS * RUN);
	st1 = node_stats(0);
	ck_assert_uint_eq(st1.nr_madvise - st0.nr_madvise, 1);		/* coalesced */
	ck_assert_uint_eq(st1.pooled, RUN);				/* the young one */
	for (int i = 0; i < RUNS; i++)
		ck_assert_uint_eq(resident_in(old[i], RUN * PAGE_SIZE), 0);
	ck_assert_uint_eq(resident_in(young, RUN * PAGE_SIZE), RUN);
	/* Reusing a purged run is fine: it faults in zeroed pages. */
	void *again = topology_alloc_pages(0, RUN * PAGE_SIZE);
	ck_assert_ptr_eq(again, old[0]);
	ck_assert_int_eq(((char *)again)[0], 0);
	topology_free_pages(again, RUN * PAGE_SIZE, 0);
	topology_pages_set_decay(TOPOLOGY_DECAY_MS_DEFAULT, false);
}
END_TEST

/* A decay of 0: nothing is cached, every free returns its pages at once. */
START_TEST(test_pages_no_decay)
{
	const size_t big_pages = TOPOLOGY_PAGES_MAX_RUN * 2;
	void *p, *big;

	ck_assert_int_eq(topology_init("node:1 core:1 pu:1"), 0);
	topology_pages_set_decay(0, false);
	p = topology_alloc_pages(0, 4 * PAGE_SIZE);
	ck_assert_ptr_nonnull(p);
	touch_pages(p, 4);
	big = topology_alloc_pages(0, big_pages * PAGE_SIZE);
	ck_assert_ptr_nonnull(big);
	touch_pages(big, big_pages);
	topology_free_pages(big, big_pages * PAGE_SIZE, 0);
	ck_assert_uint_eq(resident_in(big, big_pages * PAGE_SIZE), 0);
	ck_assert_uint_eq(node_mapped(0), CHUNK_PAGES);
	topology_free_pages(p, 4 * PAGE_SIZE, 0);
	ck_assert_uint_eq(node_stats(0).pooled, 0);
	ck_assert_uint_eq(node_mapped(0), 0);		/* the wholly free chunk went too */
	ck_assert_uint_eq(node_stats(0).purged, big_pages + 4);
	topology_pages_set_decay(TOPOLOGY_DECAY_MS_DEFAULT, false);
}
END_TEST

/* Spans: reused best fit, split, merged again, without a system call. */
START_TEST(test_pages_spans)
{
	const size_t M = TOPOLOGY_PAGES_MAX_RUN * 2;	/* 1 MiB */
	struct uslab_page_stats st0, st1;
	char *a, *b, *c, *d;

	ck_assert_int_eq(topology_init("node:1 core:1 pu:1"), 0);
	a = topology_alloc_pages(0, 4 * M * PAGE_SIZE);
	ck_assert_ptr_nonnull(a);
	touch_pages(a, 4 * M);
	topology_free_pages(a, 4 * M * PAGE_SIZE, 0);
	st0 = node_stats(0);
	/* The same size again: the same mapping. */
	b = topology_alloc_pages(0, 4 * M * PAGE_SIZE);
	ck_assert_ptr_eq(b, a);
	topology_free_pages(b, 4 * M * PAGE_SIZE, 0);
	/* Smaller: the head of the cached span; the tail stays cached. */
	b = topology_alloc_pages(0, M * PAGE_SIZE);
	ck_assert_ptr_eq(b, a);
	ck_assert_uint_eq(node_stats(0).pooled, 3 * M);
	c = topology_alloc_pages(0, (M + 1) * PAGE_SIZE);
	ck_assert_ptr_eq(c, a + M * PAGE_SIZE);
	d = topology_alloc_pages(0, (2 * M - 1) * PAGE_SIZE);
	ck_assert_ptr_eq(d, a + (2 * M + 1) * PAGE_SIZE);
	ck_assert_uint_eq(node_stats(0).pooled, 0);
	ck_assert_uint_eq(node_in_use(0), 4 * M);
	/* Freed in any order, they merge back into one span. */
	topology_free_pages(c, (M + 1) * PAGE_SIZE, 0);
	topology_free_pages(b, M * PAGE_SIZE, 0);
	topology_free_pages(d, (2 * M - 1) * PAGE_SIZE, 0);
	b = topology_alloc_pages(0, 4 * M * PAGE_SIZE);
	ck_assert_ptr_eq(b, a);
	st1 = node_stats(0);
	ck_assert_uint_eq(st1.nr_mmap, st0.nr_mmap);
	ck_assert_uint_eq(st1.nr_munmap, st0.nr_munmap);
	ck_assert_uint_eq(st1.mapped, 4 * M);
	topology_free_pages(b, 4 * M * PAGE_SIZE, 0);
	ck_assert_uint_eq(topology_pages_purge(0, true), 4 * M);
	ck_assert_uint_eq(node_mapped(0), 0);
}
END_TEST

static int hook_calls;

static bool fail_node1(int nid, size_t size)
{
	__atomic_add_fetch(&hook_calls, 1, __ATOMIC_RELAXED);
	return nid == 1 && size == 2 * PAGE_SIZE;
}

START_TEST(test_pages_fail_hook)
{
	void *p;

	ck_assert_int_eq(topology_init("node:2 core:1 pu:1"), 0);
	topology_set_page_fail_hook(fail_node1);
	errno = 0;
	ck_assert_ptr_null(topology_alloc_pages(1, 2 * PAGE_SIZE));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_eq(node_in_use(1), 0);
	ck_assert_uint_eq(node_mapped(1), 0);
	p = topology_alloc_pages(1, PAGE_SIZE);		/* the hook said no only to 2 pages */
	ck_assert_ptr_nonnull(p);
	topology_free_pages(p, PAGE_SIZE, 1);
	p = topology_alloc_pages(0, 2 * PAGE_SIZE);
	ck_assert_ptr_nonnull(p);
	topology_free_pages(p, 2 * PAGE_SIZE, 0);
	ck_assert_int_eq(hook_calls, 3);
	topology_set_page_fail_hook(NULL);
	p = topology_alloc_pages(1, 2 * PAGE_SIZE);
	ck_assert_ptr_nonnull(p);
	topology_free_pages(p, 2 * PAGE_SIZE, 1);
	ck_assert_int_eq(hook_calls, 3);
}
END_TEST

START_TEST(test_pages_os_failure)
{
	struct rlimit rl;
	long vm_pages = 0;
	void *p;
	FILE *f;

	ck_assert_int_eq(topology_init("node:2 core:1 pu:1"), 0);
	/* Larger than any address space: mmap must fail, we must not. */
	errno = 0;
	ck_assert_ptr_null(topology_alloc_pages(0, 1ul << 50));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_eq(node_mapped(0), 0);
	ck_assert_uint_eq(node_in_use(0), 0);

	if (UNDER_SANITIZER) {
		skipped("test_pages_os_failure (RLIMIT_AS part)", "sanitizers need address space");
		return;
	}
	/* The chunk path: no address space left for a new chunk. */
	p = topology_alloc_pages(0, PAGE_SIZE);		/* let libraries settle first */
	ck_assert_ptr_nonnull(p);
	f = fopen("/proc/self/statm", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld", &vm_pages), 1);
	fclose(f);
	ck_assert_int_eq(getrlimit(RLIMIT_AS, &rl), 0);
	rlim_t old = rl.rlim_cur;
	rl.rlim_cur = (rlim_t)vm_pages * PAGE_SIZE + (1 << 20);
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
	errno = 0;
	void *r = topology_alloc_pages(1, PAGE_SIZE);
	int err = errno;
	rl.rlim_cur = old;
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(err, ENOMEM);
	ck_assert_uint_eq(node_mapped(1), 0);
	ck_assert_uint_eq(node_in_use(1), 0);
	/* Node 0 still has room in its chunk. */
	void *q = topology_alloc_pages(0, PAGE_SIZE);
	ck_assert_ptr_nonnull(q);
	topology_free_pages(q, PAGE_SIZE, 0);
	topology_free_pages(p, PAGE_SIZE, 0);
}
END_TEST

START_TEST(test_pages_double_free_aborts)
{
	void *p;

	ck_assert_int_eq(topology_init("node:1 core:1 pu:1"), 0);
	p = topology_alloc_pages(0, 2 * PAGE_SIZE);
	ck_assert_ptr_nonnull(p);
	topology_free_pages(p, 2 * PAGE_SIZE, 0);
	topology_free_pages(p, 2 * PAGE_SIZE, 0);	/* SIGABRT expected */
}
END_TEST

START_TEST(test_pages_wrong_node_aborts)
{
	void *p;

	ck_assert_int_eq(topology_init("node:2 core:1 pu:1"), 0);
	p = topology_alloc_pages(0, PAGE_SIZE);
	ck_assert_ptr_nonnull(p);
	topology_free_pages(p, PAGE_SIZE, 1);		/* SIGABRT expected */
}
END_TEST

struct pages_thread_arg {
	int id;
	int errors;
};

static void *pages_thread(void *p)
{
	enum { LIVE = 32, OPS = 4000 };
	struct pages_thread_arg *a = p;
	struct { uint64_t *mem; size_t pages; int nid; uint64_t tag; } live[LIVE] = { { 0 } };
	unsigned int seed = (unsigned int)a->id * 7919u + 1;

	for (int op = 0; op < OPS; op++) {
		int slot = rand_r(&seed) % LIVE;

		if (live[slot].mem) {
			for (size_t k = 0; k < live[slot].pages; k++)
				if (live[slot].mem[k * PAGE_SIZE / 8] != live[slot].tag)
					a->errors++;
			topology_free_pages(live[slot].mem, live[slot].pages * PAGE_SIZE, live[slot].nid);
			live[slot].mem = NULL;
			continue;
		}
		size_t pages = (size_t)(rand_r(&seed) % 16) + 1;

		if (op % 97 == 0)
			pages = TOPOLOGY_PAGES_MAX_RUN + 3;	/* now and then a large one */
		live[slot].nid = rand_r(&seed) % 4;
		live[slot].pages = pages;
		live[slot].tag = ((uint64_t)a->id << 32) | (uint64_t)op;
		live[slot].mem = topology_alloc_pages(live[slot].nid, pages * PAGE_SIZE);
		if (!live[slot].mem) {
			a->errors++;
			continue;
		}
		for (size_t k = 0; k < pages; k++)
			live[slot].mem[k * PAGE_SIZE / 8] = live[slot].tag;
	}
	for (int i = 0; i < LIVE; i++)
		if (live[i].mem)
			topology_free_pages(live[i].mem, live[i].pages * PAGE_SIZE, live[i].nid);
	return NULL;
}

START_TEST(test_pages_threads)
{
	enum { T = 8 };
	struct pages_thread_arg a[T];
	pthread_t th[T];

	ck_assert_int_eq(topology_init("node:4 core:2 pu:1"), 0);
	for (int i = 0; i < T; i++) {
		a[i].id = i;
		a[i].errors = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, pages_thread, &a[i]), 0);
	}
	for (int i = 0; i < T; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(a[i].errors, 0);
	}
	for (int n = 0; n < 4; n++) {
		ck_assert_uint_eq(node_in_use(n), 0);
		ck_assert_uint_eq(node_stats(n).pooled, topology_pages_pooled(n));
	}
	topology_pages_purge(-1, true);
	for (int n = 0; n < 4; n++)
		ck_assert_uint_eq(node_mapped(n), 0);
}
END_TEST

/* Check that @p (touched) is on node @nid and carries @mode over exactly that node. */
static void check_bound(void *p, int nid, int mode)
{
	unsigned long mask[1024 / (8 * sizeof(unsigned long))] = { 0 };
	int os = topology_node_os_index(nid), where = -1, got_mode = -1;

	*(volatile char *)p = 1;
	ck_assert_int_eq(get_mempolicy(&where, NULL, 0, p, MPOL_F_NODE | MPOL_F_ADDR), 0);
	ck_assert_int_eq(where, os);
	ck_assert_int_eq(get_mempolicy(&got_mode, mask, 1024, p, MPOL_F_ADDR), 0);
	ck_assert_int_eq(got_mode, mode);
	for (int i = 0; i < 1024; i++)
		ck_assert_int_eq((int)((mask[i / 64] >> (i % 64)) & 1), i == os);
}

static void check_real_binding(int mode)
{
	int nr;

	ck_assert_int_eq(topology_init(NULL), 0);
	ck_assert(!uslab_topology_is_synthetic());
	if (!topology_pages_are_bound()) {
		skipped("real binding", "libnuma unusable here");
		return;
	}
	nr = (int)uslab_nr_node_ids();
	for (int n = 0; n < nr; n++) {
		size_t big = (TOPOLOGY_PAGES_MAX_RUN + 1) * PAGE_SIZE;
		void *small = topology_alloc_pages(n, PAGE_SIZE);
		void *large = topology_alloc_pages(n, big);

		ck_assert_ptr_nonnull(small);
		ck_assert_ptr_nonnull(large);
		check_bound(small, n, mode);
		check_bound(large, n, mode);
		check_bound((char *)large + big - PAGE_SIZE, n, mode);
		topology_free_pages(small, PAGE_SIZE, n);
		topology_free_pages(large, big, n);
	}
	ck_assert(topology_pages_are_bound());	/* mbind was not refused */
}

START_TEST(test_pages_real_bind)
{
	check_real_binding(MPOL_BIND);
}
END_TEST

START_TEST(test_pages_real_preferred)
{
	ck_assert_int_eq(setenv("USLAB_NUMA_POLICY", "preferred", 1), 0);
	check_real_binding(MPOL_PREFERRED);
}
END_TEST

/* Pages land on different physical nodes: needs a real multi-node machine. */
START_TEST(test_pages_real_multinode)
{
	int where[2] = { -1, -1 };

	ck_assert_int_eq(topology_init(NULL), 0);
	if (uslab_nr_node_ids() < 2 || !topology_pages_are_bound()) {
		skipped("test_pages_real_multinode", "needs more than one real NUMA node and mbind");
		return;
	}
	for (int n = 0; n < 2; n++) {
		void *p = topology_alloc_pages(n, PAGE_SIZE);

		ck_assert_ptr_nonnull(p);
		*(volatile char *)p = 1;
		ck_assert_int_eq(get_mempolicy(&where[n], NULL, 0, p, MPOL_F_NODE | MPOL_F_ADDR), 0);
		ck_assert_int_eq(where[n], topology_node_os_index(n));
		topology_free_pages(p, PAGE_SIZE, n);
	}
	ck_assert_int_ne(where[0], where[1]);
}
END_TEST

START_TEST(test_pages_emulated_not_bound)
{
	void *p;
	int mode = -1;

	ck_assert_int_eq(topology_init("node:2 core:1 pu:1"), 0);
	ck_assert(!topology_pages_are_bound());
	p = topology_alloc_pages(1, PAGE_SIZE);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(get_mempolicy(&mode, NULL, 0, p, MPOL_F_ADDR), 0);
	ck_assert_int_eq(mode, MPOL_DEFAULT);
	topology_free_pages(p, PAGE_SIZE, 1);
}
END_TEST

static Suite *topology_suite(void)
{
	Suite *s = suite_create("topology");
	TCase *tc;

	tc = tcase_create("discovery");
	tcase_add_loop_test(tc, test_synthetic_machines, 0, ARRAY_SIZE(synth));
	tcase_add_test(tc, test_xml_asymmetric_distances);
	tcase_add_test(tc, test_xml_without_suffix);
	tcase_add_test(tc, test_bad_spec_then_good);
	tcase_add_test(tc, test_init_once);
	tcase_add_test(tc, test_env_spec);
	tcase_add_test(tc, test_env_bad_falls_back_to_real);
	tcase_add_test(tc, test_real_machine);
	tcase_add_test(tc, test_describe_truncates);
	suite_add_tcase(s, tc);

	tc = tcase_create("cpu");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_thread_set_cpu);
	tcase_add_loop_test(tc, test_smp_processor_id_threads, 0, ARRAY_SIZE(cpu_range_specs));
	tcase_add_test(tc, test_pinned_cpu_synthetic);
	tcase_add_test(tc, test_pinned_cpu_real);
	tcase_add_test(tc, test_rseq_used);
	tcase_add_test(tc, test_cpu_without_rseq);
	suite_add_tcase(s, tc);

	tc = tcase_create("pages");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pages_alignment_accounting);
	tcase_add_test(tc, test_pages_bad_args);
	tcase_add_test(tc, test_pages_reuse);
	tcase_add_test(tc, test_pages_first_fit);
	tcase_add_test(tc, test_pages_trim);
	tcase_add_test(tc, test_pages_decay);
	tcase_add_test(tc, test_pages_no_decay);
	tcase_add_test(tc, test_pages_spans);
	tcase_add_test(tc, test_pages_fail_hook);
	tcase_add_test(tc, test_pages_os_failure);
	tcase_add_test_raise_signal(tc, test_pages_double_free_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_pages_wrong_node_aborts, SIGABRT);
	tcase_add_test(tc, test_pages_threads);
	tcase_add_test(tc, test_pages_real_bind);
	tcase_add_test(tc, test_pages_real_preferred);
	tcase_add_test(tc, test_pages_real_multinode);
	tcase_add_test(tc, test_pages_emulated_not_bound);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc > 1 && strcmp(argv[1], CPU_CHECK_CHILD_ARG) == 0)
		return cpu_check_child();
	/* Every test picks its own machine: each must run in its own process. */
	unsetenv("USLAB_TOPOLOGY");
	unsetenv("USLAB_NUMA_POLICY");
	sr = srunner_create(topology_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
