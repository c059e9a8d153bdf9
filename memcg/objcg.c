// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memcg/objcg.c - obj_cgroup handles (the kernel's objcg, from 5.9): what
 * lib/ keeps in a child cache and charges slab pages through. Each tenant
 * gets one handle at creation; the handle points at it while it is online
 * and, when it goes offline, at its parent (memcg_reparent_objcgs() moves
 * the tenant's own and adopted handles to the parent's list and switches
 * their pointer). Charges that follow the handle after that hit the parent.
 *
 * Lock: memcg_objcg_lock (LOCK_LEAF) protects every tenant's objcg and
 * objcg_list and every handle's list entry; handles' memcg pointers are
 * written under it (and read under a stock slot lock, see memcg/charge.c).
 * A handle's last put unlinks it under this lock only, so lib/ may drop
 * handles while holding any of its own locks.
 */
#include "memcg/memcontrol.h"

#include <stdlib.h>

struct umutex memcg_objcg_lock = UMUTEX_INITIALIZER(LOCK_LEAF);

/*
 * memcg_objcg_alloc - give a tenant that is not yet published its own
 * handle, holding the tenant's reference on it. Return: it, or NULL.
 */
struct obj_cgroup *memcg_objcg_alloc(struct mem_cgroup *memcg)
{
	struct obj_cgroup *objcg = calloc(1, sizeof(*objcg));

	if (!objcg)
		return NULL;
	objcg->memcg = memcg;
	objcg->refcnt = 1;
	list_add(&objcg->list, &memcg->objcg_list);
	memcg->objcg = objcg;
	return objcg;
}

struct obj_cgroup *memcg_get_obj_cgroup(struct mem_cgroup *memcg)
{
	struct obj_cgroup *objcg = NULL;

	umutex_lock(&memcg_objcg_lock);
	/* An offline tenant has given its handle away: use the nearest online one. */
	for (; !memcg_is_root(memcg); memcg = memcg->parent) {
		if (memcg->objcg) {
			objcg = memcg->objcg;
			obj_cgroup_get(objcg);
			break;
		}
	}
	umutex_unlock(&memcg_objcg_lock);
	return objcg;
}

void obj_cgroup_get(struct obj_cgroup *objcg)
{
	if (objcg)
		__atomic_add_fetch(&objcg->refcnt, 1, __ATOMIC_RELAXED);
}

void obj_cgroup_put(struct obj_cgroup *objcg)
{
	if (!objcg || __atomic_sub_fetch(&objcg->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	umutex_lock(&memcg_objcg_lock);
	list_del(&objcg->list);
	umutex_unlock(&memcg_objcg_lock);
	free(objcg);
}

struct mem_cgroup *obj_cgroup_memcg(struct obj_cgroup *objcg)
{
	return objcg ? __atomic_load_n(&objcg->memcg, __ATOMIC_ACQUIRE) : &memcg_root;
}

/*
 * memcg_reparent_objcgs - make every handle of @memcg charge @parent
 *
 * Handles whose last reference is being dropped concurrently move too; their
 * put then unlinks them from @parent's list.
 * Return: @memcg's own handle, whose tenant reference the caller drops.
 */
struct obj_cgroup *memcg_reparent_objcgs(struct mem_cgroup *memcg, struct mem_cgroup *parent)
{
	struct obj_cgroup *objcg, *own;

	umutex_lock(&memcg_objcg_lock);
	own = memcg->objcg;
	memcg->objcg = NULL;
	list_for_each_entry(objcg, &memcg->objcg_list, list)
		__atomic_store_n(&objcg->memcg, parent, __ATOMIC_RELEASE);
	while (!list_empty(&memcg->objcg_list))
		list_move(memcg->objcg_list.next, &parent->objcg_list);
	umutex_unlock(&memcg_objcg_lock);
	return own;
}
