// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * examples/tenant-kv/kv-proto.c - the memcached text protocol (memcached 1.6
 * doc/protocol.txt) for tenant-kv-server: set add replace append prepend
 * cas get gets gat gats touch delete incr decr flush_all stats version
 * verbosity quit shutdown, with noreply, pipelining and memcached's own
 * wording of every reply and error.
 *
 * Requests are parsed the way memcached 1.6.18's proto_text.c parses them
 * (its tokenizer splits on single blanks and stops at a NUL byte, it keeps at
 * most 24 tokens per pass, its number parsers accept what strtol() accepts
 * and keep the low 32 bits, "noreply" is the last token), because clients
 * and tests see those edges: the same request gets the same bytes back. What
 * differs is where memcached is undefined or has no answer: an overlong
 * command line gets "CLIENT_ERROR line too long" and the connection goes on
 * at the next line (memcached closes it, or not, depending on how the bytes
 * arrived); a binary-protocol request closes the connection. Every other
 * line gets exactly one reply, or none with noreply, as in memcached.
 *
 * The extra "stats tenants" lists each tenant's items, memory and
 * evictions; "stats audit" checks that each tenant holds exactly the memory
 * its items need (kv_audit()).
 */
#include "kv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define KV_MAX_TOKENS       24              /* memcached's MAX_TOKENS */
#define KV_LINE_MAX         2048            /* longest non-get command line */
#define KV_GET_LINE_MAX     (2u << 20)      /* longest get line (many keys) */

struct kv_token {
	char *value;
	size_t length;
};

/* ---- parsing helpers (memcached util.c semantics) ----------------------- */

static bool kv_isspace(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool kv_safe_strtoull(const char *str, uint64_t *out)
{
	unsigned long long ull;
	char *end;

	*out = 0;
	errno = 0;
	ull = strtoull(str, &end, 10);
	if (errno == ERANGE || str == end)
		return false;
	if (!kv_isspace(*end) && *end != '\0')
		return false;
	if ((long long)ull < 0 && strchr(str, '-'))
		return false;
	*out = ull;
	return true;
}

/* memcached's safe_strtoul(): parsed as unsigned long, the low 32 bits kept. */
static bool kv_safe_strtoul(const char *str, uint32_t *out)
{
	unsigned long l;
	char *end;

	*out = 0;
	errno = 0;
	l = strtoul(str, &end, 10);
	if (errno == ERANGE || str == end)
		return false;
	if (!kv_isspace(*end) && *end != '\0')
		return false;
	if ((long)l < 0 && strchr(str, '-'))
		return false;
	*out = (uint32_t)l;
	return true;
}

/* memcached's safe_strtol(): parsed as long, the low 32 bits kept. */
static bool kv_safe_strtol(const char *str, int32_t *out)
{
	long l;
	char *end;

	*out = 0;
	errno = 0;
	l = strtol(str, &end, 10);
	if (errno == ERANGE || str == end)
		return false;
	if (!kv_isspace(*end) && *end != '\0')
		return false;
	*out = (int32_t)(uint32_t)(unsigned long)l;
	return true;
}

/* memcached's EXPTIME_TO_POSITIVE_TIME(): negative means "already expired". */
static rel_time_t kv_exptime(int32_t exptime)
{
	return kv_realtime(exptime < 0 ? KV_REALTIME_MAXDELTA + 1 : exptime);
}

/*
 * memcached's tokenize_command(): split @command (NUL-terminated; a NUL byte
 * ends it) at single blanks into at most @max - 1 tokens, then a terminal
 * token whose value is NULL when the whole string was used, else the rest.
 */
static size_t kv_tokenize(char *command, struct kv_token *tokens, size_t max)
{
	size_t len = strlen(command), ntokens = 0;
	char *s = command, *e = command;

	for (size_t i = 0; i < len; i++, e++) {
		if (*e != ' ')
			continue;
		if (s != e) {
			tokens[ntokens].value = s;
			tokens[ntokens].length = (size_t)(e - s);
			ntokens++;
			*e = '\0';
			if (ntokens == max - 1) {
				e++;
				s = e;
				break;
			}
		}
		s = e + 1;
	}
	if (s != e) {
		tokens[ntokens].value = s;
		tokens[ntokens].length = (size_t)(e - s);
		ntokens++;
	}
	tokens[ntokens].value = *e == '\0' ? NULL : e;
	tokens[ntokens].length = 0;
	return ntokens + 1;
}

/* ---- replies ------------------------------------------------------------------ */

static void kv_out_string(struct kv_conn *c, const char *str)
{
	if (c->noreply)
		return;
	if (!kv_buf_add(&c->out, str, strlen(str)) || !kv_buf_add(&c->out, "\r\n", 2))
		c->state = KV_CONN_CLOSING;     /* no memory even for a reply line */
}

/* memcached's set_noreply_maybe(): "noreply" as the last real token. */
static bool kv_set_noreply_maybe(struct kv_conn *c, struct kv_token *tokens, size_t ntokens)
{
	struct kv_token *t = &tokens[ntokens - 2];

	if (t->value && !strcmp(t->value, "noreply"))
		c->noreply = true;
	return c->noreply;
}

/* ---- get, gets, gat, gats ----------------------------------------------------- */

static void kv_process_get(struct kv_conn *c, struct kv_token *tokens, bool with_cas, bool touch)
{
	struct kv_thread_stats *st = kv_conn_stats(c);
	struct kv_token *key_token = &tokens[1];
	size_t mark = c->out.tail;
	rel_time_t exptime = 0;
	const char *error = NULL;

	if (touch) {
		int32_t exptime_int;

		if (!kv_safe_strtol(tokens[1].value, &exptime_int)) {
			kv_out_string(c, "CLIENT_ERROR invalid exptime argument");
			return;
		}
		key_token++;
		exptime = kv_exptime(exptime_int);
	}
	do {
		for (; key_token->length != 0; key_token++) {
			char *key = key_token->value;
			size_t nkey = key_token->length;
			struct kv_tenant *t;
			int hit = 0;

			if (nkey > KV_KEY_MAX) {
				error = "CLIENT_ERROR bad command line format";
				goto stop;
			}
			t = kv_tenant_of(key, nkey, false);
			if (t)
				hit = kv_get_reply(t, key, nkey, with_cas, touch, exptime, &c->out, st);
			if (hit < 0) {
				error = "SERVER_ERROR out of memory writing get response";
				goto stop;
			}
			if (touch) {
				kv_stat_add(&st->touch_cmds, 1);
				kv_stat_add(hit ? &st->touch_hits : &st->touch_misses, 1);
			} else {
				kv_stat_add(&st->get_cmds, 1);
				kv_stat_add(hit ? &st->get_hits : &st->get_misses, 1);
			}
		}
		/* More than 23 tokens: memcached tokenizes the rest and goes on. */
		if (key_token->value) {
			kv_tokenize(key_token->value, tokens, KV_MAX_TOKENS);
			key_token = tokens;
		}
	} while (key_token->value);
stop:
	if (error) {
		/* The replies stacked so far go: memcached sends the error alone. */
		c->out.tail = mark;
		kv_out_string(c, error);
		return;
	}
	kv_out_string(c, "END");
}

/* ---- storage commands --------------------------------------------------------- */

static void kv_process_update(struct kv_conn *c, struct kv_token *tokens, size_t ntokens,
			      enum kv_store_cmd cmd, bool handle_cas)
{
	struct kv_thread_stats *st = kv_conn_stats(c);
	char *key = tokens[1].value;
	size_t nkey = tokens[1].length;
	int32_t exptime_int, vlen;
	uint64_t req_cas = 0;
	struct kv_tenant *t;
	struct kv_item *it;
	rel_time_t exptime;
	uint32_t flags;

	kv_set_noreply_maybe(c, tokens, ntokens);
	if (nkey > KV_KEY_MAX) {
		kv_out_string(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (!(kv_safe_strtoul(tokens[2].value, &flags) &&
	      kv_safe_strtol(tokens[3].value, &exptime_int) &&
	      kv_safe_strtol(tokens[4].value, &vlen))) {
		kv_out_string(c, "CLIENT_ERROR bad command line format");
		return;
	}
	exptime = kv_exptime(exptime_int);
	if (handle_cas && !kv_safe_strtoull(tokens[5].value, &req_cas)) {
		kv_out_string(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (vlen < 0 || vlen > INT_MAX - 2) {
		kv_out_string(c, "CLIENT_ERROR bad command line format");
		return;
	}
	vlen += 2;

	if (!kv_item_size_ok(nkey, flags, (size_t)vlen)) {
		kv_out_string(c, "SERVER_ERROR object too large for cache");
		kv_stat_add(&st->store_too_large, 1);
		t = kv_tenant_of(key, nkey, false);
		it = NULL;
	} else {
		t = kv_tenant_of(key, nkey, true);
		it = t ? kv_item_alloc(t, key, nkey, flags, exptime, (size_t)vlen) : NULL;
		if (!it) {
			kv_out_string(c, "SERVER_ERROR out of memory storing object");
			kv_stat_add(&st->store_no_memory, 1);
		}
	}
	if (!it) {
		/* The data block follows anyway: skip it. A failed set drops the old value. */
		c->sbytes = (size_t)vlen;
		c->state = KV_CONN_SWALLOW;
		if (cmd == KV_CMD_SET && t)
			kv_unlink_key(t, key, nkey);
		return;
	}
	c->item = it;
	c->item_tenant = t;
	c->cmd = cmd;
	c->req_cas = req_cas;
	c->rlbytes = (size_t)vlen;
	c->state = KV_CONN_NREAD;
}

/* The data block is in c->item: check its "\r\n" and store it. */
static void kv_complete_nread(struct kv_conn *c)
{
	struct kv_thread_stats *st = kv_conn_stats(c);
	struct kv_item *it = c->item;
	static const char *const replies[] = {
		[KV_STORED] = "STORED", [KV_NOT_STORED] = "NOT_STORED", [KV_EXISTS] = "EXISTS",
		[KV_NOT_FOUND] = "NOT_FOUND", [KV_NO_MEMORY] = "SERVER_ERROR out of memory storing object",
	};

	c->item = NULL;
	c->state = KV_CONN_CMD;
	kv_stat_add(&st->set_cmds, 1);
	if (memcmp(kv_item_value(it) + it->nbytes - 2, "\r\n", 2)) {
		kv_item_free(it);
		kv_out_string(c, "CLIENT_ERROR bad data chunk");
		return;
	}
	kv_out_string(c, replies[kv_store(c->item_tenant, it, c->cmd, c->req_cas, st)]);
}

/* ---- other commands ------------------------------------------------------------ */

static void kv_process_touch(struct kv_conn *c, struct kv_token *tokens, size_t ntokens)
{
	struct kv_thread_stats *st = kv_conn_stats(c);
	struct kv_tenant *t;
	int32_t exptime_int;
	bool hit;

	kv_set_noreply_maybe(c, tokens, ntokens);
	if (tokens[1].length > KV_KEY_MAX) {
		kv_out_string(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (!kv_safe_strtol(tokens[2].value, &exptime_int)) {
		kv_out_string(c, "CLIENT_ERROR invalid exptime argument");
		return;
	}
	t = kv_tenant_of(tokens[1].value, tokens[1].length, false);
	hit = t && kv_touch(t, tokens[1].value, tokens[1].length, kv_exptime(exptime_int), st);
	kv_stat_add(&st->touch_cmds, 1);
	kv_stat_add(hit ? &st->touch_hits : &st->touch_misses, 1);
	kv_out_string(c, hit ? "TOUCHED" : "NOT_FOUND");
}

static void kv_process_arithmetic(struct kv_conn *c, struct kv_token *tokens, size_t ntokens,
				  bool incr)
{
	struct kv_thread_stats *st = kv_conn_stats(c);
	char buf[24];
	struct kv_tenant *t;
	uint64_t delta;

	kv_set_noreply_maybe(c, tokens, ntokens);
	if (tokens[1].length > KV_KEY_MAX) {
		kv_out_string(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (!kv_safe_strtoull(tokens[2].value, &delta)) {
		kv_out_string(c, "CLIENT_ERROR invalid numeric delta argument");
		return;
	}
	t = kv_tenant_of(tokens[1].value, tokens[1].length, false);
	if (!t) {
		kv_stat_add(incr ? &st->incr_misses : &st->decr_misses, 1);
		kv_out_string(c, "NOT_FOUND");
		return;
	}
	switch (kv_delta(t, tokens[1].value, tokens[1].length, incr, delta, buf, st)) {
	case KV_DELTA_OK:
		kv_out_string(c, buf);
		break;
	case KV_DELTA_NON_NUMERIC:
		kv_out_string(c, "CLIENT_ERROR cannot increment or decrement non-numeric value");
		break;
	case KV_DELTA_NO_MEMORY:
		kv_out_string(c, "SERVER_ERROR out of memory");
		break;
	case KV_DELTA_NOT_FOUND:
		kv_out_string(c, "NOT_FOUND");
		break;
	}
}

static void kv_process_delete(struct kv_conn *c, struct kv_token *tokens, size_t ntokens)
{
	struct kv_thread_stats *st = kv_conn_stats(c);
	struct kv_tenant *t;
	bool hit;

	if (ntokens > 3) {
		bool hold_is_zero = !strcmp(tokens[2].value, "0");
		bool sets_noreply = kv_set_noreply_maybe(c, tokens, ntokens);
		bool valid = (ntokens == 4 && (hold_is_zero || sets_noreply)) ||
			     (ntokens == 5 && hold_is_zero && sets_noreply);

		if (!valid) {
			kv_out_string(c, "CLIENT_ERROR bad command line format.  "
					 "Usage: delete <key> [noreply]");
			return;
		}
	}
	if (tokens[1].length > KV_KEY_MAX) {
		kv_out_string(c, "CLIENT_ERROR bad command line format");
		return;
	}
	t = kv_tenant_of(tokens[1].value, tokens[1].length, false);
	hit = t && kv_delete(t, tokens[1].value, tokens[1].length, st);
	kv_stat_add(hit ? &st->delete_hits : &st->delete_misses, 1);
	kv_out_string(c, hit ? "DELETED" : "NOT_FOUND");
}

static void kv_process_verbosity(struct kv_conn *c, struct kv_token *tokens, size_t ntokens)
{
	uint32_t level;

	kv_set_noreply_maybe(c, tokens, ntokens);
	if (!kv_safe_strtoul(tokens[1].value, &level)) {
		kv_out_string(c, "CLIENT_ERROR bad command line format");
		return;
	}
	atomic_store(&kv_settings.verbose, level > 2 ? 2 : level);
	kv_out_string(c, "OK");
}

static void kv_process_flush_all(struct kv_conn *c, struct kv_token *tokens, size_t ntokens)
{
	int32_t exptime = 0;

	kv_set_noreply_maybe(c, tokens, ntokens);
	kv_stat_add(&kv_conn_stats(c)->flush_cmds, 1);
	if (ntokens != (c->noreply ? 3u : 2u) && !kv_safe_strtol(tokens[1].value, &exptime)) {
		kv_out_string(c, "CLIENT_ERROR invalid exptime argument");
		return;
	}
	kv_flush_all(exptime);
	kv_out_string(c, "OK");
}

static void kv_process_shutdown(struct kv_conn *c, struct kv_token *tokens, size_t ntokens)
{
	if (!kv_settings.shutdown_enabled) {
		kv_out_string(c, "ERROR: shutdown not enabled");
		return;
	}
	if (ntokens == 2 || (ntokens == 3 && !strcmp(tokens[1].value, "graceful"))) {
		/* As memcached: no reply, the connection closes, the server stops. */
		c->state = KV_CONN_CLOSING;
		kv_request_shutdown();
	} else {
		kv_out_string(c, "CLIENT_ERROR invalid shutdown mode");
	}
}

/* ---- stats -------------------------------------------------------------------- */

static void kv_stats_settings(struct kv_buf *o)
{
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &kv_settings.addr, addr, sizeof(addr));
	kv_buf_printf(o, "STAT maxbytes %llu\r\n",
		      kv_settings.parent_limit == MEMCG_LIMIT_MAX ? 0ull : kv_settings.parent_limit);
	kv_buf_printf(o, "STAT maxconns %u\r\n", kv_settings.max_conns);
	kv_buf_printf(o, "STAT tcpport %u\r\n", kv_settings.port);
	kv_buf_printf(o, "STAT udpport 0\r\n");
	kv_buf_printf(o, "STAT inter %s\r\n", addr);
	kv_buf_printf(o, "STAT verbosity %u\r\n", atomic_load(&kv_settings.verbose));
	kv_buf_printf(o, "STAT evictions %s\r\n", kv_settings.evict ? "on" : "off");
	kv_buf_printf(o, "STAT shutdown_command %s\r\n", kv_settings.shutdown_enabled ? "yes" : "no");
	kv_buf_printf(o, "STAT growth_factor 1.25\r\n");
	kv_buf_printf(o, "STAT num_threads %u\r\n", kv_settings.nr_threads);
	kv_buf_printf(o, "STAT stat_key_prefix %c\r\n", kv_settings.separator);
	kv_buf_printf(o, "STAT cas_enabled yes\r\n");
	kv_buf_printf(o, "STAT tcp_backlog %u\r\n", kv_settings.backlog);
	kv_buf_printf(o, "STAT binding_protocol ascii\r\n");
	kv_buf_printf(o, "STAT item_size_max %zu\r\n", kv_settings.item_size_max);
	kv_buf_printf(o, "STAT flush_enabled yes\r\n");
}

static void kv_stats_limit(struct kv_buf *o, const char *name, const char *field,
			   unsigned long v)
{
	if (v == MEMCG_LIMIT_MAX)
		kv_buf_printf(o, "STAT %s:%s max\r\n", name, field);
	else
		kv_buf_printf(o, "STAT %s:%s %lu\r\n", name, field, v);
}

/*
 * "stats tenants": per tenant NAME (the escaped prefix), its items and their
 * bytes, its memory cgroup's usage, peak, limit and events, its evictions.
 */
static void kv_stats_tenants(struct kv_buf *o)
{
	unsigned int n = kv_tenant_count();
	struct mem_cgroup *p = kv_parent_memcg();

	kv_buf_printf(o, "STAT tenants %u\r\n", n);
	kv_buf_printf(o, "STAT separator %c\r\n", kv_settings.separator);
	kv_buf_printf(o, "STAT /kv:memory_current %lu\r\n", mem_cgroup_usage(p));
	kv_stats_limit(o, "/kv", "memory_max", mem_cgroup_max(p));
	for (unsigned int i = 0; i < n; i++) {
		struct kv_tenant *t = kv_tenant_at(i);
		struct kv_tenant_snapshot ts;
		const char *nm = t->name;

		kv_tenant_snapshot(t, &ts);
		kv_buf_printf(o, "STAT %s:curr_items %lu\r\n", nm, ts.nr_items);
		kv_buf_printf(o, "STAT %s:bytes %" PRIu64 "\r\n", nm, ts.bytes);
		kv_buf_printf(o, "STAT %s:total_items %lu\r\n", nm, ts.st.total_items);
		kv_buf_printf(o, "STAT %s:evictions %lu\r\n", nm, ts.st.evictions);
		kv_buf_printf(o, "STAT %s:reclaimed %lu\r\n", nm, ts.st.reclaimed);
		kv_buf_printf(o, "STAT %s:evicted_unfetched %lu\r\n", nm, ts.st.evicted_unfetched);
		kv_buf_printf(o, "STAT %s:expired_unfetched %lu\r\n", nm, ts.st.expired_unfetched);
		kv_buf_printf(o, "STAT %s:get_hits %lu\r\n", nm, ts.get_hits);
		kv_buf_printf(o, "STAT %s:get_misses %lu\r\n", nm, ts.get_misses);
		kv_buf_printf(o, "STAT %s:cmd_set %lu\r\n", nm, ts.cmd_set);
		kv_buf_printf(o, "STAT %s:lru_bumps_dropped %lu\r\n", nm, ts.bumps_dropped);
		kv_buf_printf(o, "STAT %s:store_no_memory %lu\r\n", nm,
			      atomic_load_explicit(&t->store_no_memory, memory_order_relaxed));
		kv_buf_printf(o, "STAT %s:hash_buckets %lu\r\n", nm, ts.buckets);
		kv_buf_printf(o, "STAT %s:memory_current %lu\r\n", nm, mem_cgroup_usage(t->memcg));
		kv_buf_printf(o, "STAT %s:memory_peak %lu\r\n", nm, mem_cgroup_peak(t->memcg));
		kv_stats_limit(o, nm, "memory_max", mem_cgroup_max(t->memcg));
		kv_buf_printf(o, "STAT %s:memory_events_max %lu\r\n", nm,
			      mem_cgroup_events(t->memcg, MEMCG_MAX, false));
		kv_buf_printf(o, "STAT %s:memory_events_oom %lu\r\n", nm,
			      mem_cgroup_events(t->memcg, MEMCG_OOM, false));
	}
}

static void kv_process_stats(struct kv_conn *c, struct kv_token *tokens, size_t ntokens)
{
	const char *sub = tokens[1].value;
	struct kv_buf *o = &c->out;
	size_t mark = o->tail;
	bool ok = true;

	if (ntokens == 2) {
		kv_server_stats(o);
	} else if (!strcmp(sub, "reset")) {
		kv_stats_reset();
		kv_out_string(c, "RESET");
		return;
	} else if (!strcmp(sub, "settings")) {
		kv_stats_settings(o);
	} else if (!strcmp(sub, "tenants")) {
		kv_stats_tenants(o);
	} else if (!strcmp(sub, "audit")) {
		int problems = kv_audit(o);

		ok = kv_buf_printf(o, "STAT audit %s\r\n", problems ? "failed" : "ok");
	} else {
		kv_out_string(c, "ERROR");
		return;
	}
	ok = kv_buf_add(o, "END\r\n", 5) && ok;
	if (!ok) {
		o->tail = mark;
		kv_out_string(c, "SERVER_ERROR out of memory writing stats");
	}
}

/* ---- dispatch ------------------------------------------------------------------- */

static bool kv_tokens_ok(struct kv_conn *c, size_t ntokens, size_t a, size_t b)
{
	if (ntokens != a && ntokens != b) {
		kv_out_string(c, "ERROR");
		return false;
	}
	return true;
}

static bool kv_tokens_between(struct kv_conn *c, size_t ntokens, size_t min, size_t max)
{
	if (ntokens < min || ntokens > max) {
		kv_out_string(c, "ERROR");
		return false;
	}
	return true;
}

/* memcached's process_command_ascii() for the commands served here. */
static void kv_process_command(struct kv_conn *c, char *command)
{
	struct kv_token tokens[KV_MAX_TOKENS];
	size_t ntokens;
	const char *cmd;

	c->noreply = false;
	ntokens = kv_tokenize(command, tokens, KV_MAX_TOKENS);
	if (ntokens < 2 || tokens[0].length < 2) {
		kv_out_string(c, "ERROR");
		return;
	}
	cmd = tokens[0].value;
	if (cmd[0] == 'g') {
		if (ntokens < 3) {
			kv_out_string(c, "ERROR");
		} else if (!strcmp(cmd, "get")) {
			kv_process_get(c, tokens, false, false);
		} else if (!strcmp(cmd, "gets")) {
			kv_process_get(c, tokens, true, false);
		} else if (!strcmp(cmd, "gat")) {
			kv_process_get(c, tokens, false, true);
		} else if (!strcmp(cmd, "gats")) {
			kv_process_get(c, tokens, true, true);
		} else {
			kv_out_string(c, "ERROR");
		}
	} else if (!strcmp(cmd, "set")) {
		if (kv_tokens_ok(c, ntokens, 6, 7))
			kv_process_update(c, tokens, ntokens, KV_CMD_SET, false);
	} else if (!strcmp(cmd, "add")) {
		if (kv_tokens_ok(c, ntokens, 6, 7))
			kv_process_update(c, tokens, ntokens, KV_CMD_ADD, false);
	} else if (!strcmp(cmd, "append")) {
		if (kv_tokens_ok(c, ntokens, 6, 7))
			kv_process_update(c, tokens, ntokens, KV_CMD_APPEND, false);
	} else if (!strcmp(cmd, "replace")) {
		if (kv_tokens_ok(c, ntokens, 6, 7))
			kv_process_update(c, tokens, ntokens, KV_CMD_REPLACE, false);
	} else if (!strcmp(cmd, "prepend")) {
		if (kv_tokens_ok(c, ntokens, 6, 7))
			kv_process_update(c, tokens, ntokens, KV_CMD_PREPEND, false);
	} else if (!strcmp(cmd, "cas")) {
		if (kv_tokens_ok(c, ntokens, 7, 8))
			kv_process_update(c, tokens, ntokens, KV_CMD_CAS, true);
	} else if (!strcmp(cmd, "stats")) {
		kv_process_stats(c, tokens, ntokens);
	} else if (!strcmp(cmd, "shutdown")) {
		kv_process_shutdown(c, tokens, ntokens);
	} else if (!strcmp(cmd, "incr")) {
		if (kv_tokens_ok(c, ntokens, 4, 5))
			kv_process_arithmetic(c, tokens, ntokens, true);
	} else if (!strcmp(cmd, "decr")) {
		if (kv_tokens_ok(c, ntokens, 4, 5))
			kv_process_arithmetic(c, tokens, ntokens, false);
	} else if (!strcmp(cmd, "delete")) {
		if (kv_tokens_between(c, ntokens, 3, 5))
			kv_process_delete(c, tokens, ntokens);
	} else if (!strcmp(cmd, "touch")) {
		if (kv_tokens_ok(c, ntokens, 4, 5))
			kv_process_touch(c, tokens, ntokens);
	} else if (!strcmp(cmd, "flush_all")) {
		if (kv_tokens_between(c, ntokens, 2, 4))
			kv_process_flush_all(c, tokens, ntokens);
	} else if (!strcmp(cmd, "version")) {
		kv_out_string(c, "VERSION " KV_MC_VERSION "-tenant-kv");
	} else if (!strcmp(cmd, "quit")) {
		c->state = KV_CONN_CLOSING;
	} else if (!strcmp(cmd, "bget")) {
		/* memcached's ancient "binary get", still answered as get. */
		if (ntokens < 3)
			kv_out_string(c, "ERROR");
		else
			kv_process_get(c, tokens, false, false);
	} else if (!strcmp(cmd, "verbosity")) {
		if (kv_tokens_ok(c, ntokens, 3, 4))
			kv_process_verbosity(c, tokens, ntokens);
	} else if (!strncmp(tokens[ntokens - 2].value, "HTTP/", 5)) {
		/* memcached hangs up on HTTP requests. */
		c->state = KV_CONN_CLOSING;
	} else {
		kv_out_string(c, "ERROR");
	}
}

/* ---- the input loop ------------------------------------------------------------ */

/* Whether the pending line is a get-family command, which may be long (memcached: get, gets). */
static bool kv_is_get_line(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && i <= 100 && p[i] == ' ')
		i++;
	p += i;
	len -= i;
	return (len >= 4 && (!memcmp(p, "get ", 4) || !memcmp(p, "gat ", 4))) ||
	       (len >= 5 && (!memcmp(p, "gets ", 5) || !memcmp(p, "gats ", 5)));
}

static void kv_line_too_long(struct kv_conn *c)
{
	c->noreply = false;
	kv_out_string(c, "CLIENT_ERROR line too long");
}

/* Grow the input buffer for a long get line. Return: false at the limit. */
static bool kv_grow_rbuf(struct kv_conn *c)
{
	size_t size = c->rsize * 2;
	char *p;

	if (c->rsize >= KV_GET_LINE_MAX + 2)
		return false;
	if (size > KV_GET_LINE_MAX + 2)
		size = KV_GET_LINE_MAX + 2;
	p = kvmalloc(size, GFP_KERNEL);
	if (!p)
		return false;
	memcpy(p, c->rbuf + c->rpos, c->rlen - c->rpos);
	kvfree(c->rbuf);
	c->rbuf = p;
	c->rlen -= c->rpos;
	c->rpos = 0;
	c->rsize = size;
	return true;
}

/* One step in the command state. Return: false when more input is needed. */
static bool kv_step_command(struct kv_conn *c)
{
	size_t avail = c->rlen - c->rpos, len;
	char *line = c->rbuf + c->rpos, *nl, *el;

	if (!avail)
		return false;
	if (!c->negotiated) {
		/* memcached picks the protocol from the first byte; only text is served here. */
		c->negotiated = true;
		if ((unsigned char)line[0] == 0x80) {
			c->state = KV_CONN_CLOSING;
			return true;
		}
	}
	nl = memchr(line, '\n', avail);
	if (!nl) {
		bool get = kv_is_get_line(line, avail);

		if ((!get && avail > KV_LINE_MAX) || (get && avail > KV_GET_LINE_MAX)) {
			kv_line_too_long(c);
			c->rpos = c->rlen;
			c->state = KV_CONN_DISCARD_LINE;
			return true;
		}
		if (avail == c->rsize && !kv_grow_rbuf(c)) {
			kv_line_too_long(c);
			c->rpos = c->rlen;
			c->state = KV_CONN_DISCARD_LINE;
			return true;
		}
		return false;
	}
	len = (size_t)(nl - line);
	c->rpos += len + 1;
	if (len > KV_LINE_MAX && (len > KV_GET_LINE_MAX || !kv_is_get_line(line, len))) {
		kv_line_too_long(c);
		return true;
	}
	/* memcached drops a "\r" before the "\n" only when something precedes it. */
	el = nl;
	if (len > 1 && el[-1] == '\r')
		el--;
	*el = '\0';
	kv_process_command(c, line);
	return true;
}

bool kv_proto_process(struct kv_conn *c)
{
	for (;;) {
		size_t avail = c->rlen - c->rpos, n;

		if (c->state == KV_CONN_CLOSING)
			return false;
		if (kv_buf_len(&c->out) > KV_OUT_HIGH)
			return false;
		switch (c->state) {
		case KV_CONN_CMD:
			if (!kv_step_command(c))
				return true;
			break;
		case KV_CONN_NREAD:
			n = avail < c->rlbytes ? avail : c->rlbytes;
			memcpy(kv_item_value(c->item) + c->item->nbytes - c->rlbytes,
			       c->rbuf + c->rpos, n);
			c->rpos += n;
			c->rlbytes -= n;
			if (c->rlbytes)
				return true;
			kv_complete_nread(c);
			break;
		case KV_CONN_SWALLOW:
			n = avail < c->sbytes ? avail : c->sbytes;
			c->rpos += n;
			c->sbytes -= n;
			if (c->sbytes)
				return true;
			c->state = KV_CONN_CMD;
			break;
		case KV_CONN_DISCARD_LINE: {
			char *nl = memchr(c->rbuf + c->rpos, '\n', avail);

			if (!nl) {
				c->rpos = c->rlen;
				return true;
			}
			c->rpos = (size_t)(nl + 1 - c->rbuf);
			c->state = KV_CONN_CMD;
			break;
		}
		case KV_CONN_CLOSING:
			return false;
		}
	}
}

/* A connection goes away: a data block being read is dropped with its item. */
void kv_proto_conn_release(struct kv_conn *c)
{
	if (c->item) {
		kv_item_free(c->item);
		c->item = NULL;
	}
}
