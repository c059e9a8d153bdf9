/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/testutil.h - small helpers shared by the slab unit suite and the
 * integration tests: capturing what the library prints on stderr (through a
 * temporary file dup2'ed over fd 2), filling and checking object patterns
 * that tie an object's bytes to its address and owner, and detecting a
 * sanitizer build (tests that play with RLIMIT_AS cannot run under one).
 * Public headers only, so integration tests may include it.
 */
#ifndef USLAB_TESTS_TESTUTIL_H
#define USLAB_TESTS_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TEST_UNDER_SANITIZER 1
#endif
#endif
#ifndef TEST_UNDER_SANITIZER
#define TEST_UNDER_SANITIZER 0
#endif

/*
 * AddressSanitizer builds of uslab keep freed objects in a quarantine
 * (lib/debug.c) instead of the CPU array, so a free is not reused at once.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#ifndef TEST_UNDER_ASAN
#define TEST_UNDER_ASAN 0
#endif

/* ---- stderr capture --------------------------------------------------------- */

struct stderr_capture {
	FILE *file;
	int saved_fd;
};

/* Redirect fd 2 to a temporary file; returns 0 or -1. */
static inline int stderr_capture_begin(struct stderr_capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	if (!c->file)
		return -1;
	c->saved_fd = dup(STDERR_FILENO);
	if (c->saved_fd < 0 || dup2(fileno(c->file), STDERR_FILENO) < 0)
		return -1;
	return 0;
}

/* Restore fd 2 and return what was written meanwhile (malloc'd, NUL-terminated). */
static inline char *stderr_capture_end(struct stderr_capture *c)
{
	long len;
	char *text;

	fflush(stderr);
	dup2(c->saved_fd, STDERR_FILENO);
	close(c->saved_fd);
	len = ftell(c->file);
	if (len < 0)
		len = 0;
	text = malloc((size_t)len + 1);
	rewind(c->file);
	len = (long)fread(text, 1, (size_t)len, c->file);
	text[len] = '\0';
	fclose(c->file);
	return text;
}

/* ---- object patterns -------------------------------------------------------- */

/* Byte @i of an object at @p owned by @tag. */
static inline unsigned char pattern_byte(const void *p, uint32_t tag, size_t i)
{
	uintptr_t x = (uintptr_t)p ^ ((uintptr_t)tag * 0x9e3779b1u) ^ (i * 0x45d9f3bu);

	return (unsigned char)(x ^ (x >> 8) ^ (x >> 16));
}

/* Fill @len bytes of @p: a 4-byte tag, then bytes derived from address, tag and offset. */
static inline void pattern_fill(void *p, uint32_t tag, size_t len)
{
	unsigned char *b = p;

	if (len >= sizeof(tag)) {
		memcpy(b, &tag, sizeof(tag));
		for (size_t i = sizeof(tag); i < len; i++)
			b[i] = pattern_byte(p, tag, i);
	} else {
		for (size_t i = 0; i < len; i++)
			b[i] = pattern_byte(p, tag, i);
	}
}

/* True when @p holds the pattern pattern_fill(@p, @tag, @len) wrote. */
static inline int pattern_check(const void *p, uint32_t tag, size_t len)
{
	const unsigned char *b = p;
	size_t i = 0;

	if (len >= sizeof(tag)) {
		uint32_t t;

		memcpy(&t, b, sizeof(t));
		if (t != tag)
			return 0;
		i = sizeof(tag);
	}
	for (; i < len; i++)
		if (b[i] != pattern_byte(p, tag, i))
			return 0;
	return 1;
}

/* True when @len bytes at @p are all @c. */
static inline int bytes_all(const void *p, unsigned char c, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != c)
			return 0;
	return 1;
}

#endif /* USLAB_TESTS_TESTUTIL_H */
