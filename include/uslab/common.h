/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uslab/common.h - definitions every public uslab header shares: the export
 * macro, C++ linkage guards, and the kernel's gfp_t and slab_flags_t types.
 *
 * Error convention of the whole public API, stated once:
 *   - calls that return memory return NULL on failure and set errno
 *     (ENOMEM: no memory or a tenant limit was hit; EINVAL: bad argument);
 *   - management calls return 0 on success or a negative errno value
 *     (-EINVAL, -EBUSY, -ENOMEM, ...) and never touch errno on success;
 *   - a failed call changes nothing: caches, objects and accounting are as
 *     they were before it.
 */
#ifndef USLAB_COMMON_H
#define USLAB_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#ifndef USLAB_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define USLAB_API __attribute__((visibility("default")))
#else
#define USLAB_API
#endif
#endif

#ifdef __cplusplus
#define USLAB_BEGIN_DECLS extern "C" {
#define USLAB_END_DECLS }
#else
#define USLAB_BEGIN_DECLS
#define USLAB_END_DECLS
#endif

/* Allocation flags; bit values equal Linux 6.1 include/linux/gfp_types.h. */
typedef unsigned int gfp_t;
/* Cache creation flags; bit values equal Linux 6.1 include/linux/slab.h. */
typedef unsigned int slab_flags_t;

/* NUMA node id meaning "the calling thread's node". */
#define NUMA_NO_NODE (-1)

#endif /* USLAB_COMMON_H */
