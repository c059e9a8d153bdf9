// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tests/valgrind/buggy.c - a deliberately wrong program for tests/valgrind/run.sh.
 * It reads an object after freeing it, branches on bytes of a fresh object it
 * never wrote, and loses the last pointer to an object. uslab describes each
 * object to memcheck (client requests in lib/debug.c), so Valgrind must report
 * all three at object granularity: "inside a block of size 200 free'd",
 * "uninitialised", "200 bytes in 1 blocks are definitely lost". Without
 * Valgrind it just runs and exits 0. Public headers only.
 */
#include <stdio.h>
#include <string.h>

#include <uslab/slab.h>

#define OBJ_SIZE 200

/* Keeps the compiler from proving anything about what the program reads. */
static volatile unsigned char sink;

int main(void)
{
	struct kmem_cache *s = kmem_cache_create("buggy", OBJ_SIZE, 0, SLAB_NO_MERGE, NULL);
	unsigned char *freed, *fresh, *lost;
	void *volatile hold;

	if (!s)
		return 1;

	/* 1. use after free: read a byte of a freed object */
	freed = kmem_cache_alloc(s, GFP_KERNEL);
	memset(freed, 1, OBJ_SIZE);
	kmem_cache_free(s, freed);
	sink = freed[17];

	/* 2. uninitialised read: branch on a byte never written */
	fresh = kmem_cache_alloc(s, GFP_KERNEL);
	fresh[0] = 0;
	if (fresh[5] == 42)
		puts("forty-two");

	/* 3. leak: the only pointer to an object is dropped */
	lost = kmem_cache_alloc(s, GFP_KERNEL);
	memset(lost, 2, OBJ_SIZE);
	hold = lost;
	lost = NULL;
	hold = NULL;
	(void)hold;

	kmem_cache_free(s, fresh);
	printf("buggy: done\n");
	return 0;
}
