// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/tools/stats-publisher.c - the process test-uslabtop.sh watches. Run
 * with USLAB_STATS=1, it creates the accounted cache "toptest" and the
 * tenants "tenant-a" (memory.max 64M) and "tenant-b" (memory.max 1 page, so
 * that a charge fails), allocates ROOT_OBJS objects of "toptest" as the root
 * and TENANT_OBJS as tenant-a (into the child "toptest(ID:tenant-a)"), writes
 * uslab_slabinfo_json() to the file named by argv[1], refreshes the
 * published statistics, prints "ready PID ROOT_OBJS TENANT_OBJS" on stdout,
 * and then waits for stdin to close before freeing everything and exiting
 * (the exit removes /dev/shm/uslab.PID).
 * Public API only; exit status 0 on success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uslab.h>
#include <uslab/stats.h>

#define ROOT_OBJS   1000
#define TENANT_OBJS 700
#define OBJ_SIZE    200

static void *root_objs[ROOT_OBJS];
static void *tenant_objs[TENANT_OBJS];

static int fail(const char *what, int err)
{
	fprintf(stderr, "stats-publisher: %s: %s\n", what, strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	struct mem_cgroup *a, *b;
	struct kmem_cache *s;
	char buf[64];
	FILE *json;
	void *p;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: stats-publisher JSON-FILE\n");
		return 2;
	}
	s = kmem_cache_create("toptest", OBJ_SIZE, 0, SLAB_ACCOUNT, NULL);
	if (!s)
		return fail("kmem_cache_create", errno);
	a = mem_cgroup_create(NULL, "tenant-a");
	b = mem_cgroup_create(NULL, "tenant-b");
	if (!a || !b)
		return fail("mem_cgroup_create", errno);
	if ((err = mem_cgroup_write(a, "memory.max", "64M")) != 0)
		return fail("memory.max of tenant-a", -err);
	if ((err = mem_cgroup_write(b, "memory.max", "4096")) != 0)
		return fail("memory.max of tenant-b", -err);

	for (int i = 0; i < ROOT_OBJS; i++)
		if (!(root_objs[i] = kmem_cache_alloc(s, GFP_KERNEL)))
			return fail("allocation as root", errno);
	set_active_memcg(a);
	for (int i = 0; i < TENANT_OBJS; i++)
		if (!(tenant_objs[i] = kmem_cache_alloc(s, GFP_KERNEL)))
			return fail("allocation as tenant-a", errno);
	/* tenant-b may not even have one slab: a max and an oom event. */
	set_active_memcg(b);
	p = kmalloc(64 * 1024, GFP_KERNEL_ACCOUNT);
	kfree(p);
	set_active_memcg(NULL);

	json = fopen(argv[1], "w");
	if (!json)
		return fail(argv[1], errno);
	err = uslab_slabinfo_json(json);
	if (fclose(json) != 0 && !err)
		err = -EIO;
	if (err)
		return fail("uslab_slabinfo_json", -err);

	/* USLAB_STATS=1 started publishing; make the file show this state now. */
	err = uslab_stats_refresh();
	if (err)
		return fail("uslab_stats_refresh (is USLAB_STATS=1 set?)", -err);
	printf("ready %ld %d %d\n", (long)getpid(), ROOT_OBJS, TENANT_OBJS);
	fflush(stdout);

	while (fgets(buf, sizeof(buf), stdin))
		;

	for (int i = 0; i < ROOT_OBJS; i++)
		kmem_cache_free(s, root_objs[i]);
	for (int i = 0; i < TENANT_OBJS; i++)
		kmem_cache_free(s, tenant_objs[i]);
	mem_cgroup_destroy(a);
	mem_cgroup_destroy(b);
	if ((err = uslab_cache_destroy(s)) != 0)
		return fail("uslab_cache_destroy", -err);
	return 0;
}
