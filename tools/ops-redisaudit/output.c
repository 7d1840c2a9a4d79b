/* Tool data: totals, prefixes, top keys, streams, KEYS callers, nodes (JSON keys in
 * ops-redisaudit(1), OUTPUT). Text gets aligned tables; JSON gets nested objects where a
 * flat table would lose structure (per-type and TTL counts). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

struct out_ctx {
	struct report *r;
	const struct settings *s;
	struct node *nodes;
	size_t nn;
	const struct agg *a;
	double scale;          /* extrapolation factor, 1 when every key was examined */
	bool text;
};

static long long sc(const struct out_ctx *o, u64 v)
{
	return (long long)llround((double)v * o->scale);
}

static void put_type_counts(const struct out_ctx *o, const char *key, const u64 *counts)
{
	rp_open_object(o->r, key);
	for (int t = 0; t < KT_COUNT; t++)
		rp_int(o->r, agg_ktype_names[t], NULL, sc(o, counts[t]));
	rp_close_object(o->r);
}

static void put_ttl_counts(const struct out_ctx *o, const u64 *ttl)
{
	rp_open_object(o->r, "ttl");
	for (int b = 0; b < TTL_COUNT; b++)
		rp_int(o->r, agg_ttl_bucket_names[b], NULL, sc(o, ttl[b]));
	rp_close_object(o->r);
}

static void text_totals(const struct out_ctx *o)
{
	const struct stats *t = &o->a->total;
	struct report *r = o->r;
	double pct = t->keys ? 100.0 * (double)t->no_ttl / (double)t->keys : 0;
	rp_text(r, "keys     %lld%s   memory %s   no TTL %lld (%.1f%%)   vanished %llu\n", sc(o, t->keys),
		o->scale != 1 ? " (extrapolated)" : "", human_bytes((double)sc(o, t->memory)),
		sc(o, t->no_ttl), pct, o->a->vanished);
	rp_text(r, "types   ");
	for (int k = 0; k < KT_COUNT; k++)
		if (t->types[k])
			rp_text(r, " %s %lld (%s)", agg_ktype_names[k], sc(o, t->types[k]),
				human_bytes((double)sc(o, t->type_memory[k])));
	if (!t->keys)
		rp_text(r, " -");
	static const char *const ttl_labels[TTL_COUNT] = { "none", "<1h", "1h-1d", "1d-7d", ">7d" };
	rp_text(r, "\nTTL     ");
	for (int b = 0; b < TTL_COUNT; b++)
		rp_text(r, " %s %lld", ttl_labels[b], sc(o, t->ttl[b]));
	rp_text(r, "\n\n");
}

static void put_totals(const struct out_ctx *o)
{
	const struct stats *t = &o->a->total;
	if (o->text)
		text_totals(o);
	rp_open_object(o->r, "totals");
	rp_int(o->r, "keys", NULL, sc(o, t->keys));
	rp_int(o->r, "memory_bytes", NULL, sc(o, t->memory));
	put_type_counts(o, "types", t->types);
	put_type_counts(o, "type_memory_bytes", t->type_memory);
	rp_int(o->r, "no_ttl", NULL, sc(o, t->no_ttl));
	put_ttl_counts(o, t->ttl);
	rp_int(o->r, "vanished", NULL, (long long)o->a->vanished);
	rp_int(o->r, "scanned", NULL, (long long)o->a->scanned);
	rp_int(o->r, "examined", NULL, (long long)o->a->examined);
	rp_open_object(o->r, "skipped");
	for (int k = 0; k < SK_COUNT; k++)
		rp_int(o->r, agg_skip_reason_names[k], NULL, (long long)o->a->skipped[k]);
	rp_close_object(o->r);
	rp_int(o->r, "memory_unknown", NULL, (long long)o->a->memory_refused);
	modtypes_put(o->r, &o->a->modules, o->scale);
	rp_close_object(o->r);
}

static const char *prefix_label(const struct prefix_entry *p)
{
	return p->len ? NULL : "(no prefix)";
}

static void put_prefixes_text(const struct out_ctx *o, struct prefix_entry **v, size_t n)
{
	size_t shown = n < o->s->top ? n : o->s->top;
	char *title = xasprintf("top prefixes by memory (%zu of %zu)", shown, n);
	struct rp_table *t = rp_table_new(o->r, "prefixes", title);
	free(title);
	rp_table_col(t, "prefix", "PREFIX", COL_STR);
	rp_table_col(t, "keys", "KEYS", COL_INT);
	rp_table_col(t, "memory_bytes", "MEMORY", COL_BYTES);
	rp_table_col(t, "share", "SHARE", COL_PERCENT);
	rp_table_col(t, "no_ttl", "NO TTL", COL_INT);
	rp_table_col(t, "types", "TYPES", COL_STR);
	double total = (double)o->a->total.memory;
	struct strbuf types = STRBUF_INIT;
	for (size_t i = 0; i < shown; i++) {
		const struct prefix_entry *p = v[i];
		if (prefix_label(p))
			rp_table_str(t, prefix_label(p));
		else
			rp_table_bytes_str(t, p->name, p->len);
		rp_table_int(t, sc(o, p->st.keys));
		rp_table_int(t, sc(o, p->st.memory));
		rp_table_double(t, total > 0 ? 100.0 * (double)p->st.memory / total : 0);
		rp_table_int(t, sc(o, p->st.no_ttl));
		sb_reset(&types);
		for (int k = 0; k < KT_COUNT; k++)
			if (p->st.types[k])
				sb_addf(&types, "%s%s", types.len ? "," : "", agg_ktype_names[k]);
		rp_table_str(t, sb_str(&types));
	}
	rp_table_end(t);
	sb_release(&types);
}

static void put_prefix_json(const struct out_ctx *o, const char *label, const char *name, size_t len,
			    const struct stats *st)
{
	double total = (double)o->a->total.memory;
	rp_open_object(o->r, NULL);
	if (label)
		rp_string(o->r, "prefix", NULL, label);
	else
		rp_bytes(o->r, "prefix", NULL, name, len);
	rp_int(o->r, "keys", NULL, sc(o, st->keys));
	rp_int(o->r, "memory_bytes", NULL, sc(o, st->memory));
	rp_double(o->r, "share", NULL, total > 0 ? 100.0 * (double)st->memory / total : 0);
	rp_int(o->r, "no_ttl", NULL, sc(o, st->no_ttl));
	put_type_counts(o, "types", st->types);
	put_ttl_counts(o, st->ttl);
	rp_close_object(o->r);
}

static void put_prefixes(const struct out_ctx *o)
{
	const struct prefix_table *pt = &o->a->prefixes;
	struct prefix_entry **v = agg_prefix_sorted(pt);
	if (o->text) {
		put_prefixes_text(o, v, pt->n);
		if (pt->dropped_keys)
			rp_text(o->r, "  %llu keys fell under prefixes past the cap of %zu distinct prefixes\n\n",
				pt->dropped_keys, pt->max);
	} else {
		rp_open_array(o->r, "prefixes");
		for (size_t i = 0; i < pt->n; i++)
			put_prefix_json(o, prefix_label(v[i]), v[i]->name, v[i]->len, &v[i]->st);
		if (pt->dropped_keys)
			put_prefix_json(o, "(other)", NULL, 0, &pt->other);
		rp_close_array(o->r);
	}
	rp_int(o->r, "prefixes_distinct", NULL, (long long)pt->n);
	rp_int(o->r, "prefixes_cap", NULL, (long long)pt->max);
	rp_int(o->r, "prefixes_dropped_keys", NULL, (long long)pt->dropped_keys);
	free(v);
}

static void key_table_cols(struct rp_table *t, bool lengths, bool stream, bool method)
{
	rp_table_col(t, "key", "KEY", COL_STR);
	rp_table_col(t, "type", stream ? NULL : "TYPE", COL_STR);
	if (stream || lengths)
		rp_table_col(t, "length", stream ? "ENTRIES" : "LENGTH", COL_INT);
	rp_table_col(t, "memory_bytes", "MEMORY", COL_BYTES);
	if (method)
		rp_table_col(t, "memory_method", "SIZE", COL_STR);
	rp_table_col(t, "ttl_seconds", "TTL", COL_DURATION);
	rp_table_col(t, "node", "NODE", COL_STR);
}

static void key_table_row(const struct out_ctx *o, struct rp_table *t, const struct key_entry *e,
			  bool with_length, bool method)
{
	rp_table_bytes_str(t, e->key, e->len);
	rp_table_str(t, agg_ktype_names[e->type]);
	if (with_length) {
		if (e->length >= 0)
			rp_table_int(t, e->length);
		else
			rp_table_str(t, NULL);
	}
	rp_table_int(t, (long long)e->memory);
	if (method)
		rp_table_str(t, exact_method_names[e->size_method]);
	if (e->ttl_ms >= 0)
		rp_table_double(t, (double)e->ttl_ms / 1000.0);
	else
		rp_table_str(t, NULL);
	rp_table_str(t, o->nodes[e->node].label);
}

static void put_key_table(const struct out_ctx *o, const char *key, const char *title, const struct topn *tn)
{
	struct key_entry *v = agg_topn_sorted(tn);
	struct rp_table *t = rp_table_new(o->r, key, title);
	bool method = o->s->exact && !tn->by_length;   /* the tables by memory went through exact.c */
	key_table_cols(t, o->s->lengths || o->a->memory_refused, false, method);
	for (size_t i = 0; i < tn->n; i++)
		key_table_row(o, t, &v[i], o->s->lengths || o->a->memory_refused, method);
	rp_table_end(t);
	free(v);
}

static void put_top_keys(const struct out_ctx *o)
{
	put_key_table(o, "top_keys", "largest keys", &o->a->top_all);
	if (o->s->lengths || o->a->memory_refused)
		put_key_table(o, "top_keys_by_length", "keys with the most elements", &o->a->top_len);
	if (o->text)
		return;
	rp_open_object(o->r, "top_keys_by_type");
	for (int k = 0; k < KT_COUNT; k++)
		put_key_table(o, agg_ktype_names[k], NULL, &o->a->top_type[k]);
	rp_close_object(o->r);
}

static const struct stream_rule *stream_rule_for(const struct settings *s, const struct key_entry *e)
{
	for (size_t i = 0; i < s->n_streams; i++)
		if (prefix_glob_match(s->streams[i].match, strlen(s->streams[i].match), e->key, e->len))
			return &s->streams[i];
	return NULL;
}

static void stream_row(const struct out_ctx *o, struct rp_table *t, const struct key_entry *e, bool over)
{
	key_table_row(o, t, e, true, false);
	const struct stream_rule *rule = stream_rule_for(o->s, e);
	if (rule)
		rp_table_int(t, rule->maxlen);
	else
		rp_table_str(t, NULL);
	rp_table_str(t, over ? "yes" : "no");
}

static void stream_json(const struct out_ctx *o, const struct key_entry *e, bool over)
{
	struct report *r = o->r;
	const struct stream_rule *rule = stream_rule_for(o->s, e);
	rp_open_object(r, NULL);
	rp_bytes(r, "key", NULL, e->key, e->len);
	rp_int(r, "length", NULL, e->length);
	rp_int(r, "memory_bytes", NULL, (long long)e->memory);
	if (e->ttl_ms >= 0)
		rp_double(r, "ttl_seconds", NULL, (double)e->ttl_ms / 1000.0);
	else
		rp_null(r, "ttl_seconds", NULL);
	rp_string(r, "node", NULL, o->nodes[e->node].label);
	if (rule)
		rp_int(r, "maxlen", NULL, rule->maxlen);
	else
		rp_null(r, "maxlen", NULL);
	rp_string(r, "rule", NULL, rule ? rule->name : NULL);
	rp_bool(r, "over_maxlen", NULL, over);
	rp_close_object(r);
}

static bool is_stream_hit(const struct agg *a, const struct key_entry *e)
{
	for (size_t j = 0; j < a->n_stream_hits; j++)
		if (a->stream_hits[j].e.node == e->node && a->stream_hits[j].e.len == e->len &&
		    !memcmp(a->stream_hits[j].e.key, e->key, e->len))
			return true;
	return false;
}

/* Streams over their MAXLEN first, then the longest others. */
static void put_streams(const struct out_ctx *o)
{
	const struct agg *a = o->a;
	struct key_entry *v = agg_topn_sorted(&a->streams);
	struct rp_table *t = NULL;
	if (o->text) {
		t = rp_table_new(o->r, "streams", "streams (over MAXLEN first, then longest)");
		key_table_cols(t, true, true, false);
		rp_table_col(t, "maxlen", "MAXLEN", COL_INT);
		rp_table_col(t, "over_maxlen", "OVER", COL_STR);
	} else {
		rp_open_array(o->r, "streams");
	}
	for (size_t i = 0; i < a->n_stream_hits + a->streams.n; i++) {
		bool hit = i < a->n_stream_hits;
		const struct key_entry *e = hit ? &a->stream_hits[i].e : &v[i - a->n_stream_hits];
		if (!hit && is_stream_hit(a, e))
			continue;
		if (t)
			stream_row(o, t, e, hit);
		else
			stream_json(o, e, hit);
	}
	if (t)
		rp_table_end(t);
	else
		rp_close_array(o->r);
	free(v);
}

static void put_callers(const struct out_ctx *o, const struct caller_list *cl)
{
	struct rp_table *t = rp_table_new(o->r, "keys_callers", "clients that called KEYS");
	rp_table_col(t, "addr", "ADDRESS", COL_STR);
	rp_table_col(t, "name", "NAME", COL_STR);
	rp_table_col(t, "node", "NODE", COL_STR);
	rp_table_col(t, "source", "SEEN IN", COL_STR);
	rp_table_col(t, "slowlog_calls", "CALLS", COL_INT);
	rp_table_col(t, "detail", NULL, COL_STR);
	for (size_t i = 0; i < cl->n; i++) {
		const struct keys_caller *c = &cl->v[i];
		rp_table_str(t, c->addr);
		rp_table_str(t, *c->name ? c->name : NULL);
		rp_table_str(t, c->node);
		rp_table_str(t, c->source);
		rp_table_int(t, c->calls);
		rp_table_str(t, c->detail);
	}
	rp_table_end(t);
	rp_int(o->r, "keys_calls", NULL, cl->commandstat_calls);
}

static void put_node_json(const struct out_ctx *o, const struct node *n)
{
	struct report *r = o->r;
	rp_open_object(r, NULL);
	rp_string(r, "node", NULL, n->label);
	rp_string(r, "role", NULL, n->role);
	rp_string(r, "primary", NULL, n->primary_label);
	rp_string(r, "facts_from", NULL, n->facts_from);
	rp_string(r, "version", NULL, n->version[0] ? n->version : NULL);
	rp_int(r, "dbsize", NULL, n->dbsize);
	rp_int(r, "keys", NULL, sc(o, n->agg.total.keys));
	rp_int(r, "memory_bytes", NULL, sc(o, n->agg.total.memory));
	rp_int(r, "no_ttl", NULL, sc(o, n->agg.total.no_ttl));
	put_type_counts(o, "types", n->agg.total.types);
	rp_int(r, "vanished", NULL, (long long)n->agg.vanished);
	rp_bool(r, "complete", NULL, n->complete);
	rp_string(r, "cursor", NULL, n->complete ? NULL : n->cursor);
	rp_string(r, "error", NULL, n->error);
	rp_close_object(r);
}

static void put_nodes(const struct out_ctx *o)
{
	if (!o->text) {
		rp_open_array(o->r, "nodes");
		for (size_t i = 0; i < o->nn; i++)
			put_node_json(o, &o->nodes[i]);
		rp_close_array(o->r);
		return;
	}
	if (o->nn < 2)
		return;
	struct rp_table *t = rp_table_new(o->r, "nodes", "nodes");
	rp_table_col(t, "node", "NODE", COL_STR);
	rp_table_col(t, "role", "ROLE", COL_STR);
	rp_table_col(t, "keys", "KEYS", COL_INT);
	rp_table_col(t, "memory_bytes", "MEMORY", COL_BYTES);
	rp_table_col(t, "no_ttl", "NO TTL", COL_INT);
	rp_table_col(t, "complete", "COMPLETE", COL_STR);
	for (size_t i = 0; i < o->nn; i++) {
		const struct node *n = &o->nodes[i];
		rp_table_str(t, n->label);
		rp_table_str(t, n->role);
		rp_table_int(t, sc(o, n->agg.total.keys));
		rp_table_int(t, sc(o, n->agg.total.memory));
		rp_table_int(t, sc(o, n->agg.total.no_ttl));
		rp_table_str(t, n->complete ? "yes" : n->error ? "error" : "no");
	}
	rp_table_end(t);
}

void output_report(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
		   const struct agg *total, const struct caller_list *callers, double scale)
{
	struct out_ctx o = { r, s, nodes, nn, total, scale, report_format_of(r) == FMT_TEXT };
	put_totals(&o);
	keyreport_output(r, &total->keystats, scale);
	put_prefixes(&o);
	put_top_keys(&o);
	keyreport_output_access(r, s, nodes, nn, total, scale);
	put_streams(&o);
	put_callers(&o, callers);
	put_nodes(&o);
}
