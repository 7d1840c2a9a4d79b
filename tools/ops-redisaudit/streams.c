/*
 * Consumer groups of streams (XINFO STREAM, GROUPS, CONSUMERS; Redis 7.0 fields).
 *
 * The incident this answers: a producer trims with XADD ... MAXLEN and a slow or stopped
 * group had not read the entries trimmed away. Those jobs are gone, and Redis says nothing:
 * XINFO GROUPS counts them in "lag" (entries-added - entries-read) as if they could still
 * be read, and once the group reads again its entries-read jumps past them. So the loss is
 * visible only while the group is behind, and is judged here from the stream's counters:
 *
 *   behind   last-delivered-id < first entry id (an empty stream: < last-generated-id)
 *   removed  entries-added - length (trimmed, or deleted with XDEL)
 *   lost     behind and entries-read known: removed - entries-read (when > 0)
 *            behind, entries-read nil, last-delivered-id 0-0: every removed entry
 *            behind otherwise: some may be lost, count unknown (-1)
 *
 * Trimming does not move max-deleted-entry-id in 7.0 (only XDEL does), so it cannot be used.
 * A behind group's real backlog is the whole stream (length), not XINFO's lag.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redisaudit.h"
#include "util.h"

int streams_id_parse(const char *id, u64 *ms, u64 *seq)
{
	char *end;
	if (!id || !*id || *id == '-')
		return -1;
	*ms = strtoull(id, &end, 10);
	*seq = 0;
	if (*end == '\0')
		return 0;
	if (*end != '-' || end[1] == '-' || !end[1])
		return -1;
	*seq = strtoull(end + 1, &end, 10);
	return *end ? -1 : 0;
}

int streams_id_cmp(const char *a, const char *b)
{
	u64 am = 0, as = 0, bm = 0, bs = 0;
	streams_id_parse(a, &am, &as);
	streams_id_parse(b, &bm, &bs);
	if (am != bm)
		return am < bm ? -1 : 1;
	return as < bs ? -1 : as > bs;
}

/* ---- reading XINFO (RESP2: a map is a flat array of name, value) ---- */

/* An integer field; nil (entries-read, lag unknown) and absent give -1. */
static long long map_int(const redisReply *map, const char *name)
{
	const redisReply *v = conn_reply_field(map, name);
	return v && v->type == REDIS_REPLY_INTEGER ? v->integer : -1;
}

static void map_str(const redisReply *map, const char *name, char *out, size_t outsz)
{
	const redisReply *v = conn_reply_field(map, name);
	snprintf(out, outsz, "%s", v && v->type == REDIS_REPLY_STRING ? v->str : "");
}

/* A reply, or NULL with *err set to the server's refusal (NOPERM, unknown command). */
static redisReply *xinfo(struct node *n, char **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(n->c, fmt, ap);
	va_end(ap);
	if (!r) {
		*err = xasprintf("connection lost: %s", n->c->errstr[0] ? n->c->errstr : "no reply");
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR || r->type != REDIS_REPLY_ARRAY) {
		*err = xstrdup(r->type == REDIS_REPLY_ERROR && r->str ? r->str : "unexpected reply");
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* The longest idle consumer holding pending entries. */
static void read_consumers(struct node *n, const struct xstream *x, struct xgroup *g)
{
	redisReply *r = xinfo(n, &g->consumers_error, "XINFO CONSUMERS %b %s", x->key, x->len, g->name);
	if (!r)
		return;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *c = r->element[i];
		long long pending = map_int(c, "pending"), idle = map_int(c, "idle");
		const redisReply *name = conn_reply_field(c, "name");
		if (pending <= 0 || idle <= g->idle.idle_ms || !name || name->type != REDIS_REPLY_STRING)
			continue;
		free(g->idle.name);
		g->idle = (struct xconsumer_worst){ xstrdup(name->str), idle, pending };
	}
	freeReplyObject(r);
}

static void judge_group(const struct xstream *x, struct xgroup *g, long long server_lag)
{
	bool behind = x->length > 0 ? streams_id_cmp(g->last_delivered, x->first_id) < 0
				    : streams_id_cmp(g->last_delivered, x->last_id) < 0;
	long long removed = x->entries_added - x->length;
	g->lag = server_lag;
	g->lost = 0;
	if (!behind || removed <= 0)
		return;
	g->lag = x->length;
	if (g->entries_read >= 0)
		g->lost = removed > g->entries_read ? removed - g->entries_read : 0;
	else if (!strcmp(g->last_delivered, "0-0"))
		g->lost = removed;
	else
		g->lost = -1;
}

static void read_groups(struct node *n, struct xstream *x)
{
	redisReply *r = xinfo(n, &x->error, "XINFO GROUPS %b", x->key, x->len);
	if (!r)
		return;
	x->groups = xcalloc(r->elements + 1, sizeof(*x->groups));
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *m = r->element[i];
		const redisReply *name = conn_reply_field(m, "name");
		if (!name || name->type != REDIS_REPLY_STRING)
			continue;
		struct xgroup *g = &x->groups[x->ngroups++];
		g->name = xstrdup(name->str);
		g->consumers = map_int(m, "consumers");
		g->pending = map_int(m, "pending");
		g->entries_read = map_int(m, "entries-read");
		map_str(m, "last-delivered-id", g->last_delivered, sizeof(g->last_delivered));
		judge_group(x, g, map_int(m, "lag"));
	}
	freeReplyObject(r);
	for (size_t i = 0; i < x->ngroups; i++)
		if (x->groups[i].pending > 0)
			read_consumers(n, x, &x->groups[i]);
}

/* The first entry's id: [id, [field, value...]] or nil for an empty stream. */
static void first_entry_id(const redisReply *info, char *out, size_t outsz)
{
	const redisReply *e = conn_reply_field(info, "first-entry");
	out[0] = '\0';
	if (e && e->type == REDIS_REPLY_ARRAY && e->elements >= 1 && e->element[0]->type == REDIS_REPLY_STRING)
		snprintf(out, outsz, "%s", e->element[0]->str);
}

/* 0 read; 1 not on this node (MOVED, no such key); -1 refused (x->error). */
static int read_stream(struct node *n, struct xstream *x)
{
	char *err = NULL;
	redisReply *r = xinfo(n, &err, "XINFO STREAM %b", x->key, x->len);
	if (!r) {
		bool elsewhere = !strncmp(err, "MOVED", 5) || !strncmp(err, "ASK", 3) ||
				 strstr(err, "no such key") || strstr(err, "WRONGTYPE");
		if (elsewhere) {
			free(err);
			return 1;
		}
		x->error = err;
		return -1;
	}
	x->length = map_int(r, "length");
	x->entries_added = map_int(r, "entries-added");
	map_str(r, "last-generated-id", x->last_id, sizeof(x->last_id));
	map_str(r, "max-deleted-entry-id", x->max_deleted, sizeof(x->max_deleted));
	first_entry_id(r, x->first_id, sizeof(x->first_id));
	freeReplyObject(r);
	if (x->entries_added < 0) {   /* before 7.0: no counters, the loss cannot be judged */
		x->error = xstrdup("XINFO STREAM has no entries-added (Redis before 7.0)");
		return -1;
	}
	if (x->length < 0) {   /* judge_group subtracts it: a reply without one is no stream */
		x->error = xstrdup("XINFO STREAM has no length");
		return -1;
	}
	read_groups(n, x);
	return 0;
}

static struct xstream *new_stream(struct stream_audit *sa, int node, const char *key, size_t len)
{
	sa->v = xrealloc(sa->v, (sa->n + 1) * sizeof(*sa->v));
	struct xstream *x = &sa->v[sa->n++];
	memset(x, 0, sizeof(*x));
	x->node = node;
	x->key = xmalloc(len + 1);
	memcpy(x->key, key, len);
	x->key[len] = '\0';
	x->len = len;
	return x;
}

static void drop_last(struct stream_audit *sa)
{
	struct xstream *x = &sa->v[--sa->n];
	free(x->key);
	free(x->error);
	free(x->groups);
}

static bool seen(const struct stream_audit *sa, const char *key, size_t len)
{
	for (size_t i = 0; i < sa->n; i++)
		if (sa->v[i].len == len && !memcmp(sa->v[i].key, key, len))
			return true;
	return false;
}

/* A watched stream: on whichever node holds it (cluster), or missing. */
static void audit_watched(struct node *nodes, size_t nn, const char *key, struct stream_audit *sa)
{
	size_t len = strlen(key);
	if (seen(sa, key, len))
		return;
	for (size_t i = 0; i < nn; i++) {
		if (!nodes[i].connected || nodes[i].error)
			continue;
		struct xstream *x = new_stream(sa, (int)i, key, len);
		if (read_stream(&nodes[i], x) <= 0)
			return;
		drop_last(sa);
	}
	struct xstream *x = new_stream(sa, 0, key, len);
	x->missing = true;
	x->error = xstrdup("no such stream on any node");
}

void streams_audit(struct node *nodes, size_t nn, const struct settings *s, struct stream_audit *out)
{
	memset(out, 0, sizeof(*out));
	out->ran = true;
	for (size_t i = 0; i < nn; i++) {
		struct node *n = &nodes[i];
		const struct stream_names *l = &n->agg.stream_keys;
		out->not_read += l->dropped;
		for (size_t k = 0; k < l->n && n->connected && !n->error; k++) {
			struct xstream *x = new_stream(out, (int)i, l->keys[k], l->lens[k]);
			if (read_stream(n, x) > 0)
				drop_last(out);   /* deleted since the scan */
		}
	}
	for (size_t i = 0; i < s->n_stream_watch; i++)
		audit_watched(nodes, nn, s->stream_watch[i], out);
}

void streams_audit_free(struct stream_audit *sa)
{
	for (size_t i = 0; i < sa->n; i++) {
		struct xstream *x = &sa->v[i];
		for (size_t g = 0; g < x->ngroups; g++) {
			free(x->groups[g].name);
			free(x->groups[g].idle.name);
			free(x->groups[g].consumers_error);
		}
		free(x->groups);
		free(x->key);
		free(x->error);
	}
	free(sa->v);
	memset(sa, 0, sizeof(*sa));
}

/* ---- checks and the table ---- */

struct group_tally {
	size_t groups, lost, lagging, idle, orphaned;
	size_t consumers_unread;   /* groups whose consumers could not be read (UNKNOWN) */
};

static bool watched(const struct settings *s, const struct xstream *x)
{
	for (size_t i = 0; i < s->n_stream_watch; i++)
		if (strlen(s->stream_watch[i]) == x->len && !memcmp(s->stream_watch[i], x->key, x->len))
			return true;
	return false;
}

static void report_lost(struct report *r, const struct xstream *x, const struct xgroup *g, const char *subj,
			const char *k)
{
	struct check *c;
	if (g->lost > 0)
		c = report_check(r, "stream-group-lost", ST_CRITICAL, subj,
				 "group %s of stream \"%s\" lost %lld entries: trimmed before it read them "
				 "(last delivered %s, first entry %s)", g->name, k, g->lost, g->last_delivered,
				 x->length ? x->first_id : "none");
	else
		c = report_check(r, "stream-group-lost", ST_CRITICAL, subj,
				 "group %s of stream \"%s\" is behind the first entry (last delivered %s, first %s) "
				 "and %lld entries were removed: some it had not read are lost", g->name, k,
				 g->last_delivered, x->length ? x->first_id : "none", x->entries_added - x->length);
	check_hint(c, "the MAXLEN of XADD is too small for this group's pace (or its workers stopped): "
		      "raise MAXLEN, trim with XTRIM MINID below the slowest group's last-delivered-id, "
		      "or scale the consumers; the lost entries must be replayed from their source");
	if (g->lost > 0)
		check_metric(c, "group_lost_entries", (double)g->lost, "", THRESHOLDS_NONE);
}

static void report_group(struct report *r, const struct settings *s, const struct xstream *x,
			 const struct xgroup *g, struct group_tally *t)
{
	char *k = prefix_key_display(x->key, x->len);
	char *subj = xasprintf("%s/%s", k, g->name);
	t->groups++;
	if (g->lost) {
		t->lost++;
		report_lost(r, x, g, subj, k);
	}
	bool lagging = g->lag > s->group_lag_warn;
	if (lagging || (watched(s, x) && g->lag >= 0)) {
		struct check *c = report_check(r, "stream-group-lag", lagging ? ST_WARNING : ST_OK, subj,
					       "group %s of stream \"%s\": %lld entries not yet delivered, %lld pending",
					       g->name, k, g->lag, g->pending);
		check_metric(c, "group_lag", (double)g->lag, "", (struct thresholds){ (double)s->group_lag_warn, NAN, 0, NAN });
		check_metric(c, "group_pending", (double)g->pending, "", THRESHOLDS_NONE);
		if (lagging)
			check_hint(c, "its consumers do not keep up with the producers: add consumers");
		t->lagging += lagging;
	}
	if (g->consumers == 0 && g->lag > 0) {
		t->orphaned++;
		check_hint(report_check(r, "stream-group-no-consumers", ST_WARNING, subj,
					"group %s of stream \"%s\" has no consumer and %lld entr%s to deliver",
					g->name, k, g->lag, g->lag == 1 ? "y" : "ies"),
			   "start its workers, or XGROUP DESTROY a group nobody uses any more");
	}
	t->consumers_unread += g->consumers_error != NULL;
	if (g->consumers_error)
		check_hint(report_check(r, "stream-consumer-idle", ST_UNKNOWN, subj,
					"cannot read the consumers of group %s: %s", g->name, g->consumers_error),
			   "grant the audit user +xinfo|consumers");
	else if (g->idle.name && g->idle.idle_ms > s->consumer_idle_ms) {
		t->idle++;
		struct check *c = report_check(r, "stream-consumer-idle", ST_WARNING, subj,
					       "consumer %s of group %s idle for %.0fs holds %lld pending entries "
					       "(a dead worker?)", g->idle.name, g->name,
					       (double)g->idle.idle_ms / 1000, g->idle.pending);
		check_hint(c, "claim its entries for a live consumer (XAUTOCLAIM), then XGROUP DELCONSUMER it");
		check_metric(c, "consumer_idle_seconds", (double)g->idle.idle_ms / 1000, "s",
			     (struct thresholds){ s->consumer_idle_ms / 1000, NAN, 0, NAN });
	}
	free(subj);
	free(k);
}

/* Refusals are the same for every stream (ACL, renamed XINFO): one check says them. */
static void report_unreadable(struct report *r, const struct stream_audit *sa)
{
	size_t refused = 0;
	const struct xstream *first = NULL;
	for (size_t i = 0; i < sa->n; i++) {
		const struct xstream *x = &sa->v[i];
		if (!x->error)
			continue;
		if (x->missing) {
			char *k = prefix_key_display(x->key, x->len);
			check_hint(report_check(r, "stream-group-lost", ST_UNKNOWN, k,
						"watched stream \"%s\" does not exist: its groups cannot be judged", k),
				   "check redis.stream_groups.watch, or the producer that creates it");
			free(k);
			continue;
		}
		if (!first)
			first = x;
		refused++;
	}
	if (!first)
		return;
	char *k = prefix_key_display(first->key, first->len);
	check_hint(report_check(r, "stream-group-lost", ST_UNKNOWN, NULL,
				"cannot read the consumer groups of %zu stream%s (e.g. \"%s\"): %s; entries "
				"trimmed before their group read them would go unseen", refused,
				refused == 1 ? "" : "s", k, first->error),
		   "grant the audit user +xinfo (XINFO STREAM, GROUPS and CONSUMERS), or undo its rename-command");
	free(k);
}

static void put_table(struct report *r, const struct stream_audit *sa)
{
	struct rp_table *t = rp_table_new(r, "stream_groups", "stream consumer groups");
	rp_table_col(t, "stream", "STREAM", COL_STR);
	rp_table_col(t, "group", "GROUP", COL_STR);
	rp_table_col(t, "length", "LENGTH", COL_INT);
	rp_table_col(t, "entries_added", NULL, COL_INT);
	rp_table_col(t, "first_entry_id", NULL, COL_STR);
	rp_table_col(t, "last_generated_id", NULL, COL_STR);
	rp_table_col(t, "max_deleted_entry_id", NULL, COL_STR);
	rp_table_col(t, "last_delivered_id", "DELIVERED", COL_STR);
	rp_table_col(t, "entries_read", NULL, COL_INT);
	rp_table_col(t, "consumers", "CONSUMERS", COL_INT);
	rp_table_col(t, "pending", "PENDING", COL_INT);
	rp_table_col(t, "lag", "LAG", COL_INT);
	rp_table_col(t, "lost", "LOST", COL_INT);
	for (size_t i = 0; i < sa->n; i++) {
		const struct xstream *x = &sa->v[i];
		for (size_t j = 0; j < x->ngroups; j++) {
			const struct xgroup *g = &x->groups[j];
			rp_table_bytes_str(t, x->key, x->len);
			rp_table_str(t, g->name);
			rp_table_int(t, x->length);
			rp_table_int(t, x->entries_added);
			rp_table_str(t, x->length ? x->first_id : NULL);
			rp_table_str(t, x->last_id);
			rp_table_str(t, x->max_deleted);
			rp_table_str(t, g->last_delivered);
			rp_table_int(t, g->entries_read);   /* -1: unknown to the server */
			rp_table_int(t, g->consumers);
			rp_table_int(t, g->pending);
			rp_table_int(t, g->lag);
			rp_table_int(t, g->lost);           /* -1: some, count unknown */
		}
	}
	rp_table_end(t);
}

void streams_report(struct report *r, const struct settings *s, struct node *nodes,
		    const struct stream_audit *sa)
{
	(void)nodes;
	if (!sa->ran || !sa->n)
		return;
	put_table(r, sa);
	struct group_tally t = { 0 };
	size_t streams = 0;
	for (size_t i = 0; i < sa->n; i++) {
		streams += !sa->v[i].error;
		for (size_t j = 0; j < sa->v[i].ngroups; j++)
			report_group(r, s, &sa->v[i], &sa->v[i].groups[j], &t);
	}
	report_unreadable(r, sa);
	if (streams && !t.lost) {
		struct check *c = report_check(r, "stream-group-lost", ST_OK, NULL,
					       "%zu consumer group%s on %zu stream%s: none lost entries to trimming%s",
					       t.groups, t.groups == 1 ? "" : "s", streams, streams == 1 ? "" : "s",
					       sa->not_read ? " (more streams not read: see streams_not_read)" : "");
		check_metric(c, "stream_groups", (double)t.groups, "", THRESHOLDS_NONE);
		check_metric(c, "streams_not_read", (double)sa->not_read, "", THRESHOLDS_NONE);
	}
	if (streams && !t.lagging && !s->n_stream_watch)
		report_check(r, "stream-group-lag", ST_OK, NULL, "no group has more than %lld entries to deliver",
			     s->group_lag_warn);
	/* not OK when some groups' consumers went unread: their UNKNOWN says why */
	if (streams && !t.idle && !t.consumers_unread)
		report_check(r, "stream-consumer-idle", ST_OK, NULL,
			     "no consumer holding pending entries is idle for more than %.0fs", s->consumer_idle_ms / 1000);
}
