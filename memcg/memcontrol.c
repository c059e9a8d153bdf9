// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memcg/memcontrol.c - the tenant tree and its lifecycle: creating tenants
 * under a parent, finding them by id or path, reference counting, taking
 * them offline (mem_cgroup_destroy(): lib/ is told, charges and statistics
 * move to the parent) and freeing them when the last reference goes; the
 * calling thread's tenant (active, else attached, else root); dense kmem ids
 * for lib/'s per-cache child arrays; hierarchical memory events; and the
 * registration of lib/'s callbacks.
 *
 * Locks:
 *   memcg_tree_lock (LOCK_MEMCG_TREE, level 3) protects the shape of the
 *   tree (children lists), each tenant's state and kmem_id, the id table and
 *   the kmem id map. Walks that sum statistics over a subtree hold it.
 *   lib/'s callbacks are never run under it (slab_mutex, level 2, is outer).
 *   memcg_offline_cond (with the tree lock) lets the destroy of a parent wait
 *   for a child's destroy that is still reparenting, so a tenant's charges
 *   always move into a parent that stays online until they have arrived.
 */
#include "memcg/memcontrol.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The root: static, always online, never freed, not reference counted. */
struct mem_cgroup memcg_root = {
	.memory = { .max = PAGE_COUNTER_MAX, .high = PAGE_COUNTER_MAX },
	.name = (char *)"/",
	.id = 1,
	.kmem_id = 0,
	.state = MEMCG_ONLINE,
	.refcnt = 1,
	.sibling = LIST_HEAD_INIT(memcg_root.sibling),
	.children = LIST_HEAD_INIT(memcg_root.children),
	.limit_lock = UMUTEX_INITIALIZER(LOCK_LEAF),
	.objcg_list = LIST_HEAD_INIT(memcg_root.objcg_list),
};

struct umutex memcg_tree_lock = UMUTEX_INITIALIZER(LOCK_MEMCG_TREE);
static pthread_cond_t memcg_offline_cond = PTHREAD_COND_INITIALIZER;

/* Tree lock: id -> tenant (live or dying); slot 0 unused, slot 1 root. */
static struct mem_cgroup **memcg_idr;
static unsigned int memcg_idr_size;
/* Ids are unsigned int but kept below this so tables stay small. */
#define MEMCG_ID_MAX (1u << 20)

/* Tree lock: which kmem ids online tenants hold; 0 is the root's. */
static bool memcg_kmem_id_used[MEMCG_MAX_KMEM_IDS];

static const struct memcg_kmem_ops *memcg_kmem_ops_registered;

void memcg_register_kmem_ops(const struct memcg_kmem_ops *ops)
{
	__atomic_store_n(&memcg_kmem_ops_registered, ops, __ATOMIC_RELEASE);
}

const struct memcg_kmem_ops *memcg_ops(void)
{
	return __atomic_load_n(&memcg_kmem_ops_registered, __ATOMIC_ACQUIRE);
}

static int memcg_state(const struct mem_cgroup *memcg)
{
	return __atomic_load_n(&memcg->state, __ATOMIC_ACQUIRE);
}

/* ---- references --------------------------------------------------------- */

static void memcg_free(struct mem_cgroup *memcg);

void mem_cgroup_get(struct mem_cgroup *memcg)
{
	if (memcg_is_root(memcg))
		return;
	USLAB_ASSERT_INTERNAL(__atomic_load_n(&memcg->refcnt, __ATOMIC_RELAXED) > 0);
	__atomic_add_fetch(&memcg->refcnt, 1, __ATOMIC_RELAXED);
}

/* Take a reference unless the count already reached zero (being freed). */
static bool memcg_tryget(struct mem_cgroup *memcg)
{
	long old = __atomic_load_n(&memcg->refcnt, __ATOMIC_RELAXED);

	if (memcg_is_root(memcg))
		return true;
	do {
		if (old == 0)
			return false;
	} while (!__atomic_compare_exchange_n(&memcg->refcnt, &old, old + 1, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return true;
}

void mem_cgroup_put(struct mem_cgroup *memcg)
{
	if (memcg_is_root(memcg))
		return;
	if (__atomic_sub_fetch(&memcg->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		memcg_free(memcg);
}

/*
 * memcg_free - unlink and free a tenant whose last reference went, then
 * drop the reference it held on its parent (iteratively, up the tree).
 */
static void memcg_free(struct mem_cgroup *memcg)
{
	while (memcg) {
		struct mem_cgroup *parent = memcg->parent;

		USLAB_ASSERT(memcg_state(memcg) == MEMCG_OFFLINE);
		umutex_lock(&memcg_tree_lock);
		list_del(&memcg->sibling);
		memcg_idr[memcg->id] = NULL;
		umutex_unlock(&memcg_tree_lock);

		umutex_lock(&memcg_objcg_lock);
		USLAB_ASSERT(list_empty(&memcg->objcg_list) && !memcg->objcg);
		umutex_unlock(&memcg_objcg_lock);
		umutex_destroy(&memcg->limit_lock);
		free(memcg->name);
		free(memcg);

		memcg = NULL;
		if (!memcg_is_root(parent) &&
		    __atomic_sub_fetch(&parent->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
			memcg = parent;
	}
}

/* ---- identity ----------------------------------------------------------- */

struct mem_cgroup *uslab_root_mem_cgroup(void)
{
	return &memcg_root;
}

bool memcg_is_root(const struct mem_cgroup *memcg)
{
	return memcg == NULL || memcg == &memcg_root;
}

const char *memcg_name(const struct mem_cgroup *memcg)
{
	return memcg_is_root(memcg) ? "/" : memcg->name;
}

const char *mem_cgroup_name(const struct mem_cgroup *memcg)
{
	return memcg_name(memcg);
}

unsigned int memcg_id(const struct mem_cgroup *memcg)
{
	return memcg_is_root(memcg) ? 1 : memcg->id;
}

unsigned int mem_cgroup_id(const struct mem_cgroup *memcg)
{
	return memcg_id(memcg);
}

struct mem_cgroup *mem_cgroup_parent(const struct mem_cgroup *memcg)
{
	return memcg_is_root(memcg) ? NULL : memcg->parent;
}

/* Ancestors are pinned by their children, so the walk needs no lock. */
bool memcg_is_descendant(const struct mem_cgroup *memcg, const struct mem_cgroup *root)
{
	for (; memcg; memcg = memcg->parent)
		if (memcg == root)
			return true;
	return false;
}

bool memcg_online(const struct mem_cgroup *memcg)
{
	return memcg_is_root(memcg) || memcg_state(memcg) == MEMCG_ONLINE;
}

bool mem_cgroup_online(const struct mem_cgroup *memcg)
{
	return memcg_online(memcg);
}

/* Nearest online ancestor-or-self; ancestors are pinned by their children. */
static struct mem_cgroup *memcg_online_ancestor(struct mem_cgroup *memcg)
{
	if (memcg_is_root(memcg))
		return &memcg_root;
	while (!memcg_online(memcg))
		memcg = memcg->parent;
	return memcg;
}

int memcg_own_kmem_id(const struct mem_cgroup *memcg)
{
	if (memcg_is_root(memcg))
		return 0;
	return __atomic_load_n(&memcg->kmem_id, __ATOMIC_ACQUIRE);
}

/*
 * The kernel gives a dying tenant its parent's kmemcg_id; likewise an
 * offline tenant answers with its nearest online ancestor's id.
 */
int memcg_kmem_id(const struct mem_cgroup *memcg)
{
	struct mem_cgroup *m = (struct mem_cgroup *)memcg;

	for (;;) {
		int id;

		m = memcg_online_ancestor(m);
		if (!m || m == &memcg_root)
			return 0;
		id = __atomic_load_n(&m->kmem_id, __ATOMIC_ACQUIRE);
		if (id > 0 && memcg_online(m))
			return id;
		m = m->parent; /* went offline meanwhile */
	}
}

/* ---- id tables (tree lock) ---------------------------------------------- */

static int memcg_alloc_id_locked(struct mem_cgroup *memcg)
{
	lockdep_assert_held(&memcg_tree_lock);
	if (!memcg_idr) {
		memcg_idr = calloc(64, sizeof(*memcg_idr));
		if (!memcg_idr)
			return -ENOMEM;
		memcg_idr_size = 64;
		memcg_idr[1] = &memcg_root;
	}
	for (unsigned int id = 2; id < memcg_idr_size; id++) {
		if (!memcg_idr[id]) {
			memcg_idr[id] = memcg;
			memcg->id = id;
			return 0;
		}
	}
	if (memcg_idr_size * 2 > MEMCG_ID_MAX)
		return -ENOSPC;
	struct mem_cgroup **grown = realloc(memcg_idr, 2 * memcg_idr_size * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	memset(grown + memcg_idr_size, 0, memcg_idr_size * sizeof(*grown));
	memcg_idr = grown;
	memcg->id = memcg_idr_size;
	memcg_idr[memcg->id] = memcg;
	memcg_idr_size *= 2;
	return 0;
}

static int memcg_alloc_kmem_id_locked(void)
{
	lockdep_assert_held(&memcg_tree_lock);
	for (int id = 1; id < MEMCG_MAX_KMEM_IDS; id++) {
		if (!memcg_kmem_id_used[id]) {
			memcg_kmem_id_used[id] = true;
			return id;
		}
	}
	return -ENOSPC;
}

/* ---- tree walks (tree lock) --------------------------------------------- */

/* Pre-order successor of @pos within the subtree of @top, or NULL; the tree must not change. */
static struct mem_cgroup *memcg_next_descendant(struct mem_cgroup *pos, struct mem_cgroup *top)
{
	if (!list_empty(&pos->children))
		return list_first_entry(&pos->children, struct mem_cgroup, sibling);
	while (pos != top) {
		if (pos->sibling.next != &pos->parent->children)
			return list_entry(pos->sibling.next, struct mem_cgroup, sibling);
		pos = pos->parent;
	}
	return NULL;
}

static struct mem_cgroup *memcg_next_descendant_locked(struct mem_cgroup *pos,
						       struct mem_cgroup *top)
{
	lockdep_assert_held(&memcg_tree_lock);
	return memcg_next_descendant(pos, top);
}

/* @totals[item] = sum of stat[item] over @memcg's subtree, dying included. */
void memcg_stat_totals(struct mem_cgroup *memcg, long *totals)
{
	memcg = memcg_is_root(memcg) ? &memcg_root : memcg;
	memset(totals, 0, MEMCG_NR_STAT_ITEMS * sizeof(*totals));
	umutex_lock(&memcg_tree_lock);
	for (struct mem_cgroup *pos = memcg; pos;
	     pos = memcg_next_descendant_locked(pos, memcg))
		for (int i = 0; i < MEMCG_NR_STAT_ITEMS; i++)
			totals[i] += __atomic_load_n(&pos->stat[i], __ATOMIC_RELAXED);
	umutex_unlock(&memcg_tree_lock);
}

size_t memcg_tenant_ids(unsigned int *ids, size_t max)
{
	size_t n = 0;

	umutex_lock(&memcg_tree_lock);
	for (struct mem_cgroup *pos = &memcg_root; pos;
	     pos = memcg_next_descendant_locked(pos, &memcg_root)) {
		if (n < max)
			ids[n] = memcg_id(pos);
		n++;
	}
	umutex_unlock(&memcg_tree_lock);
	return n;
}

void memcg_count_descendants(struct mem_cgroup *memcg, long *online, long *dying)
{
	memcg = memcg_is_root(memcg) ? &memcg_root : memcg;
	*online = *dying = 0;
	umutex_lock(&memcg_tree_lock);
	for (struct mem_cgroup *pos = memcg_next_descendant_locked(memcg, memcg); pos;
	     pos = memcg_next_descendant_locked(pos, memcg)) {
		if (pos->state == MEMCG_ONLINE)
			(*online)++;
		else
			(*dying)++;
	}
	umutex_unlock(&memcg_tree_lock);
}

/* An event at @memcg counts in its local view and in every ancestor's. */
void memcg_memory_event(struct mem_cgroup *memcg, enum memcg_memory_event ev)
{
	memcg = memcg_is_root(memcg) ? &memcg_root : memcg;
	__atomic_add_fetch(&memcg->events_local[ev], 1, __ATOMIC_RELAXED);
	for (struct mem_cgroup *m = memcg; m; m = m->parent)
		__atomic_add_fetch(&m->events[ev], 1, __ATOMIC_RELAXED);
}

unsigned long mem_cgroup_events(const struct mem_cgroup *memcg,
				enum memcg_memory_event event, bool local)
{
	if ((unsigned int)event >= MEMCG_NR_MEMORY_EVENTS)
		return 0;
	memcg = memcg_is_root(memcg) ? &memcg_root : memcg;
	return (unsigned long)__atomic_load_n(local ? &memcg->events_local[event]
						    : &memcg->events[event],
					      __ATOMIC_RELAXED);
}

/* ---- create ------------------------------------------------------------- */

static bool memcg_name_valid(const char *name)
{
	return name && name[0] && !strchr(name, '/') && strlen(name) < 256 &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static struct mem_cgroup *memcg_find_child_locked(struct mem_cgroup *parent,
						  const char *name, size_t len)
{
	struct mem_cgroup *child;

	lockdep_assert_held(&memcg_tree_lock);
	list_for_each_entry(child, &parent->children, sibling)
		if (child->state == MEMCG_ONLINE && strlen(child->name) == len &&
		    memcmp(child->name, name, len) == 0)
			return child;
	return NULL;
}

struct mem_cgroup *mem_cgroup_create(struct mem_cgroup *parent, const char *name)
{
	struct mem_cgroup *memcg;
	int err;

	if (!memcg_name_valid(name)) {
		errno = EINVAL;
		return NULL;
	}
	parent = memcg_is_root(parent) ? &memcg_root : parent;
	memcg_stock_init();
	memcg_stock_register_hotplug();

	memcg = calloc(1, sizeof(*memcg));
	if (!memcg || !(memcg->name = strdup(name)))
		goto nomem;
	INIT_LIST_HEAD(&memcg->children);
	INIT_LIST_HEAD(&memcg->objcg_list);
	umutex_init(&memcg->limit_lock, LOCK_LEAF);
	page_counter_init(&memcg->memory, &parent->memory);
	memcg->parent = parent;
	memcg->refcnt = 1; /* the tree's */
	memcg->state = MEMCG_ONLINE;
	if (!memcg_objcg_alloc(memcg)) {
		umutex_destroy(&memcg->limit_lock);
		goto nomem;
	}

	umutex_lock(&memcg_tree_lock);
	if (parent->state != MEMCG_ONLINE)
		err = ENOENT;
	else if (memcg_find_child_locked(parent, name, strlen(name)))
		err = EEXIST;
	else if ((err = -memcg_alloc_id_locked(memcg)) == 0) {
		memcg->kmem_id = memcg_alloc_kmem_id_locked();
		if (memcg->kmem_id < 0) {
			memcg_idr[memcg->id] = NULL;
			err = ENOSPC;
		}
	}
	if (err) {
		umutex_unlock(&memcg_tree_lock);
		free(memcg->objcg);
		umutex_destroy(&memcg->limit_lock);
		free(memcg->name);
		free(memcg);
		errno = err;
		return NULL;
	}
	mem_cgroup_get(parent);
	list_add_tail(&memcg->sibling, &parent->children);
	umutex_unlock(&memcg_tree_lock);
	return memcg;

nomem:
	if (memcg)
		free(memcg->name);
	free(memcg);
	errno = ENOMEM;
	return NULL;
}

/* ---- destroy: offline and reparent -------------------------------------- */

int mem_cgroup_destroy(struct mem_cgroup *memcg)
{
	const struct memcg_kmem_ops *ops;
	struct mem_cgroup *parent, *child;
	struct obj_cgroup *own;
	long moved;

	if (memcg_is_root(memcg))
		return -EINVAL;
	parent = memcg->parent;

	umutex_lock(&memcg_tree_lock);
	for (;;) {
		bool busy = false, offlining = false;

		if (memcg->state != MEMCG_ONLINE) {
			umutex_unlock(&memcg_tree_lock);
			return -ENOENT;
		}
		list_for_each_entry(child, &memcg->children, sibling) {
			busy |= child->state == MEMCG_ONLINE;
			offlining |= child->state == MEMCG_OFFLINING;
		}
		if (busy) {
			umutex_unlock(&memcg_tree_lock);
			return -EBUSY;
		}
		if (!offlining)
			break;
		/* A child is still moving its charges into us: let it finish. */
		pthread_cond_wait(&memcg_offline_cond, &memcg_tree_lock.m);
	}
	/* From here on the tenant's threads charge its parent. */
	__atomic_store_n(&memcg->state, MEMCG_OFFLINING, __ATOMIC_RELEASE);
	umutex_unlock(&memcg_tree_lock);

	memcg_drain_stocks(memcg);
	ops = memcg_ops();
	if (ops && ops->offline)
		ops->offline(memcg);

	/*
	 * Every handle now charges the parent. Taking each stock slot lock
	 * once waits for the charges and uncharges that still saw this tenant
	 * (they run under a slot lock) and returns its stocked pages; after
	 * that nothing touches this tenant's own counter level, so what is
	 * left there is exactly what moved up: the ancestors already count
	 * it, the tenant stops counting it.
	 */
	own = memcg_reparent_objcgs(memcg, parent);
	memcg_drain_stocks(memcg);
	moved = __atomic_exchange_n(&memcg->memory.usage, 0, __ATOMIC_SEQ_CST);
	USLAB_ASSERT(moved >= 0);
	for (int i = 0; i < MEMCG_NR_STAT_ITEMS; i++) {
		long nr = __atomic_exchange_n(&memcg->stat[i], 0, __ATOMIC_RELAXED);

		__atomic_add_fetch(&parent->stat[i], nr, __ATOMIC_RELAXED);
	}

	umutex_lock(&memcg_tree_lock);
	memcg_kmem_id_used[memcg->kmem_id] = false;
	__atomic_store_n(&memcg->kmem_id, -1, __ATOMIC_RELEASE);
	__atomic_store_n(&memcg->state, MEMCG_OFFLINE, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&memcg_offline_cond);
	umutex_unlock(&memcg_tree_lock);

	obj_cgroup_put(own);
	mem_cgroup_put(memcg); /* the tree's reference */
	return 0;
}

/* ---- lookup ------------------------------------------------------------- */

struct mem_cgroup *mem_cgroup_from_id(unsigned int id)
{
	struct mem_cgroup *memcg = NULL;

	if (id == 1)
		return &memcg_root;
	umutex_lock(&memcg_tree_lock);
	if (id < memcg_idr_size && memcg_idr[id] && memcg_tryget(memcg_idr[id]))
		memcg = memcg_idr[id];
	umutex_unlock(&memcg_tree_lock);
	if (!memcg)
		errno = ENOENT;
	return memcg;
}

struct mem_cgroup *mem_cgroup_lookup(const char *path)
{
	struct mem_cgroup *memcg = &memcg_root;

	if (!path || path[0] != '/') {
		errno = EINVAL;
		return NULL;
	}
	umutex_lock(&memcg_tree_lock);
	while (memcg && *path) {
		size_t len;

		while (*path == '/')
			path++;
		len = strcspn(path, "/");
		if (len)
			memcg = memcg_find_child_locked(memcg, path, len);
		path += len;
	}
	if (memcg)
		mem_cgroup_get(memcg); /* online: the tree's reference is held */
	umutex_unlock(&memcg_tree_lock);
	if (!memcg)
		errno = ENOENT;
	return memcg;
}

/* ---- the calling thread's tenant ---------------------------------------- */

static USLAB_TLS struct mem_cgroup *memcg_active;
static USLAB_TLS struct mem_cgroup *memcg_attached;
static pthread_key_t memcg_attach_key;
static pthread_once_t memcg_attach_once = PTHREAD_ONCE_INIT;

/* Thread exit: drop the attached tenant's reference. */
static void memcg_thread_exit(void *memcg)
{
	mem_cgroup_put(memcg);
}

static void memcg_attach_key_init(void)
{
	USLAB_ASSERT(pthread_key_create(&memcg_attach_key, memcg_thread_exit) == 0);
}

struct mem_cgroup *set_active_memcg(struct mem_cgroup *memcg)
{
	struct mem_cgroup *old = memcg_active;

	memcg_active = memcg;
	return old;
}

int mem_cgroup_attach_thread(struct mem_cgroup *memcg)
{
	struct mem_cgroup *old = memcg_attached;

	pthread_once(&memcg_attach_once, memcg_attach_key_init);
	if (memcg_is_root(memcg)) {
		memcg = NULL;
	} else {
		if (!memcg_online(memcg))
			return -ENOENT;
		mem_cgroup_get(memcg);
	}
	memcg_attached = memcg;
	pthread_setspecific(memcg_attach_key, memcg);
	mem_cgroup_put(old);
	return 0;
}

struct mem_cgroup *memcg_current(void)
{
	struct mem_cgroup *memcg = memcg_active;

	if (!memcg)
		memcg = memcg_attached;
	return memcg_online_ancestor(memcg);
}

/* ---- fork --------------------------------------------------------------- */

void memcg_fork_tree(enum fork_phase phase)
{
	umutex_fork(&memcg_tree_lock, phase);
	if (phase == FORK_CHILD)
		pthread_cond_init(&memcg_offline_cond, NULL);
}

/* Every tenant's limit lock, in pre-order (fork holds the tree lock, without the witness). */
static void memcg_fork_limits(enum fork_phase phase)
{
	for (struct mem_cgroup *pos = &memcg_root; pos; pos = memcg_next_descendant(pos, &memcg_root))
		umutex_fork(&pos->limit_lock, phase);
}

void memcg_fork_leaves(enum fork_phase phase)
{
	if (phase == FORK_PREPARE) {
		memcg_fork_limits(phase);
		umutex_fork(&memcg_objcg_lock, phase);
		memcg_stock_fork(phase);
	} else {
		memcg_stock_fork(phase);
		umutex_fork(&memcg_objcg_lock, phase);
		memcg_fork_limits(phase);
	}
}
