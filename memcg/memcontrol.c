// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memcg/memcontrol.c - first version of the tenant room: only the root
 * tenant exists, so nothing is ever charged. The interfaces lib/ uses are the
 * final ones (memcg/internal.h).
 */
#include "memcg/internal.h"

#include <errno.h>

struct mem_cgroup *memcg_current(void)
{
	return NULL;
}

bool memcg_is_root(const struct mem_cgroup *memcg)
{
	return memcg == NULL;
}

int memcg_kmem_id(const struct mem_cgroup *memcg)
{
	(void)memcg;
	return 0;
}

const char *memcg_name(const struct mem_cgroup *memcg)
{
	(void)memcg;
	return "/";
}

unsigned int memcg_id(const struct mem_cgroup *memcg)
{
	(void)memcg;
	return 1;
}

bool memcg_is_descendant(const struct mem_cgroup *memcg, const struct mem_cgroup *root)
{
	return memcg == root;
}

bool memcg_online(const struct mem_cgroup *memcg)
{
	(void)memcg;
	return true;
}

struct obj_cgroup *memcg_get_obj_cgroup(struct mem_cgroup *memcg)
{
	(void)memcg;
	return NULL;
}

void obj_cgroup_get(struct obj_cgroup *objcg)
{
	(void)objcg;
}

void obj_cgroup_put(struct obj_cgroup *objcg)
{
	(void)objcg;
}

int obj_cgroup_charge_pages(struct obj_cgroup *objcg, gfp_t gfp, unsigned int nr_pages)
{
	(void)objcg, (void)gfp, (void)nr_pages;
	return 0;
}

void obj_cgroup_uncharge_pages(struct obj_cgroup *objcg, unsigned int nr_pages)
{
	(void)objcg, (void)nr_pages;
}

void obj_cgroup_mod_stat(struct obj_cgroup *objcg, enum memcg_stat_item item, long nr)
{
	(void)objcg, (void)item, (void)nr;
}

void memcg_register_kmem_ops(const struct memcg_kmem_ops *ops)
{
	(void)ops;
}
