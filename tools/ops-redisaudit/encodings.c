/*
 * --encodings: hashes, sets and sorted sets that outgrew their compact encoding, counted
 * per prefix. OBJECT ENCODING is asked for those keys in the round trip of the element
 * counts (scan.c): exact and O(1) on the server, where inferring from element counts would
 * miss the value-size limits (hash-max-listpack-value) and a collection that grew once and
 * shrank again (Redis never converts back). The config values that decide it are read with
 * CONFIG GET after the scan; refused, the table says so and the check is UNKNOWN.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

#define ENC_SLOTS (2 * ENCODING_PREFIXES_MAX)

/* Its own names: agg.c calls this file, so this file does not call agg.c. */
static const char *type_name(enum ktype t)
{
	return t == KT_HASH ? "hash" : t == KT_SET ? "set" : "zset";
}

bool encodings_judged(enum ktype t)
{
	return t == KT_HASH || t == KT_SET || t == KT_ZSET;
}

/* hashtable (hash, set) and skiplist (zset) are the big encodings; listpack, ziplist and
 * intset the compact ones. */
static int outgrown(const char *enc)
{
	if (!*enc)
		return -1;
	return !strcmp(enc, "hashtable") || !strcmp(enc, "skiplist");
}

static struct enc_entry *lookup(struct encodings *e, const char *prefix, size_t len, enum ktype t)
{
	if (!e->slots)
		e->slots = xcalloc(ENC_SLOTS, sizeof(*e->slots));
	size_t start = (size_t)((fnv1a(prefix, len) ^ (uint64_t)t) % ENC_SLOTS);
	for (size_t i = start, n = 0; n < ENC_SLOTS; i = (i + 1) % ENC_SLOTS, n++) {
		struct enc_entry *x = &e->slots[i];
		if (!x->prefix) {
			if (e->n >= ENCODING_PREFIXES_MAX)
				return NULL;
			x->prefix = xmalloc(len + 1);
			memcpy(x->prefix, prefix, len);
			x->prefix[len] = '\0';
			x->len = len;
			x->type = t;
			e->n++;
			return x;
		}
		if (x->type == t && x->len == len && !memcmp(x->prefix, prefix, len))
			return x;
	}
	return NULL;
}

static void add_counts(struct encodings *e, const char *prefix, size_t len, enum ktype t, u64 compact,
		       u64 big, u64 unknown)
{
	struct enc_entry *x = lookup(e, prefix, len, t);
	if (!x) {
		e->dropped += compact + big + unknown;
		return;
	}
	x->compact += compact;
	x->outgrown += big;
	x->unknown += unknown;
}

void encodings_note(struct encodings *e, const struct settings *s, const char *key, size_t len,
		    enum ktype t, const char *enc)
{
	prefix_of(key, len, s->delimiters, s->depth, &e->scratch);
	int big = outgrown(enc);
	add_counts(e, sb_str(&e->scratch), e->scratch.len, t, big == 0, big == 1, big < 0);
}

void encodings_merge(struct encodings *into, const struct encodings *from)
{
	for (size_t i = 0; from->slots && i < ENC_SLOTS; i++) {
		const struct enc_entry *x = &from->slots[i];
		if (x->prefix)
			add_counts(into, x->prefix, x->len, x->type, x->compact, x->outgrown, x->unknown);
	}
	into->dropped += from->dropped;
	if (!into->error && from->error)
		into->error = xstrdup(from->error);
}

void encodings_free(struct encodings *e)
{
	for (size_t i = 0; e->slots && i < ENC_SLOTS; i++)
		free(e->slots[i].prefix);
	free(e->slots);
	free(e->error);
	free(e->config_error);
	sb_release(&e->scratch);
	memset(e, 0, sizeof(*e));
}

/* ---- the deciding config values ---- */

static const char *const config_names[ENC_CONFIG_COUNT] = {
	"hash-max-listpack-entries", "hash-max-listpack-value", "set-max-intset-entries",
	"set-max-listpack-entries", "zset-max-listpack-entries", "zset-max-listpack-value",
};

void encodings_read_config(struct node *n, struct encodings *e)
{
	for (int i = 0; i < ENC_CONFIG_COUNT; i++) {
		e->config[i] = -1;
		redisReply *r = redisCommand(n->c, "CONFIG GET %s", config_names[i]);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING)
			e->config[i] = atoll(r->element[1]->str);   /* set-max-listpack-entries: 7.2 on */
		else if (r && r->type == REDIS_REPLY_ERROR && !e->config_error)
			e->config_error = xstrdup(r->str ? r->str : "error");
		if (r)
			freeReplyObject(r);
	}
}

/* What decides the encoding of a type, as "name=value, ..." (caller frees). */
static char *deciding_config(const struct encodings *cfg, enum ktype t)
{
	int from = t == KT_HASH ? 0 : t == KT_SET ? 2 : 4, to = from + 2;
	struct strbuf sb = STRBUF_INIT;
	for (int i = from; i < to; i++)
		if (cfg->config[i] >= 0)
			sb_addf(&sb, "%s%s %lld", sb.len ? ", " : "", config_names[i], cfg->config[i]);
	if (!sb.len)
		sb_addf(&sb, "unknown (%s)", cfg->config_error ? cfg->config_error : "CONFIG GET answered nothing");
	return sb_detach(&sb);
}

static int cmp_outgrown(const void *a, const void *b)
{
	const struct enc_entry *x = *(const struct enc_entry *const *)a, *y = *(const struct enc_entry *const *)b;
	return (x->outgrown < y->outgrown) - (x->outgrown > y->outgrown);
}

static void put_table(struct report *r, const struct encodings *e, const struct encodings *cfg, u64 *big)
{
	struct enc_entry **v = xmalloc((e->n + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; e->slots && i < ENC_SLOTS; i++)
		if (e->slots[i].prefix)
			v[n++] = &e->slots[i];
	qsort(v, n, sizeof(*v), cmp_outgrown);
	struct rp_table *t = rp_table_new(r, "encodings", "encodings (OBJECT ENCODING), outgrown first");
	rp_table_col(t, "prefix", "PREFIX", COL_STR);
	rp_table_col(t, "type", "TYPE", COL_STR);
	rp_table_col(t, "outgrown", "OUTGROWN", COL_INT);
	rp_table_col(t, "compact", "COMPACT", COL_INT);
	rp_table_col(t, "unknown", NULL, COL_INT);
	rp_table_col(t, "config", "DECIDED BY", COL_STR);
	for (size_t i = 0; i < n; i++) {
		char *why = deciding_config(cfg, v[i]->type);
		if (v[i]->len)
			rp_table_bytes_str(t, v[i]->prefix, v[i]->len);
		else
			rp_table_str(t, "(no prefix)");
		rp_table_str(t, type_name(v[i]->type));
		rp_table_int(t, (long long)v[i]->outgrown);
		rp_table_int(t, (long long)v[i]->compact);
		rp_table_int(t, (long long)v[i]->unknown);
		rp_table_str(t, why);
		free(why);
		big[v[i]->type] += v[i]->outgrown;
	}
	rp_table_end(t);
	free(v);
}

void encodings_report(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
		      const struct encodings *total)
{
	if (!s->encodings)
		return;
	const struct encodings *cfg = NULL;   /* the first node's config: cluster nodes share it */
	for (size_t i = 0; i < nn && !cfg; i++)
		if (nodes[i].connected)
			cfg = &nodes[i].agg.encodings;
	if (!cfg)
		return;
	u64 big[KT_COUNT] = { 0 };
	put_table(r, total, cfg, big);
	struct check *c = report_check(r, "encoding", ST_OK, NULL,
				       "outgrown compact encodings: %llu hashes, %llu sets, %llu sorted sets%s",
				       big[KT_HASH], big[KT_SET], big[KT_ZSET],
				       total->dropped ? " (more prefixes than the table keeps: counted apart)" : "");
	check_metric(c, "outgrown_hashes", (double)big[KT_HASH], "", THRESHOLDS_NONE);
	check_metric(c, "outgrown_sets", (double)big[KT_SET], "", THRESHOLDS_NONE);
	check_metric(c, "outgrown_zsets", (double)big[KT_ZSET], "", THRESHOLDS_NONE);
	if (total->error) {
		check_set_status(c, ST_UNKNOWN);
		check_hint(c, "OBJECT ENCODING was refused (%s): grant the audit user +object|encoding", total->error);
	} else if (cfg->config_error) {
		check_set_status(c, ST_UNKNOWN);
		check_hint(c, "the config values that decide the encodings are unknown: CONFIG GET was refused (%s)",
			   cfg->config_error);
	} else {
		check_hint(c, "a collection converts once it has more elements (or longer values) than the "
			      "DECIDED BY values; raising them saves memory at some CPU cost per access");
	}
}
