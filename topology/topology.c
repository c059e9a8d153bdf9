// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * topology/topology.c - the machine uslab sees and the CPU a thread runs on.
 *
 * topology_init() asks hwloc once per process for the possible CPUs (PUs),
 * the NUMA nodes, which node each CPU belongs to and the node distances, and
 * copies the answer into plain tables; hwloc is closed again at once. The
 * machine is the real one, or an emulated one when a spec is given (argument
 * or $USLAB_TOPOLOGY): an hwloc synthetic string ("node:4 core:2 pu:1") or
 * the path of an hwloc XML file; a synthetic string is measured first and
 * refused above USLAB_NR_CPUS CPUs or USLAB_MAX_NUMNODES nodes, since hwloc
 * builds the whole tree (minutes for a few hundred thousand PUs) before
 * anyone can count it. uslab ids are hwloc logical indexes, so
 * they are dense (0 .. n-1) even when OS indexes have holes; the OS indexes
 * of a real machine are kept for libnuma (nodes) and for mapping the CPU the
 * kernel reports (CPUs).
 *
 * The current CPU is read from the thread's rseq area, which glibc >= 2.35
 * registers for every thread (the kernel writes cpu_id on every return to
 * user space), so smp_processor_id() costs two loads instead of a vDSO call;
 * sched_getcpu() is the fallback when rseq is not registered. On an emulated
 * machine the real CPU is folded onto the emulated ids (real % nr_cpus).
 *
 * Locking: init_lock (a plain mutex: it is taken before any uslab lock can be
 * held and nests nothing) serialises topology_init(). The tables are written
 * once, under init_lock, before topology_ready is set with release order;
 * readers check topology_ready with acquire order and then read them without
 * any lock. They never change afterwards.
 */
#include "topology/internal.h"

#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#endif
/* glibc >= 2.35 defines RSEQ_SIG together with __rseq_offset/__rseq_size. */
#if defined(RSEQ_SIG) && defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
#define TOPOLOGY_HAVE_RSEQ 1
#endif
#endif
#ifndef TOPOLOGY_HAVE_RSEQ
#define TOPOLOGY_HAVE_RSEQ 0
#endif

/* Distances hwloc does not give: the ACPI SLIT defaults. */
#define LOCAL_DISTANCE  10
#define REMOTE_DISTANCE 20

enum machine_kind {
	MACHINE_REAL,
	MACHINE_SYNTHETIC,	/* hwloc synthetic string */
	MACHINE_XML,		/* hwloc XML file */
};

/*
 * The machine, as read at init. Invariants: 1 <= nr_cpus <= USLAB_NR_CPUS,
 * 1 <= nr_nodes <= USLAB_MAX_NUMNODES, sum(node_cpus) == nr_cpus,
 * order[n][0] == n and order[n] is a permutation of 0 .. nr_nodes-1.
 */
struct machine {
	unsigned int nr_cpus;
	unsigned int nr_nodes;
	enum machine_kind kind;
	char *spec;				/* as given; "" for the real machine */
	short cpu_node[USLAB_NR_CPUS];
	short cpu_of_os[USLAB_NR_CPUS];		/* real machine: OS cpu -> id, or -1 */
	unsigned int node_cpus[USLAB_MAX_NUMNODES];
	int node_os[USLAB_MAX_NUMNODES];	/* OS (libnuma) index of each node */
	int distance[USLAB_MAX_NUMNODES][USLAB_MAX_NUMNODES];	/* [from][to] */
	unsigned char order[USLAB_MAX_NUMNODES][USLAB_MAX_NUMNODES];
};

static struct machine topo;
static bool topology_ready;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

USLAB_TLS int topology_thread_cpu = -1;

static const char *const machine_kind_name[] = {
	[MACHINE_REAL] = "real",
	[MACHINE_SYNTHETIC] = "synthetic",
	[MACHINE_XML] = "xml",
};

/* An XML spec names an existing file or ends in ".xml"; anything else is synthetic. */
static bool spec_is_xml(const char *spec)
{
	size_t len = strlen(spec);
	struct stat st;

	if (len >= 4 && strcmp(spec + len - 4, ".xml") == 0)
		return true;
	return stat(spec, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int machine_read_cpus(struct machine *m, hwloc_topology_t t)
{
	int npu = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
	int nnode = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);

	if (npu <= 0 || npu > USLAB_NR_CPUS || nnode <= 0 || nnode > USLAB_MAX_NUMNODES)
		return -EINVAL;
	m->nr_cpus = (unsigned int)npu;
	m->nr_nodes = (unsigned int)nnode;

	for (int n = 0; n < nnode; n++)
		m->node_os[n] = (int)hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, (unsigned)n)->os_index;
	for (int i = 0; i < USLAB_NR_CPUS; i++)
		m->cpu_of_os[i] = -1;

	for (int i = 0; i < npu; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, (unsigned)i);
		int node = 0;

		/*
		 * The first node (by logical index) whose cpuset holds the PU:
		 * when several do (DRAM plus HBM or CXL memory near the same
		 * cores), hwloc lists the normal memory first, and that is the
		 * node the kernel's cpu_to_node() names.
		 */
		for (int n = 0; n < nnode; n++) {
			hwloc_obj_t node_obj = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, (unsigned)n);

			if (node_obj->cpuset && hwloc_bitmap_isset(node_obj->cpuset, pu->os_index)) {
				node = n;
				break;
			}
		}
		m->cpu_node[i] = (short)node;
		m->node_cpus[node]++;
		if (pu->os_index < USLAB_NR_CPUS)
			m->cpu_of_os[pu->os_index] = (short)i;
	}
	return 0;
}

/* The matrix to use: a latency one (covering most nodes), else any but bandwidth. */
static struct hwloc_distances_s *pick_distances(struct hwloc_distances_s **d, unsigned int nr)
{
	struct hwloc_distances_s *best = NULL;

	for (unsigned int i = 0; i < nr; i++) {
		if (!(d[i]->kind & HWLOC_DISTANCES_KIND_MEANS_LATENCY))
			continue;
		if (!best || d[i]->nbobjs > best->nbobjs)
			best = d[i];
	}
	if (best)
		return best;
	/* Bandwidth grows as nodes get closer: the opposite of a distance. */
	for (unsigned int i = 0; i < nr; i++) {
		if (d[i]->kind & HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH)
			continue;
		if (!best || d[i]->nbobjs > best->nbobjs)
			best = d[i];
	}
	return best;
}

/*
 * Fill m->distance from hwloc's NUMA distance matrix. Values are copied as
 * hwloc gives them (on Linux the firmware SLIT, 10 = local); pairs the
 * matrix does not cover keep the SLIT defaults.
 */
static void machine_read_distances(struct machine *m, hwloc_topology_t t)
{
	struct hwloc_distances_s *d[16];
	unsigned int nr = ARRAY_SIZE(d);

	for (unsigned int i = 0; i < m->nr_nodes; i++)
		for (unsigned int j = 0; j < m->nr_nodes; j++)
			m->distance[i][j] = i == j ? LOCAL_DISTANCE : REMOTE_DISTANCE;

	if (hwloc_distances_get_by_type(t, HWLOC_OBJ_NUMANODE, &nr, d, 0, 0) < 0)
		return;
	/* hwloc reports how many exist, which may be more than it filled in. */
	nr = MIN(nr, (unsigned int)ARRAY_SIZE(d));

	struct hwloc_distances_s *best = pick_distances(d, nr);

	if (best) {
		unsigned int nb = best->nbobjs;

		for (unsigned int i = 0; i < nb; i++) {
			for (unsigned int j = 0; j < nb; j++) {
				unsigned int from = best->objs[i]->logical_index;
				unsigned int to = best->objs[j]->logical_index;
				hwloc_uint64_t v = best->values[i * nb + j];

				if (from >= m->nr_nodes || to >= m->nr_nodes || v == 0)
					continue;
				m->distance[from][to] = v > INT_MAX ? INT_MAX : (int)v;
			}
		}
	}
	for (unsigned int i = 0; i < nr; i++)
		hwloc_distances_release(t, d[i]);
}

/* order[n] = nodes by distance from n: n first, then nearest, ties by id. */
static void machine_sort_nodes(struct machine *m)
{
	for (unsigned int n = 0; n < m->nr_nodes; n++) {
		unsigned char *o = m->order[n];
		unsigned int k = 0;

		o[k++] = (unsigned char)n;
		for (unsigned int j = 0; j < m->nr_nodes; j++) {
			unsigned int pos;

			if (j == n)
				continue;
			/* Insertion sort; stable, and j grows, so ties stay by id. */
			for (pos = k; pos > 1 && m->distance[n][o[pos - 1]] > m->distance[n][j]; pos--)
				o[pos] = o[pos - 1];
			o[pos] = (unsigned char)j;
			k++;
		}
	}
}

/* @a * @b, saturating at ULONG_MAX. */
static unsigned long mul_sat(unsigned long a, unsigned long b)
{
	unsigned long r;

	return __builtin_mul_overflow(a, b, &r) ? ULONG_MAX : r;
}

/* Length of the "(...)" group at @p, nested groups included. */
static size_t paren_len(const char *p)
{
	size_t i = 0;
	int depth = 0;

	do {
		if (p[i] == '(')
			depth++;
		else if (p[i] == ')')
			depth--;
		i++;
	} while (p[i] && depth > 0);
	return i;
}

/* True when the level or memory child at @tok ("numa:2", "node(memory=1GB)") is a NUMA node. */
static bool synthetic_is_numa(const char *tok, size_t len)
{
	char type[32];
	size_t n = strcspn(tok, ":( \t\n]");
	hwloc_obj_type_t t;

	if (n == 0 || n >= sizeof(type) || n > len)
		return false;
	memcpy(type, tok, n);
	type[n] = '\0';
	return hwloc_type_sscanf(type, &t, NULL, 0) == 0 && t == HWLOC_OBJ_NUMANODE;
}

/*
 * Count the PUs and NUMA nodes a synthetic description asks for, from the
 * string alone, as hwloc's parser reads it: levels "[type:]N[(attributes)]"
 * separated by blanks, N read by strtoul() in base 0; the PUs are the product
 * of the arities; a NUMA level adds the objects it makes, a memory child
 * "[numa...]" one per object of the level before it. hwloc builds the whole
 * tree before anyone can look at it, and for 262,144 PUs that takes it
 * minutes, hence the count first. A string this does not follow is counted
 * as far as it goes: hwloc then refuses it.
 */
static void synthetic_size(const char *spec, unsigned long *pus, unsigned long *nodes)
{
	unsigned long width = 1;	/* objects in the level read last (the root: 1) */
	const char *p = spec;

	*nodes = 0;
	while (*p) {
		const char *tok;
		char *end;
		unsigned long arity;

		if (*p == ' ' || *p == '\t' || *p == '\n') {
			p++;
			continue;
		}
		if (*p == '(') {		/* the root's attributes */
			p += paren_len(p);
			continue;
		}
		if (*p == '[') {		/* a memory child of every object of the last level */
			size_t len = 1;

			while (p[len] && p[len] != ']')
				len += p[len] == '(' ? paren_len(p + len) : 1;
			if (synthetic_is_numa(p + 1, len - 1))
				*nodes = *nodes > ULONG_MAX - width ? ULONG_MAX : *nodes + width;
			p += len + (p[len] == ']');
			continue;
		}
		tok = p;
		if (*p < '0' || *p > '9') {
			p += strcspn(p, ": \t\n([");
			if (*p != ':')
				break;
			p++;
		}
		arity = strtoul(p, &end, 0);
		if (end == p)
			break;
		width = mul_sat(width, arity);
		if (tok != p && synthetic_is_numa(tok, (size_t)(p - tok)))
			*nodes = *nodes > ULONG_MAX - width ? ULONG_MAX : *nodes + width;
		p = end;
		if (*p == '(')
			p += paren_len(p);
	}
	*pus = width;
}

/*
 * Build the machine of @spec ("" = the real one) into @m. On failure, @why
 * (of @why_len bytes) says what was wrong when more can be said than "hwloc
 * refused it".
 */
static int machine_discover(struct machine *m, const char *spec, char *why, size_t why_len)
{
	hwloc_topology_t t;
	int err;

	if (*spec && !spec_is_xml(spec)) {
		unsigned long pus, nodes;

		synthetic_size(spec, &pus, &nodes);
		if (pus > USLAB_NR_CPUS || nodes > USLAB_MAX_NUMNODES) {
			snprintf(why, why_len, "it describes %lu CPUs and %lu NUMA nodes, uslab "
				 "supports at most %d and %d", pus, nodes, USLAB_NR_CPUS,
				 USLAB_MAX_NUMNODES);
			return -EINVAL;
		}
	}
	if (hwloc_topology_init(&t) < 0)
		return -ENOMEM;
	m->kind = MACHINE_REAL;
	if (*spec) {
		if (spec_is_xml(spec)) {
			m->kind = MACHINE_XML;
			err = hwloc_topology_set_xml(t, spec);
		} else {
			m->kind = MACHINE_SYNTHETIC;
			err = hwloc_topology_set_synthetic(t, spec);
		}
		if (err < 0) {
			snprintf(why, why_len, "hwloc cannot read it");
			err = -EINVAL;
			goto out;
		}
	}
	if (hwloc_topology_load(t) < 0) {
		snprintf(why, why_len, "hwloc cannot load it");
		err = -EINVAL;
		goto out;
	}
	err = machine_read_cpus(m, t);
	if (err) {
		snprintf(why, why_len, "it has no CPU or node, more than %d CPUs or more than %d "
			 "NUMA nodes", USLAB_NR_CPUS, USLAB_MAX_NUMNODES);
		goto out;
	}
	machine_read_distances(m, t);
	machine_sort_nodes(m);
	m->spec = strdup(spec);
	if (!m->spec)
		err = -ENOMEM;
out:
	hwloc_topology_destroy(t);
	return err;
}

/* topology_init() with @spec already resolved ("" = real machine); @why as machine_discover's. */
static int topology_init_spec(const char *spec, bool explicit_spec, char *why, size_t why_len)
{
	struct machine *m;
	int err = 0;

	pthread_mutex_lock(&init_lock);
	if (__atomic_load_n(&topology_ready, __ATOMIC_ACQUIRE)) {
		if (explicit_spec && strcmp(spec, topo.spec) != 0)
			err = -EBUSY;
		goto out;
	}
	/* Build aside, so that a bad spec leaves nothing behind. */
	m = calloc(1, sizeof(*m));
	if (!m) {
		err = -ENOMEM;
		goto out;
	}
	err = machine_discover(m, spec, why, why_len);
	if (!err) {
		topo = *m;
		__atomic_store_n(&topology_ready, true, __ATOMIC_RELEASE);
	} else {
		free(m->spec);
	}
	free(m);
out:
	pthread_mutex_unlock(&init_lock);
	return err;
}

int topology_init(const char *spec)
{
	bool explicit_spec = spec != NULL;
	char why[160];

	if (!spec)
		spec = getenv("USLAB_TOPOLOGY");
	return topology_init_spec(spec ? spec : "", explicit_spec, why, sizeof(why));
}

void topology_ensure_init(void)
{
	const char *spec;
	char why[160] = "hwloc cannot use it";

	if (likely(__atomic_load_n(&topology_ready, __ATOMIC_ACQUIRE)))
		return;
	spec = getenv("USLAB_TOPOLOGY");
	if (topology_init_spec(spec ? spec : "", false, why, sizeof(why)) < 0) {
		/* A bad USLAB_TOPOLOGY must not leave us without a machine. */
		fprintf(stderr, "uslab: cannot use topology '%s' (%s); using the real machine\n",
			spec ? spec : "", why);
		if (topology_init_spec("", false, why, sizeof(why)) < 0)
			uslab_assert_fail("hwloc cannot describe this machine", __FILE__, __LINE__);
	}
}

/* The check every accessor starts with, inlined: one acquire load. */
static inline void topology_check_ready(void)
{
	if (unlikely(!__atomic_load_n(&topology_ready, __ATOMIC_ACQUIRE)))
		topology_ensure_init();
}

/* The CPU the kernel says we run on, or -1. */
static inline int topology_read_real_cpu(void)
{
#if TOPOLOGY_HAVE_RSEQ
	/*
	 * __rseq_size is 0 when glibc did not register rseq (an older kernel,
	 * glibc.pthread.rseq=0, or someone else registered first); cpu_id is
	 * negative until registration completed.
	 */
	if (likely(__rseq_size > 0)) {
		const struct rseq *rs = (const struct rseq *)
			((const char *)__builtin_thread_pointer() + __rseq_offset);
		int cpu = (int)READ_ONCE(rs->cpu_id);

		if (likely(cpu >= 0))
			return cpu;
	}
#endif
	return sched_getcpu();
}

int topology_current_cpu_slow(void)
{
	int cpu = topology_read_real_cpu();

	topology_check_ready();
	if (unlikely(cpu < 0))
		cpu = 0;
	if (topo.kind == MACHINE_REAL && likely(cpu < USLAB_NR_CPUS) && topo.cpu_of_os[cpu] >= 0)
		return topo.cpu_of_os[cpu];
	/* Emulated, or a CPU hwloc did not list (outside our cpuset at init). */
	return cpu % (int)topo.nr_cpus;
}

bool topology_real_cpu_uses_rseq(void)
{
#if TOPOLOGY_HAVE_RSEQ
	return __rseq_size > 0;
#else
	return false;
#endif
}

unsigned int topology_nodes_by_distance(int nid, int *order, unsigned int max)
{
	unsigned int n;

	topology_check_ready();
	if (nid < 0 || nid >= (int)topo.nr_nodes)
		return 0;
	n = MIN(max, topo.nr_nodes);
	for (unsigned int i = 0; i < n; i++)
		order[i] = topo.order[nid][i];
	return n;
}

int topology_node_os_index(int nid)
{
	topology_check_ready();
	if (nid < 0 || nid >= (int)topo.nr_nodes)
		return -1;
	return topo.node_os[nid];
}

unsigned int uslab_nr_cpu_ids(void)
{
	topology_check_ready();
	return topo.nr_cpus;
}

unsigned int uslab_nr_node_ids(void)
{
	topology_check_ready();
	return topo.nr_nodes;
}

int cpu_to_node(int cpu)
{
	topology_check_ready();
	if (cpu < 0 || cpu >= (int)topo.nr_cpus)
		return -1;
	return topo.cpu_node[cpu];
}

int smp_processor_id(void)
{
	return topology_current_cpu();
}

int numa_node_id(void)
{
	return cpu_to_node(topology_current_cpu());
}

int node_distance(int from, int to)
{
	topology_check_ready();
	if (from < 0 || to < 0 || from >= (int)topo.nr_nodes || to >= (int)topo.nr_nodes)
		return -1;
	return topo.distance[from][to];
}

unsigned int uslab_nr_cpus_node(int node)
{
	topology_check_ready();
	if (node < 0 || node >= (int)topo.nr_nodes)
		return 0;
	return topo.node_cpus[node];
}

int uslab_thread_set_cpu(int cpu)
{
	topology_check_ready();
	if (cpu < -1 || cpu >= (int)topo.nr_cpus)
		return -EINVAL;
	topology_thread_cpu = cpu;
	return 0;
}

bool uslab_topology_is_synthetic(void)
{
	topology_check_ready();
	return topo.kind != MACHINE_REAL;
}

int uslab_topology_describe(char *buf, size_t len)
{
	topology_check_ready();
	return snprintf(buf, len, "%s: %u node%s, %u cpu%s", machine_kind_name[topo.kind],
			topo.nr_nodes, topo.nr_nodes == 1 ? "" : "s",
			topo.nr_cpus, topo.nr_cpus == 1 ? "" : "s");
}

bool topology_cpu_ids_are_os_ids(void)
{
	topology_check_ready();
	if (topo.kind != MACHINE_REAL)
		return false;
	for (int os = 0; os < USLAB_NR_CPUS; os++) {
		int id = topo.cpu_of_os[os];

		if (id >= 0 && id != os)
			return false;
		if (id < 0 && os < (int)topo.nr_cpus)
			return false;
	}
	return true;
}

void topology_fork_init(enum fork_phase phase)
{
	pthread_mutex_fork(&init_lock, phase);
}
