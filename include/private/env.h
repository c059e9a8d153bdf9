/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * private/env.h - numbers from the environment: one parser, with an end check
 * and a range check, for every numeric value of every USLAB_* variable, so a
 * value is either exactly what the variable means or refused with one line
 * on stderr saying which variable, which value and what was wrong. Defined
 * in topology/env.c, on the lowest floor, so every room may use it. Never
 * installed.
 */
#ifndef USLAB_PRIVATE_ENV_H
#define USLAB_PRIVATE_ENV_H

#ifndef USLAB_BUILDING
#error "private/env.h is internal to uslab"
#endif

#include "private/compiler.h"

/*
 * env_parse_ulong - @text as a decimal number in [@min, @max]
 * @what: what the value is, as the message names it: "USLAB_REAP_MS", or
 *        "USLAB_FAIL: probability" for a key inside a variable
 * @text: decimal digits only: no sign, blank, prefix or suffix, not empty
 * @out: set only on success
 *
 * Context: any; prints with stdio (no lock held, no allocation).
 * Return: 0, or -EINVAL after printing "uslab: WHAT=TEXT: REASON" (not a
 * decimal number, or out of range MIN to MAX) on stderr.
 */
int env_parse_ulong(const char *what, const char *text, unsigned long min, unsigned long max,
		    unsigned long *out);

/* env_parse_long - as env_parse_ulong(), for a signed value: one '-' allowed first. */
int env_parse_long(const char *what, const char *text, long min, long max, long *out);

/*
 * env_get_ulong - the variable @name through env_parse_ulong()
 *
 * Return: 1 with *@out set; 0 when @name is unset or empty (*@out kept, the
 * caller's default); -EINVAL when the value is refused (said on stderr).
 */
int env_get_ulong(const char *name, unsigned long min, unsigned long max, unsigned long *out);

#endif /* USLAB_PRIVATE_ENV_H */
