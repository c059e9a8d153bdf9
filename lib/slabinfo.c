// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/slabinfo.c - what a cache looks like from outside: /proc/slabinfo
 * version 2.1 exactly as mm/slab_common.c prints it (header, column line, one
 * row per cache, newest cache first), and uslab_cache_info() snapshots for
 * programs and tests. Counts come from the node lists under each list_lock
 * and from the per-CPU arrays under their locks; a snapshot of a busy cache
 * is consistent per node, not across nodes.
 */
#include "lib/slab.h"

#include <errno.h>
#include <string.h>

static void info_add_node(struct kmem_cache *s, int nid, struct uslab_cache_info *info)
{
	struct kmem_cache_node *n = s->node[nid];
	struct slab *slab;
	unsigned long full = 0, partial = 0;

	if (!n)
		return;
	umutex_lock(&n->list_lock);
	list_for_each_entry(slab, &n->slabs_full, list)
		full++;
	list_for_each_entry(slab, &n->slabs_partial, list)
		partial++;
	info->full_slabs += full;
	info->partial_slabs += partial;
	info->free_slabs += n->free_slabs;
	info->num_slabs += n->total_slabs;
	info->active_slabs += n->total_slabs - n->free_slabs;
	info->num_objs += n->total_slabs * s->num;
	info->free_objects += n->free_objects;
	info->free_limit += n->free_limit;
	if (n->shared)
		info->shared_avail += n->shared->avail;
	umutex_unlock(&n->list_lock);
}

int uslab_cache_info(struct kmem_cache *s, int node, struct uslab_cache_info *info)
{
	if (!s || !info || node < NUMA_NO_NODE || node >= (int)nr_node_ids)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->name = s->name;
	info->object_size = s->object_size;
	info->size = s->size;
	info->align = s->align;
	info->objs_per_slab = s->num;
	info->pages_per_slab = 1u << s->gfporder;
	info->limit = READ_ONCE(s->limit);
	info->batchcount = READ_ONCE(s->batchcount);
	info->shared = READ_ONCE(s->shared);
	info->refcount = READ_ONCE(s->refcount);
	info->flags = s->flags & SLAB_FLAGS_ALLOWED;

	for (int nid = 0; nid < (int)nr_node_ids; nid++)
		if (node == NUMA_NO_NODE || node == nid)
			info_add_node(s, nid, info);
	info->active_objs = info->num_objs - info->free_objects;

	unsigned long stats[NR_SLAB_STATS];
	for (int i = 0; i < NR_SLAB_STATS; i++)
		stats[i] = __atomic_load_n(&s->stats[i], __ATOMIC_RELAXED);
	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++) {
		struct cpu_cache_cold *cold = cpu_cold(s, cpu);
		struct array_cache *ac = cpu_cache_own(s, cpu);

		if (ac && (node == NUMA_NO_NODE || node == ac->nid))
			info->cpu_avail += ac->avail;
		for (int nid = 0; cold->alien && nid < (int)nr_node_ids; nid++)
			if (cold->alien[nid] && (node == NUMA_NO_NODE || node == nid))
				info->alien_avail += cold->alien[nid]->avail;
		/* Hits stay with the slot when the CPU goes offline (its array does not). */
		stats[STAT_ALLOC_HIT] += s->cpu_slot[cpu].ac.alloc_hits;
		stats[STAT_FREE_HIT] += s->cpu_slot[cpu].ac.free_hits;
		for (int i = 0; i < NR_SLAB_STATS; i++)
			stats[i] += cold->stats[i];
		cpu_cache_release(s, cpu);
	}
	info->alloc_hits = stats[STAT_ALLOC_HIT];
	info->alloc_misses = stats[STAT_ALLOC_MISS];
	info->free_hits = stats[STAT_FREE_HIT];
	info->free_misses = stats[STAT_FREE_MISS];
	info->grown = stats[STAT_GROWN];
	info->reaped = stats[STAT_REAPED];
	info->node_allocs = stats[STAT_NODE_ALLOC];
	info->node_frees = stats[STAT_NODE_FREE];
	info->alien_frees = stats[STAT_ALIEN_FREE];
	info->allocs = info->alloc_hits + info->alloc_misses + info->node_allocs;
	info->frees = info->free_hits + info->free_misses + info->node_frees + info->alien_frees;
	return 0;
}

int uslab_slabinfo(FILE *f)
{
	struct kmem_cache *s;
	int err;

	if (!f)
		return -EINVAL;
	err = uslab_ensure_init();
	if (err)
		return err;
	fprintf(f, "slabinfo - version: 2.1\n");
	fprintf(f, "# name            <active_objs> <num_objs> <objsize> <objperslab> "
		   "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
		   "<active_slabs> <num_slabs> <sharedavail>\n");
	umutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		struct uslab_cache_info i;

		uslab_cache_info(s, NUMA_NO_NODE, &i);
		fprintf(f, "%-17s %6lu %6lu %6u %4u %4u : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n",
			i.name, i.active_objs, i.num_objs, i.size, i.objs_per_slab, i.pages_per_slab,
			i.limit, i.batchcount, i.shared, i.active_slabs, i.num_slabs, i.shared_avail);
	}
	umutex_unlock(&slab_mutex);
	if (ferror(f))
		err = -EIO;
	return err;
}

int uslab_slabinfo_nodes(FILE *f)
{
	struct kmem_cache *s;
	int err;

	if (!f)
		return -EINVAL;
	err = uslab_ensure_init();
	if (err)
		return err;
	fprintf(f, "# %-24s %4s %8s %8s %6s %7s %6s %8s %10s %6s %6s\n", "name", "node",
		"active", "objs", "full", "partial", "free", "freeobj", "free_limit", "shared",
		"alien");
	umutex_lock(&slab_mutex);
	list_for_each_entry(s, &slab_caches, list) {
		for (int nid = 0; nid < (int)nr_node_ids; nid++) {
			struct uslab_cache_info i;

			if (!s->node[nid] || uslab_cache_info(s, nid, &i) || i.num_slabs == 0)
				continue;
			fprintf(f, "  %-24s %4d %8lu %8lu %6lu %7lu %6lu %8lu %10lu %6lu %6lu\n", i.name,
				nid, i.active_objs, i.num_objs, i.full_slabs, i.partial_slabs,
				i.free_slabs, i.free_objects, i.free_limit, i.shared_avail,
				i.alien_avail);
		}
	}
	umutex_unlock(&slab_mutex);
	/* Under the slabs: each node's page provider and page cache, in pages. */
	fprintf(f, "# %-24s %4s %8s %8s %8s %8s %8s %8s %8s\n", "pages", "node", "mapped", "in_use",
		"pooled", "purged", "mmap", "munmap", "madvise");
	for (int nid = 0; nid < (int)nr_node_ids; nid++) {
		struct uslab_page_stats st;

		if (uslab_node_page_stats(nid, &st) || !st.mapped)
			continue;
		fprintf(f, "  %-24s %4d %8lu %8lu %8lu %8lu %8lu %8lu %8lu\n", "pages", nid, st.mapped,
			st.in_use, st.pooled, st.purged, st.nr_mmap, st.nr_munmap, st.nr_madvise);
	}
	return ferror(f) ? -EIO : 0;
}
