// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench/syscount.c - count the memory-management system calls a process
 * makes (madvise; mmap, munmap, mremap, brk), whoever makes them, without
 * strace or privileges. A seccomp filter (no_new_privs, synchronised to
 * every thread, the allocator's background threads included) sends each
 * such call to a supervisor thread of ours as a user notification; the
 * supervisor counts it and lets it continue unchanged
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Symbol interposition would miss the
 * calls the C library makes to itself (glibc's malloc trims with __madvise,
 * __munmap and brk) and raw syscall(2) users; this sees them all, and, unlike
 * a SIGSYS trap, also those of threads that block every signal (liburcu's
 * call_rcu thread, helper threads of mallocs). The cost is two context
 * switches per call, so the bench counts only in untimed rounds. The filter
 * cannot be removed: counting, once started, lasts until the process exits.
 *
 * The supervisor is created before the filter (creating a thread maps its
 * stack) and must make no counted call itself: it only reads a pipe and
 * issues the notification ioctls. Not in sanitizer builds: their run-time
 * maps memory while it has stopped every other thread (LSan's leak check
 * at exit), which would wait for the stopped supervisor forever. Needs
 * Linux 5.7 (a listener together with TSYNC); elsewhere
 * bench_syscount_start() reports that it cannot count.
 */
#define _GNU_SOURCE
#include "bench/bench.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SYSCOUNT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define SYSCOUNT_SANITIZED 1
#endif
#endif

#if defined(__linux__) && !defined(SYSCOUNT_SANITIZED) && defined(__x86_64__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#endif

#if defined(SECCOMP_FILTER_FLAG_TSYNC_ESRCH) && defined(SECCOMP_USER_NOTIF_FLAG_CONTINUE)
#include <pthread.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_ulong counts[SYSCOUNT_NR];
static int fd_pipe[2] = { -1, -1 };

/*
 * The supervisor: receive the listener from the pipe, then count and
 * continue every notified call. Its buffers are static: no allocation here.
 */
static void *supervisor(void *arg)
{
	static _Alignas(64) unsigned char req_buf[1024], resp_buf[1024];
	struct seccomp_notif *req = (struct seccomp_notif *)req_buf;
	struct seccomp_notif_resp *resp = (struct seccomp_notif_resp *)resp_buf;
	int listener;

	(void)arg;
	if (read(fd_pipe[0], &listener, sizeof(listener)) != sizeof(listener))
		return NULL;
	for (;;) {
		memset(req_buf, 0, sizeof(req_buf));
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			return NULL;
		}
		atomic_fetch_add_explicit(&counts[req->data.nr == SYS_madvise ? SYSCOUNT_MADVISE
								      : SYSCOUNT_MM],
					  1, memory_order_relaxed);
		memset(resp_buf, 0, sizeof(resp_buf));
		resp->id = req->id;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		/* ENOENT: the caller was interrupted meanwhile; it will call again. */
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
	}
}

int bench_syscount_start(void)
{
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
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};
	struct seccomp_notif_sizes sizes;
	pthread_t tid;
	long listener;
	int err, fd;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes))
		return -errno;
	if (sizes.seccomp_notif > 1024 || sizes.seccomp_notif_resp > 1024)
		return -EOVERFLOW;
	if (pipe(fd_pipe))
		return -errno;
	err = pthread_create(&tid, NULL, supervisor, NULL);
	if (err)
		return -err;
	pthread_detach(tid);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		goto fail;
	listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			   SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC |
			   SECCOMP_FILTER_FLAG_TSYNC_ESRCH, &prog);
	if (listener < 0)
		goto fail;
	fd = (int)listener;
	if (write(fd_pipe[1], &fd, sizeof(fd)) != sizeof(fd))
		return -EIO;   /* cannot happen: the pipe is empty and ours */
	return 0;
fail:
	err = errno;
	close(fd_pipe[1]);   /* the supervisor's read returns 0: it ends */
	return -err;
}

void bench_syscount_read(unsigned long out[SYSCOUNT_NR])
{
	for (int i = 0; i < SYSCOUNT_NR; i++)
		out[i] = atomic_load_explicit(&counts[i], memory_order_relaxed);
}

#else /* not x86-64 Linux >= 5.7 headers, or a sanitizer build */

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
