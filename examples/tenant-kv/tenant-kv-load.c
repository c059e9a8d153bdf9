// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * examples/tenant-kv/tenant-kv-load.c - load client for tenant-kv-server.
 * CLIENTS threads each open one connection to 127.0.0.1:PORT, select the
 * namespace PREFIX<i % NAMESPACES> and run at most OPS requests, one at a
 * time, mixing SET (50%), GET (35%) and DEL (15%) over KEYS keys, until OPS
 * are done or the deadline passes. Every socket read and write has a time
 * limit, so the program always ends by itself, within about the deadline
 * plus that limit.
 *
 *   tenant-kv-load -p PORT [-n NAMESPACES] [-c CLIENTS] [-o OPS] [-d SECONDS]
 *                  [-k KEYS] [-v VALUE_BYTES] [-N PREFIX] [-s SEED]
 *
 * A value is "<namespace>/<key>:" padded to VALUE_BYTES..2*VALUE_BYTES
 * bytes, so a GET checks it got a value of its own namespace and key.
 * Prints, per namespace, the operations and how many SETs were refused with
 * "ERR over memory limit", then the total rate. Exit status: 0 when every
 * client connected and every response was one the protocol allows, 1
 * otherwise, 2 for bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_CLIENTS 256
#define LOAD_MAX_NS      64
#define LOAD_MAX_VALUE   4000   /* 2 * this stays below the server's line limit */
#define LOAD_IO_TIMEOUT  2      /* seconds per send or recv */
#define LOAD_LINE_MAX    16384

/* Counters of one namespace, summed over its clients. */
struct load_ns_stats {
	atomic_ulong ops, set_ok, over_limit, get_hit, get_miss, del_ok, del_miss, errors;
};

/* One client: its connection and line reader. */
struct load_client {
	unsigned int id, ns;
	int fd;
	unsigned int seed;
	size_t len;                     /* bytes buffered in buf */
	char buf[LOAD_LINE_MAX];
	char line[LOAD_LINE_MAX];       /* the last response, NUL-terminated */
};

static unsigned short load_port;
static unsigned int load_nr_ns = 4, load_nr_clients = 8, load_keys = 1000, load_vbytes = 100;
static unsigned long load_ops = 10000;
static double load_seconds = 10;
static const char *load_prefix = "load";
static unsigned int load_seed = 1;
static struct timespec load_deadline;
static struct load_ns_stats load_stats[LOAD_MAX_NS];
static atomic_uint load_failed_clients;

static double load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool load_past_deadline(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec > load_deadline.tv_sec ||
	       (ts.tv_sec == load_deadline.tv_sec && ts.tv_nsec >= load_deadline.tv_nsec);
}

static int load_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(load_port) };
	struct timeval tv = { .tv_sec = LOAD_IO_TIMEOUT };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool load_send(struct load_client *c, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

/* Read one response line into c->line. Return: false on EOF, error or timeout. */
static bool load_recv_line(struct load_client *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t n;

		if (nl) {
			size_t used = (size_t)(nl - c->buf) + 1;

			memcpy(c->line, c->buf, used - 1);
			c->line[used - 1] = '\0';
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return true;
		}
		if (c->len == sizeof(c->buf))
			return false;   /* longer than anything the server sends us */
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		c->len += (size_t)n;
	}
}

/* Send @req (with its newline) and read the response. */
static bool load_call(struct load_client *c, const char *req, size_t len)
{
	return load_send(c, req, len) && load_recv_line(c);
}

/* "<prefix><ns>/<key>:" then 'a'+key%26 up to @len bytes. Return: its length. */
static size_t load_value(char *buf, unsigned int ns, unsigned int key, size_t len)
{
	int n = sprintf(buf, "%s%u/k%u:", load_prefix, ns, key);

	if ((size_t)n < len) {
		memset(buf + n, 'a' + key % 26, len - (size_t)n);
		n = (int)len;
	}
	buf[n] = '\0';
	return (size_t)n;
}

/* Run one random request and count its outcome. Return: false if the connection failed. */
static bool load_one(struct load_client *c, char *req)
{
	struct load_ns_stats *st = &load_stats[c->ns];
	unsigned int key = (unsigned int)rand_r(&c->seed) % load_keys;
	unsigned int op = (unsigned int)rand_r(&c->seed) % 100;
	char expect[LOAD_MAX_VALUE * 2 + 64];
	size_t len;

	if (op < 50) {
		size_t vlen = load_vbytes + (unsigned int)rand_r(&c->seed) % (load_vbytes + 1);

		len = (size_t)sprintf(req, "SET k%u ", key);
		len += load_value(req + len, c->ns, key, vlen);
	} else {
		len = (size_t)sprintf(req, "%s k%u", op < 85 ? "GET" : "DEL", key);
	}
	req[len++] = '\n';
	if (!load_call(c, req, len))
		return false;
	atomic_fetch_add(&st->ops, 1);
	if (op < 50) {
		if (!strcmp(c->line, "OK"))
			atomic_fetch_add(&st->set_ok, 1);
		else if (!strcmp(c->line, "ERR over memory limit"))
			atomic_fetch_add(&st->over_limit, 1);
		else
			goto bad;
	} else if (op < 85) {
		if (!strcmp(c->line, "NOT_FOUND")) {
			atomic_fetch_add(&st->get_miss, 1);
		} else {
			/* The value must be one of this namespace and key. */
			len = load_value(expect, c->ns, key, 0);
			if (strncmp(c->line, "VALUE ", 6) || strncmp(c->line + 6, expect, len))
				goto bad;
			atomic_fetch_add(&st->get_hit, 1);
		}
	} else {
		if (!strcmp(c->line, "OK"))
			atomic_fetch_add(&st->del_ok, 1);
		else if (!strcmp(c->line, "NOT_FOUND"))
			atomic_fetch_add(&st->del_miss, 1);
		else
			goto bad;
	}
	return true;
bad:
	atomic_fetch_add(&st->errors, 1);
	fprintf(stderr, "tenant-kv-load: client %u: unexpected response \"%.60s\"\n", c->id,
		c->line);
	return true;
}

static void *load_client_thread(void *arg)
{
	struct load_client *c = arg;
	char *req = malloc(LOAD_LINE_MAX);
	char ns_line[96];
	int n;

	c->fd = load_connect();
	if (!req || c->fd < 0) {
		fprintf(stderr, "tenant-kv-load: client %u: cannot connect to 127.0.0.1:%u\n",
			c->id, load_port);
		goto fail;
	}
	n = snprintf(ns_line, sizeof(ns_line), "NS %s%u\n", load_prefix, c->ns);
	if (!load_call(c, ns_line, (size_t)n) || strcmp(c->line, "OK")) {
		fprintf(stderr, "tenant-kv-load: client %u: NS refused: %.60s\n", c->id, c->line);
		goto fail;
	}
	for (unsigned long i = 0; i < load_ops && !load_past_deadline(); i++) {
		if (!load_one(c, req)) {
			fprintf(stderr, "tenant-kv-load: client %u: connection lost\n", c->id);
			goto fail;
		}
	}
	load_call(c, "QUIT\n", 5);
	close(c->fd);
	free(req);
	return NULL;
fail:
	atomic_fetch_add(&load_failed_clients, 1);
	if (c->fd >= 0)
		close(c->fd);
	free(req);
	return NULL;
}

static void load_usage(void)
{
	fprintf(stderr, "usage: tenant-kv-load -p PORT [-n NAMESPACES] [-c CLIENTS] [-o OPS] "
			"[-d SECONDS] [-k KEYS] [-v VALUE_BYTES] [-N PREFIX] [-s SEED]\n");
	exit(2);
}

static unsigned long load_number(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		load_usage();
	return v;
}

int main(int argc, char **argv)
{
	static struct load_client clients[LOAD_MAX_CLIENTS];
	pthread_t threads[LOAD_MAX_CLIENTS];
	unsigned long total = 0, total_over = 0, total_err = 0;
	unsigned int started = 0;
	double t0, elapsed;
	char *end;
	int opt;

	while ((opt = getopt(argc, argv, "p:n:c:o:d:k:v:N:s:h")) != -1) {
		switch (opt) {
		case 'p': load_port = (unsigned short)load_number(optarg, 1, 65535); break;
		case 'n': load_nr_ns = (unsigned int)load_number(optarg, 1, LOAD_MAX_NS); break;
		case 'c': load_nr_clients = (unsigned int)load_number(optarg, 1, LOAD_MAX_CLIENTS); break;
		case 'o': load_ops = load_number(optarg, 1, 100000000); break;
		case 'k': load_keys = (unsigned int)load_number(optarg, 1, 10000000); break;
		case 'v': load_vbytes = (unsigned int)load_number(optarg, 1, LOAD_MAX_VALUE); break;
		case 's': load_seed = (unsigned int)load_number(optarg, 0, ~0u); break;
		case 'N': load_prefix = optarg; break;
		case 'd':
			load_seconds = strtod(optarg, &end);
			if (*end || !(load_seconds > 0 && load_seconds <= 3600))
				load_usage();
			break;
		default: load_usage();
		}
	}
	if (optind != argc || !load_port || strlen(load_prefix) > 40 || strchr(load_prefix, ' '))
		load_usage();

	t0 = load_now();
	clock_gettime(CLOCK_MONOTONIC, &load_deadline);
	load_deadline.tv_sec += (time_t)load_seconds;
	load_deadline.tv_nsec += (long)((load_seconds - (double)(time_t)load_seconds) * 1e9);
	if (load_deadline.tv_nsec >= 1000000000L) {
		load_deadline.tv_sec++;
		load_deadline.tv_nsec -= 1000000000L;
	}
	for (unsigned int i = 0; i < load_nr_clients; i++) {
		clients[i].id = i;
		clients[i].ns = i % load_nr_ns;
		clients[i].fd = -1;
		clients[i].seed = load_seed * 2654435761u + i;
		if (pthread_create(&threads[i], NULL, load_client_thread, &clients[i])) {
			fprintf(stderr, "tenant-kv-load: cannot start client %u\n", i);
			atomic_fetch_add(&load_failed_clients, 1);
			break;
		}
		started++;
	}
	for (unsigned int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	elapsed = load_now() - t0;

	for (unsigned int ns = 0; ns < load_nr_ns && ns < load_nr_clients; ns++) {
		struct load_ns_stats *st = &load_stats[ns];

		printf("ns %s%u: ops=%lu set_ok=%lu over_memory_limit=%lu get_hit=%lu get_miss=%lu "
		       "del_ok=%lu del_miss=%lu errors=%lu\n", load_prefix, ns,
		       atomic_load(&st->ops), atomic_load(&st->set_ok), atomic_load(&st->over_limit),
		       atomic_load(&st->get_hit), atomic_load(&st->get_miss), atomic_load(&st->del_ok),
		       atomic_load(&st->del_miss), atomic_load(&st->errors));
		total += atomic_load(&st->ops);
		total_over += atomic_load(&st->over_limit);
		total_err += atomic_load(&st->errors);
	}
	printf("total: %lu ops in %.2f s, %.0f ops/s, %lu over memory limit, %lu errors, "
	       "%u clients failed\n", total, elapsed, elapsed > 0 ? (double)total / elapsed : 0.0,
	       total_over, total_err, atomic_load(&load_failed_clients));
	return total_err || atomic_load(&load_failed_clients) ? 1 : 0;
}
