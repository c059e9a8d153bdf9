// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * topology/base.c - the foundation every room stands on: the assertion
 * failure path and the debug lock witness that checks the global lock order
 * of private/lock.h. It lives on the lowest floor so that every room may
 * use it without an upward arrow.
 */
#include "private/lock.h"

#include <stdio.h>
#include <stdlib.h>

void uslab_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "uslab: assertion failed: %s (%s:%d)\n", expr, file, line);
	abort();
}

USLAB_TLS unsigned int uslab_locks_held;
USLAB_TLS bool uslab_fork_owner;

/* Locks held by this thread, counted per level (debug builds only). */
static USLAB_TLS unsigned short witness_held[LOCK_NR_LEVELS];

void lock_witness_acquire(enum lock_level level, const char *what)
{
	for (int l = level; l < LOCK_NR_LEVELS; l++) {
		if (witness_held[l] == 0)
			continue;
		/* The hotplug read sides may nest; nothing else may. */
		if (l == (int)level && level <= LOCK_MEM_HOTPLUG)
			continue;
		fprintf(stderr, "uslab: lock order violation: taking %s of level %d while "
			"holding level %d\n", what, (int)level, l);
		abort();
	}
	witness_held[level]++;
}

void lock_witness_release(enum lock_level level)
{
	USLAB_ASSERT(witness_held[level] > 0);
	witness_held[level]--;
}

bool lock_witness_held(enum lock_level level)
{
	return witness_held[level] > 0;
}
