// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * topology/env.c - the one parser for numbers read from USLAB_* variables
 * (private/env.h). strtoul() alone accepts blanks, signs (a "-1" becomes
 * ULONG_MAX), trailing junk and, silently, nothing at all; here a value is
 * decimal digits to its end, within the caller's range, or it is refused
 * with a message naming the variable, the value and the range. On the
 * lowest floor because variables are read in every room.
 */
#include "private/env.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

static int env_refuse(const char *what, const char *text, const char *why)
{
	fprintf(stderr, "uslab: %s=%s: %s\n", what, text, why);
	return -EINVAL;
}

/* Digits of @text to their end, as a magnitude; -ERANGE above ULONG_MAX. */
static int env_digits(const char *text, unsigned long *value)
{
	unsigned long v = 0;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int digit = (unsigned int)(*p - '0');

		if (v > (ULONG_MAX - digit) / 10)
			return -ERANGE;
		v = v * 10 + digit;
	}
	if (*p)
		return -EINVAL;
	*value = v;
	return 0;
}

int env_parse_ulong(const char *what, const char *text, unsigned long min, unsigned long max,
		    unsigned long *out)
{
	unsigned long v;
	char why[96];
	int err = env_digits(text, &v);

	if (err == -EINVAL)
		return env_refuse(what, text, "not a decimal number");
	if (err || v < min || v > max) {
		snprintf(why, sizeof(why), "out of range (%lu to %lu)", min, max);
		return env_refuse(what, text, why);
	}
	*out = v;
	return 0;
}

int env_parse_long(const char *what, const char *text, long min, long max, long *out)
{
	bool negative = *text == '-';
	unsigned long mag;
	char why[96];
	long v;
	int err = env_digits(text + negative, &mag);

	if (err == -EINVAL)
		return env_refuse(what, text, "not a decimal number");
	/* |LONG_MIN| is LONG_MAX + 1. */
	if (!err && mag > (unsigned long)LONG_MAX + negative)
		err = -ERANGE;
	v = negative ? (long)(0ul - mag) : (long)mag;
	if (err || v < min || v > max) {
		snprintf(why, sizeof(why), "out of range (%ld to %ld)", min, max);
		return env_refuse(what, text, why);
	}
	*out = v;
	return 0;
}

int env_get_ulong(const char *name, unsigned long min, unsigned long max, unsigned long *out)
{
	const char *v = getenv(name);
	int err;

	if (!v || !*v)
		return 0;
	err = env_parse_ulong(name, v, min, max, out);
	return err ? err : 1;
}
