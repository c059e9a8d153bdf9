// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench/shim-idle.c - the smallest program that uses malloc: one malloc and
 * free, then its own peak and current RSS (VmHWM, VmRSS from
 * /proc/self/status) on one line. bench/shim-bench runs it with and without
 * LD_PRELOAD to see what merely loading a malloc costs. It reports itself
 * because the parent cannot measure a short-lived child: wait4's ru_maxrss
 * also counts the memory of the forked copy before exec.
 *
 * Output: @idle hwm_kib=N rss_kib=N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long status_kib(const char *key)
{
	char line[256], k[64];
	long kib, found = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^:]: %ld kB", k, &kib) == 2 && strcmp(k, key) == 0)
			found = kib;
	fclose(f);
	return found;
}

int main(void)
{
	char *p = malloc(100);

	if (!p)
		return 3;
	p[0] = 1;
	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
	printf("@idle hwm_kib=%ld rss_kib=%ld\n", status_kib("VmHWM"), status_kib("VmRSS"));
	return 0;
}
