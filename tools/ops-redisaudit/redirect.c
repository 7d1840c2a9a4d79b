/*
 * MOVED/ASK follow for the per-key commands of a cluster scan. A key SCAN listed on one
 * node may have moved by the time its TYPE is asked (resharding, failover): the key is then
 * read where it lives now, through a small per-thread cache of connections to other nodes
 * (same auth and TLS settings), at most REDIRECT_HOPS_MAX redirects per key. Redirects are
 * rare, so this path is synchronous and leaves the node's pipeline alone.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

/* "MOVED 3999 host:port" / "ASK 3999 host:port"; an empty host (Redis 7 with an unknown
 * endpoint) means the host of the node that answered. */
static int parse_redirect(const char *err, const char *from_host, char *host, size_t hostsz, int *port,
			  bool *asking)
{
	bool moved = str_starts_with(err, "MOVED ");
	if (!moved && !str_starts_with(err, "ASK "))
		return -1;   /* TRYAGAIN: a multi-key operation mid-migration, nothing to follow */
	*asking = !moved;
	const char *addr = strchr(err + (moved ? 6 : 4), ' ');
	struct addr_span a;
	if (!addr || conn_addr_split(addr + 1, strlen(addr + 1), 0, &a))
		return -1;
	*port = a.port;
	const char *h = a.host;
	size_t hl = a.host_len;
	if (!hl) {
		if (!from_host)
			return -1;
		h = from_host;
		hl = strlen(from_host);
	}
	if (hl >= hostsz)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
}

/* The cached connection to host:port, opened on first use; NULL if it cannot be had (a
 * failure is cached too, so a dead node is not dialled once per key). */
static struct node *conn_for(struct redirect_conns *rc, const struct settings *s, const char *host, int port)
{
	char *label = conn_addr_label(host, port);
	for (size_t i = 0; i < rc->n; i++) {
		if (!strcmp(rc->v[i].label, label)) {
			free(label);
			return rc->v[i].connected ? &rc->v[i] : NULL;
		}
	}
	size_t at = rc->n;
	if (rc->n == REDIRECT_CONNS_MAX) {
		at = rc->next_evict;
		rc->next_evict = (rc->next_evict + 1) % REDIRECT_CONNS_MAX;
		conn_node_free(&rc->v[at]);
	} else {
		rc->n++;
	}
	struct node *n = &rc->v[at];
	memset(n, 0, sizeof(*n));
	conn_map_address(s, host, port, &n->host, &n->port);   /* MOVED names the announced address */
	n->label = label;
	n->role = "primary";
	n->connected = !conn_node_open(n, s);
	return n->connected ? n : NULL;
}

void redirect_conns_free(struct redirect_conns *rc)
{
	for (size_t i = 0; i < rc->n; i++)
		conn_node_free(&rc->v[i]);
	memset(rc, 0, sizeof(*rc));
}

/* One command about the key, preceded by ASKING after an ASK redirect (it holds for the
 * next command only). */
static void append_asked(struct node *n, bool asking, const char *cmd, const char *sub, const char *key,
			 size_t len, const char *samples)
{
	struct key_argv a;
	conn_key_argv(&a, cmd, sub, key, len, samples);
	if (asking)
		redisAppendCommand(n->c, "ASKING");
	redisAppendCommandArgv(n->c, a.argc, a.argv, a.len);
}

/* The reply of an append_asked() command; NULL when the connection broke (the cached
 * node is then marked unusable). */
static redisReply *get_asked(struct node *n, bool asking)
{
	void *r = NULL;
	for (int i = asking ? 0 : 1; i < 2; i++) {
		if (r)
			freeReplyObject(r);
		r = NULL;
		if (redisGetReply(n->c, &r) != REDIS_OK || !r) {
			n->connected = false;
			return NULL;
		}
	}
	return r;
}

/* TYPE, MEMORY USAGE, PTTL (and a length when wanted) of the key on n. -1 on failure; a
 * further MOVED/ASK is handed back in *next (caller frees). */
static int read_key_at(struct node *n, bool asking, const struct settings *s, const char *key, size_t len,
		       bool with_memory, struct followed_key *out, char **next)
{
	char samples[24];
	snprintf(samples, sizeof(samples), "%lld", s->samples);
	append_asked(n, asking, "TYPE", NULL, key, len, NULL);
	if (with_memory)
		append_asked(n, asking, "MEMORY", "USAGE", key, len, samples);
	append_asked(n, asking, "PTTL", NULL, key, len, NULL);
	redisReply *t = get_asked(n, asking);
	redisReply *m = t && with_memory ? get_asked(n, asking) : NULL;
	redisReply *p = t && (!with_memory || m) ? get_asked(n, asking) : NULL;
	int rc = -1;
	if (t && p) {
		memset(out, 0, sizeof(*out));
		out->length = -1;
		if (t->type == REDIS_REPLY_ERROR && agg_skip_reason_of(t->str) == SK_MOVED)
			*next = xstrdup(t->str);
		if (t->type == REDIS_REPLY_STATUS) {
			out->vanished = !strcmp(t->str, "none") || (p->type == REDIS_REPLY_INTEGER && p->integer == -2);
			out->type = agg_ktype_parse(t->str, t->len);
			if (out->type == KT_OTHER)
				snprintf(out->type_name, sizeof(out->type_name), "%s", t->str);
			out->memory = m && m->type == REDIS_REPLY_INTEGER && m->integer > 0 ? (u64)m->integer : 0;
			out->memory_refused = !m || m->type != REDIS_REPLY_INTEGER;
			out->ttl_ms = p->type == REDIS_REPLY_INTEGER && p->integer >= 0 ? p->integer : -1;
			rc = 0;
		}
	}
	if (t)
		freeReplyObject(t);
	if (m)
		freeReplyObject(m);
	if (p)
		freeReplyObject(p);
	return rc;
}

/* The element count, as the scan reads it (streams always, every type with --lengths). */
static void read_length_at(struct node *n, bool asking, const struct settings *s, const char *key, size_t len,
			   struct followed_key *out)
{
	const char *cmd = out->vanished ? NULL : agg_length_cmd(out->type);
	if (!cmd || !(s->lengths || out->memory_refused || out->type == KT_STREAM))
		return;
	append_asked(n, asking, cmd, NULL, key, len, NULL);
	redisReply *r = get_asked(n, asking);
	if (r && r->type == REDIS_REPLY_INTEGER)
		out->length = r->integer;
	if (r)
		freeReplyObject(r);
}

int redirect_follow(struct redirect_conns *rc, const struct settings *s, const struct node *from,
		    const char *err, const char *key, size_t len, bool with_memory, struct followed_key *out)
{
	char host[256];
	const char *from_host = from->host;
	char *owned = NULL;
	int rcode = -1;
	for (int hop = 0; hop < REDIRECT_HOPS_MAX && err; hop++) {
		int port;
		bool asking;
		if (parse_redirect(err, from_host, host, sizeof(host), &port, &asking))
			break;
		struct node *to = conn_for(rc, s, host, port);
		if (!to)
			break;
		char *next = NULL;
		rcode = read_key_at(to, asking, s, key, len, with_memory, out, &next);
		free(owned);
		err = owned = next;
		if (!rcode) {
			read_length_at(to, asking, s, key, len, out);
			out->where = to->label;
			break;
		}
		from_host = to->host;
	}
	free(owned);
	return rcode;
}
