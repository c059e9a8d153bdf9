// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench/tenant-bench.c - tenants at scale (issue 14), uslab only, through
 * the public API. A tenant is a mem_cgroup holding one object of each of
 * ten SLAB_ACCOUNT caches (32 .. 4096 B, with constructors) plus
 * kmalloc(40), kmalloc(300) and kmalloc(20000) with GFP_KERNEL_ACCOUNT:
 * 28 KiB live.
 *
 * For each scale (100, 1,000, 3,000 and 10,000 tenants; --quick: 100 and
 * 1,000) a fresh child process of this program measures:
 *   - RSS per tenant and the time to create and load each, for N tenants;
 *   - lifecycles (create, load, free, destroy one more tenant) among the N,
 *     alone and while a noisy neighbour (a thread attached to a tenant with
 *     memory.max 256K) allocates in a loop at its limit: every allocation
 *     beyond it fails; alternating blocks, medians, and the slowdown;
 *   - free + destroy of all N, per tenant;
 *   - the RSS kept, as a share of the growth, after everything is freed and
 *     destroyed and the root caches shrunk; then after two decay periods
 *     (USLAB_DECAY_MS, else --decay-ms, default 1000); then after
 *     uslab_trim() (looked up with dlsym: n/a until the library has it).
 * When tenant creation fails (the library stops at 4,095 kmem ids today)
 * the child reports how many it reached and the errno and measures the rest
 * with those. A last child probes capacity: tenants with one accounted
 * object each until creation fails or 65,535 are online (or memory or time
 * runs short), then tears them down.
 *
 * The parent prints one table with the targets (read at 3,000
 * tenants) and met / NOT met. Exit status non-zero only when a child
 * crashed or a correctness check failed (constructor pattern, validation,
 * a cache that still has objects at the end), never for a missed target.
 *
 *   tenant-bench [--quick] [--sizes a,b,...] [--capacity N] [--decay-ms N]
 */
#define _GNU_SOURCE
#include <uslab/memcg.h>
#include <uslab/slab.h>

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NR_CACHES       10
#define NR_KMALLOC      3
#define NR_OBJS         (NR_CACHES + NR_KMALLOC)
#define CTOR_PATTERN    0x5a5a5a5a5a5a5a5aull
#define NOISY_MAX       "256K"
#define NOISY_RING      4096
#define NOISY_FAIL_RUN  256
#define MAX_SIZES       8
#define MAX_LC          4096
#define LC_BLOCKS       2          /* base and noisy blocks, alternating, each */
#define LC_BLOCK_NS     2000000000ull   /* a block stops after 2 s ... */
#define LC_BLOCK_MIN    3               /* ... once it has this many lifecycles */
#define CAPACITY_MAX    65535
#define CAPACITY_NS     120000000000ull /* the probe gives up after 2 minutes */
#define DEFAULT_DECAY_MS 1000u

static const unsigned int cache_size[NR_CACHES] = { 32, 48, 64, 96, 128, 256, 512, 1024,
						    2048, 4096 };
static const size_t kmalloc_size[NR_KMALLOC] = { 40, 300, 20000 };

struct tenant {
	struct mem_cgroup *memcg;
	void *obj[NR_OBJS];
};

static struct kmem_cache *caches[NR_CACHES];
static int check_failures;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long rss_kib(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void allowed_cpus(int *first, int *last)
{
	cpu_set_t set;

	*first = *last = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (*first < 0)
			*first = c;
		*last = c;
	}
}

/* Memory the bench itself uses, kept out of every allocator's books. */
static void *map_zeroed(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("tenant-bench: mmap");
		exit(3);
	}
	memset(p, 0, bytes);
	return p;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "tenant-bench: check failed: %s\n", what);
		check_failures++;
	}
}

/* ---- tenants ----------------------------------------------------------------------- */

static void tb_ctor(void *p)
{
	*(uint64_t *)p = CTOR_PATTERN;
}

static int make_caches(void)
{
	for (int i = 0; i < NR_CACHES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "tenant-bench-%u", cache_size[i]);
		caches[i] = kmem_cache_create(name, cache_size[i], 0, SLAB_ACCOUNT, tb_ctor);
		if (!caches[i]) {
			fprintf(stderr, "tenant-bench: kmem_cache_create %s: %s\n", name,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Allocate @t's objects as its tenant. Return: 0 or the errno of the failing allocation. */
static int tenant_load(struct tenant *t)
{
	struct mem_cgroup *prev = set_active_memcg(t->memcg);
	int err = 0;

	for (int i = 0; i < NR_OBJS && !err; i++) {
		void *p = i < NR_CACHES ? kmem_cache_alloc(caches[i], GFP_KERNEL)
					: kmalloc(kmalloc_size[i - NR_CACHES], GFP_KERNEL_ACCOUNT);
		size_t n = i < NR_CACHES ? cache_size[i] : kmalloc_size[i - NR_CACHES];

		if (!p) {
			err = errno ? errno : ENOMEM;
			break;
		}
		if (i < NR_CACHES)
			check(*(uint64_t *)p == CTOR_PATTERN, "constructed object");
		else
			*(unsigned char *)p = (unsigned char)i;
		((unsigned char *)p)[n - 1] = (unsigned char)i;
		t->obj[i] = p;
	}
	set_active_memcg(prev);
	return err;
}

static void tenant_free(struct tenant *t)
{
	for (int i = 0; i < NR_OBJS; i++) {
		if (!t->obj[i])
			continue;
		if (i < NR_CACHES)
			kmem_cache_free(caches[i], t->obj[i]);
		else
			kfree(t->obj[i]);
		t->obj[i] = NULL;
	}
}

/* Create and load one tenant. Return: 0 or an errno (nothing is left behind then). */
static int tenant_create(struct tenant *t, const char *name)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->memcg = mem_cgroup_create(NULL, name);
	if (!t->memcg)
		return errno ? errno : ENOMEM;
	err = tenant_load(t);
	if (err) {
		tenant_free(t);
		mem_cgroup_destroy(t->memcg);
		t->memcg = NULL;
	}
	return err;
}

static void tenant_destroy(struct tenant *t)
{
	tenant_free(t);
	check(mem_cgroup_destroy(t->memcg) == 0, "mem_cgroup_destroy");
	t->memcg = NULL;
}

/* Shrink the ten root caches and the kmalloc roots the accounted kmallocs use. */
static void shrink_roots(void)
{
	for (int i = 0; i < NR_CACHES; i++)
		kmem_cache_shrink(caches[i]);
	for (int i = 0; i < NR_KMALLOC; i++) {
		void *p = kmalloc(kmalloc_size[i], GFP_KERNEL_ACCOUNT);   /* the root's */
		struct kmem_cache *s = p ? uslab_obj_cache(p) : NULL;

		kfree(p);
		if (s)
			kmem_cache_shrink(s);
	}
}

/* ---- the noisy neighbour ----------------------------------------------------------- */

struct noisy {
	struct mem_cgroup *memcg;
	int cpu;
	atomic_bool stop;
	atomic_ulong failures, allocs;
	pthread_t tid;
};

/*
 * Attached to a tenant with a small memory.max, allocate in a loop (64 B ..
 * 4 KiB, accounted kmalloc): once the limit is reached every allocation
 * fails, after the tenant's reclaim. Like a service whose cache churns at
 * its limit, after NOISY_FAIL_RUN failures in a row it frees its oldest
 * quarter and fills up again, so its slabs are also freed, uncharged,
 * grown and charged.
 */
static void *noisy_main(void *arg)
{
	struct noisy *n = arg;
	void **ring = map_zeroed(NOISY_RING * sizeof(void *));
	unsigned int head = 0, count = 0, failed_in_row = 0;

	pin_self(n->cpu);
	if (mem_cgroup_attach_thread(n->memcg) != 0) {
		check(false, "mem_cgroup_attach_thread");
		atomic_store(&n->failures, 1);
		return NULL;
	}
	for (unsigned long i = 0; !atomic_load_explicit(&n->stop, memory_order_relaxed); i++) {
		void *p = kmalloc(64u << (i % 7), GFP_KERNEL_ACCOUNT);

		if (!p) {
			atomic_fetch_add_explicit(&n->failures, 1, memory_order_relaxed);
			if (++failed_in_row < NOISY_FAIL_RUN)
				continue;
			for (unsigned int k = count / 4; k > 0; k--) {
				unsigned int oldest = (head + NOISY_RING - count) % NOISY_RING;

				kfree(ring[oldest]);
				ring[oldest] = NULL;   /* the final sweep frees the rest */
				count--;
			}
			failed_in_row = 0;
			continue;
		}
		failed_in_row = 0;
		atomic_fetch_add_explicit(&n->allocs, 1, memory_order_relaxed);
		if (count == NOISY_RING) {
			kfree(ring[head]);
			count--;
		}
		ring[head] = p;
		head = (head + 1) % NOISY_RING;
		count++;
	}
	for (unsigned int i = 0; i < NOISY_RING; i++)
		kfree(ring[i]);
	mem_cgroup_attach_thread(NULL);
	munmap(ring, NOISY_RING * sizeof(void *));
	return NULL;
}

static int noisy_start(struct noisy *n, int cpu)
{
	memset(n, 0, sizeof(*n));
	n->cpu = cpu;
	n->memcg = mem_cgroup_create(NULL, "noisy");
	if (!n->memcg)
		return errno;
	if (mem_cgroup_write(n->memcg, "memory.max", NOISY_MAX) != 0 ||
	    pthread_create(&n->tid, NULL, noisy_main, n) != 0) {
		mem_cgroup_destroy(n->memcg);
		return EINVAL;
	}
	/* Lifecycles are timed only once the neighbour sits at its limit. */
	while (atomic_load(&n->failures) == 0)
		sched_yield();
	return 0;
}

static void noisy_stop(struct noisy *n)
{
	atomic_store(&n->stop, true);
	pthread_join(n->tid, NULL);
	check(mem_cgroup_destroy(n->memcg) == 0, "mem_cgroup_destroy noisy");
}

/* ---- one scale --------------------------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

static double median(double *v, unsigned int n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A block of lifecycles among the others; each one's time in us appended to @v. */
static void lifecycle_block(double *v, unsigned int *nv, unsigned int max, int *err)
{
	uint64_t start = now_ns();
	struct tenant t;

	for (unsigned int i = 0; i < max && *nv < MAX_LC; i++) {
		uint64_t t0 = now_ns();
		int e = tenant_create(&t, "lifecycle");

		if (e) {
			*err = e;
			return;
		}
		tenant_destroy(&t);
		v[(*nv)++] = (double)(now_ns() - t0) / 1e3;
		if (i + 1 >= LC_BLOCK_MIN && now_ns() - start > LC_BLOCK_NS)
			return;
	}
}

static void kept(const char *key, long rss, long before, long loaded)
{
	if (rss < 0 || loaded <= before)
		printf(" %s=nan", key);
	else
		printf(" %s=%.1f", key, (double)(rss - before) * 100.0 / (double)(loaded - before));
}

static int child_scale(unsigned int n, unsigned int lifecycles, unsigned int decay_ms)
{
	struct tenant *ten = map_zeroed((size_t)n * sizeof(*ten)), warm;
	static double base[MAX_LC], noisy_lc[MAX_LC];
	unsigned int reached = 0, nb = 0, nn = 0;
	unsigned long noisy_fail = 0, noisy_allocs = 0;
	int create_err = 0, lc_err = 0, noisy_err = 0, first, last;
	long before, loaded, shrunk, decayed, trimmed = -1;
	uint64_t t0, t_create, t_free;
	unsigned long (*trim)(void);
	struct noisy nz;
	char name[32];

	allowed_cpus(&first, &last);
	pin_self(last);
	if (make_caches())
		return 3;
	/* One-time set-up (root caches' slabs, the tree) out of the per-tenant figures. */
	if (tenant_create(&warm, "warm-up") == 0)
		tenant_destroy(&warm);
	shrink_roots();
	before = rss_kib();

	t0 = now_ns();
	for (reached = 0; reached < n; reached++) {
		snprintf(name, sizeof(name), "t%u", reached);
		create_err = tenant_create(&ten[reached], name);
		if (create_err)
			break;
	}
	t_create = now_ns() - t0;
	loaded = rss_kib();

	/* Room for the lifecycle tenant and the noisy one when creation stopped early. */
	unsigned int others = reached;

	for (int k = 0; k < 2 && create_err && others > 0; k++)
		tenant_destroy(&ten[--others]);
	for (int b = 0; b < LC_BLOCKS && !lc_err; b++) {
		lifecycle_block(base, &nb, lifecycles / LC_BLOCKS, &lc_err);
		if (lc_err)
			break;
		noisy_err = noisy_start(&nz, first != last ? first : -1);
		if (noisy_err)
			break;
		lifecycle_block(noisy_lc, &nn, lifecycles / LC_BLOCKS, &lc_err);
		noisy_stop(&nz);
		noisy_fail += atomic_load(&nz.failures);
		noisy_allocs += atomic_load(&nz.allocs);
	}

	t0 = now_ns();
	for (unsigned int i = 0; i < others; i++)
		tenant_destroy(&ten[i]);
	t_free = now_ns() - t0;
	shrink_roots();
	shrunk = rss_kib();
	sleep_ms(2 * decay_ms);
	decayed = rss_kib();
	*(void **)&trim = dlsym(RTLD_DEFAULT, "uslab_trim");
	if (trim) {
		trim();
		trimmed = rss_kib();
	}

	for (int i = 0; i < NR_CACHES; i++) {
		check(uslab_cache_validate(caches[i]) == 0, "uslab_cache_validate");
		check(uslab_cache_destroy(caches[i]) == 0, "cache still has objects at the end");
	}
	printf("@scale n=%u reached=%u create_errno=%d create_us=%.2f rss_before_kib=%ld "
	       "rss_loaded_kib=%ld rss_per_tenant_kib=%.2f others=%u lc_n=%u lc_us=%.1f "
	       "lc_errno=%d noisy_n=%u noisy_us=%.1f noisy_errno=%d noisy_failures=%lu "
	       "noisy_allocs=%lu free_destroy_us=%.2f",
	       n, reached, create_err, reached ? (double)t_create / 1e3 / reached : NAN, before,
	       loaded, reached ? (double)(loaded - before) / reached : NAN, others, nb,
	       median(base, nb), lc_err, nn, median(noisy_lc, nn), noisy_err, noisy_fail,
	       noisy_allocs, others ? (double)t_free / 1e3 / others : NAN);
	kept("kept_shrunk_pct", shrunk, before, loaded);
	kept("kept_decay_pct", decayed, before, loaded);
	kept("kept_trim_pct", trimmed, before, loaded);
	printf(" checks=%d\n", check_failures);
	fflush(stdout);
	return check_failures ? 1 : 0;
}

/* ---- the capacity probe ------------------------------------------------------------ */

static long mem_available_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int child_capacity(unsigned int max)
{
	struct mem_cgroup **m = map_zeroed((size_t)max * sizeof(*m));
	void **obj = map_zeroed((size_t)max * sizeof(*obj));
	long avail = mem_available_kib(), before = rss_kib(), at_max;
	/* Stop at half the memory available when the probe started. */
	long rss_cap = avail > 0 ? avail / 2 : 8l << 20;
	const char *why = "limit";
	unsigned int n;
	int err = 0;
	uint64_t t0 = now_ns(), t_create, t_free;
	char name[32];

	for (n = 0; n < max; n++) {
		struct mem_cgroup *prev;

		snprintf(name, sizeof(name), "c%u", n);
		m[n] = mem_cgroup_create(NULL, name);
		if (!m[n]) {
			err = errno;
			why = "mem_cgroup_create";
			break;
		}
		prev = set_active_memcg(m[n]);
		obj[n] = kmalloc(64, GFP_KERNEL_ACCOUNT);
		err = obj[n] ? 0 : errno;
		set_active_memcg(prev);
		if (!obj[n]) {
			mem_cgroup_destroy(m[n]);
			why = "kmalloc";
			break;
		}
		if (n % 1024 == 1023) {
			if (rss_kib() - before > rss_cap) {
				n++;
				why = "memory";
				break;
			}
			if (now_ns() - t0 > CAPACITY_NS) {
				n++;
				why = "time";
				break;
			}
		}
	}
	t_create = now_ns() - t0;
	at_max = rss_kib();
	t0 = now_ns();
	for (unsigned int i = 0; i < n; i++) {
		kfree(obj[i]);
		check(mem_cgroup_destroy(m[i]) == 0, "mem_cgroup_destroy");
	}
	t_free = now_ns() - t0;
	printf("@capacity online=%u stop=%s errno=%d create_us=%.2f free_destroy_us=%.2f "
	       "rss_per_tenant_kib=%.2f checks=%d\n", n, why, err,
	       n ? (double)t_create / 1e3 / n : NAN, n ? (double)t_free / 1e3 / n : NAN,
	       n ? (double)(at_max - before) / n : NAN, check_failures);
	fflush(stdout);
	return check_failures ? 1 : 0;
}

/* ---- parent ------------------------------------------------------------------------ */

static double field(const char *s, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(s, pat);
	return p ? strtod(p + strlen(pat), NULL) : NAN;
}

static const char *field_str(const char *s, const char *key, char *buf, size_t len)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(s, pat);
	if (!p)
		return "?";
	p += strlen(pat);
	snprintf(buf, len, "%.*s", (int)strcspn(p, " \n"), p);
	return buf;
}

/* Run this program as "--child ARGS..." and keep the line that starts with @tag. */
static int run_child(char *const args[], const char *tag, char *line, size_t len)
{
	char *argv[16] = { "tenant-bench", "--child" };
	int fd[2], status, n = 2;
	bool got = false;
	FILE *f;
	pid_t pid;

	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	line[0] = '\0';
	if (pipe(fd))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		execv("/proc/self/exe", argv);
		perror("tenant-bench: execv /proc/self/exe");
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	while (f && !got && fgets(line, (int)len, f))
		got = strncmp(line, tag, strlen(tag)) == 0;
	if (!got)
		line[0] = '\0';
	while (f && fgetc(f) != EOF)
		;
	if (f)
		fclose(f);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "tenant-bench: child %s %s killed by signal %d\n", args[0],
			args[1] ? args[1] : "", WTERMSIG(status));
	return got && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static unsigned int nsizes;
static unsigned int sizes[MAX_SIZES];
static char results[MAX_SIZES][1024];
static bool result_ok[MAX_SIZES];

/* The column of the target: 3,000 tenants, else the largest scale run. */
static int target_column(void)
{
	int col = -1;

	for (unsigned int i = 0; i < nsizes; i++)
		if (sizes[i] == 3000)
			return (int)i;
	for (unsigned int i = 0; i < nsizes; i++)
		if (result_ok[i] && (col < 0 || sizes[i] > sizes[col]))
			col = (int)i;
	return col;
}

static void row(const char *label, const char *key, const char *fmt, const char *target)
{
	printf("%-44s", label);
	for (unsigned int i = 0; i < nsizes; i++) {
		double v = result_ok[i] ? field(results[i], key) : NAN;
		char cell[32];

		if (isnan(v))
			snprintf(cell, sizeof(cell), "n/a");
		else
			snprintf(cell, sizeof(cell), fmt, v);
		printf("%12s", cell);
	}
	printf("   %s\n", target ? target : "");
}

static void verdict(const char *what, double v, bool met, const char *fmt)
{
	char val[32];

	snprintf(val, sizeof(val), fmt, v);
	printf("  %-58s %12s  %s\n", what, isnan(v) ? "n/a" : val,
	       isnan(v) ? "n/a" : met ? "met" : "NOT met");
}

/* max / min of @key over the scales that have it. */
static double flatness(const char *key)
{
	double lo = NAN, hi = NAN;

	for (unsigned int i = 0; i < nsizes; i++) {
		double v = result_ok[i] ? field(results[i], key) : NAN;

		if (isnan(v))
			continue;
		lo = isnan(lo) || v < lo ? v : lo;
		hi = isnan(hi) || v > hi ? v : hi;
	}
	return hi / lo;
}

static void print_report(const char *cap, bool cap_ok, unsigned int cap_max, unsigned int decay_ms)
{
	int tc = target_column();
	const char *r = tc >= 0 ? results[tc] : "";
	char buf[64], label[64];

	printf("\ntenants at scale (issue 14): 10 SLAB_ACCOUNT caches 32..4096 B with constructors "
	       "+ kmalloc\n40/300/20000 B accounted per tenant (28 KiB live); noisy neighbour: "
	       "a thread in a tenant\nwith memory.max %s allocating in a loop at its limit\n\n",
	       NOISY_MAX);
	printf("%-44s", "tenants asked for");
	for (unsigned int i = 0; i < nsizes; i++)
		printf("%12u", sizes[i]);
	printf("   target\n");
	printf("%-44s", "tenants online (errno when creation stopped)");
	for (unsigned int i = 0; i < nsizes; i++) {
		char cell[32];
		double e = result_ok[i] ? field(results[i], "create_errno") : NAN;

		if (!result_ok[i])
			snprintf(cell, sizeof(cell), "FAILED");
		else if (e > 0)
			snprintf(cell, sizeof(cell), "%.0f %s", field(results[i], "reached"),
				 strerrorname_np((int)e) ? strerrorname_np((int)e) : "?");
		else
			snprintf(cell, sizeof(cell), "%.0f", field(results[i], "reached"));
		printf("%12s", cell);
	}
	printf("\n");
	row("RSS per tenant, KiB", "rss_per_tenant_kib", "%.1f", "<= 80 (3,000)");
	row("create + load, per tenant, us", "create_us", "%.1f", "");
	row("lifecycle among the others, us (median)", "lc_us", "%.0f", "<= 150, flat");
	row("  the same, noisy neighbour at memory.max", "noisy_us", "%.0f", "");
	printf("%-44s", "  slowdown");
	for (unsigned int i = 0; i < nsizes; i++) {
		double a = result_ok[i] ? field(results[i], "lc_us") : NAN;
		double b = result_ok[i] ? field(results[i], "noisy_us") : NAN;
		char cell[32];

		snprintf(cell, sizeof(cell), isnan(a) || isnan(b) ? "n/a" : "x%.2f", b / a);
		printf("%12s", cell);
	}
	printf("   <= x1.5\n");
	printf("%-44s", "  lifecycles timed, alone / noisy");
	for (unsigned int i = 0; i < nsizes; i++) {
		char cell[32];

		if (result_ok[i])
			snprintf(cell, sizeof(cell), "%.0f / %.0f", field(results[i], "lc_n"),
				 field(results[i], "noisy_n"));
		else
			snprintf(cell, sizeof(cell), "n/a");
		printf("%12s", cell);
	}
	printf("\n");
	row("  noisy neighbour: failed allocations", "noisy_failures", "%.0f", "");
	row("  noisy neighbour: allocations", "noisy_allocs", "%.0f", "");
	row("free + destroy, per tenant, us", "free_destroy_us", "%.1f", "<= 100, flat");
	row("RSS kept after free, destroy, shrink, %", "kept_shrunk_pct", "%.1f", "");
	snprintf(label, sizeof(label), "  two decay periods later (2 x %u ms), %%", decay_ms);
	row(label, "kept_decay_pct", "%.1f", "<= 5 % of the growth");
	row("  then after uslab_trim(), %", "kept_trim_pct", "%.1f", "");
	printf("%% of the RSS growth while the tenants were loaded; n/a after uslab_trim(): the "
	       "library has none yet.\nlifecycle: create, load, free and destroy one more tenant "
	       "while the others stay online.\n");

	printf("\ncapacity: tenants online at once, each with an accounted kmalloc(64), up to %u\n",
	       cap_max);
	if (cap_ok) {
		int err = (int)field(cap, "errno");

		field_str(cap, "stop", buf, sizeof(buf));
		if (strcmp(buf, "limit") == 0)
			printf("  %.0f online: the probe's limit (--capacity)", field(cap, "online"));
		else
			printf("  %.0f online, stopped by %s", field(cap, "online"), buf);
		if (err > 0)
			printf(" with %s", strerrorname_np(err) ? strerrorname_np(err) : "?");
		printf("; create %.1f us, free + destroy %.1f us per tenant; %.1f KiB RSS per "
		       "tenant\n", field(cap, "create_us"), field(cap, "free_destroy_us"),
		       field(cap, "rss_per_tenant_kib"));
	} else {
		printf("  FAILED\n");
	}

	printf("\ntargets (issue 14; read at %u tenants)\n", tc >= 0 ? sizes[tc] : 0);
	if (tc >= 0 && result_ok[tc]) {
		double v = field(r, "rss_per_tenant_kib");

		verdict("RSS per small tenant <= 80 KiB", v, v <= 80, "%.1f KiB");
		v = field(r, "lc_us");
		verdict("lifecycle <= 150 us", v, v <= 150, "%.0f us");
		v = field(r, "free_destroy_us");
		verdict("free + destroy <= 100 us per tenant", v, v <= 100, "%.1f us");
		v = field(r, "noisy_us") / field(r, "lc_us");
		verdict("a tenant at its memory.max slows a lifecycle <= x1.5", v, v <= 1.5, "x%.2f");
		v = field(r, "kept_decay_pct");
		verdict("RSS kept after all freed, destroyed, shrunk (+ decay) <= 5 %", v, v <= 5,
			"%.1f %%");
	}
	double f = flatness("lc_us");

	verdict("lifecycle flat over the scales run (max/min <= 1.5)", f, f <= 1.5, "x%.2f");
	f = flatness("free_destroy_us");
	verdict("free + destroy flat over the scales run (max/min <= 1.5)", f, f <= 1.5, "x%.2f");
	double online = cap_ok ? field(cap, "online") : NAN;

	verdict("20,000 tenants online at once, each with an accounted object", online,
		online >= 20000, "%.0f");
	verdict("65,535 where memory allows", online, online >= 65535, "%.0f");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tenant-bench [--quick] [--sizes a,b,...] [--capacity N] "
		   "[--lifecycles N] [--decay-ms N]\n"
		   "  --quick         sizes 100,1000, 20 lifecycles, capacity 2000 unless given:\n"
		   "                  a smoke test\n"
		   "  --sizes         tenant counts (default 100,1000,3000,10000)\n"
		   "  --capacity N    the capacity probe stops at N tenants (default 65535; 0: skip)\n"
		   "  --lifecycles N  lifecycles per scale, half alone, half noisy (default 400;\n"
		   "                  a block also stops after 2 s)\n"
		   "  --decay-ms N    the decay period waited twice (default %u; USLAB_DECAY_MS "
		   "wins)\n", DEFAULT_DECAY_MS);
}

int main(int argc, char **argv)
{
	unsigned int capacity = CAPACITY_MAX, lifecycles = 400, decay_ms = DEFAULT_DECAY_MS;
	const char *size_list = NULL;
	bool lifecycles_given = false, capacity_given = false;
	bool quick = false, decay_env = getenv("USLAB_DECAY_MS") != NULL;
	int failures = 0;
	char cap[1024], arg[3][32];
	uint64_t t0 = now_ns();

	if (argc >= 3 && strcmp(argv[1], "--child") == 0) {
		if (strcmp(argv[2], "scale") == 0 && argc == 6)
			return child_scale((unsigned int)atoi(argv[3]), (unsigned int)atoi(argv[4]),
					   (unsigned int)atoi(argv[5]));
		if (strcmp(argv[2], "capacity") == 0 && argc == 4)
			return child_capacity((unsigned int)atoi(argv[3]));
		return 2;
	}
	if (decay_env)
		decay_ms = (unsigned int)strtoul(getenv("USLAB_DECAY_MS"), NULL, 10);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
			size_list = argv[++i];
		} else if (strcmp(argv[i], "--capacity") == 0 && i + 1 < argc) {
			capacity = (unsigned int)atoi(argv[++i]);
			capacity_given = true;
		} else if (strcmp(argv[i], "--lifecycles") == 0 && i + 1 < argc) {
			lifecycles = (unsigned int)atoi(argv[++i]);
			lifecycles_given = true;
		} else if (strcmp(argv[i], "--decay-ms") == 0 && i + 1 < argc) {
			if (!decay_env)
				decay_ms = (unsigned int)strtoul(argv[i + 1], NULL, 10);
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/* --quick changes the defaults; options given explicitly win. */
	if (!size_list)
		size_list = quick ? "100,1000" : "100,1000,3000,10000";
	if (quick && !lifecycles_given)
		lifecycles = 20;
	if (quick && !capacity_given)
		capacity = 2000;
	if (capacity > CAPACITY_MAX)
		capacity = CAPACITY_MAX;
	for (const char *p = size_list; *p && nsizes < MAX_SIZES;) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v < 1 || v > 1000000) {
			fprintf(stderr, "tenant-bench: bad --sizes '%s'\n", size_list);
			return 2;
		}
		sizes[nsizes++] = (unsigned int)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (lifecycles < 2 * LC_BLOCK_MIN)
		lifecycles = 2 * LC_BLOCK_MIN;

	printf("tenant-bench%s: scales %s; %u lifecycles per scale at most; capacity probe up to "
	       "%u; decay period %u ms (%s)\n", quick ? " (quick)" : "", size_list, lifecycles,
	       capacity, decay_ms, decay_env ? "USLAB_DECAY_MS" : "--decay-ms");
	fflush(stdout);
	for (unsigned int i = 0; i < nsizes; i++) {
		snprintf(arg[0], sizeof(arg[0]), "%u", sizes[i]);
		snprintf(arg[1], sizeof(arg[1]), "%u", lifecycles);
		snprintf(arg[2], sizeof(arg[2]), "%u", decay_ms);
		char *args[] = { "scale", arg[0], arg[1], arg[2], NULL };

		fprintf(stderr, "tenant-bench: %u tenants ...\n", sizes[i]);
		result_ok[i] = run_child(args, "@scale", results[i], sizeof(results[i])) == 0;
		if (!result_ok[i]) {
			fprintf(stderr, "tenant-bench: the run with %u tenants failed%s%s", sizes[i],
				results[i][0] ? ": " : "\n", results[i]);
			failures++;
		}
	}
	bool cap_ok = false;

	cap[0] = '\0';
	if (capacity) {
		snprintf(arg[0], sizeof(arg[0]), "%u", capacity);
		char *args[] = { "capacity", arg[0], NULL };

		fprintf(stderr, "tenant-bench: capacity probe ...\n");
		cap_ok = run_child(args, "@capacity", cap, sizeof(cap)) == 0;
		if (!cap_ok)
			failures++;
	}
	print_report(cap, cap_ok, capacity, decay_ms);
	printf("\ntotal time %.1f s\n", (double)(now_ns() - t0) / 1e9);
	return failures ? 1 : 0;
}
