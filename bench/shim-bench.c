// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench/shim-bench.c - libuslab-malloc.so (uslab's LD_PRELOAD malloc)
 * against glibc, jemalloc, tcmalloc and mimalloc on whole programs (issue
 * 13). Each program runs once per malloc and repetition, in an order that
 * rotates with the repetition, with LD_PRELOAD set to that malloc (nothing
 * for glibc):
 *
 *   server  bench/shim-server: worker threads handling requests, buffers of
 *           16 B .. 64 KiB handed between threads, a working set that grows
 *           and shrinks by phases; ns per request (its own clock) and peak
 *           RSS (VmHWM)
 *   python  python3 -c building a 100,000-key dict of lists and dumping it
 *           to JSON, three times; wall time (fork to exit) and max RSS
 *           (wait4)
 *   mixed   uslab-bench's mixed workload through malloc/free
 *           ("uslab-bench --child ALLOC mixed"); ns per pair
 *   idle    bench/shim-idle: one malloc and free; its peak RSS (VmHWM)
 *
 * The table shows medians (best) per malloc, then the shim against the best
 * peer with the targets, reported and never asserted: the exit
 * status is non-zero only when a run failed or gave other output than under
 * glibc. Without libuslab-malloc.so (e.g. a sanitizer build) the shim
 * column is skipped with a message.
 *
 *   shim-bench [--reps N] [--quick] [--shim LIB] [--bench-dir DIR]
 *              [--tests a,b] [--allocators a,b]
 */
#define _GNU_SOURCE
#include "bench/bench.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_REPS 50
#define OUT_MAX  8192

struct allocator {
	const char *name;
	const char *preload;   /* LD_PRELOAD, NULL: none */
	const char *package;   /* where it comes from, when missing */
	bool present, selected;
};

enum { GLIBC, JEMALLOC, TCMALLOC, MIMALLOC, SHIM, NR_ALLOC };

static struct allocator allocators[NR_ALLOC] = {
	[GLIBC] = { "glibc", NULL, NULL, true, false },
	[JEMALLOC] = { "jemalloc", BENCH_JEMALLOC_SO, "apt-get install libjemalloc2", false, false },
	[TCMALLOC] = { "tcmalloc", BENCH_TCMALLOC_SO, "apt-get install libtcmalloc-minimal4",
		       false, false },
	[MIMALLOC] = { "mimalloc", BENCH_MIMALLOC_SO, "apt-get install libmimalloc2.0", false,
		       false },
	[SHIM] = { "shim", NULL, "sanitizer builds do not build it", false,
		   false },
};

/* One figure of one test: which way is better, and the target for the shim. */
struct figure {
	const char *unit;
	bool higher_better;
	enum { VS_BEST_PEER, VS_GLIBC_KIB, NO_TARGET } target_kind;
	double target;           /* shim / best peer <= target, or shim - glibc <= target KiB */
	const char *target_text;
};

enum test { T_SERVER, T_PYTHON, T_MIXED, T_IDLE, NR_TESTS };

static const struct test_desc {
	const char *name, *what;
	struct figure fig[2];    /* the test's two figures; unit NULL: none */
} tests[NR_TESTS] = {
	[T_SERVER] = { "server", "4 threads, requests, cross-thread frees, changing working set",
		       { { "ns/req", false, VS_BEST_PEER, 1.00, "shim / best peer <= 1.00" },
			 { "MiB peak", false, NO_TARGET, 0, NULL } } },
	[T_PYTHON] = { "python", "python3: 100,000-key dict of lists, json.dumps, three times",
		       { { "s wall", false, VS_BEST_PEER, 1.00, "shim / best peer <= 1.00" },
			 { "MiB maxrss", false, NO_TARGET, 0, NULL } } },
	[T_MIXED] = { "mixed", "uslab-bench mixed workload through malloc/free",
		      { { "ns/pair", false, VS_BEST_PEER, 1.00, "shim / best peer <= 1.00" },
			{ NULL, false, NO_TARGET, 0, NULL } } },
	[T_IDLE] = { "idle", "a process that only loads the malloc (one malloc)",
		     { { "KiB peak", false, VS_GLIBC_KIB, 2048, "shim - glibc <= 2048 KiB" },
		       { NULL, false, NO_TARGET, 0, NULL } } },
};

struct sample {
	double v[2];
	bool ok;
	char output[64];        /* what must not depend on the malloc */
};

static struct sample samples[NR_TESTS][NR_ALLOC][MAX_REPS];
static unsigned int nsamples[NR_TESTS][NR_ALLOC];
static bool test_selected[NR_TESTS];
static char bench_dir[PATH_MAX], shim_path[PATH_MAX + 64];
static bool quick;
static int failures;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- running a program under a preload ------------------------------------------- */

struct run {
	char out[OUT_MAX];   /* its stdout */
	int status;          /* wait status */
	double wall_s;       /* fork to reaped */
	long maxrss_kib;     /* wait4 */
};

static int run_program(const char *preload, char *const argv[], struct run *r)
{
	size_t n = 0, k = 0, len = 0;
	char env_preload[PATH_MAX + 96];
	char **env;
	struct rusage ru;
	uint64_t t0;
	int fd[2];
	pid_t pid;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env || pipe(fd))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	if (preload) {
		snprintf(env_preload, sizeof(env_preload), "LD_PRELOAD=%s", preload);
		env[k++] = env_preload;
	}
	env[k] = NULL;
	fflush(NULL);
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		execvpe(argv[0], argv, env);
		fprintf(stderr, "shim-bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	free(env);
	close(fd[1]);
	for (;;) {
		ssize_t got;
		char discard[512];

		if (len < sizeof(r->out) - 1)
			got = read(fd[0], r->out + len, sizeof(r->out) - 1 - len);
		else
			got = read(fd[0], discard, sizeof(discard));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (len < sizeof(r->out) - 1)
			len += (size_t)got;
	}
	r->out[len] = '\0';
	close(fd[0]);
	if (wait4(pid, &r->status, 0, &ru) < 0)
		return -1;
	r->wall_s = (double)(now_ns() - t0) / 1e9;
	r->maxrss_kib = ru.ru_maxrss;
	return 0;
}

static bool exited_ok(const struct run *r)
{
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

/* The number after "key=" in @s, or NAN. */
static double field(const char *s, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(s, pat);
	return p ? strtod(p + strlen(pat), NULL) : NAN;
}

/* ---- the tests ------------------------------------------------------------------- */

static const char python_prog[] =
	"import json\n"
	"n = %d\n"
	"total = 0\n"
	"for _ in range(3):\n"
	"    d = {'key%%d' %% i: list(range(i %% 32)) for i in range(n)}\n"
	"    total += len(json.dumps(d))\n"
	"    del d\n"
	"print(total)\n";

static void run_test(enum test t, unsigned int a, struct sample *s)
{
	const char *preload = a == SHIM ? shim_path : allocators[a].preload;
	char path[PATH_MAX + 32], arg[64], prog[512];
	struct run r;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	s->v[0] = s->v[1] = NAN;
	switch (t) {
	case T_SERVER: {
		snprintf(path, sizeof(path), "%s/shim-server", bench_dir);
		snprintf(arg, sizeof(arg), "%d", quick ? 10000 : 100000);
		char *argv[] = { path, "--threads", "4", "--requests", arg, NULL };

		rc = run_program(preload, argv, &r);
		if (rc == 0 && exited_ok(&r) && strstr(r.out, "@server ")) {
			s->v[0] = field(r.out, "ns_per_request");
			s->v[1] = field(r.out, "hwm_kib") / 1024.0;
			snprintf(s->output, sizeof(s->output), "checksum %.0f allocs %.0f",
				 field(r.out, "checksum"), field(r.out, "allocs"));
			s->ok = !isnan(s->v[0]);
		}
		break;
	}
	case T_PYTHON: {
		snprintf(prog, sizeof(prog), python_prog, quick ? 10000 : 100000);
		char *argv[] = { "python3", "-c", prog, NULL };

		rc = run_program(preload, argv, &r);
		if (rc == 0 && exited_ok(&r)) {
			s->v[0] = r.wall_s;
			s->v[1] = (double)r.maxrss_kib / 1024.0;
			snprintf(s->output, sizeof(s->output), "%.40s", r.out);
			s->ok = true;
		}
		break;
	}
	case T_MIXED: {
		snprintf(path, sizeof(path), "%s/uslab-bench", bench_dir);
		char *argv[] = { path, "--child", (char *)allocators[a].name, "mixed",
				 quick ? "--quick" : NULL, NULL };

		rc = run_program(preload, argv, &r);
		if (rc == 0 && exited_ok(&r)) {
			char *p = strstr(r.out, BENCH_RESULT_TAG " mixed ");
			char al[32];
			double v;

			if (p && sscanf(p + sizeof(BENCH_RESULT_TAG) + 6, "%31s %lf", al, &v) == 2) {
				s->v[0] = v;
				s->ok = true;
			}
		}
		break;
	}
	case T_IDLE: {
		snprintf(path, sizeof(path), "%s/shim-idle", bench_dir);
		char *argv[] = { path, NULL };

		rc = run_program(preload, argv, &r);
		if (rc == 0 && exited_ok(&r) && strstr(r.out, "@idle ")) {
			s->v[0] = field(r.out, "hwm_kib");
			s->ok = !isnan(s->v[0]);
		}
		break;
	}
	default:
		break;
	}
	if (!s->ok) {
		fprintf(stderr, "shim-bench: %s under %s failed (status %d)\n", tests[t].name,
			allocators[a].name, rc == 0 ? r.status : -1);
	}
}

/* ---- statistics and report ------------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

static bool median_of(enum test t, unsigned int a, int f, double *med, double *best)
{
	double v[MAX_REPS];
	unsigned int n = 0;

	for (unsigned int r = 0; r < nsamples[t][a]; r++)
		if (samples[t][a][r].ok && !isnan(samples[t][a][r].v[f]))
			v[n++] = samples[t][a][r].v[f];
	if (!n)
		return false;
	qsort(v, n, sizeof(v[0]), cmp_double);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*best = tests[t].fig[f].higher_better ? v[n - 1] : v[0];
	return true;
}

static const char *fmt_for(double v)
{
	return v >= 1000 ? "%.0f" : v >= 10 ? "%.1f" : v >= 1 ? "%.2f" : "%.3f";
}

#define COL 17

static void print_table(unsigned int reps)
{
	printf("\n%-7s %-10s", "test", "unit");
	for (unsigned int a = 0; a < NR_ALLOC; a++)
		if (allocators[a].selected)
			printf("%*s", COL, a == SHIM ? "uslab-shim" : allocators[a].name);
	printf("\n");
	for (unsigned int t = 0; t < NR_TESTS; t++) {
		if (!test_selected[t])
			continue;
		for (int f = 0; f < 2 && tests[t].fig[f].unit; f++) {
			printf("%-7s %-10s", f == 0 ? tests[t].name : "", tests[t].fig[f].unit);
			for (unsigned int a = 0; a < NR_ALLOC; a++) {
				char cell[48], m[20], b[20];
				double med, best;

				if (!allocators[a].selected)
					continue;
				if (!allocators[a].present) {
					printf("%*s", COL, "-");
					continue;
				}
				if (!median_of((enum test)t, a, f, &med, &best)) {
					printf("%*s", COL, "FAILED");
					continue;
				}
				snprintf(m, sizeof(m), fmt_for(med), med);
				snprintf(b, sizeof(b), fmt_for(best), best);
				snprintf(cell, sizeof(cell), "%s (%s)", m, b);
				printf("%*s", COL, cell);
			}
			printf("\n");
		}
	}
	printf("cells: median (best) of %u rep%s; lower is better everywhere. server: its workers' "
	       "own clock;\npython: fork to exit; MiB peak/KiB peak: VmHWM of the program itself, "
	       "MiB maxrss: wait4.\n", reps, reps == 1 ? "" : "s");
}

static void print_verdicts(void)
{
	printf("\nuslab's LD_PRELOAD shim against the best peer (issue 13, medians)\n");
	if (!allocators[SHIM].selected)
		return;
	if (!allocators[SHIM].present) {
		printf("  skipped: %s not found (%s)\n", shim_path, allocators[SHIM].package);
		return;
	}
	for (unsigned int t = 0; t < NR_TESTS; t++) {
		const struct figure *fig = &tests[t].fig[0];
		double shim, sb, peer = NAN, pb, m, b;
		int who = -1;

		if (!test_selected[t])
			continue;
		if (!median_of((enum test)t, SHIM, 0, &shim, &sb)) {
			printf("%-7s shim FAILED\n", tests[t].name);
			continue;
		}
		if (fig->target_kind == VS_GLIBC_KIB) {
			if (!allocators[GLIBC].selected || !median_of((enum test)t, GLIBC, 0, &m, &b)) {
				printf("%-7s no glibc run to compare with\n", tests[t].name);
				continue;
			}
			printf("%-7s shim %.0f KiB, glibc %.0f KiB: shim - glibc = %+.0f KiB  target "
			       "%s: %s\n", tests[t].name, shim, m, shim - m, fig->target_text,
			       shim - m <= fig->target ? "met" : "NOT met");
			continue;
		}
		for (unsigned int a = 0; a < NR_ALLOC; a++) {
			if (a == SHIM || !allocators[a].selected || !allocators[a].present)
				continue;
			if (median_of((enum test)t, a, 0, &m, &pb) && (who < 0 || m < peer)) {
				who = (int)a;
				peer = m;
			}
		}
		if (who < 0) {
			printf("%-7s shim %.3f %s, no peer result\n", tests[t].name, shim, fig->unit);
			continue;
		}
		printf("%-7s shim %.3f %s, best peer %s %.3f: shim / best peer = %.2f  target %s: %s\n",
		       tests[t].name, shim, fig->unit, allocators[who].name, peer, shim / peer,
		       fig->target_text, shim / peer <= fig->target ? "met" : "NOT met");
	}
}

/* Every malloc must give the same output (server checksum, python's total). */
static void print_checks(void)
{
	unsigned int bad = 0;

	printf("\nchecks\n");
	for (unsigned int t = 0; t < NR_TESTS; t++) {
		const char *ref = NULL;

		for (unsigned int a = 0; a < NR_ALLOC; a++) {
			for (unsigned int r = 0; r < nsamples[t][a]; r++) {
				const struct sample *s = &samples[t][a][r];

				if (!s->ok) {
					printf("  %s under %s, rep %u: failed\n", tests[t].name,
					       allocators[a].name, r + 1);
					bad++;
					continue;
				}
				if (!ref) {
					ref = s->output;
				} else if (strcmp(ref, s->output) != 0) {
					printf("  %s under %s, rep %u: output '%s', expected '%s'\n",
					       tests[t].name, allocators[a].name, r + 1, s->output,
					       ref);
					bad++;
				}
			}
		}
	}
	failures += (int)bad;
	if (!bad)
		printf("  all runs ok; every malloc gave the same output (server checksum, python "
		       "result)\n");
}

/* ---- main ------------------------------------------------------------------------ */

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

/* Whether @prog is an executable in $PATH. */
static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, prog);
		if (len && access(buf, X_OK) == 0)
			return true;
		p += len;
		if (*p == ':')
			p++;
	}
	return false;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: shim-bench [--reps N] [--quick] [--shim LIB] [--bench-dir DIR]\n"
		   "                  [--tests a,b] [--allocators a,b]\n"
		   "  --reps N        repetitions (default 5; --quick: 1)\n"
		   "  --quick         one repetition, a tenth of the work (smoke test)\n"
		   "  --shim LIB      libuslab-malloc.so (default: DIR/../.libs/libuslab-malloc.so)\n"
		   "  --bench-dir DIR where shim-server, shim-idle and uslab-bench are (default:\n"
		   "                  this program's directory)\n"
		   "  --tests         only these: server,python,mixed,idle\n"
		   "  --allocators    only these: glibc,jemalloc,tcmalloc,mimalloc,shim\n");
}

int main(int argc, char **argv)
{
	const char *test_list = NULL, *alloc_list = NULL, *shim_opt = NULL, *dir_opt = NULL;
	unsigned int reps = 5;
	bool reps_given = false;
	uint64_t t0 = now_ns();
	char self[PATH_MAX];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			reps = (unsigned int)atoi(argv[++i]);
			reps_given = true;
		} else if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[i], "--shim") == 0 && i + 1 < argc) {
			shim_opt = argv[++i];
		} else if (strcmp(argv[i], "--bench-dir") == 0 && i + 1 < argc) {
			dir_opt = argv[++i];
		} else if (strcmp(argv[i], "--tests") == 0 && i + 1 < argc) {
			test_list = argv[++i];
		} else if (strcmp(argv[i], "--allocators") == 0 && i + 1 < argc) {
			alloc_list = argv[++i];
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
		fprintf(stderr, "shim-bench: --reps must be 1..%d\n", MAX_REPS);
		return 2;
	}
	if (dir_opt) {
		snprintf(bench_dir, sizeof(bench_dir), "%s", dir_opt);
	} else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n <= 0) {
			fprintf(stderr, "shim-bench: /proc/self/exe: %s\n", strerror(errno));
			return 2;
		}
		self[n] = '\0';
		snprintf(bench_dir, sizeof(bench_dir), "%s", dirname(self));
	}
	if (shim_opt)
		snprintf(shim_path, sizeof(shim_path), "%s", shim_opt);
	else
		snprintf(shim_path, sizeof(shim_path), "%s/../.libs/libuslab-malloc.so", bench_dir);

	for (unsigned int a = 0; a < NR_ALLOC; a++) {
		allocators[a].selected = !alloc_list || in_list(alloc_list, allocators[a].name);
		if (a == SHIM)
			allocators[a].present = access(shim_path, R_OK) == 0;
		else if (allocators[a].preload)
			allocators[a].present = access(allocators[a].preload, R_OK) == 0;
	}
	for (unsigned int t = 0; t < NR_TESTS; t++)
		test_selected[t] = !test_list || in_list(test_list, tests[t].name);
	if (test_selected[T_PYTHON] && !in_path("python3")) {
		printf("shim-bench: python3 not found: the python test is skipped "
		       "(apt-get install python3)\n");
		test_selected[T_PYTHON] = false;
	}

	printf("shim-bench: %u rep%s%s; programs from %s\n", reps, reps == 1 ? "" : "s",
	       quick ? " (quick: a tenth of the work)" : "", bench_dir);
	for (unsigned int a = 0; a < NR_ALLOC; a++) {
		if (!allocators[a].selected)
			continue;
		if (!allocators[a].present)
			printf("  %-9s %s: %s\n", allocators[a].name,
			       a == SHIM ? "skipped" : "not installed",
			       a == SHIM ? shim_path : allocators[a].package);
		else
			printf("  %-9s %s\n", allocators[a].name,
			       a == SHIM ? shim_path : allocators[a].preload ? allocators[a].preload
			       : "no preload");
	}
	if (allocators[SHIM].selected && !allocators[SHIM].present)
		printf("shim-bench: libuslab-malloc.so not built: the uslab-shim column is "
		       "skipped\n");
	for (unsigned int t = 0; t < NR_TESTS; t++)
		if (test_selected[t])
			printf("  %-7s %s\n", tests[t].name, tests[t].what);
	fflush(stdout);

	for (unsigned int rep = 0; rep < reps; rep++) {
		fprintf(stderr, "shim-bench: repetition %u/%u ...\n", rep + 1, reps);
		for (unsigned int t = 0; t < NR_TESTS; t++) {
			if (!test_selected[t])
				continue;
			for (unsigned int k = 0; k < NR_ALLOC; k++) {
				unsigned int a = (k + rep) % NR_ALLOC;

				if (!allocators[a].selected || !allocators[a].present)
					continue;
				run_test((enum test)t, a, &samples[t][a][nsamples[t][a]++]);
			}
		}
	}
	print_table(reps);
	print_verdicts();
	print_checks();
	printf("\ntotal time %.1f s\n", (double)(now_ns() - t0) / 1e9);
	return failures ? 1 : 0;
}
