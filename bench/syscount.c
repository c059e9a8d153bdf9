// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench/syscount.c - count the memory-management system calls a process
 * makes (madvise; mmap, munmap, mremap, brk), whoever makes them, without
 * strace or privileges: a seccomp filter (no_new_privs, synchronised to
 * every thread) turns each such call into SIGSYS unless it comes from one
 * instruction, the syscall in bench_raw_syscall below; the SIGSYS handler
 * counts the call and makes it from there, putting the result where the
 * caller expects it. Symbol interposition would miss the calls the C
 * library makes to itself (glibc's malloc trims with __madvise, __munmap and
 * brk), and raw syscall(2) users; this sees them all. The cost is a signal
 * per call, so the bench counts only in untimed rounds. The filter cannot be
 * removed: counting, once started, lasts until the process exits. x86-64
 * Linux only; elsewhere bench_syscount_start() reports that it cannot count.
 */
#define _GNU_SOURCE
#include "bench/bench.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/*
 * The one place counted calls are allowed from: the filter compares the
 * instruction pointer the kernel reports (the address after the syscall
 * instruction) with bench_raw_syscall_ret.
 */
long bench_raw_syscall(long nr, long a, long b, long c, long d, long e, long f);
extern const char bench_raw_syscall_ret[];
__asm__(".text\n"
	".globl bench_raw_syscall\n"
	".hidden bench_raw_syscall\n"
	".type bench_raw_syscall, @function\n"
	"bench_raw_syscall:\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movq %rdx, %rsi\n"
	"	movq %rcx, %rdx\n"
	"	movq %r8, %r10\n"
	"	movq %r9, %r8\n"
	"	movq 8(%rsp), %r9\n"
	"	syscall\n"
	".globl bench_raw_syscall_ret\n"
	".hidden bench_raw_syscall_ret\n"
	"bench_raw_syscall_ret:\n"
	"	ret\n"
	".size bench_raw_syscall, .-bench_raw_syscall\n");

static atomic_ulong counts[SYSCOUNT_NR];

static void sigsys_handler(int sig, siginfo_t *si, void *ctx)
{
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	int saved = errno;

	(void)sig;
	switch (si->si_syscall) {
	case SYS_madvise:
		atomic_fetch_add_explicit(&counts[SYSCOUNT_MADVISE], 1, memory_order_relaxed);
		break;
	default:
		atomic_fetch_add_explicit(&counts[SYSCOUNT_MM], 1, memory_order_relaxed);
		break;
	}
	g[REG_RAX] = bench_raw_syscall(si->si_syscall, g[REG_RDI], g[REG_RSI], g[REG_RDX],
				       g[REG_R10], g[REG_R8], g[REG_R9]);
	errno = saved;
}

/* Offsets of the instruction pointer's halves in struct seccomp_data (little endian). */
#define IP_LO offsetof(struct seccomp_data, instruction_pointer)
#define IP_HI (offsetof(struct seccomp_data, instruction_pointer) + 4)

int bench_syscount_start(void)
{
	uint64_t ip = (uint64_t)(uintptr_t)bench_raw_syscall_ret;
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 5, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mremap, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_brk, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* a counted call: allowed only from bench_raw_syscall */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_LO),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_HI),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	/* TSYNC: every thread of the process, the allocator's own included. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog))
		return -errno;
	return 0;
}

void bench_syscount_read(unsigned long out[SYSCOUNT_NR])
{
	for (int i = 0; i < SYSCOUNT_NR; i++)
		out[i] = atomic_load_explicit(&counts[i], memory_order_relaxed);
}

#else /* not x86-64 Linux */

int bench_syscount_start(void)
{
	return -ENOSYS;
}

void bench_syscount_read(unsigned long out[SYSCOUNT_NR])
{
	for (int i = 0; i < SYSCOUNT_NR; i++)
		out[i] = 0;
}

#endif
