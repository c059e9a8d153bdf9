// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/report.c - misuse and corruption reports. A report is one multi-line
 * text naming the cache and the object; it goes to the application's handler
 * when one is set (uslab_set_report_handler), else to stderr followed by
 * abort(), because a double free or a foreign pointer means the program's
 * memory is no longer trustworthy.
 */
#include "lib/slab.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static uslab_report_fn report_handler;

uslab_report_fn uslab_set_report_handler(uslab_report_fn fn)
{
	return __atomic_exchange_n(&report_handler, fn, __ATOMIC_ACQ_REL);
}

void slab_report(const struct kmem_cache *s, const void *object, const char *fmt, ...)
{
	char text[1024];
	int len;
	va_list ap;

	len = snprintf(text, sizeof(text), "uslab: BUG in cache %s: object %p: ",
		       s ? s->name : "(none)", object);
	va_start(ap, fmt);
	if (len >= 0 && (size_t)len < sizeof(text))
		vsnprintf(text + len, sizeof(text) - (size_t)len, fmt, ap);
	va_end(ap);

	uslab_report_fn fn = __atomic_load_n(&report_handler, __ATOMIC_ACQUIRE);
	if (fn) {
		fn(s ? s->name : NULL, object, text);
		return;
	}
	fprintf(stderr, "%s\n", text);
	fflush(stderr);
	abort();
}

void slab_warn(const struct kmem_cache *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "uslab: %s: ", s ? s->name : "(none)");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
