/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uslab.h - the whole public API of uslab. */
#ifndef USLAB_H
#define USLAB_H

#include <uslab/common.h>
#include <uslab/topology.h>
#include <uslab/hotplug.h>
#include <uslab/memcg.h>
#include <uslab/slab.h>
#include <uslab/stats.h>

#endif /* USLAB_H */
