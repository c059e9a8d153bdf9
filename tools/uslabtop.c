// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tools/uslabtop.c - slabtop(1) for uslab processes: reads the statistics a
 * process publishes in "/uslab.<pid>" (USLAB_STATS=1, see uslab/stats.h) and
 * shows a summary, the caches sorted by a slabtop key, and the tenants.
 *
 * Without -p it takes the only live publisher in /dev/shm (files of dead
 * processes are ignored); with several it lists them and asks for -p (or
 * --newest). Interactive mode redraws every -d seconds with plain ANSI
 * escapes, the terminal in non-canonical no-echo mode (restored at exit and
 * on SIGINT, SIGTERM, SIGHUP); 'q' quits, a sort key re-sorts. --once
 * prints one snapshot for scripts, --json prints it as JSON.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <uslab/stats.h>

#define SHM_DIR "/dev/shm"
#define SHM_FILE_PREFIX "uslab."

struct options {
	pid_t pid;          /* 0: discover */
	double delay;       /* seconds between redraws */
	char sort;          /* slabtop sort key */
	bool once;
	bool json;
	bool newest;
	long rows;          /* cache rows shown; -1: as the screen allows (all with --once) */
};

static const char *progname = "uslabtop";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options]\n"
		"Show the slab caches and tenants of a uslab process, like slabtop(1).\n"
		"The process publishes them when run with USLAB_STATS=1.\n\n"
		"Options:\n"
		"  -p, --pid PID       process to watch (default: the only one publishing)\n"
		"      --newest        with several publishers, take the newest\n"
		"  -d, --delay SECS    seconds between redraws (default 3)\n"
		"  -s, --sort KEY      sort caches by KEY (default o):\n"
		"                        a active objects   b objects per slab  c cache size\n"
		"                        l slabs            v active slabs      n name\n"
		"                        o objects          p pages per slab    s object size\n"
		"                        u use%%\n"
		"  -n, --rows ROWS     show at most ROWS caches\n"
		"  -o, --once          print one snapshot and exit\n"
		"      --json          print one snapshot as JSON and exit\n"
		"  -h, --help          this text\n\n"
		"Interactive keys: q quits, a sort key re-sorts, space redraws now.\n",
		progname);
}

static bool sort_key_valid(int c)
{
	return c && strchr("abclvnopsu", c) != NULL;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "delay", required_argument, NULL, 'd' },
		{ "sort", required_argument, NULL, 's' },
		{ "rows", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'J' },
		{ "newest", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .delay = 3.0, .sort = 'o', .rows = -1 };
	while ((c = getopt_long(argc, argv, "p:d:s:n:oh", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'p': {
			long pid = strtol(optarg, &end, 10);

			if (*end || pid <= 0 || pid != (pid_t)pid) {
				fprintf(stderr, "%s: bad pid '%s'\n", progname, optarg);
				return -1;
			}
			o->pid = (pid_t)pid;
			break;
		}
		case 'd':
			o->delay = strtod(optarg, &end);
			if (*end || !(o->delay >= 0.1 && o->delay <= 86400)) {
				fprintf(stderr, "%s: bad delay '%s' (0.1 .. 86400 seconds)\n", progname,
					optarg);
				return -1;
			}
			break;
		case 's':
			if (strlen(optarg) != 1 || !sort_key_valid(optarg[0])) {
				fprintf(stderr, "%s: bad sort key '%s'\n", progname, optarg);
				return -1;
			}
			o->sort = optarg[0];
			break;
		case 'n':
			o->rows = strtol(optarg, &end, 10);
			if (*end || o->rows < 0) {
				fprintf(stderr, "%s: bad row count '%s'\n", progname, optarg);
				return -1;
			}
			break;
		case 'o':
			o->once = true;
			break;
		case 'J':
			o->json = true;
			break;
		case 'N':
			o->newest = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", progname, argv[optind]);
		return -1;
	}
	return 0;
}

/* ---- finding the process ------------------------------------------------------ */

static bool process_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

struct publisher {
	pid_t pid;
	uint64_t start_ns;
	char comm[32];
	bool readable;
};

static int cmp_publisher(const void *a, const void *b)
{
	const struct publisher *x = a, *y = b;

	return (x->start_ns > y->start_ns) - (x->start_ns < y->start_ns);
}

/* The pid to watch: the only live publisher, or the newest with --newest; 0 on error. */
static pid_t discover(bool newest)
{
	struct publisher *list = NULL;
	size_t n = 0, cap = 0, stale = 0;
	struct dirent *de;
	DIR *dir = opendir(SHM_DIR);
	pid_t pid = 0;

	if (!dir) {
		fprintf(stderr, "%s: cannot read %s: %s\n", progname, SHM_DIR, strerror(errno));
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		struct uslab_stats_snapshot snap;
		struct publisher *p;
		char *end;
		long v;

		if (strncmp(de->d_name, SHM_FILE_PREFIX, strlen(SHM_FILE_PREFIX)) != 0)
			continue;
		v = strtol(de->d_name + strlen(SHM_FILE_PREFIX), &end, 10);
		if (*end || v <= 0 || v != (pid_t)v)
			continue;
		if (!process_alive((pid_t)v)) {
			stale++;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			p = realloc(list, cap * sizeof(*list));
			if (!p) {
				fprintf(stderr, "%s: out of memory\n", progname);
				free(list);
				closedir(dir);
				return 0;
			}
			list = p;
		}
		p = &list[n++];
		memset(p, 0, sizeof(*p));
		p->pid = (pid_t)v;
		if (uslab_stats_read(p->pid, &snap) == 0) {
			p->readable = true;
			p->start_ns = snap.header.start_time_ns;
			memcpy(p->comm, snap.header.comm, sizeof(p->comm));
			p->comm[sizeof(p->comm) - 1] = '\0';
			uslab_stats_snapshot_free(&snap);
		} else {
			strcpy(p->comm, "?");
		}
	}
	closedir(dir);

	if (n == 0) {
		fprintf(stderr, "%s: no uslab process publishing statistics (start it with "
				"USLAB_STATS=1)\n", progname);
		if (stale)
			fprintf(stderr, "%s: %zu stale %s/%s* file%s of exited processes ignored\n",
				progname, stale, SHM_DIR, SHM_FILE_PREFIX, stale == 1 ? "" : "s");
	} else if (n == 1 || newest) {
		qsort(list, n, sizeof(*list), cmp_publisher);
		pid = list[n - 1].pid;
	} else {
		qsort(list, n, sizeof(*list), cmp_publisher);
		fprintf(stderr, "%s: %zu uslab processes publish statistics; choose one with -p "
				"(or --newest):\n", progname, n);
		fprintf(stderr, "  %8s  %-16s  %s\n", "PID", "COMMAND", "STARTED");
		for (size_t i = 0; i < n; i++) {
			char when[32] = "?";
			time_t t = (time_t)(list[i].start_ns / 1000000000u);
			struct tm tm;

			if (list[i].readable && localtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			fprintf(stderr, "  %8ld  %-16s  %s\n", (long)list[i].pid, list[i].comm, when);
		}
	}
	free(list);
	return pid;
}

/* ---- the picture ------------------------------------------------------------------ */

struct totals {
	uint64_t active_objs, num_objs, active_slabs, num_slabs;
	uint64_t active_size, total_size;
	size_t caches, active_caches;
	uint64_t min_size, max_size;
};

static uint64_t cache_bytes(const struct uslab_stats_snapshot *s, const struct uslab_stats_cache *c)
{
	return c->num_slabs * c->pages_per_slab * (uint64_t)s->header.page_size;
}

static unsigned int use_pct(const struct uslab_stats_cache *c)
{
	return c->num_objs ? (unsigned int)(c->active_objs * 100 / c->num_objs) : 0;
}

static void compute_totals(const struct uslab_stats_snapshot *s, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	t->min_size = UINT64_MAX;
	for (size_t i = 0; i < s->nr_caches; i++) {
		const struct uslab_stats_cache *c = &s->caches[i];

		t->active_objs += c->active_objs;
		t->num_objs += c->num_objs;
		t->active_slabs += c->active_slabs;
		t->num_slabs += c->num_slabs;
		t->active_size += c->active_objs * c->size;
		t->total_size += cache_bytes(s, c);
		t->caches++;
		t->active_caches += c->active_objs != 0;
		if (c->size < t->min_size)
			t->min_size = c->size;
		if (c->size > t->max_size)
			t->max_size = c->size;
	}
	if (!t->caches)
		t->min_size = 0;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static char sort_key;

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a < b) - (a > b); /* descending */
}

static int cmp_cache(const void *pa, const void *pb)
{
	const struct uslab_stats_cache *a = *(const struct uslab_stats_cache *const *)pa;
	const struct uslab_stats_cache *b = *(const struct uslab_stats_cache *const *)pb;
	int r = 0;

	switch (sort_key) {
	case 'a': r = cmp_u64(a->active_objs, b->active_objs); break;
	case 'b': r = cmp_u64(a->objs_per_slab, b->objs_per_slab); break;
	case 'c': r = cmp_u64(a->num_slabs * a->pages_per_slab, b->num_slabs * b->pages_per_slab); break;
	case 'l': r = cmp_u64(a->num_slabs, b->num_slabs); break;
	case 'v': r = cmp_u64(a->active_slabs, b->active_slabs); break;
	case 'o': r = cmp_u64(a->num_objs, b->num_objs); break;
	case 'p': r = cmp_u64(a->pages_per_slab, b->pages_per_slab); break;
	case 's': r = cmp_u64(a->size, b->size); break;
	case 'u': r = cmp_u64(use_pct(a), use_pct(b)); break;
	default: break;
	}
	if (r == 0)
		r = strcmp(a->name, b->name);
	return r;
}

/* Bytes with a binary unit: "512", "12.0K", "3.5M", "1.2G". */
static const char *human(char *buf, size_t size, uint64_t v)
{
	static const char units[] = "KMGTP";
	double d = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, size, "%" PRIu64, v);
		return buf;
	}
	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f%c", d, units[u]);
	return buf;
}

static const char *limit_str(char *buf, size_t size, uint64_t v)
{
	if (v == USLAB_STATS_NO_LIMIT) {
		snprintf(buf, size, "max");
		return buf;
	}
	return human(buf, size, v);
}

static uint64_t mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Print the picture on @f: the summary, at most @cache_rows caches (-1: all)
 * and at most @tenant_rows tenants (-1: all).
 */
static void render(FILE *f, const struct uslab_stats_snapshot *s, long cache_rows,
		   long tenant_rows)
{
	const struct uslab_stats_header *h = &s->header;
	const struct uslab_stats_cache **order;
	struct totals t;
	char comm[sizeof(h->comm)];
	uint64_t now = mono_now_ns();
	double age = now > h->update_mono_ns ? (double)(now - h->update_mono_ns) / 1e9 : 0.0;
	size_t shown;

	memcpy(comm, h->comm, sizeof(comm));
	comm[sizeof(comm) - 1] = '\0';
	compute_totals(s, &t);
	fprintf(f, " uslabtop - pid %" PRIu32 " (%s), %zu caches, %zu tenants, %u node%s, "
		   "updated %.1fs ago (every %.1fs)\n",
		h->pid, comm, s->nr_caches, s->nr_tenants, h->nr_nodes, h->nr_nodes == 1 ? "" : "s",
		age, h->period_ms / 1000.0);
	fprintf(f, " Active / Total Objects (%% used)    : %" PRIu64 " / %" PRIu64 " (%.1f%%)\n",
		t.active_objs, t.num_objs, pct(t.active_objs, t.num_objs));
	fprintf(f, " Active / Total Slabs (%% used)      : %" PRIu64 " / %" PRIu64 " (%.1f%%)\n",
		t.active_slabs, t.num_slabs, pct(t.active_slabs, t.num_slabs));
	fprintf(f, " Active / Total Caches (%% used)     : %zu / %zu (%.1f%%)\n",
		t.active_caches, t.caches, pct(t.active_caches, t.caches));
	fprintf(f, " Active / Total Size (%% used)       : %.2fK / %.2fK (%.1f%%)\n",
		(double)t.active_size / 1024.0, (double)t.total_size / 1024.0,
		pct(t.active_size, t.total_size));
	fprintf(f, " Minimum / Average / Maximum Object : %.2fK / %.2fK / %.2fK\n",
		(double)t.min_size / 1024.0,
		t.num_objs ? (double)t.total_size / 1024.0 / (double)t.num_objs : 0.0,
		(double)t.max_size / 1024.0);

	fprintf(f, "\n  %8s %8s %4s %8s %6s %8s %10s %s\n", "OBJS", "ACTIVE", "USE", "OBJ SIZE",
		"SLABS", "OBJ/SLAB", "CACHE SIZE", "NAME");
	order = malloc((s->nr_caches ? s->nr_caches : 1) * sizeof(*order));
	if (!order)
		return;
	for (size_t i = 0; i < s->nr_caches; i++)
		order[i] = &s->caches[i];
	qsort(order, s->nr_caches, sizeof(*order), cmp_cache);
	shown = cache_rows < 0 ? s->nr_caches : (size_t)cache_rows;
	for (size_t i = 0; i < s->nr_caches && i < shown; i++) {
		const struct uslab_stats_cache *c = order[i];
		char name[USLAB_STATS_NAME_LEN];

		memcpy(name, c->name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		fprintf(f, "  %8" PRIu64 " %8" PRIu64 " %3u%% %7.2fK %6" PRIu64 " %8" PRIu32
			   " %9" PRIu64 "K %s\n",
			c->num_objs, c->active_objs, use_pct(c), c->size / 1024.0, c->num_slabs,
			c->objs_per_slab, cache_bytes(s, c) / 1024, name);
	}
	free(order);

	fprintf(f, "\n  %5s %-24s %9s %9s %9s %9s %7s %7s\n", "ID", "TENANT", "CURRENT", "MAX",
		"PEAK", "SLAB", "EV_MAX", "EV_OOM");
	shown = tenant_rows < 0 ? s->nr_tenants : (size_t)tenant_rows;
	for (size_t i = 0; i < s->nr_tenants && i < shown; i++) {
		const struct uslab_stats_tenant *tn = &s->tenants[i];
		char path[USLAB_STATS_PATH_LEN + 16], cur[16], max[16], peak[16], slab[16];

		memcpy(path, tn->path, USLAB_STATS_PATH_LEN);
		path[USLAB_STATS_PATH_LEN - 1] = '\0';
		if (!(tn->flags & USLAB_STATS_TENANT_ONLINE))
			strcat(path, " (dying)");
		fprintf(f, "  %5" PRIu32 " %-24s %9s %9s %9s %9s %7" PRIu64 " %7" PRIu64 "\n",
			tn->id, path, human(cur, sizeof(cur), tn->current),
			limit_str(max, sizeof(max), tn->max), human(peak, sizeof(peak), tn->peak),
			human(slab, sizeof(slab), tn->slab), tn->events[2], tn->events[3]);
	}
	if (shown < s->nr_tenants)
		fprintf(f, "  ... %zu more tenants\n", s->nr_tenants - shown);
}

/* ---- reading ------------------------------------------------------------------- */

static int read_snapshot(pid_t pid, struct uslab_stats_snapshot *snap)
{
	int err = uslab_stats_read(pid, snap);

	switch (err) {
	case 0:
		break;
	case -ENOENT:
		fprintf(stderr, "%s: process %ld publishes no statistics%s\n", progname, (long)pid,
			process_alive(pid) ? " (start it with USLAB_STATS=1)" : " (it has exited)");
		break;
	case -EPROTO:
		fprintf(stderr, "%s: %s/%s%ld is not a uslab statistics file of version %u\n",
			progname, SHM_DIR, SHM_FILE_PREFIX, (long)pid, USLAB_STATS_VERSION);
		break;
	default:
		fprintf(stderr, "%s: cannot read the statistics of process %ld: %s\n", progname,
			(long)pid, strerror(-err));
		break;
	}
	return err;
}

/* ---- interactive mode ---------------------------------------------------------------- */

static struct termios saved_termios;
static bool termios_saved;
static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t got_winch;

static void terminal_restore(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
		termios_saved = false;
	}
	/* Show the cursor again. */
	fputs("\033[?25h", stdout);
	fflush(stdout);
}

static void on_signal(int sig)
{
	got_signal = sig;
}

static void on_winch(int sig)
{
	(void)sig;
	got_winch = 1;
}

static void terminal_setup(void)
{
	struct sigaction sa;
	struct termios raw;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		raw = saved_termios;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
			termios_saved = true;
	}
	atexit(terminal_restore);
	/* Hide the cursor while drawing. */
	fputs("\033[?25l", stdout);
}

static void screen_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* Home, each line cut to the width and cleared to its end, then the rest cleared. */
static void draw(const char *frame, int rows, int cols)
{
	const char *p = frame;
	int row = 0;

	fputs("\033[H", stdout);
	while (*p && row < rows) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		fwrite(p, 1, len < (size_t)cols ? len : (size_t)cols, stdout);
		fputs("\033[K", stdout);
		row++;
		p += len + (nl != NULL);
		if (*p && row < rows)
			fputs("\r\n", stdout);
	}
	fputs("\033[J", stdout);
	fflush(stdout);
}

static int interactive(const struct options *o, pid_t pid)
{
	char note[160] = "";
	int status = 0;

	terminal_setup();
	fputs("\033[2J", stdout);
	while (!got_signal) {
		struct uslab_stats_snapshot snap;
		int rows, cols, err, header_lines = 11, tenant_rows, cache_rows;
		char *frame = NULL;
		size_t size = 0;
		FILE *f;
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		uint64_t deadline;

		err = uslab_stats_read(pid, &snap);
		if (err == -ENOENT) {
			terminal_restore();
			fprintf(stderr, "\n%s: process %ld stopped publishing statistics%s\n", progname,
				(long)pid, process_alive(pid) ? "" : " (it has exited)");
			return 0;
		}
		if (err && err != -EAGAIN) {
			terminal_restore();
			return read_snapshot(pid, &snap) ? 1 : 0;
		}
		screen_size(&rows, &cols);
		f = open_memstream(&frame, &size);
		if (!f) {
			if (!err)
				uslab_stats_snapshot_free(&snap);
			status = 1;
			break;
		}
		if (!err) {
			tenant_rows = (int)snap.nr_tenants;
			if (tenant_rows > (rows - header_lines) / 3)
				tenant_rows = (rows - header_lines) / 3;
			if (tenant_rows < 1)
				tenant_rows = 1;
			cache_rows = rows - header_lines - tenant_rows -
				     ((size_t)tenant_rows < snap.nr_tenants);
			if (cache_rows < 1)
				cache_rows = 1;
			if (o->rows >= 0 && o->rows < cache_rows)
				cache_rows = (int)o->rows;
			render(f, &snap, cache_rows, tenant_rows);
			uslab_stats_snapshot_free(&snap);
		} else {
			fprintf(f, " uslabtop - pid %ld: statistics busy, retrying\n", (long)pid);
		}
		fprintf(f, "%s", note);
		fclose(f);
		draw(frame, rows, cols);
		free(frame);
		note[0] = '\0';

		/* Wait for the delay or a key. */
		deadline = mono_now_ns() + (uint64_t)(o->delay * 1e9);
		while (!got_signal) {
			uint64_t now = mono_now_ns();
			int ms = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
			char c;

			if (got_winch) {
				got_winch = 0;
				break;
			}
			if (ms == 0)
				break;
			if (poll(&pfd, 1, ms) <= 0)
				continue; /* timeout, or EINTR: check the flags */
			if (read(STDIN_FILENO, &c, 1) != 1) {
				/* stdin at EOF: just wait for the delay. */
				pfd.fd = -1;
				continue;
			}
			if (c == 'q' || c == 'Q') {
				got_signal = -1;
			} else if (sort_key_valid(c)) {
				sort_key = c;
				break;
			} else if (c == ' ') {
				break;
			} else {
				snprintf(note, sizeof(note), "\n unknown key '%c' (q quits; sort keys: "
					 "a b c l v n o p s u)", c >= 32 && c < 127 ? c : '?');
				break;
			}
		}
	}
	terminal_restore();
	fputs("\n", stdout);
	if (got_signal > 0) {
		/* Die of the signal as the shell expects, terminal restored. */
		signal(got_signal, SIG_DFL);
		raise(got_signal);
	}
	return status;
}

int main(int argc, char **argv)
{
	struct uslab_stats_snapshot snap;
	struct options o;
	pid_t pid;
	int err;

	if (argc > 0 && argv[0]) {
		const char *slash = strrchr(argv[0], '/');

		progname = slash ? slash + 1 : argv[0];
		/* libtool's uninstalled wrapper runs "lt-uslabtop". */
		if (strncmp(progname, "lt-", 3) == 0)
			progname += 3;
	}
	if (parse_args(argc, argv, &o))
		return 2;
	sort_key = o.sort;
	pid = o.pid ? o.pid : discover(o.newest);
	if (!pid)
		return 1;
	if (!o.once && !o.json)
		return interactive(&o, pid);

	err = read_snapshot(pid, &snap);
	if (err)
		return 1;
	if (o.json)
		err = uslab_stats_print_json(&snap, stdout);
	else
		render(stdout, &snap, o.rows, -1);
	uslab_stats_snapshot_free(&snap);
	if (err || fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write the output\n", progname);
		return 1;
	}
	return 0;
}
