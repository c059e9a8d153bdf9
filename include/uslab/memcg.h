/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uslab/memcg.h - tenants: a tree of memory cgroups with hierarchical
 * limits, cgroup v2 style files, and per-tenant accounting of slab memory.
 *
 * Errors follow uslab/common.h.
 */
#ifndef USLAB_MEMCG_H
#define USLAB_MEMCG_H

#include <uslab/common.h>

USLAB_BEGIN_DECLS

struct mem_cgroup;

USLAB_END_DECLS

#endif /* USLAB_MEMCG_H */
