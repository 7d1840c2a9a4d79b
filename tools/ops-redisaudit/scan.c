/*
 * The SCAN pipeline. Per batch, one round trip carries TYPE, MEMORY USAGE and PTTL for
 * every key of the batch plus the SCAN for the next batch; a second round trip asks the
 * element counts (XLEN of streams always, every type with --lengths). Nodes are scanned
 * by at most --jobs threads, one connection each; rate, pause, --max-keys and the stop
 * flag are shared. Nothing is kept per key.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "progress.h"
#include "redisaudit.h"
#include "util.h"

atomic_bool scan_stop;

struct scan_shared {
	const struct settings *s;
	struct node *nodes;
	size_t n;
	atomic_size_t next_node;
	atomic_ullong claimed;      /* keys claimed against --max-keys */
	atomic_ullong examined;     /* keys examined, all nodes (rate, progress) */
	atomic_bool limit_hit;
	double started_ms;
	pthread_mutex_t progress_lock;
	struct progress *progress;
};

static atomic_bool limit_reached_flag;

bool scan_limit_reached(void)
{
	return atomic_load(&limit_reached_flag);
}

/* Sleeps up to ms, waking early when a stop was asked. */
static void nap_ms(double ms)
{
	double until = now_ms() + ms;
	while (!scan_stop) {
		double left = until - now_ms();
		if (left <= 0)
			return;
		if (left > 50)
			left = 50;
		struct timespec ts = { 0, (long)(left * 1e6) };
		nanosleep(&ts, NULL);
	}
}

static void throttle(struct scan_shared *sh)
{
	const struct settings *s = sh->s;
	if (s->pause_ms > 0)
		nap_ms(s->pause_ms);
	if (s->rate > 0) {
		double due = sh->started_ms + (double)atomic_load(&sh->examined) * 1000.0 / s->rate;
		double wait = due - now_ms();
		if (wait > 0)
			nap_ms(wait);
	}
}

/* --sample: a stable choice by key hash, so a rerun examines the same keys. */
static bool sampled(const struct settings *s, const char *key, size_t len)
{
	if (s->sample >= 1)
		return true;
	uint64_t h = fnv1a(key, len);
	return (double)(h >> 11) < s->sample * (double)(1ULL << 53);
}

/* How many of want keys --max-keys still allows. */
static size_t claim_keys(struct scan_shared *sh, size_t want)
{
	if (!sh->s->max_keys)
		return want;
	unsigned long long max = (unsigned long long)sh->s->max_keys;
	unsigned long long before = atomic_fetch_add(&sh->claimed, want);
	if (before >= max) {
		atomic_store(&sh->limit_hit, true);
		return 0;
	}
	if (before + want > max) {
		atomic_store(&sh->limit_hit, true);
		return (size_t)(max - before);
	}
	return want;
}

static void append_scan(struct node *n, const struct settings *s, const char *cursor)
{
	char count[24];
	snprintf(count, sizeof(count), "%lld", s->count);
	const char *argv[6] = { "SCAN", cursor };
	size_t argvlen[6] = { 4, strlen(cursor) };
	int argc = 2;
	if (s->match) {
		argv[argc] = "MATCH";
		argvlen[argc++] = 5;
		argv[argc] = s->match;
		argvlen[argc++] = strlen(s->match);
	}
	argv[argc] = "COUNT";
	argvlen[argc++] = 5;
	argv[argc] = count;
	argvlen[argc++] = strlen(count);
	redisAppendCommandArgv(n->c, argc, argv, argvlen);
}

static void append_key_cmd(struct node *n, const char *cmd, const char *key, size_t len)
{
	const char *argv[2] = { cmd, key };
	size_t argvlen[2] = { strlen(cmd), len };
	redisAppendCommandArgv(n->c, 2, argv, argvlen);
}

#define SB_LITERAL(sb, lit) sb_add((sb), (lit), sizeof(lit) - 1)

/* One RESP bulk string: "$<len>\r\n<bytes>\r\n" (binary safe). */
static void resp_bulk(struct strbuf *sb, const char *data, size_t len)
{
	char head[32], *p = head + sizeof(head);   /* digits backwards: no printf per key */
	*--p = '\n';
	*--p = '\r';
	size_t v = len;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	*--p = '$';
	sb_add(sb, p, (size_t)(head + sizeof(head) - p));
	sb_add(sb, data, len);
	SB_LITERAL(sb, "\r\n");
}

/* OBJECT FREQ and OBJECT IDLETIME, only when asked (keyreport.c decides): the default
 * audit's cost per key stays the same. */
static void append_access(struct strbuf *out, struct access_cmds access, const char *k, size_t len)
{
	if (access.freq) {
		SB_LITERAL(out, "*3\r\n$6\r\nOBJECT\r\n$4\r\nFREQ\r\n");
		resp_bulk(out, k, len);
	}
	if (access.idle) {
		SB_LITERAL(out, "*3\r\n$6\r\nOBJECT\r\n$8\r\nIDLETIME\r\n");
		resp_bulk(out, k, len);
	}
}

/*
 * TYPE, MEMORY USAGE ... SAMPLES n and PTTL for every key of a batch, encoded as RESP in one
 * buffer and handed to hiredis at once: formatting each command through
 * redisAppendCommandArgv (sdscatfmt per argument) was a third of our CPU time.
 * On a node whose database has no TTL at all, PTTL (a sixth of the server's work per key)
 * is left out and one INFO keyspace after the batch proves it still has none (on_main).
 */
static void append_batch(struct node *n, const struct settings *s, struct strbuf *out,
			 redisReply **keys, size_t nk, bool with_memory, struct access_cmds access)
{
	static const char info_keyspace[] = "*2\r\n$4\r\nINFO\r\n$8\r\nkeyspace\r\n";
	char samples[24];
	int slen = snprintf(samples, sizeof(samples), "%lld", s->samples);
	/* Two arguments fewer per key to parse and free: the server's default is 5 samples
	 * (OBJ_COMPUTE_SIZE_DEF_SAMPLES in Redis and Valkey alike). */
	bool server_default_samples = s->samples == 5;
	sb_reset(out);
	for (size_t i = 0; i < nk; i++) {
		const char *k = keys[i]->str;
		size_t len = keys[i]->len;
		SB_LITERAL(out, "*2\r\n$4\r\nTYPE\r\n");
		resp_bulk(out, k, len);
		if (with_memory) {
			if (server_default_samples) {
				SB_LITERAL(out, "*3\r\n$6\r\nMEMORY\r\n$5\r\nUSAGE\r\n");
				resp_bulk(out, k, len);
			} else {
				SB_LITERAL(out, "*5\r\n$6\r\nMEMORY\r\n$5\r\nUSAGE\r\n");
				resp_bulk(out, k, len);
				SB_LITERAL(out, "$7\r\nSAMPLES\r\n");
				resp_bulk(out, samples, (size_t)slen);
			}
		}
		if (!n->ttl_free) {
			SB_LITERAL(out, "*2\r\n$4\r\nPTTL\r\n");
			resp_bulk(out, k, len);
		}
		append_access(out, access, k, len);
	}
	if (nk && n->ttl_free)
		SB_LITERAL(out, info_keyspace);
	if (out->len)
		redisAppendFormattedCommand(n->c, out->buf, out->len);
}

struct key_result {
	enum ktype type;
	bool vanished;
	bool memory_refused;   /* MEMORY USAGE answered an error (ACL, renamed command) or was not sent */
	bool skipped;          /* TYPE answered an error: the key is counted, not examined */
	enum skip_reason skip;
	char *error;           /* that error, or MEMORY USAGE's refusal (owned) */
	u64 memory;
	long long ttl_ms;
	long long length;
	bool length_sent;      /* a length command went out for this key */
	struct key_access access;
	char type_name[40];    /* TYPE's answer for KT_OTHER: a module's type name */
	bool encoding_sent;    /* --encodings: OBJECT ENCODING went out after the length */
	char encoding[24];
};

static int read_reply(struct node *n, redisReply **out, const char *during)
{
	void *r = NULL;
	if (redisGetReply(n->c, &r) != REDIS_OK || !r) {
		free(n->error);
		n->error = xasprintf("%s: connection lost during %s at cursor %s: %s", n->label, during,
				     n->cursor, n->c->errstr[0] ? n->c->errstr : "no reply");
		return -1;
	}
	*out = r;
	return 0;
}

/*
 * Replies of one key's TYPE, MEMORY USAGE (with_memory) and PTTL (with_pttl). An error reply
 * concerns that key only (NOPERM outside the user's ~patterns, LOADING, BUSY, MOVED/ASK
 * during resharding): the key is skipped and counted by reason, the node goes on. Only a
 * broken connection ends the node's scan.
 */
static int read_key_replies(struct node *n, struct key_result *kr, bool with_memory, bool with_pttl)
{
	static redisReply no_ttl = { .type = REDIS_REPLY_INTEGER, .integer = -1 };
	static redisReply no_memory = { .type = REDIS_REPLY_NIL };
	redisReply *t, *m = &no_memory, *p = &no_ttl;
	if (read_reply(n, &t, "TYPE"))
		return -1;
	if (with_memory && read_reply(n, &m, "MEMORY USAGE")) {
		freeReplyObject(t);
		return -1;
	}
	if (with_pttl && read_reply(n, &p, "PTTL")) {
		freeReplyObject(t);
		if (m != &no_memory)
			freeReplyObject(m);
		return -1;
	}
	memset(kr, 0, sizeof(*kr));
	kr->length = -1;
	if (t->type != REDIS_REPLY_STATUS) {
		kr->skipped = true;
		kr->skip = t->type == REDIS_REPLY_ERROR ? agg_skip_reason_of(t->str) : SK_OTHER;
		kr->error = xstrdup(t->type == REDIS_REPLY_ERROR && t->str ? t->str : "unexpected reply to TYPE");
	} else {
		kr->vanished = !strcmp(t->str, "none") || (p->type == REDIS_REPLY_INTEGER && p->integer == -2);
	}
	/* MOVED/ASK to MEMORY USAGE or PTTL: the key left between TYPE and them (resharding);
	 * it is read where it lives now, like a key whose TYPE was redirected. */
	const redisReply *moved = m->type == REDIS_REPLY_ERROR && agg_skip_reason_of(m->str) == SK_MOVED ? m
				: p->type == REDIS_REPLY_ERROR && agg_skip_reason_of(p->str) == SK_MOVED ? p : NULL;
	if (!kr->skipped && !kr->vanished && moved) {
		kr->skipped = true;
		kr->skip = SK_MOVED;
		kr->error = xstrdup(moved->str);
	}
	if (!kr->skipped && !kr->vanished) {
		kr->type = agg_ktype_parse(t->str, t->len);
		if (kr->type == KT_OTHER)
			snprintf(kr->type_name, sizeof(kr->type_name), "%s", t->str);
		kr->memory = m->type == REDIS_REPLY_INTEGER && m->integer > 0 ? (u64)m->integer : 0;
		kr->memory_refused = !with_memory || m->type == REDIS_REPLY_ERROR;
		if (m->type == REDIS_REPLY_ERROR) {
			/* renamed away or not granted: the same for every key, so stop asking */
			kr->error = xstrdup(m->str ? m->str : "error");
			n->no_memory = true;
		}
		kr->ttl_ms = p->type == REDIS_REPLY_INTEGER && p->integer >= 0 ? p->integer : -1;
	}
	freeReplyObject(t);
	if (m != &no_memory)
		freeReplyObject(m);
	if (p != &no_ttl)
		freeReplyObject(p);
	return 0;
}

static int read_access_reply(struct node *n, const char *what, long long *out, char **error)
{
	redisReply *r;
	if (read_reply(n, &r, what))
		return -1;
	if (r->type == REDIS_REPLY_INTEGER)
		*out = r->integer;
	else if (r->type == REDIS_REPLY_ERROR && agg_skip_reason_of(r->str) != SK_MOVED && !*error)
		*error = xstrdup(r->str ? r->str : "error");   /* MOVED/ASK: the key moved, no refusal */
	freeReplyObject(r);
	return 0;
}

/* OBJECT FREQ / IDLETIME of one key; an error (policy, ACL) is kept for keyreport.c. */
static int read_access_replies(struct node *n, struct key_result *kr, struct access_cmds access)
{
	kr->access.freq = kr->access.idle_s = -1;
	if (access.freq && read_access_reply(n, "OBJECT FREQ", &kr->access.freq, &kr->access.freq_error))
		return -1;
	if (access.idle && read_access_reply(n, "OBJECT IDLETIME", &kr->access.idle_s, &kr->access.idle_error))
		return -1;
	return 0;
}

static bool wants_length(const struct settings *s, const struct key_result *kr)
{
	return !kr->vanished && !kr->skipped && agg_length_cmd(kr->type) &&
	       (s->lengths || kr->memory_refused || kr->type == KT_STREAM);
}

static bool scan_reply_ok(redisReply *r)
{
	return r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	       r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < 24 &&
	       r->element[1]->type == REDIS_REPLY_ARRAY;
}

static void progress_tick(struct scan_shared *sh, size_t nk)
{
	unsigned long long done = atomic_fetch_add(&sh->examined, nk) + nk;
	if (!sh->progress || pthread_mutex_trylock(&sh->progress_lock))
		return;
	progress_update(sh->progress, done);
	pthread_mutex_unlock(&sh->progress_lock);
}

/*
 * The pipeline of one node. Replies come back in the order commands were sent, so the
 * expected reply groups wait in a FIFO: a SCAN reply, a batch's TYPE/MEMORY/PTTL replies,
 * or a batch's element counts. Reading a SCAN reply sends the next SCAN and the batch's
 * commands at once; the next read flushes them, so the server works on one batch while
 * we parse the previous one (two batches in flight). Batches are aggregated in SCAN
 * order, so node->cursor is always the cursor of the first batch not yet counted: the
 * place to resume from.
 */
enum group_kind { G_SCAN, G_MAIN, G_TTL, G_LEN };

struct batch {
	redisReply *scan;          /* owns the key names */
	redisReply **sel;          /* the keys examined */
	size_t nk;
	struct key_result *kr;
	char next_cursor[24];
	bool ttl_free;             /* sent without PTTL, with INFO keyspace after */
	bool with_memory;          /* MEMORY USAGE sent (not once the node refused it) */
	struct access_cmds access; /* OBJECT FREQ / IDLETIME sent */
	int follow_ups;            /* G_TTL / G_LEN groups still to read */
	bool read_done;
};

struct group {
	enum group_kind kind;
	struct batch *b;
};

#define GROUPS_MAX 8   /* at most: 2 batches x (main, ttl, len) + 1 SCAN, with room */
#define BATCHES_MAX 4

struct pipeline {
	struct scan_shared *sh;
	struct node *n;
	int idx;
	struct group q[GROUPS_MAX];
	size_t qhead, qlen;
	struct batch *b[BATCHES_MAX];
	size_t bhead, blen;
	bool stopping;
	struct strbuf resp;        /* the encoded commands of one batch */
	struct redirect_conns redirects;   /* to nodes MOVED/ASK named (redirect.c) */
};

static void push_group(struct pipeline *p, enum group_kind kind, struct batch *b)
{
	if (p->qlen == GROUPS_MAX)
		die(3, "internal error: SCAN pipeline overflow");
	p->q[(p->qhead + p->qlen++) % GROUPS_MAX] = (struct group){ kind, b };
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; b->kr && i < b->nk; i++) {
		free(b->kr[i].error);
		free(b->kr[i].access.freq_error);
		free(b->kr[i].access.idle_error);
	}
	if (b->scan)
		freeReplyObject(b->scan);
	free(b->sel);
	free(b->kr);
	free(b);
}

/* Picks the keys of a SCAN reply to examine (--sample, --max-keys). */
static void select_keys(struct pipeline *p, struct batch *b)
{
	redisReply *arr = b->scan->element[1];
	b->sel = xmalloc(sizeof(*b->sel) * (arr->elements + 1));
	b->kr = xcalloc(arr->elements + 1, sizeof(*b->kr));
	size_t k = 0;
	for (size_t i = 0; i < arr->elements; i++) {
		redisReply *e = arr->element[i];
		if (e->type == REDIS_REPLY_STRING && sampled(p->sh->s, e->str, e->len))
			b->sel[k++] = e;
	}
	p->n->agg.scanned += arr->elements;
	size_t allowed = claim_keys(p->sh, k);
	b->nk = allowed < k ? allowed : k;
	if (atomic_load(&p->sh->limit_hit))
		p->stopping = true;
}

/* hiredis flushes only when no reply is buffered; send now so the server has work while we
 * parse the previous batch. */
static int flush_output(struct node *n)
{
	int done = 0;
	while (!done) {
		if (redisBufferWrite(n->c, &done) != REDIS_OK) {
			free(n->error);
			n->error = xasprintf("%s: connection lost at cursor %s: %s", n->label, n->cursor,
					     n->c->errstr[0] ? n->c->errstr : "write failed");
			return -1;
		}
	}
	return 0;
}

static int on_scan(struct pipeline *p)
{
	struct node *n = p->n;
	redisReply *r;
	if (read_reply(n, &r, "SCAN"))
		return -1;
	if (!scan_reply_ok(r)) {
		free(n->error);
		n->error = xasprintf("%s: SCAN failed: %s", n->label,
				     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return -1;
	}
	if (p->stopping || scan_stop) {   /* not examined: node->cursor resumes here */
		p->stopping = true;
		freeReplyObject(r);
		return 0;
	}
	struct batch *b = xcalloc(1, sizeof(*b));
	b->scan = r;
	snprintf(b->next_cursor, sizeof(b->next_cursor), "%s", r->element[0]->str);
	select_keys(p, b);
	if (strcmp(b->next_cursor, "0") && !p->stopping) {
		throttle(p->sh);
		append_scan(n, p->sh->s, b->next_cursor);
		push_group(p, G_SCAN, NULL);
	}
	b->ttl_free = n->ttl_free && b->nk;
	b->with_memory = !n->no_memory;
	b->access = keyreport_access_cmds(n, p->sh->s);
	append_batch(n, p->sh->s, &p->resp, b->sel, b->nk, b->with_memory, b->access);
	push_group(p, G_MAIN, b);
	p->b[(p->bhead + p->blen++) % BATCHES_MAX] = b;
	return flush_output(n);
}

/*
 * The INFO keyspace that closes a batch sent without PTTL. Zero keys with a TTL in the
 * database, read after the batch's TYPE and MEMORY USAGE, proves none of its keys had one;
 * anything else (a TTL set meanwhile, INFO refused) brings PTTL back for this batch and
 * every later one.
 */
static int read_ttl_guard(struct pipeline *p, struct batch *b)
{
	redisReply *r;
	if (read_reply(p->n, &r, "INFO keyspace"))
		return -1;
	bool need_pttl = r->type != REDIS_REPLY_STRING || conn_info_db_expires(r->str, p->sh->s->db) != 0;
	freeReplyObject(r);
	if (need_pttl) {
		p->n->ttl_free = false;
		for (size_t i = 0; i < b->nk; i++)
			if (!b->kr[i].vanished && !b->kr[i].skipped)
				append_key_cmd(p->n, "PTTL", b->sel[i]->str, b->sel[i]->len);
		push_group(p, G_TTL, b);
		b->follow_ups++;
	}
	return 0;
}

static int on_main(struct pipeline *p, struct batch *b)
{
	for (size_t i = 0; i < b->nk; i++)
		if (read_key_replies(p->n, &b->kr[i], b->with_memory, !b->ttl_free) ||
		    read_access_replies(p->n, &b->kr[i], b->access))
			return -1;
	if (b->ttl_free && read_ttl_guard(p, b))
		return -1;
	size_t n_len = 0;
	for (size_t i = 0; i < b->nk; i++) {
		if (wants_length(p->sh->s, &b->kr[i])) {
			append_key_cmd(p->n, agg_length_cmd(b->kr[i].type), b->sel[i]->str, b->sel[i]->len);
			b->kr[i].length_sent = true;
			n_len++;
		}
		if (p->sh->s->encodings && encodings_judged(b->kr[i].type) && !b->kr[i].vanished &&
		    !b->kr[i].skipped) {
			const char *argv[3] = { "OBJECT", "ENCODING", b->sel[i]->str };
			size_t argvlen[3] = { 6, 8, b->sel[i]->len };
			redisAppendCommandArgv(p->n->c, 3, argv, argvlen);
			b->kr[i].encoding_sent = true;
			n_len++;
		}
	}
	if (n_len) {
		push_group(p, G_LEN, b);
		b->follow_ups++;
	}
	b->read_done = !b->follow_ups;
	return 0;
}

/* PTTL replies after a failed TTL guard; a key gone since TYPE counts as vanished. */
static int on_ttl(struct pipeline *p, struct batch *b)
{
	for (size_t i = 0; i < b->nk; i++) {
		struct key_result *kr = &b->kr[i];
		if (kr->vanished || kr->skipped)
			continue;
		redisReply *r;
		if (read_reply(p->n, &r, "PTTL"))
			return -1;
		if (r->type == REDIS_REPLY_INTEGER)
			kr->ttl_ms = r->integer >= 0 ? r->integer : -1;
		if (r->type == REDIS_REPLY_INTEGER && r->integer == -2)
			kr->vanished = true;
		freeReplyObject(r);
	}
	b->read_done = !--b->follow_ups;
	return 0;
}

static int on_lengths(struct pipeline *p, struct batch *b)
{
	for (size_t i = 0; i < b->nk; i++) {
		redisReply *r;
		if (b->kr[i].length_sent) {
			if (read_reply(p->n, &r, "length"))
				return -1;
			if (r->type == REDIS_REPLY_INTEGER)
				b->kr[i].length = r->integer;
			freeReplyObject(r);
		}
		if (b->kr[i].encoding_sent) {
			if (read_reply(p->n, &r, "OBJECT ENCODING"))
				return -1;
			/* an error (NOPERM, renamed OBJECT) is counted as unknown by encodings.c; a
			 * MOVED/ASK (the key left mid-batch, resharding) is no refusal of the command */
			snprintf(b->kr[i].encoding, sizeof(b->kr[i].encoding), "%s",
				 r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ? r->str : "");
			if (r->type == REDIS_REPLY_ERROR && agg_skip_reason_of(r->str) != SK_MOVED &&
			    !p->n->agg.encodings.error)
				p->n->agg.encodings.error = xstrdup(r->str ? r->str : "error");
			freeReplyObject(r);
		}
	}
	b->read_done = !--b->follow_ups;
	return 0;
}

/* The scanned node with that label, else the one being scanned (top-key tables). */
static int node_index_of(const struct pipeline *p, const char *label)
{
	for (size_t i = 0; i < p->sh->n; i++)
		if (!strcmp(p->sh->nodes[i].label, label))
			return (int)i;
	return p->idx;
}

/* A key whose TYPE answered MOVED/ASK (resharding, failover) is read where it lives now
 * and counted once, there; when that fails it stays skipped (reason "moved"). */
static void follow_redirect(struct pipeline *p, struct key_result *kr, const redisReply *key, int *node)
{
	struct followed_key f;
	if (redirect_follow(&p->redirects, p->sh->s, p->n, kr->error, key->str, key->len, !p->n->no_memory, &f))
		return;
	/* field by field: what else the batch read of the key keeps its meaning */
	free(kr->error);
	kr->error = NULL;
	kr->skipped = false;
	kr->type = f.type;
	snprintf(kr->type_name, sizeof(kr->type_name), "%s", f.type_name);
	kr->vanished = f.vanished;
	kr->memory_refused = f.memory_refused;
	kr->memory = f.memory;
	kr->ttl_ms = f.ttl_ms;
	kr->length = f.length;
	p->n->agg.redirected++;
	*node = node_index_of(p, f.where);
}

/* Aggregates the finished batches at the head of the FIFO, in SCAN order. */
static void aggregate_done(struct pipeline *p)
{
	struct node *n = p->n;
	while (p->blen && p->b[p->bhead]->read_done) {
		struct batch *b = p->b[p->bhead];
		for (size_t i = 0; i < b->nk; i++) {
			struct key_result *kr = &b->kr[i];
			struct agg *a = &n->agg;
			int where = p->idx;
			if (kr->skipped && kr->skip == SK_MOVED)
				follow_redirect(p, kr, b->sel[i], &where);
			if (kr->skipped) {
				a->skipped[kr->skip]++;
				if (kr->skip == SK_OTHER && !a->skip_error) {
					a->skip_error = kr->error;
					kr->error = NULL;
				}
				continue;
			}
			a->memory_refused += kr->memory_refused;
			if (kr->error && !a->memory_error) {
				a->memory_error = kr->error;
				kr->error = NULL;
			}
			if (kr->vanished)
				n->agg.vanished++;
			else
				agg_add_key(&n->agg, p->sh->s, where, b->sel[i]->str, b->sel[i]->len, kr->type,
					    kr->memory, kr->ttl_ms, kr->length);
			if (!kr->vanished && (b->access.freq || b->access.idle))
				keyreport_add_access(n, p->idx, b->sel[i]->str, b->sel[i]->len, kr->type, kr->memory,
						    &kr->access);
			if (!kr->vanished && kr->type == KT_OTHER)
				modtypes_add(&n->agg.modules, kr->type_name, strlen(kr->type_name), 1, kr->memory);
			if (!kr->vanished && kr->encoding_sent)
				encodings_note(&n->agg.encodings, p->sh->s, b->sel[i]->str, b->sel[i]->len,
					       kr->type, kr->encoding);
		}
		n->agg.examined += b->nk;
		progress_tick(p->sh, b->nk);
		snprintf(n->cursor, sizeof(n->cursor), "%s", b->next_cursor);
		if (!strcmp(b->next_cursor, "0"))
			n->complete = true;
		batch_free(b);
		p->bhead = (p->bhead + 1) % BATCHES_MAX;
		p->blen--;
	}
}

static void scan_node(struct scan_shared *sh, struct node *n, int idx)
{
	struct pipeline p = { .sh = sh, .n = n, .idx = idx };
	n->started = true;
	append_scan(n, sh->s, n->cursor);
	push_group(&p, G_SCAN, NULL);
	int rc = 0;
	while (p.qlen && !rc) {
		struct group g = p.q[p.qhead];
		p.qhead = (p.qhead + 1) % GROUPS_MAX;
		p.qlen--;
		switch (g.kind) {
		case G_SCAN: rc = on_scan(&p); break;
		case G_MAIN: rc = on_main(&p, g.b); break;
		case G_TTL: rc = on_ttl(&p, g.b); break;
		case G_LEN: rc = on_lengths(&p, g.b); break;
		}
		if (!rc)
			aggregate_done(&p);
	}
	while (p.blen) {   /* after an error: drop what was in flight */
		batch_free(p.b[p.bhead]);
		p.bhead = (p.bhead + 1) % BATCHES_MAX;
		p.blen--;
	}
	sb_release(&p.resp);
	redirect_conns_free(&p.redirects);
}

static void *worker(void *arg)
{
	struct scan_shared *sh = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&sh->next_node, 1);
		if (i >= sh->n)
			return NULL;
		struct node *n = &sh->nodes[i];
		if (n->skipped || !n->connected)
			continue;
		scan_node(sh, n, (int)i);
	}
}

void scan_all(struct node *nodes, size_t n, const struct settings *s, unsigned long long total_keys)
{
	struct scan_shared sh = { .s = s, .nodes = nodes, .n = n, .started_ms = now_ms() };
	atomic_init(&sh.next_node, 0);
	atomic_init(&sh.claimed, 0);
	atomic_init(&sh.examined, 0);
	atomic_init(&sh.limit_hit, false);
	pthread_mutex_init(&sh.progress_lock, NULL);
	/* progress counts examined keys: with --sample, about that fraction of DBSIZE */
	sh.progress = progress_new("scanning", (unsigned long long)((double)total_keys * s->sample), "keys");
	size_t jobs = s->jobs > 0 ? (size_t)s->jobs : 1;
	if (jobs > n)
		jobs = n;
	if (jobs <= 1) {
		worker(&sh);
	} else {
		pthread_t *tids = xcalloc(jobs, sizeof(*tids));
		size_t started = 0;
		for (; started < jobs; started++)
			if (pthread_create(&tids[started], NULL, worker, &sh))
				break;
		if (!started)
			worker(&sh);
		for (size_t i = 0; i < started; i++)
			pthread_join(tids[i], NULL);
		free(tids);
	}
	progress_done(sh.progress);
	pthread_mutex_destroy(&sh.progress_lock);
	atomic_store(&limit_reached_flag, atomic_load(&sh.limit_hit));
}
