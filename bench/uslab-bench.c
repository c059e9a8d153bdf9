// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench/uslab-bench.c - uslab against glibc, jemalloc, tcmalloc and mimalloc.
 *
 * The parent never allocates in anything it times. For every repetition and
 * workload it runs each allocator once, in an order that rotates with the
 * repetition, as a child process of this same binary ("--child ALLOC WL"):
 * uslab and glibc with no preload, the other mallocs with LD_PRELOAD set to
 * their library. Each child prints one result line (bench/bench.h) that the
 * parent collects; at the end it prints one table of medians (and best) per
 * workload and allocator, then uslab / best peer for each workload against
 * the target of the issue. The memory workloads (burst, large) get a second
 * table: RSS before, at the peak, after the last free, after two decay
 * periods and after the allocator's trim call, and page faults, madvise and
 * mm calls per steady-state round. Targets are reported, never asserted:
 * the exit status is non-zero only when a child failed or a correctness
 * check did.
 *
 *   uslab-bench [--reps N] [--quick] [--workloads a,b] [--allocators a,b]
 *               [--decay-ms N] [--list]
 */
#define _GNU_SOURCE
#include "bench/bench.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_REPS 100

struct allocator {
	const char *name;
	const char *preload;   /* LD_PRELOAD for the child, NULL: none */
	const char *package;   /* Debian package providing it */
	bool present, selected;
};

static struct allocator allocators[] = {
	{ "uslab", NULL, NULL, false, false },
	{ "glibc", NULL, NULL, false, false },
	{ "jemalloc", BENCH_JEMALLOC_SO, "libjemalloc2", false, false },
	{ "tcmalloc", BENCH_TCMALLOC_SO, "libtcmalloc-minimal4", false, false },
	{ "mimalloc", BENCH_MIMALLOC_SO, "libmimalloc2.0", false, false },
};
#define NR_ALLOC (sizeof(allocators) / sizeof(allocators[0]))
#define USLAB 0

struct sample {
	double value, aux[BENCH_NR_AUX];
	bool ok;
	char status[96];
};

/* samples[(w * NR_ALLOC + a) * MAX_REPS + rep] */
static struct sample *samples;
static unsigned int *nsamples;
static bool *wl_selected;
static int child_failures;
static unsigned int decay_ms = BENCH_DEFAULT_DECAY_MS;

static struct sample *sample_at(unsigned int w, unsigned int a, unsigned int rep)
{
	return &samples[((size_t)w * NR_ALLOC + a) * MAX_REPS + rep];
}

/* ---- running one child ------------------------------------------------------ */

/* environ without LD_PRELOAD, plus LD_PRELOAD=@preload when given. */
static char **child_env(const char *preload, char *buf, size_t len)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	if (preload) {
		snprintf(buf, len, "LD_PRELOAD=%s", preload);
		env[k++] = buf;
	}
	env[k] = NULL;
	return env;
}

/*
 * "WORKLOAD ALLOCATOR VALUE AUX1 .. AUXn STATUS" into @out, when it is the
 * line of @wl and @al. Return: whether it was.
 */
static bool parse_result(char *line, const char *al, const char *wl, struct sample *out)
{
	char *tok[3 + BENCH_NR_AUX + 1], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line, " \t\n", &save); t && n < (int)(sizeof(tok) / sizeof(tok[0]));
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	if (n != 3 + BENCH_NR_AUX + 1 || strcmp(tok[0], wl) != 0 || strcmp(tok[1], al) != 0)
		return false;
	out->value = strtod(tok[2], NULL);
	for (int i = 0; i < BENCH_NR_AUX; i++)
		out->aux[i] = strtod(tok[3 + i], NULL);
	snprintf(out->status, sizeof(out->status), "%s", tok[3 + BENCH_NR_AUX]);
	return true;
}

static int run_child(const struct allocator *a, const struct bench_workload *w, bool quick,
		     struct sample *out)
{
	char preload[4200], line[1024], decay[16];
	char *argv[] = { "uslab-bench", "--child", (char *)a->name, (char *)w->name,
			 "--decay-ms", decay, quick ? "--quick" : NULL, NULL };
	char **env = child_env(a->preload, preload, sizeof(preload));
	int fd[2], status;
	bool got = false;
	pid_t pid;
	FILE *f;

	snprintf(decay, sizeof(decay), "%u", decay_ms);
	memset(out, 0, sizeof(*out));
	snprintf(out->status, sizeof(out->status), "fail:no-result");
	if (!env || pipe(fd))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		execve("/proc/self/exe", argv, env);
		perror("uslab-bench: execve /proc/self/exe");
		_exit(127);
	}
	free(env);
	close(fd[1]);
	f = fdopen(fd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, BENCH_RESULT_TAG " ", sizeof(BENCH_RESULT_TAG)) == 0 &&
		    parse_result(line + sizeof(BENCH_RESULT_TAG), a->name, w->name, out))
			got = true;
	}
	if (f)
		fclose(f);
	else
		close(fd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFSIGNALED(status))
		snprintf(out->status, sizeof(out->status), "fail:killed-by-signal-%d",
			 WTERMSIG(status));
	out->ok = got && strcmp(out->status, "ok") == 0;
	return 0;
}

/* ---- statistics ------------------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* What stats() takes from a sample: VALUE, AUX i (PICK_AUX(i)), or a figure of them. */
#define PICK_VALUE      0
#define PICK_AUX(i)     (1 + (i))
#define PICK_RSS_LEFT   100   /* rss: RSS left after free, % of the baseline */
#define PICK_GROWTH     101   /* memory: peak - before, KiB */
#define PICK_LEFT(i)    (200 + (i))   /* memory: AUX i - before, % of before */

static double pick_value(const struct sample *s, int pick)
{
	double base = s->aux[MEM_BEFORE];

	if (pick == PICK_VALUE)
		return s->value;
	if (pick < PICK_AUX(BENCH_NR_AUX))
		return s->aux[pick - 1];
	if (pick == PICK_RSS_LEFT)
		return s->aux[0] > 0 ? (s->aux[2] - s->aux[0]) * 100.0 / s->aux[0] : 0;
	if (pick == PICK_GROWTH)
		return s->aux[MEM_PEAK] - base;
	return base > 0 ? (s->aux[pick - 200] - base) * 100.0 / base : NAN;
}

/*
 * Median and best of the successful samples of (w, a) for which @pick gives
 * a number (not nan). Return: the number of samples used.
 */
static unsigned int stats(unsigned int w, unsigned int a, int pick, bool higher_better,
			  double *median, double *best)
{
	double v[MAX_REPS];
	unsigned int n = 0;

	for (unsigned int r = 0; r < nsamples[w * NR_ALLOC + a]; r++) {
		const struct sample *s = sample_at(w, a, r);
		double x;

		if (!s->ok)
			continue;
		x = pick_value(s, pick);
		if (!isnan(x))
			v[n++] = x;
	}
	if (!n)
		return 0;
	qsort(v, n, sizeof(v[0]), cmp_double);
	*median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*best = higher_better ? v[n - 1] : v[0];
	return n;
}

static const char *unit_name(enum bench_unit u)
{
	switch (u) {
	case UNIT_NS_PER_PAIR:
		return "ns/pair";
	case UNIT_MPAIRS_PER_S:
		return "Mpairs/s";
	case UNIT_RSS_RATIO:
		return "RSS/live";
	}
	return "?";
}

static bool higher_is_better(const struct bench_workload *w)
{
	return w->unit == UNIT_MPAIRS_PER_S;
}

/* ---- report ----------------------------------------------------------------- */

#define COL 18

static void print_cell(unsigned int w, unsigned int a, int pick, const char *fmt)
{
	const struct bench_workload *wl = &bench_workloads[w];
	char cell[64];
	double med, best;

	if (!allocators[a].selected || !allocators[a].present ||
	    (wl->uslab_only && a != USLAB)) {
		printf("%*s", COL, "-");
		return;
	}
	if (!stats(w, a, pick, pick == 0 && higher_is_better(wl), &med, &best)) {
		printf("%*s", COL, "FAILED");
		return;
	}
	if (pick == PICK_RSS_LEFT) {
		snprintf(cell, sizeof(cell), "%+.1f%%", med);
	} else {
		char m[24], b[24];

		/* Slow cells (microseconds per pair) keep to the column. */
		snprintf(m, sizeof(m), med >= 1000 ? "%.0f" : fmt, med);
		snprintf(b, sizeof(b), best >= 1000 ? "%.0f" : fmt, best);
		snprintf(cell, sizeof(cell), "%s (%s)", m, b);
	}
	printf("%*s", COL, cell);
}

static void print_table(unsigned int reps)
{
	printf("\n%-18s %-9s", "workload", "unit");
	for (unsigned int a = 0; a < NR_ALLOC; a++)
		if (allocators[a].selected)
			printf("%*s", COL, allocators[a].name);
	printf("\n");
	for (unsigned int w = 0; w < bench_nr_workloads; w++) {
		const struct bench_workload *wl = &bench_workloads[w];
		const char *fmt = wl->unit == UNIT_NS_PER_PAIR ? "%.2f"
				  : wl->unit == UNIT_RSS_RATIO ? "%.3f" : "%.1f";

		if (!wl_selected[w])
			continue;
		printf("%-18s %-9s", wl->name, unit_name(wl->unit));
		for (unsigned int a = 0; a < NR_ALLOC; a++)
			if (allocators[a].selected)
				print_cell(w, a, 0, fmt);
		printf("\n");
		if (wl->unit == UNIT_RSS_RATIO) {
			printf("%-18s %-9s", "rss-after-free", "% base");
			for (unsigned int a = 0; a < NR_ALLOC; a++)
				if (allocators[a].selected)
					print_cell(w, a, PICK_RSS_LEFT, NULL);
			printf("\n");
		}
	}
	printf("cells: median (best) of %u rep%s; ns/pair and RSS/live: lower is better, "
	       "Mpairs/s: higher is better;\nrss-after-free: RSS after freeing everything "
	       "(uslab: + kmem_cache_shrink, glibc: + malloc_trim(0)) vs before allocating.\n",
	       reps, reps == 1 ? "" : "s");
}

/* ---- the memory table (burst, large) ------------------------------------------- */

static int find_workload(const char *name)
{
	for (unsigned int w = 0; w < bench_nr_workloads; w++)
		if (strcmp(bench_workloads[w].name, name) == 0)
			return (int)w;
	return -1;
}


#define MCOL 13

/* One cell: the median of @pick in MiB (KiB / 1024), or "n/a". */
static void print_mem_mib(unsigned int w, unsigned int a, int pick, int width)
{
	char cell[32];
	double med, best;

	if (stats(w, a, pick, false, &med, &best))
		snprintf(cell, sizeof(cell), "%.1f", med / 1024.0);
	else
		snprintf(cell, sizeof(cell), "n/a");
	printf("%*s", width, cell);
}

/* RSS at AUX @i in MiB and as % over the RSS before the first round. */
static void print_mem_left(unsigned int w, unsigned int a, int i)
{
	char cell[32];
	double mib, left, best;

	if (stats(w, a, PICK_AUX(i), false, &mib, &best) &&
	    stats(w, a, PICK_LEFT(i), false, &left, &best))
		snprintf(cell, sizeof(cell), "%.1f %+.0f%%", mib / 1024.0, left);
	else
		snprintf(cell, sizeof(cell), "n/a");
	printf("%*s", MCOL + 1, cell);
}

static void print_mem_count(unsigned int w, unsigned int a, int i)
{
	char cell[32];
	double med, best;

	if (stats(w, a, PICK_AUX(i), false, &med, &best))
		snprintf(cell, sizeof(cell), med >= 100 ? "%.0f" : "%.2f", med);
	else
		snprintf(cell, sizeof(cell), "n/a");
	printf("%*s", 11, cell);
}

static void print_memory_table(unsigned int reps)
{
	bool any = false;

	for (unsigned int w = 0; w < bench_nr_workloads; w++)
		any |= wl_selected[w] && bench_workloads[w].memory;
	if (!any)
		return;
	printf("\nmemory of the burst and large workloads (medians of %u rep%s; RSS in MiB; "
	       "decay wait 2 x %u ms)\n", reps, reps == 1 ? "" : "s", decay_ms);
	printf("%-10s %-9s%8s%8s%8s%*s%*s%*s%11s%11s%11s\n", "workload", "allocator", "before",
	       "peak", "growth", MCOL + 1, "after-free", MCOL + 1, "after-decay", MCOL + 1,
	       "after-trim", "faults/rnd", "madv/rnd", "mm/rnd");
	for (unsigned int w = 0; w < bench_nr_workloads; w++) {
		const struct bench_workload *wl = &bench_workloads[w];

		if (!wl_selected[w] || !wl->memory)
			continue;
		for (unsigned int a = 0; a < NR_ALLOC; a++) {
			if (!allocators[a].selected || !allocators[a].present)
				continue;
			printf("%-10s %-9s", wl->name, allocators[a].name);
			if (!stats(w, a, PICK_AUX(MEM_BEFORE), false, &(double){ 0 },
				   &(double){ 0 })) {
				printf("%8s\n", "FAILED");
				continue;
			}
			print_mem_mib(w, a, PICK_AUX(MEM_BEFORE), 8);
			print_mem_mib(w, a, PICK_AUX(MEM_PEAK), 8);
			print_mem_mib(w, a, PICK_GROWTH, 8);
			print_mem_left(w, a, MEM_AFTER_FREE);
			print_mem_left(w, a, MEM_AFTER_DECAY);
			print_mem_left(w, a, MEM_AFTER_TRIM);
			print_mem_count(w, a, MEM_FAULTS);
			print_mem_count(w, a, MEM_MADVISE);
			print_mem_count(w, a, MEM_MMCALLS);
			printf("\n");
		}
	}
	printf("before: allocator initialised, before the first round; peak: last round, "
	       "everything live;\nafter-free/-decay/-trim: RSS and its excess over 'before' "
	       "right after the last free, two decay\nperiods later, and after the trim call "
	       "(uslab_trim(); glibc malloc_trim(0); jemalloc arena purge;\ntcmalloc "
	       "ReleaseFreeMemory; mimalloc mi_collect); n/a: none, or not waited for.\n"
	       "Per round (a round: burst 20,000 pairs, burst-1k 1,000, large and large-1m "
	       "1,000): page faults\n(minor + major, getrusage) over the timed rounds after "
	       "the first two; madvise and the other\nmm calls (mmap, munmap, mremap, brk) "
	       "over further untimed rounds, every thread, counted by a\nseccomp filter "
	       "(bench/syscount.c).\n");
}

/* The issue-12 memory targets for burst (uslab against the best peer). */
static void print_memory_verdicts(void)
{
	int w = find_workload("burst");
	double u, ub, faults, madv, left, peer = NAN, m, b;
	int who = -1;

	if (w < 0 || !wl_selected[w] || !allocators[USLAB].selected)
		return;
	printf("burst memory (issue 12)\n");
	if (!stats(w, USLAB, PICK_GROWTH, false, &u, &ub)) {
		printf("  uslab FAILED\n");
		return;
	}
	for (unsigned int a = 0; a < NR_ALLOC; a++) {
		if (a == USLAB || !allocators[a].selected || !allocators[a].present)
			continue;
		if (stats(w, a, PICK_GROWTH, false, &m, &b) && (who < 0 || m < peer)) {
			who = (int)a;
			peer = m;
		}
	}
	if (who >= 0)
		printf("  RSS growth at the peak: uslab %.1f MiB, best peer %s %.1f MiB: %.2fx  "
		       "target <= 1.10x: %s\n", u / 1024, allocators[who].name, peer / 1024,
		       u / peer, u <= 1.10 * peer ? "met" : "NOT met");
	if (stats(w, USLAB, PICK_AUX(MEM_FAULTS), false, &faults, &b))
		printf("  page faults per steady-state round: uslab %.2f  target 0 (read as "
		       "< 0.1, allowing a stray\n    fault outside the allocator): %s\n",
		       faults, faults < 0.1 ? "met" : "NOT met");
	if (stats(w, USLAB, PICK_AUX(MEM_MADVISE), false, &madv, &b))
		printf("  madvise calls per steady-state round: uslab %.2f  target 0: %s\n", madv,
		       madv == 0 ? "met" : "NOT met");
	else
		printf("  madvise calls per steady-state round: not countable here "
		       "(bench/syscount.c: x86-64 Linux with seccomp)\n");
	if (stats(w, USLAB, PICK_LEFT(MEM_AFTER_DECAY), false, &left, &b))
		printf("  RSS two decay periods (2 x %u ms) after the last free: uslab %+.1f%% "
		       "of the pre-burst RSS  target <= +5%%: %s\n", decay_ms, left,
		       left <= 5.0 ? "met" : "NOT met");
	if (stats(w, USLAB, PICK_LEFT(MEM_AFTER_TRIM), false, &left, &b))
		printf("  RSS after uslab_trim(): uslab %+.1f%% of the pre-burst RSS  target "
		       "<= +5%%: %s\n", left, left <= 5.0 ? "met" : "NOT met");
	else
		printf("  RSS after uslab_trim(): n/a (the library has no uslab_trim yet)\n");
}

/*
 * The best peer for workload @w by median (pick 0): its median in @value;
 * @best_of_reps gets the best single run of any peer. Return: the peer, or
 * -1 when there is none.
 */
static int best_peer(unsigned int w, double *value, double *best_of_reps)
{
	const struct bench_workload *wl = &bench_workloads[w];
	bool hb = higher_is_better(wl);
	double med, best;
	int who = -1, whob = -1;

	for (unsigned int a = 0; a < NR_ALLOC; a++) {
		if (a == USLAB || !allocators[a].selected || !allocators[a].present)
			continue;
		if (!stats(w, a, 0, hb, &med, &best))
			continue;
		if (who < 0 || (hb ? med > *value : med < *value)) {
			who = (int)a;
			*value = med;
		}
		if (whob < 0 || (hb ? best > *best_of_reps : best < *best_of_reps)) {
			whob = (int)a;
			*best_of_reps = best;
		}
	}
	return who;
}

static void print_verdict(const char *label, double ratio, enum bench_target_kind kind,
			  double target)
{
	printf("  %s %.2f", label, ratio);
	if (kind == TARGET_NONE) {
		printf("  (no target)\n");
		return;
	}
	bool met = kind == TARGET_AT_MOST ? ratio <= target : ratio >= target;

	printf("  target %s %.2f: %s\n", kind == TARGET_AT_MOST ? "<=" : ">=", target,
	       met ? "met" : "NOT met");
}

static void print_ratios(void)
{
	printf("\nuslab against the best peer (medians)\n");
	for (unsigned int w = 0; w < bench_nr_workloads; w++) {
		const struct bench_workload *wl = &bench_workloads[w];
		double u, ub, peer = 0, peer_best = 0;
		int p;

		if (!wl_selected[w] || !wl->what || wl->uslab_only || !allocators[USLAB].selected)
			continue;
		if (!stats(w, USLAB, 0, higher_is_better(wl), &u, &ub)) {
			printf("%-18s uslab FAILED\n", wl->name);
			continue;
		}
		p = best_peer(w, &peer, &peer_best);
		printf("%-18s uslab %.3f %s", wl->name, u, unit_name(wl->unit));
		if (p < 0) {
			printf(", no peer result\n");
		} else {
			printf(", best peer %s %.3f; best runs: uslab %.3f, peers %.3f "
			       "(ratio %.2f)\n", allocators[p].name, peer, ub, peer_best,
			       ub / peer_best);
			print_verdict("uslab / best peer =", u / peer, wl->target_kind,
				      wl->target);
		}
		if (wl->unit == UNIT_RSS_RATIO) {
			double left, lb;

			if (stats(w, USLAB, PICK_RSS_LEFT, false, &left, &lb)) {
				bool met = left <= 5.0;

				printf("  uslab RSS after free + kmem_cache_shrink: %+.1f%% of the "
				       "pre-allocation RSS  target <= +5%%: %s\n", left,
				       met ? "met" : "NOT met");
			}
		}
	}
	print_memory_verdicts();
	/* Accounted allocation: tenant against root, same cache. */
	int lr = find_workload("acct-lifo-root"), lt = find_workload("acct-lifo-tenant");
	int br = find_workload("acct-batch-root"), bt = find_workload("acct-batch-tenant");

	if (lr < 0 || lt < 0 || br < 0 || bt < 0) {
		printf("%-18s not built: rebuild the bench with -DUSLAB_BENCH_MEMCG once "
		       "<uslab/memcg.h>\n%-18s has mem_cgroup_create() and set_active_memcg() "
		       "(see bench/README.md)\n", "accounted", "");
		return;
	}
	int pairs[2][2] = { { lr, lt }, { br, bt } };

	for (int k = 0; k < 2; k++) {
		unsigned int r = (unsigned int)pairs[k][0], t = (unsigned int)pairs[k][1];
		double rm, rb, tm, tb;

		if (!wl_selected[r] || !wl_selected[t] || !allocators[USLAB].selected)
			continue;
		if (!stats(r, USLAB, 0, false, &rm, &rb) || !stats(t, USLAB, 0, false, &tm, &tb)) {
			printf("%-18s FAILED\n", bench_workloads[t].name);
			continue;
		}
		printf("%-18s tenant %.2f ns/pair, root %.2f\n", bench_workloads[t].name, tm, rm);
		print_verdict("tenant / root =", tm / rm, bench_workloads[t].target_kind,
			      bench_workloads[t].target);
	}
}

static void print_checks(void)
{
	unsigned int bad = 0;

	printf("\nchecks\n");
	for (unsigned int w = 0; w < bench_nr_workloads; w++) {
		for (unsigned int a = 0; a < NR_ALLOC; a++) {
			for (unsigned int r = 0; r < nsamples[w * NR_ALLOC + a]; r++) {
				const struct sample *s = sample_at(w, a, r);

				if (s->ok)
					continue;
				printf("  %s %s rep %u: %s\n", bench_workloads[w].name,
				       allocators[a].name, r + 1, s->status);
				bad++;
			}
		}
	}
	for (unsigned int w = 0; w < bench_nr_workloads; w++) {
		double am, ab, fm, fb;

		if (!wl_selected[w] || strncmp(bench_workloads[w].name, "threads-", 8) != 0 ||
		    !allocators[USLAB].selected)
			continue;
		if (stats(w, USLAB, 1, false, &am, &ab) && stats(w, USLAB, 2, false, &fm, &fb))
			printf("  %s uslab: every run validated and shrank to 0 objects; "
			       "allocs == frees (%.0f per run)\n", bench_workloads[w].name, am);
	}
	if (bad)
		printf("  %u child run%s failed (see above)\n", bad, bad == 1 ? "" : "s");
	else
		printf("  all runs ok: each uslab run passed uslab_cache_validate() and "
		       "kmem_cache_shrink() == 0;\n  each child's malloc came from the "
		       "library it was meant to\n");
}

/* ---- main ------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: uslab-bench [--reps N] [--quick] [--workloads a,b,...] "
		   "[--allocators a,b,...] [--decay-ms N] [--list]\n"
		   "  --reps N        repetitions (default 7; --quick: 1)\n"
		   "  --quick         one repetition with a tenth of the work (smoke test)\n"
		   "  --workloads     only these workloads (see --list)\n"
		   "  --allocators    only these: uslab,glibc,jemalloc,tcmalloc,mimalloc\n"
		   "  --decay-ms N    the decay period burst and large wait twice after their\n"
		   "                  last free (default %u; USLAB_DECAY_MS wins when set)\n",
		BENCH_DEFAULT_DECAY_MS);
}

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static void print_header(unsigned int reps, bool quick)
{
	struct utsname u;
	cpu_set_t set;
	int ncpu = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		ncpu = CPU_COUNT(&set);
	uname(&u);
	printf("uslab-bench: %u rep%s%s, %d CPU%s usable, %s %s %s\n", reps,
	       reps == 1 ? "" : "s", quick ? " (quick: a tenth of the work)" : "", ncpu,
	       ncpu == 1 ? "" : "s", u.sysname, u.release, u.machine);
	for (unsigned int a = 0; a < NR_ALLOC; a++) {
		const struct allocator *al = &allocators[a];

		if (!al->selected)
			continue;
		if (al->present)
			printf("  %-9s %s\n", al->name,
			       a == USLAB ? "libuslab (this build), no preload"
			       : al->preload ? al->preload : "glibc malloc, no preload");
		else
			printf("  %-9s not installed (apt-get install %s)\n", al->name,
			       al->package);
	}
	printf("each allocator runs in its own child process, in rotating order; "
	       "single-thread workloads\npinned to one CPU, one untimed warm-up pass "
	       "before each timed one\n");
	printf("memory workloads wait two decay periods of %u ms after their last free "
	       "(%s)\n", decay_ms, getenv("USLAB_DECAY_MS") ? "USLAB_DECAY_MS" : "--decay-ms");
}

int main(int argc, char **argv)
{
	const char *wl_list = NULL, *alloc_list = NULL;
	unsigned int reps = 7;
	bool quick = false, reps_given = false, decay_given;
	uint64_t t0 = bench_now_ns();

	if (argc >= 4 && strcmp(argv[1], "--child") == 0) {
		/* --child ALLOC WORKLOAD [--decay-ms N] [--quick] */
		for (int i = 4; i < argc; i++) {
			if (strcmp(argv[i], "--quick") == 0)
				quick = true;
			else if (strcmp(argv[i], "--decay-ms") == 0 && i + 1 < argc)
				decay_ms = (unsigned int)strtoul(argv[++i], NULL, 10);
		}
		return bench_child_main(argv[2], argv[3], quick, decay_ms);
	}
	decay_given = getenv("USLAB_DECAY_MS") != NULL;
	if (decay_given)
		decay_ms = (unsigned int)strtoul(getenv("USLAB_DECAY_MS"), NULL, 10);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			reps = (unsigned int)atoi(argv[++i]);
			reps_given = true;
		} else if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[i], "--decay-ms") == 0 && i + 1 < argc) {
			/* USLAB_DECAY_MS, uslab's own setting, wins when set. */
			if (!decay_given)
				decay_ms = (unsigned int)strtoul(argv[i + 1], NULL, 10);
			i++;
		} else if (strcmp(argv[i], "--workloads") == 0 && i + 1 < argc) {
			wl_list = argv[++i];
		} else if (strcmp(argv[i], "--allocators") == 0 && i + 1 < argc) {
			alloc_list = argv[++i];
		} else if (strcmp(argv[i], "--list") == 0) {
			for (unsigned int w = 0; w < bench_nr_workloads; w++)
				if (bench_workloads[w].what)
					printf("%-18s %s\n", bench_workloads[w].name,
					       bench_workloads[w].what);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (quick && !reps_given)
		reps = 1;
	if (reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "uslab-bench: --reps must be 1..%d\n", MAX_REPS);
		return 2;
	}

	samples = calloc((size_t)bench_nr_workloads * NR_ALLOC * MAX_REPS, sizeof(*samples));
	nsamples = calloc((size_t)bench_nr_workloads * NR_ALLOC, sizeof(*nsamples));
	wl_selected = calloc(bench_nr_workloads, sizeof(*wl_selected));
	if (!samples || !nsamples || !wl_selected)
		return 3;
	for (unsigned int a = 0; a < NR_ALLOC; a++) {
		allocators[a].selected = !alloc_list || in_list(alloc_list, allocators[a].name);
		allocators[a].present = !allocators[a].preload ||
					access(allocators[a].preload, R_OK) == 0;
	}
	for (unsigned int w = 0; w < bench_nr_workloads; w++)
		wl_selected[w] = bench_workloads[w].what &&
				 (!wl_list || in_list(wl_list, bench_workloads[w].name));
	print_header(reps, quick);

	for (unsigned int rep = 0; rep < reps; rep++) {
		fprintf(stderr, "uslab-bench: repetition %u/%u ...\n", rep + 1, reps);
		for (unsigned int w = 0; w < bench_nr_workloads; w++) {
			if (!wl_selected[w])
				continue;
			for (unsigned int k = 0; k < NR_ALLOC; k++) {
				unsigned int a = (k + rep) % NR_ALLOC;
				unsigned int *n = &nsamples[w * NR_ALLOC + a];

				if (!allocators[a].selected || !allocators[a].present ||
				    (bench_workloads[w].uslab_only && a != USLAB))
					continue;
				if (run_child(&allocators[a], &bench_workloads[w], quick,
					      sample_at(w, a, *n)) != 0) {
					fprintf(stderr, "uslab-bench: cannot run a child: %s\n",
						strerror(errno));
					return 3;
				}
				if (!sample_at(w, a, *n)->ok)
					child_failures++;
				(*n)++;
			}
		}
	}
	print_table(reps);
	print_memory_table(reps);
	print_ratios();
	print_checks();
	printf("\ntotal time %.1f s\n", (double)(bench_now_ns() - t0) / 1e9);
	return child_failures ? 1 : 0;
}
