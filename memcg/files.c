// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memcg/files.c - limits and what users read about a tenant, as typed calls
 * and as cgroup v2 style files: mem_cgroup_read() renders a file into a
 * memory stream (values in bytes, "key value" lines, as the kernel prints
 * them) and copies it out whole or not at all; mem_cgroup_write() parses
 * "max" or a byte count with a K/M/G/T suffix and applies it through the
 * typed setters. Setting memory.max below usage first asks lib/ to reclaim
 * and drains the stocks; the limit changes only if usage then fits.
 *
 * Locks: a tenant's limit_lock (leaf) serialises its limit writers so that a
 * refused memory.max is restored exactly; it is never held across lib/'s
 * callbacks. Sums over a subtree take the tree lock inside
 * memcg_stat_totals() and memcg_count_descendants().
 */
#include "memcg/memcontrol.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mem_cgroup *memcg_or_root(const struct mem_cgroup *memcg)
{
	return memcg_is_root(memcg) ? &memcg_root : (struct mem_cgroup *)memcg;
}

static unsigned long memcg_pages_to_bytes(long pages)
{
	return pages > 0 ? (unsigned long)pages * PAGE_SIZE : 0;
}

static unsigned long memcg_limit_to_bytes(long pages)
{
	return pages >= PAGE_COUNTER_MAX ? MEMCG_LIMIT_MAX : memcg_pages_to_bytes(pages);
}

static long memcg_bytes_to_limit(unsigned long bytes)
{
	if (bytes == MEMCG_LIMIT_MAX)
		return PAGE_COUNTER_MAX;
	return (long)MIN(bytes / PAGE_SIZE, (unsigned long)PAGE_COUNTER_MAX);
}

unsigned long mem_cgroup_usage(const struct mem_cgroup *memcg)
{
	return memcg_pages_to_bytes(page_counter_read(&memcg_or_root(memcg)->memory));
}

unsigned long mem_cgroup_peak(const struct mem_cgroup *memcg)
{
	return memcg_pages_to_bytes(__atomic_load_n(&memcg_or_root(memcg)->memory.watermark,
						    __ATOMIC_RELAXED));
}

unsigned long mem_cgroup_max(const struct mem_cgroup *memcg)
{
	return memcg_limit_to_bytes(__atomic_load_n(&memcg_or_root(memcg)->memory.max,
						    __ATOMIC_RELAXED));
}

unsigned long mem_cgroup_high(const struct mem_cgroup *memcg)
{
	return memcg_limit_to_bytes(__atomic_load_n(&memcg_or_root(memcg)->memory.high,
						    __ATOMIC_RELAXED));
}

static int memcg_try_set_max(struct mem_cgroup *memcg, long pages)
{
	int err;

	umutex_lock(&memcg->limit_lock);
	err = page_counter_set_max(&memcg->memory, (unsigned long)pages);
	umutex_unlock(&memcg->limit_lock);
	return err;
}

int mem_cgroup_set_max(struct mem_cgroup *memcg, unsigned long bytes)
{
	long pages = memcg_bytes_to_limit(bytes);
	const struct memcg_kmem_ops *ops;

	if (memcg_is_root(memcg) || !memcg_online(memcg))
		return -EINVAL;
	if (memcg_try_set_max(memcg, pages) == 0)
		return 0;
	/* Usage is above the new limit: make room, then try once more. */
	ops = memcg_ops();
	if (ops && ops->reclaim)
		ops->reclaim(memcg);
	memcg_drain_stocks(memcg);
	return memcg_try_set_max(memcg, pages);
}

int mem_cgroup_set_high(struct mem_cgroup *memcg, unsigned long bytes)
{
	long pages = memcg_bytes_to_limit(bytes);
	const struct memcg_kmem_ops *ops;

	if (memcg_is_root(memcg) || !memcg_online(memcg))
		return -EINVAL;
	umutex_lock(&memcg->limit_lock);
	__atomic_store_n(&memcg->memory.high, pages, __ATOMIC_SEQ_CST);
	umutex_unlock(&memcg->limit_lock);
	if (page_counter_read(&memcg->memory) > pages) {
		memcg_memory_event(memcg, MEMCG_HIGH);
		ops = memcg_ops();
		if (ops && ops->reclaim)
			ops->reclaim(memcg);
	}
	return 0;
}

/* ---- the file interface ------------------------------------------------- */

enum memcg_file {
	MEMCG_FILE_CURRENT,
	MEMCG_FILE_PEAK,
	MEMCG_FILE_MAX,
	MEMCG_FILE_HIGH,
	MEMCG_FILE_EVENTS,
	MEMCG_FILE_EVENTS_LOCAL,
	MEMCG_FILE_STAT,
	MEMCG_FILE_CGROUP_STAT,
	MEMCG_FILE_RECLAIM,
	MEMCG_NR_FILES
};

static const char *const memcg_file_names[MEMCG_NR_FILES] = {
	[MEMCG_FILE_CURRENT] = "memory.current",
	[MEMCG_FILE_PEAK] = "memory.peak",
	[MEMCG_FILE_MAX] = "memory.max",
	[MEMCG_FILE_HIGH] = "memory.high",
	[MEMCG_FILE_EVENTS] = "memory.events",
	[MEMCG_FILE_EVENTS_LOCAL] = "memory.events.local",
	[MEMCG_FILE_STAT] = "memory.stat",
	[MEMCG_FILE_CGROUP_STAT] = "cgroup.stat",
	[MEMCG_FILE_RECLAIM] = "memory.reclaim",
};

static const char *const memcg_event_names[MEMCG_NR_MEMORY_EVENTS] = {
	[MEMCG_LOW] = "low",
	[MEMCG_HIGH] = "high",
	[MEMCG_MAX] = "max",
	[MEMCG_OOM] = "oom",
	[MEMCG_OOM_KILL] = "oom_kill",
};

static int memcg_file_lookup(const char *name)
{
	for (int i = 0; name && i < MEMCG_NR_FILES; i++)
		if (strcmp(name, memcg_file_names[i]) == 0)
			return i;
	return -ENOENT;
}

static void memcg_show_limit(FILE *f, unsigned long bytes)
{
	if (bytes == MEMCG_LIMIT_MAX)
		fputs("max\n", f);
	else
		fprintf(f, "%lu\n", bytes);
}

static void memcg_show(struct mem_cgroup *memcg, enum memcg_file file, FILE *f)
{
	const struct memcg_kmem_ops *ops;
	long totals[MEMCG_NR_STAT_ITEMS], online, dying;
	unsigned long reclaimable, unreclaimable;

	switch (file) {
	case MEMCG_FILE_CURRENT:
		fprintf(f, "%lu\n", mem_cgroup_usage(memcg));
		break;
	case MEMCG_FILE_PEAK:
		fprintf(f, "%lu\n", mem_cgroup_peak(memcg));
		break;
	case MEMCG_FILE_MAX:
		memcg_show_limit(f, mem_cgroup_max(memcg));
		break;
	case MEMCG_FILE_HIGH:
		memcg_show_limit(f, mem_cgroup_high(memcg));
		break;
	case MEMCG_FILE_EVENTS:
	case MEMCG_FILE_EVENTS_LOCAL:
		for (int ev = 0; ev < MEMCG_NR_MEMORY_EVENTS; ev++)
			fprintf(f, "%s %lu\n", memcg_event_names[ev],
				mem_cgroup_events(memcg, ev, file == MEMCG_FILE_EVENTS_LOCAL));
		break;
	case MEMCG_FILE_STAT:
		memcg_stat_totals(memcg, totals);
		reclaimable = memcg_pages_to_bytes(totals[MEMCG_SLAB_RECLAIMABLE]);
		unreclaimable = memcg_pages_to_bytes(totals[MEMCG_SLAB_UNRECLAIMABLE]);
		fprintf(f, "slab %lu\n", reclaimable + unreclaimable);
		fprintf(f, "slab_reclaimable %lu\n", reclaimable);
		fprintf(f, "slab_unreclaimable %lu\n", unreclaimable);
		fprintf(f, "kmalloc_large %lu\n",
			memcg_pages_to_bytes(totals[MEMCG_KMALLOC_LARGE]));
		ops = memcg_ops();
		if (ops && ops->stat_show)
			ops->stat_show(memcg, f);
		break;
	case MEMCG_FILE_CGROUP_STAT:
		memcg_count_descendants(memcg, &online, &dying);
		fprintf(f, "nr_descendants %ld\nnr_dying_descendants %ld\n", online, dying);
		break;
	case MEMCG_FILE_RECLAIM: /* write-only */
	case MEMCG_NR_FILES:
		break;
	}
}

/*
 * memory.reclaim (cgroup v2, Linux 5.19): give back up to @bytes of the
 * tenant's memory: its stocked charges and its child caches' free slabs.
 * -EAGAIN when less than asked could be freed, as the kernel answers.
 */
static int memcg_reclaim_bytes(struct mem_cgroup *memcg, unsigned long bytes)
{
	const struct memcg_kmem_ops *ops = memcg_ops();
	unsigned long before = mem_cgroup_usage(memcg), after;

	memcg_drain_stocks(memcg);
	if (ops && ops->reclaim)
		ops->reclaim(memcg);
	after = mem_cgroup_usage(memcg);
	return before - MIN(after, before) >= bytes ? 0 : -EAGAIN;
}

ssize_t mem_cgroup_read(struct mem_cgroup *memcg, const char *file, char *buf, size_t len)
{
	int which = memcg_file_lookup(file);
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	if (which < 0)
		return which;
	if (!buf && len)
		return -EINVAL;
	f = open_memstream(&text, &size);
	if (!f)
		return -ENOMEM;
	memcg_show(memcg_or_root(memcg), (enum memcg_file)which, f);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	if (buf || len) {
		if (size + 1 > len) {
			free(text);
			return -ENOSPC;
		}
		memcpy(buf, text, size + 1);
	}
	free(text);
	return (ssize_t)size;
}

/*
 * memcg_parse_bytes - "max" or decimal bytes with an optional K/M/G/T
 * suffix (powers of 1024); blanks around and one final newline are allowed.
 * Return: 0 or -EINVAL (also on overflow).
 */
static int memcg_parse_bytes(const char *s, unsigned long *bytes)
{
	unsigned long value = 0;
	unsigned int shift = 0;
	const char *p = s;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "max", 3) == 0) {
		value = MEMCG_LIMIT_MAX;
		p += 3;
	} else {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			unsigned int digit = (unsigned int)(*p - '0');

			if (value > (MEMCG_LIMIT_MAX - digit) / 10)
				return -EINVAL;
			value = value * 10 + digit;
		}
		switch (*p) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		case 'T': case 't': shift = 40; break;
		}
		if (shift) {
			p++;
			if (value > (MEMCG_LIMIT_MAX >> shift))
				return -EINVAL;
			value <<= shift;
		}
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*bytes = value;
	return 0;
}

int mem_cgroup_write(struct mem_cgroup *memcg, const char *file, const char *value)
{
	int which = memcg_file_lookup(file);
	unsigned long bytes;
	int err;

	if (which < 0)
		return which;
	if (which != MEMCG_FILE_MAX && which != MEMCG_FILE_HIGH && which != MEMCG_FILE_RECLAIM)
		return -EACCES;
	if (!value)
		return -EINVAL;
	err = memcg_parse_bytes(value, &bytes);
	if (err)
		return err;
	if (which == MEMCG_FILE_RECLAIM && memcg_is_root(memcg)) {
		/* The whole process: every cached byte goes back to the OS (uslab_trim). */
		const struct memcg_kmem_ops *ops = memcg_ops();

		memcg_drain_all_stocks();
		if (ops && ops->reclaim)
			ops->reclaim(memcg);
		return 0;
	}
	if (which == MEMCG_FILE_RECLAIM) {
		/* As memory.max and memory.high answer: an offline tenant has nothing to give. */
		if (!memcg_online(memcg))
			return -EINVAL;
		return memcg_reclaim_bytes(memcg, bytes);
	}
	if (which == MEMCG_FILE_MAX)
		return mem_cgroup_set_max(memcg, bytes);
	return mem_cgroup_set_high(memcg, bytes);
}
