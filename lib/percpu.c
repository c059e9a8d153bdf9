// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/percpu.c - how a thread gets at a CPU's array_cache. Two mechanisms,
 * chosen once at init:
 *
 * rseq mode (x86-64, real topology whose CPU ids are the OS's, glibc's rseq
 * registration present, membarrier RSEQ fences available): the fast pop/push
 * is a restartable sequence on the array of the CPU the thread runs on (see
 * slab.h): no lock, no atomic read-modify-write. A sequence uses an array
 * only while its @closed is ARRAY_OPEN. Everything else "owns" the array
 * first: under the CPU's slot lock it closes the array (ARRAY_OWNED), so no
 * new sequence can use it, and makes sure no sequence still runs on it. On
 * its own CPU the close is itself a restartable sequence: once it commits,
 * any other thread that was inside a sequence on that CPU was preempted and
 * will restart, seeing the array closed. For another CPU (reaper, hotplug,
 * shrink, tune, a thread acting as an emulated CPU) the close is a store
 * followed by membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
 * MEMBARRIER_CMD_FLAG_CPU, cpu), which restarts any sequence running there.
 * The owner opens the array again with a release store and drops the lock;
 * an array without entries (its CPU offline) stays ARRAY_ABSENT.
 *
 * locked mode (any other case: synthetic machines, other architectures, no
 * membarrier, ThreadSanitizer builds, USLAB_RSEQ=0): every access, fast or
 * not, holds the slot lock, and owning is just taking it.
 */
#include "lib/slab.h"

#include <linux/membarrier.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

bool slab_rseq_mode;
unsigned int nr_cpu_ids_cached;

static long sys_membarrier(int cmd, unsigned int flags, int cpu)
{
	return syscall(__NR_membarrier, cmd, flags, cpu);
}

void percpu_init(void)
{
	const char *env = getenv("USLAB_RSEQ");

	slab_rseq_mode = false;
	if (!SLAB_HAVE_RSEQ || (env && *env == '0'))
		return;
#ifdef USLAB_TSAN
	return; /* TSan cannot follow restartable sequences: check the locked protocol instead */
#endif
	if (!topology_real_cpu_uses_rseq() || !topology_cpu_ids_are_os_ids())
		return;
	long cmds = sys_membarrier(MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ))
		return;
	if (sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) < 0)
		return;
	slab_rseq_mode = true;
}

/* Restart any restartable sequence running on @cpu; returns when it is done or restarted. */
static void rseq_fence_cpu(int cpu)
{
	if (sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, cpu) < 0)
		/* Older kernels: fence every CPU. */
		sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
}

void percpu_fence_all(void)
{
	if (slab_rseq_mode)
		sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
}

struct array_cache *cpu_cache_own(struct kmem_cache *s, int cpu)
{
	struct array_cache *ac = &s->cpu_slot[cpu].ac;

	umutex_lock(&cpu_cold(s, cpu)->lock);
	if (!ac->entry)
		return NULL;
	if (!slab_rseq_mode)
		return ac;
	USLAB_ASSERT_INTERNAL(ac->closed == ARRAY_OPEN);
	if (!topology_cpu_is_emulated() && rseq_close_own_cpu(ac, cpu))
		return ac;
	__atomic_store_n(&ac->closed, ARRAY_OWNED, __ATOMIC_SEQ_CST);
	rseq_fence_cpu(cpu);
	return ac;
}

void cpu_cache_release(struct kmem_cache *s, int cpu)
{
	struct array_cache *ac = &s->cpu_slot[cpu].ac;

	__atomic_store_n(&ac->closed, ac->entry ? ARRAY_OPEN : ARRAY_ABSENT, __ATOMIC_RELEASE);
	umutex_unlock(&cpu_cold(s, cpu)->lock);
}
