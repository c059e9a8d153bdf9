// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/validate.c - uslab_cache_validate(): walk every node list, slab,
 * freelist and array of a cache and check each invariant written in
 * lib/slab.h. Structural checks hold at any time; the counting ones (each
 * free object in exactly one place) need the cache to be quiescent, because
 * objects move between arrays and lists through on-stack batches.
 */
#include "lib/slab.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct vctx {
	struct kmem_cache *s;
	unsigned int errors;
	unsigned long active;      /* sum of slab->active */
	unsigned long allocated;   /* objects in state OBJ_ALLOCATED */
	unsigned long in_arrays;   /* entries of every array */
};

static printf_like(2, 3) void vfail(struct vctx *v, const char *fmt, ...)
{
	va_list ap;

	if (v->errors++ >= 20)
		return;
	fprintf(stderr, "uslab_cache_validate %s: ", v->s->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static unsigned long validate_list(struct vctx *v, struct kmem_cache_node *n, int nid,
				   struct list_head *head, const char *what, unsigned long *free_objs)
{
	struct kmem_cache *s = v->s;
	unsigned long count = 0;
	struct slab *slab;
	uint8_t *seen = malloc(s->num);

	if (!seen) {
		vfail(v, "out of memory");
		return 0;
	}

	list_for_each_entry(slab, head, list) {
		count++;
		if (slab->cache != s || slab->nid != nid)
			vfail(v, "slab %p on node %d list %s belongs to %s node %d", slab->pages, nid,
			      what, slab->cache ? slab->cache->name : "?", slab->nid);
		if (pagemap_lookup(slab->pages) != (uintptr_t)slab)
			vfail(v, "slab %p is not in the page map", slab->pages);
		if (slab->active > s->num)
			vfail(v, "slab %p active %u > num %u", slab->pages, slab->active, s->num);
		else if (head == &n->slabs_full && slab->active != s->num)
			vfail(v, "full slab %p has active %u != %u", slab->pages, slab->active, s->num);
		else if (head == &n->slabs_partial && (slab->active == 0 || slab->active == s->num))
			vfail(v, "partial slab %p has active %u", slab->pages, slab->active);
		else if (head == &n->slabs_free && slab->active != 0)
			vfail(v, "free slab %p has active %u", slab->pages, slab->active);
		memset(seen, 0, s->num);
		for (unsigned int i = slab->active; i < s->num && slab->active <= s->num; i++) {
			unsigned int idx = slab->freelist[i];
			if (idx >= s->num || seen[idx]++)
				vfail(v, "slab %p freelist entry %u (index %u) is out of range or repeated",
				      slab->pages, i, idx);
		}
		*free_objs += s->num - MIN(slab->active, s->num);

		uint8_t *state = slab_obj_state(s, slab);
		for (unsigned int i = slab->active; i < s->num && slab->active <= s->num; i++) {
			unsigned int idx = slab->freelist[i];
			if (idx < s->num && state[idx] != OBJ_FREE)
				vfail(v, "slab %p: object %u is on the freelist but marked allocated",
				      slab->pages, idx);
		}
		for (unsigned int i = 0; i < s->num; i++) {
			void *obj = slab_index_to_obj(s, slab, i);

			if (state[i] == OBJ_ALLOCATED)
				v->allocated++;
			else if (state[i] != OBJ_FREE)
				vfail(v, "slab %p: object %u has a bad state byte %u", slab->pages, i,
				      state[i]);
			if (debug_validate_object(s, obj, state[i]))
				vfail(v, "object %p: red zone overwritten", obj);
		}
		v->active += slab->active;
	}
	free(seen);
	return count;
}

static bool slab_index_is_free(const struct kmem_cache *s, const struct slab *slab, long idx)
{
	for (unsigned int i = slab->active; i < s->num; i++)
		if (slab->freelist[i] == idx)
			return true;
	return false;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* Check one array's entries and collect them for the duplicate check. */
static void validate_array(struct vctx *v, const struct array_cache *ac, const char *what, int id,
			   void ***all, size_t *nall, size_t *cap)
{
	struct kmem_cache *s = v->s;

	if (ac->avail > ac->limit)
		vfail(v, "%s %d: avail %u > limit %u", what, id, ac->avail, ac->limit);
	if (ac->limit > ac->capacity)
		vfail(v, "%s %d: limit %u > capacity %u", what, id, ac->limit, ac->capacity);
	for (unsigned int i = 0; i < ac->avail && i < ac->limit; i++) {
		void *obj = ac->entry[i];
		struct slab *slab = (struct slab *)pagemap_lookup(obj);
		long idx;

		if (!slab || ((uintptr_t)slab & PAGEMAP_LARGE) || slab->cache != s) {
			vfail(v, "%s %d entry %u: %p is not an object of this cache", what, id, i, obj);
			continue;
		}
		idx = slab_obj_to_index(s, slab, obj);
		if (idx < 0)
			vfail(v, "%s %d entry %u: %p is not the start of an object", what, id, i, obj);
		else if (slab_index_is_free(s, slab, idx))
			vfail(v, "%s %d entry %u: %p is also free in its slab", what, id, i, obj);
		else if (slab_obj_state(s, slab)[idx] != OBJ_FREE)
			vfail(v, "%s %d entry %u: %p is cached but marked allocated", what, id, i, obj);
		v->in_arrays++;
		if (slab->nid != ac->nid)
			vfail(v, "%s %d entry %u: %p is on node %d, array on node %d", what, id, i, obj,
			      slab->nid, ac->nid);
		if (*nall == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*all = realloc(*all, *cap * sizeof(void *));
		}
		(*all)[(*nall)++] = obj;
	}
}

int uslab_cache_validate(struct kmem_cache *s)
{
	struct vctx v = { .s = s };
	void **all = NULL;
	size_t nall = 0, cap = 0;

	if (!s)
		return -EINVAL;
	for (int nid = 0; nid < (int)nr_node_ids; nid++) {
		struct kmem_cache_node *n = s->node[nid];
		unsigned long free_objs = 0, nfull, npartial, nfree;

		if (!n)
			continue;
		umutex_lock(&n->list_lock);
		nfull = validate_list(&v, n, nid, &n->slabs_full, "full", &free_objs);
		npartial = validate_list(&v, n, nid, &n->slabs_partial, "partial", &free_objs);
		nfree = validate_list(&v, n, nid, &n->slabs_free, "free", &free_objs);
		if (nfull + npartial + nfree != n->total_slabs)
			vfail(&v, "node %d: total_slabs %lu != %lu full + %lu partial + %lu free", nid,
			      n->total_slabs, nfull, npartial, nfree);
		if (nfree != n->free_slabs)
			vfail(&v, "node %d: free_slabs %lu != %lu on the list", nid, n->free_slabs, nfree);
		if (free_objs != n->free_objects)
			vfail(&v, "node %d: free_objects %lu != %lu free on the slabs", nid,
			      n->free_objects, free_objs);
		if (n->shared)
			validate_array(&v, n->shared, "shared array of node", nid, &all, &nall, &cap);
		umutex_unlock(&n->list_lock);
	}
	for (int cpu = 0; cpu < (int)nr_cpu_ids; cpu++) {
		struct cpu_cache_cold *cold = cpu_cold(s, cpu);
		struct array_cache *ac = cpu_cache_own(s, cpu);

		if (ac)
			validate_array(&v, ac, "cpu", cpu, &all, &nall, &cap);
		for (int nid = 0; cold->alien && nid < (int)nr_node_ids; nid++)
			if (cold->alien[nid])
				validate_array(&v, cold->alien[nid], "alien array of cpu", cpu, &all,
					       &nall, &cap);
		cpu_cache_release(s, cpu);
	}
	if (nall) {
		qsort(all, nall, sizeof(void *), cmp_ptr);
		for (size_t i = 1; i < nall; i++)
			if (all[i] == all[i - 1])
				vfail(&v, "object %p is in two arrays (double free?)", all[i]);
	}
	free(all);
	/*
	 * Every object out of its slab's freelist is the program's, cached in an
	 * array, or waiting in the ASan quarantine.
	 */
	unsigned long quarantined = quarantine_count(s);
	if (v.active != v.allocated + v.in_arrays + quarantined)
		vfail(&v, "objects out of the freelists %lu != %lu allocated + %lu cached in arrays "
		      "+ %lu quarantined", v.active, v.allocated, v.in_arrays, quarantined);
	return v.errors ? -EUCLEAN : 0;
}
