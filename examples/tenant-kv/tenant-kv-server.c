// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * examples/tenant-kv/tenant-kv-server.c - a memcached-compatible server with
 * a hard memory limit and accounting per tenant, on uslab. Any memcached
 * client (text protocol) talks to it unchanged; the tenant of a key is its
 * prefix up to the separator ("app1:user:42" belongs to tenant app1; keys
 * without a separator to "default"). Every tenant is a memory cgroup
 * /kv/NAME with its own memory.max, and its items are uslab memory charged
 * to it; a tenant at its limit evicts its own least recently used items,
 * never another tenant's. kv-store.c holds the items and tenants, kv-proto.c
 * the protocol, kv-net.c the connections; this file reads the options and
 * starts and stops the rest.
 *
 *   tenant-kv-server [-p PORT] [-l ADDR] [-l PREFIX=SIZE]... [-m SIZE]
 *                    [-g SIZE] [-P CHAR] [-e] [-A] [-t THREADS] [-c CONNS]
 *                    [-T TENANTS] [-I SIZE] [-b BACKLOG] [-v]
 *
 * -p: TCP port (default 11211; 0: any free port); "listening on ADDR:PORT"
 *     is printed on stdout once clients can connect
 * -l: ADDR: the IPv4 address to listen on (default 127.0.0.1);
 *     PREFIX=SIZE: create tenant PREFIX at start with memory.max SIZE
 * -m: memory.max of each tenant created later (default 64, i.e. 64 MiB)
 * -g: memory.max of /kv, all tenants together (default: none)
 * -P: the separator ending a key's tenant prefix (default ':')
 * -e: no eviction: a full tenant answers "SERVER_ERROR out of memory storing
 *     object" (memcached's -M, also accepted)
 * -A: enable the shutdown command (as memcached)
 * -t: worker threads (default 4), -c: connections at once (default 1024),
 *     -T: tenants at most (default 1024), -I: largest item, counted as
 *     memcached counts (default 1m), -b: listen backlog (default 1024)
 * SIZE: a number of MiB as memcached's -m, or a number with a K, M, G or T
 * suffix (powers of 1024), or "max" for no limit; -I takes bytes or K/M.
 *
 * On SIGINT, SIGTERM or "shutdown" (with -A) the server closes every
 * connection, frees every item, prints each tenant's memory.stat and the
 * slabinfo rows of the item caches, destroys the tenants and the caches,
 * and exits 0 when nothing was left behind ("shutdown: clean").
 */
#include "kv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct kv_settings kv_settings = {
	.default_limit = 64ull << 20,
	.parent_limit = MEMCG_LIMIT_MAX,
	.item_size_max = 1u << 20,
	.nr_threads = 4,
	.max_conns = 1024,
	.max_tenants = 1024,
	.backlog = 1024,
	.port = 11211,
	.separator = ':',
	.evict = true,
};

static void kv_usage(void)
{
	fprintf(stderr,
		"usage: tenant-kv-server [-p PORT] [-l ADDR] [-l PREFIX=SIZE]... [-m SIZE] [-g SIZE]\n"
		"                        [-P CHAR] [-e] [-A] [-t THREADS] [-c CONNS] [-T TENANTS]\n"
		"                        [-I SIZE] [-b BACKLOG] [-v]\n");
	exit(2);
}

/*
 * A memory size: "max", a bare number of MiB (memcached's -m), or a number
 * with a K/M/G/T suffix (either case). @bare_shift: the unit of a bare
 * number (20 for MiB, 0 for bytes). Return: false when malformed.
 */
static bool kv_parse_size(const char *s, unsigned int bare_shift, unsigned long long *out)
{
	unsigned long long v;
	unsigned int shift = bare_shift;
	char *end;

	if (!strcasecmp(s, "max")) {
		*out = MEMCG_LIMIT_MAX;
		return true;
	}
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	if (*end) {
		const char *units = "kmgt";
		const char *u = strchr(units, end[0] | 0x20);

		if (!u || end[1])
			return false;
		shift = 10 * (unsigned int)(u - units + 1);
	}
	if (v > (~0ull >> shift))
		return false;
	*out = v << shift;
	return true;
}

static unsigned int kv_parse_uint(const char *s, unsigned int min, unsigned int max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		kv_usage();
	return (unsigned int)v;
}

static void kv_parse_args(int argc, char **argv)
{
	unsigned long long size;
	int opt;

	kv_settings.addr.s_addr = htonl(INADDR_LOOPBACK);
	while ((opt = getopt(argc, argv, "p:l:m:g:P:eMAt:c:T:I:b:vU:h")) != -1) {
		switch (opt) {
		case 'p':
			kv_settings.port = (unsigned short)kv_parse_uint(optarg, 0, 65535);
			break;
		case 'l': {
			char *eq = strchr(optarg, '=');

			if (!eq) {
				if (inet_pton(AF_INET, optarg, &kv_settings.addr) != 1) {
					fprintf(stderr, "tenant-kv-server: -l %s: not an IPv4 address\n",
						optarg);
					exit(2);
				}
				break;
			}
			if (kv_settings.nr_presets == KV_MAX_PRESETS || eq == optarg ||
			    !kv_parse_size(eq + 1, 20, &size)) {
				fprintf(stderr, "tenant-kv-server: -l %s: want PREFIX=SIZE\n", optarg);
				exit(2);
			}
			*eq = '\0';
			kv_settings.presets[kv_settings.nr_presets].prefix = optarg;
			kv_settings.presets[kv_settings.nr_presets++].limit = size;
			break;
		}
		case 'm':
			if (!kv_parse_size(optarg, 20, &kv_settings.default_limit))
				kv_usage();
			break;
		case 'g':
			if (!kv_parse_size(optarg, 20, &kv_settings.parent_limit))
				kv_usage();
			break;
		case 'P':
			if (strlen(optarg) != 1 || optarg[0] == ' ')
				kv_usage();
			kv_settings.separator = optarg[0];
			break;
		case 'e':
		case 'M':
			kv_settings.evict = false;
			break;
		case 'A':
			kv_settings.shutdown_enabled = true;
			break;
		case 't':
			kv_settings.nr_threads = kv_parse_uint(optarg, 1, 64);
			break;
		case 'c':
			kv_settings.max_conns = kv_parse_uint(optarg, 1, 1u << 20);
			break;
		case 'T':
			kv_settings.max_tenants = kv_parse_uint(optarg, 1, KV_MAX_TENANTS);
			break;
		case 'I':
			if (!kv_parse_size(optarg, 0, &size) || size < 1024 || size > (64ull << 20))
				kv_usage();
			kv_settings.item_size_max = (size_t)size;
			break;
		case 'b':
			kv_settings.backlog = kv_parse_uint(optarg, 1, 65535);
			break;
		case 'v':
			atomic_fetch_add(&kv_settings.verbose, 1);
			break;
		case 'U':
			/* memcached's UDP port: only "off" is served here. */
			if (kv_parse_uint(optarg, 0, 65535) != 0)
				kv_usage();
			break;
		default:
			kv_usage();
		}
	}
	if (optind != argc)
		kv_usage();
}

int main(int argc, char **argv)
{
	int err, ret;

	kv_parse_args(argc, argv);
	err = kv_store_init();
	if (err) {
		fprintf(stderr, "tenant-kv-server: setup: %s\n", strerror(-err));
		return 1;
	}
	err = kv_net_start();
	if (err) {
		fprintf(stderr, "tenant-kv-server: listen on port %u: %s\n", kv_settings.port,
			strerror(-err));
		return 1;
	}
	kv_net_run();
	kv_net_stop();
	ret = kv_store_shutdown(stdout);
	printf("shutdown: %s\n", ret ? "FAILED" : "clean");
	fflush(stdout);
	return ret;
}
