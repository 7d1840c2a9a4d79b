/* Bounded aggregation: totals, prefixes (capped hash table), top-N heaps, merging. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

const char *const agg_ktype_names[KT_COUNT] = { "string", "list", "set", "zset", "hash", "stream", "other" };
const char *const agg_ttl_bucket_names[TTL_COUNT] = { "none", "lt_1h", "1h_1d", "1d_7d", "gt_7d" };
const char *const agg_skip_reason_names[SK_COUNT] = { "noperm", "loading", "busy", "moved", "error" };

enum skip_reason agg_skip_reason_of(const char *err)
{
	static const struct { const char *prefix; enum skip_reason r; } map[] = {
		{ "NOPERM", SK_NOPERM }, { "LOADING", SK_LOADING }, { "BUSY", SK_BUSY },
		{ "MOVED", SK_MOVED }, { "ASK", SK_MOVED }, { "TRYAGAIN", SK_MOVED },
	};
	for (size_t i = 0; err && i < sizeof(map) / sizeof(map[0]); i++) {
		size_t n = strlen(map[i].prefix);
		if (!strncmp(err, map[i].prefix, n) && (err[n] == ' ' || err[n] == '\0'))
			return map[i].r;
	}
	return SK_OTHER;
}

/* Example keys kept for messages are cut to this many bytes. */
#define EXAMPLE_MAX 256

enum ktype agg_ktype_parse(const char *s, size_t len)
{
	for (int t = 0; t < KT_OTHER; t++)
		if (strlen(agg_ktype_names[t]) == len && !memcmp(agg_ktype_names[t], s, len))
			return (enum ktype)t;
	return KT_OTHER;
}

const char *agg_length_cmd(enum ktype t)
{
	static const char *const cmd[KT_COUNT] = { "STRLEN", "LLEN", "SCARD", "ZCARD", "HLEN", "XLEN", NULL };
	return cmd[t];
}

enum ttl_bucket agg_ttl_bucket_of(long long ttl_ms)
{
	const long long hour = 3600 * 1000LL;
	if (ttl_ms < 0)
		return TTL_NONE;
	if (ttl_ms < hour)
		return TTL_LT_1H;
	if (ttl_ms < 24 * hour)
		return TTL_1H_1D;
	if (ttl_ms < 7 * 24 * hour)
		return TTL_1D_7D;
	return TTL_GT_7D;
}

static void stats_add_key(struct stats *st, enum ktype type, u64 memory, long long ttl_ms)
{
	st->keys++;
	st->memory += memory;
	st->types[type]++;
	st->type_memory[type] += memory;
	st->ttl[agg_ttl_bucket_of(ttl_ms)]++;
	if (ttl_ms < 0)
		st->no_ttl++;
}

static void stats_merge(struct stats *into, const struct stats *from)
{
	into->keys += from->keys;
	into->memory += from->memory;
	into->no_ttl += from->no_ttl;
	for (int t = 0; t < KT_COUNT; t++) {
		into->types[t] += from->types[t];
		into->type_memory[t] += from->type_memory[t];
	}
	for (int b = 0; b < TTL_COUNT; b++)
		into->ttl[b] += from->ttl[b];
}

/* ---- top-N: a min-heap on the ranking value, so the smallest is evicted first ---- */

static u64 rank_of(const struct topn *t, const struct key_entry *e)
{
	if (t->by_freq)
		return (u64)(e->freq < 0 ? 0 : e->freq);
	return t->by_length ? (u64)(e->length < 0 ? 0 : e->length) : e->memory;
}

static void heap_swap(struct key_entry *a, struct key_entry *b)
{
	struct key_entry t = *a;
	*a = *b;
	*b = t;
}

static void heap_down(struct topn *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->n && rank_of(t, &t->v[l]) < rank_of(t, &t->v[m]))
			m = l;
		if (r < t->n && rank_of(t, &t->v[r]) < rank_of(t, &t->v[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(&t->v[i], &t->v[m]);
		i = m;
	}
}

static void heap_up(struct topn *t, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (rank_of(t, &t->v[p]) <= rank_of(t, &t->v[i]))
			return;
		heap_swap(&t->v[p], &t->v[i]);
		i = p;
	}
}

static void topn_init(struct topn *t, size_t max, bool by_length)
{
	t->v = max ? xcalloc(max, sizeof(*t->v)) : NULL;
	t->n = 0;
	t->max = max;
	t->by_length = by_length;
}

static void topn_free(struct topn *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].key);
	free(t->v);
}

/* The entry of the same key on the same node, or NULL. */
static struct key_entry *topn_find(struct topn *t, const struct key_entry *e)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].node == e->node && t->v[i].len == e->len && !memcmp(t->v[i].key, e->key, e->len))
			return &t->v[i];
	return NULL;
}

/*
 * SCAN may return a key twice (the server rehashed during the scan): a key already in the
 * heap is not added again, only updated if it grew (moving down a min-heap). The search is
 * linear but runs only for keys that rank into the heap.
 */
void agg_topn_push(struct topn *t, const struct key_entry *e)
{
	if (!t->max)
		return;
	if (t->n == t->max && rank_of(t, e) <= rank_of(t, &t->v[0]))
		return;
	struct key_entry *dup = topn_find(t, e);
	if (dup) {
		if (rank_of(t, e) > rank_of(t, dup)) {
			char *key = dup->key;
			*dup = *e;
			dup->key = key;
			heap_down(t, (size_t)(dup - t->v));
		}
		return;
	}
	if (t->n == t->max) {
		if (rank_of(t, e) <= rank_of(t, &t->v[0]))
			return;
		free(t->v[0].key);
		t->v[0] = *e;
		t->v[0].key = xmalloc(e->len + 1);
		memcpy(t->v[0].key, e->key, e->len);
		t->v[0].key[e->len] = '\0';
		heap_down(t, 0);
		return;
	}
	t->v[t->n] = *e;
	t->v[t->n].key = xmalloc(e->len + 1);
	memcpy(t->v[t->n].key, e->key, e->len);
	t->v[t->n].key[e->len] = '\0';
	heap_up(t, t->n++);
}

static const struct topn *sort_ctx;
static int cmp_rank_desc(const void *a, const void *b)
{
	u64 x = rank_of(sort_ctx, a), y = rank_of(sort_ctx, b);
	return x < y ? 1 : x > y ? -1 : 0;
}

struct key_entry *agg_topn_sorted(const struct topn *t)
{
	struct key_entry *v = xmalloc(sizeof(*v) * (t->n + 1));
	if (t->n)
		memcpy(v, t->v, sizeof(*v) * t->n);
	sort_ctx = t;   /* output runs single-threaded, after the scan */
	qsort(v, t->n, sizeof(*v), cmp_rank_desc);
	return v;
}

/* ---- prefixes: open addressing, grown to twice the live count, capped at max ---- */

static void prefix_table_init(struct prefix_table *pt, size_t max)
{
	memset(pt, 0, sizeof(*pt));
	pt->nslots = 64;
	pt->slots = xcalloc(pt->nslots, sizeof(*pt->slots));
	pt->max = max;
}

static void prefix_table_free(struct prefix_table *pt)
{
	for (size_t i = 0; i < pt->nslots; i++) {
		free(pt->slots[i].name);
		free(pt->slots[i].example_no_ttl);
	}
	free(pt->slots);
}

static struct prefix_entry *slot_for(struct prefix_entry *slots, size_t nslots, uint64_t h,
				     const char *name, size_t len)
{
	for (size_t i = h & (nslots - 1);; i = (i + 1) & (nslots - 1)) {
		struct prefix_entry *e = &slots[i];
		if (!e->name || (e->hash == h && e->len == len && !memcmp(e->name, name, len)))
			return e;
	}
}

static void prefix_table_grow(struct prefix_table *pt)
{
	size_t nslots = pt->nslots * 2;
	struct prefix_entry *slots = xcalloc(nslots, sizeof(*slots));
	for (size_t i = 0; i < pt->nslots; i++)
		if (pt->slots[i].name)
			*slot_for(slots, nslots, pt->slots[i].hash, pt->slots[i].name, pt->slots[i].len) = pt->slots[i];
	free(pt->slots);
	pt->slots = slots;
	pt->nslots = nslots;
}

/* The entry for name, created when there is room; NULL past the cap. */
static struct prefix_entry *prefix_lookup(struct prefix_table *pt, const char *name, size_t len)
{
	uint64_t h = fnv1a(name, len);
	struct prefix_entry *e = slot_for(pt->slots, pt->nslots, h, name, len);
	if (e->name)
		return e;
	if (pt->n >= pt->max)
		return NULL;
	if (2 * (pt->n + 1) > pt->nslots) {
		prefix_table_grow(pt);
		e = slot_for(pt->slots, pt->nslots, h, name, len);
	}
	e->name = xstrndup(name, len);
	e->len = len;
	e->hash = h;
	pt->n++;
	return e;
}

static void set_example(char **dst, size_t *dst_len, const char *key, size_t len)
{
	if (*dst)
		return;
	if (len > EXAMPLE_MAX)
		len = EXAMPLE_MAX;
	*dst = xmalloc(len + 1);
	memcpy(*dst, key, len);
	(*dst)[len] = '\0';
	*dst_len = len;
}

static void prefix_merge_entry(struct prefix_table *pt, const struct prefix_entry *from)
{
	struct prefix_entry *e = prefix_lookup(pt, from->name, from->len);
	if (!e) {
		stats_merge(&pt->other, &from->st);
		pt->dropped_keys += from->st.keys;
		return;
	}
	stats_merge(&e->st, &from->st);
	if (from->example_no_ttl)
		set_example(&e->example_no_ttl, &e->example_len, from->example_no_ttl, from->example_len);
}

static int cmp_prefix_memory(const void *a, const void *b)
{
	const struct prefix_entry *x = *(struct prefix_entry *const *)a, *y = *(struct prefix_entry *const *)b;
	if (x->st.memory != y->st.memory)
		return x->st.memory < y->st.memory ? 1 : -1;
	if (x->st.keys != y->st.keys)
		return x->st.keys < y->st.keys ? 1 : -1;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

struct prefix_entry **agg_prefix_sorted(const struct prefix_table *pt)
{
	struct prefix_entry **v = xmalloc(sizeof(*v) * (pt->n + 1));
	size_t k = 0;
	for (size_t i = 0; i < pt->nslots; i++)
		if (pt->slots[i].name)
			v[k++] = &pt->slots[i];
	qsort(v, k, sizeof(*v), cmp_prefix_memory);
	return v;
}

/* ---- the aggregate ---- */

void agg_init(struct agg *a, const struct settings *s)
{
	memset(a, 0, sizeof(*a));
	prefix_table_init(&a->prefixes, s->prefix_max);
	topn_init(&a->top_all, s->top, false);
	for (int t = 0; t < KT_COUNT; t++)
		topn_init(&a->top_type[t], s->top, false);
	topn_init(&a->top_len, s->top, true);   /* also the fallback when MEMORY USAGE is refused */
	topn_init(&a->streams, s->top, true);
	topn_init(&a->hot, s->top, false);
	a->hot.by_freq = true;
	a->stream_hits = xcalloc(STREAM_HITS_MAX, sizeof(*a->stream_hits));
	a->patterns = xcalloc(s->n_expire_patterns + 1, sizeof(*a->patterns));
	a->n_patterns = s->n_expire_patterns;
	a->stream_node_max_entries = 100;   /* the server's default, until the node says */
}

/* A stream the scan saw, for streams_audit(): at most s->stream_groups_max per node. */
static void agg_stream_note(struct stream_names *l, const struct settings *s, const char *key, size_t len)
{
	for (size_t i = 0; i < l->n; i++)   /* a key SCAN returned twice */
		if (l->lens[i] == len && !memcmp(l->keys[i], key, len))
			return;
	if ((long long)l->n >= s->stream_groups_max) {
		l->dropped++;
		return;
	}
	if (!(l->n & (l->n + 1)) || !l->keys) {   /* grow at 0, 1, 3, 7, ... */
		size_t cap = 2 * l->n + 2;
		l->keys = xrealloc(l->keys, cap * sizeof(*l->keys));
		l->lens = xrealloc(l->lens, cap * sizeof(*l->lens));
	}
	l->keys[l->n] = xmalloc(len + 1);
	memcpy(l->keys[l->n], key, len);
	l->keys[l->n][len] = '\0';
	l->lens[l->n++] = len;
}

static void agg_stream_names_free(struct stream_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->keys[i]);
	free(l->keys);
	free(l->lens);
	memset(l, 0, sizeof(*l));
}

void agg_free(struct agg *a)
{
	prefix_table_free(&a->prefixes);
	topn_free(&a->top_all);
	for (int t = 0; t < KT_COUNT; t++)
		topn_free(&a->top_type[t]);
	topn_free(&a->top_len);
	topn_free(&a->streams);
	topn_free(&a->hot);
	keystats_free(&a->keystats);
	for (size_t i = 0; i < a->n_stream_hits; i++)
		free(a->stream_hits[i].e.key);
	free(a->stream_hits);
	for (size_t i = 0; i < a->n_patterns; i++)
		free(a->patterns[i].example);
	sb_release(&a->scratch);
	free(a->patterns);
	free(a->memory_error);
	free(a->skip_error);
	agg_stream_names_free(&a->stream_keys);
	encodings_free(&a->encodings);
	memset(a, 0, sizeof(*a));
}

static void add_stream_hit(struct agg *a, const struct key_entry *e, size_t rule)
{
	for (size_t i = 0; i < a->n_stream_hits; i++)   /* a key SCAN returned twice */
		if (a->stream_hits[i].e.node == e->node && a->stream_hits[i].e.len == e->len &&
		    !memcmp(a->stream_hits[i].e.key, e->key, e->len))
			return;
	if (a->n_stream_hits >= STREAM_HITS_MAX) {
		a->stream_hits_dropped++;
		return;
	}
	struct stream_hit *h = &a->stream_hits[a->n_stream_hits++];
	h->e = *e;
	h->e.key = xmalloc(e->len + 1);
	memcpy(h->e.key, e->key, e->len);
	h->e.key[e->len] = '\0';
	h->rule = rule;
}

/* MAXLEN ~ trims whole macro nodes: a stream may stay up to one node's entries over. */
static double stream_limit(const struct agg *a, const struct stream_rule *r)
{
	double slack = isnan(r->tolerance) ? (double)a->stream_node_max_entries
		     : r->tolerance_percent ? (double)r->maxlen * r->tolerance / 100 : r->tolerance;
	return (double)r->maxlen + slack;
}

static void check_stream(struct agg *a, const struct settings *s, const struct key_entry *e)
{
	agg_topn_push(&a->streams, e);
	for (size_t i = 0; i < s->n_streams; i++) {
		const struct stream_rule *r = &s->streams[i];
		if (!prefix_glob_match(r->match, strlen(r->match), e->key, e->len))
			continue;
		if (e->length >= 0 && (double)e->length > stream_limit(a, r))
			add_stream_hit(a, e, i);
		return;   /* the first matching rule decides */
	}
}

void agg_add_key(struct agg *a, const struct settings *s, int node, const char *key, size_t len,
		 enum ktype type, u64 memory, long long ttl_ms, long long length)
{
	struct strbuf *prefix = &a->scratch;
	stats_add_key(&a->total, type, memory, ttl_ms);
	keystats_add(&a->keystats, s, type, memory, ttl_ms);
	prefix_of(key, len, s->delimiters, s->depth, prefix);
	struct prefix_entry *p = prefix_lookup(&a->prefixes, sb_str(prefix), prefix->len);
	if (p) {
		stats_add_key(&p->st, type, memory, ttl_ms);
		if (ttl_ms < 0)
			set_example(&p->example_no_ttl, &p->example_len, key, len);
	} else {
		stats_add_key(&a->prefixes.other, type, memory, ttl_ms);
		a->prefixes.dropped_keys++;
	}
	if (ttl_ms < 0) {
		for (size_t i = 0; i < s->n_expire_patterns; i++) {
			const char *pat = s->expire_patterns[i];
			if (prefix_glob_match(pat, strlen(pat), key, len)) {
				a->patterns[i].keys++;
				set_example(&a->patterns[i].example, &a->patterns[i].example_len, key, len);
			}
		}
	}
	if (memory >= s->big_warn)
		a->big_warn++;
	if (memory >= s->big_crit)
		a->big_crit++;
	struct key_entry e = { (char *)key, len, memory, length, ttl_ms, type, node, -1, SZ_SAMPLED };
	agg_topn_push(&a->top_all, &e);
	agg_topn_push(&a->top_type[type], &e);
	if (length >= 0 && (s->lengths || a->memory_refused))
		agg_topn_push(&a->top_len, &e);
	if (type == KT_STREAM) {
		check_stream(a, s, &e);
		agg_stream_note(&a->stream_keys, s, key, len);
	}
}

static void merge_topn(struct topn *into, const struct topn *from)
{
	for (size_t i = 0; i < from->n; i++)
		agg_topn_push(into, &from->v[i]);
}

void agg_merge(struct agg *into, const struct agg *from, const struct settings *s)
{
	stats_merge(&into->total, &from->total);
	keystats_merge(&into->keystats, &from->keystats);
	into->scanned += from->scanned;
	into->examined += from->examined;
	into->vanished += from->vanished;
	into->redirected += from->redirected;
	into->memory_refused += from->memory_refused;
	if (!into->memory_error && from->memory_error)
		into->memory_error = xstrdup(from->memory_error);
	for (int k = 0; k < SK_COUNT; k++)
		into->skipped[k] += from->skipped[k];
	if (!into->skip_error && from->skip_error)
		into->skip_error = xstrdup(from->skip_error);
	into->big_warn += from->big_warn;
	into->big_crit += from->big_crit;
	for (size_t i = 0; i < from->prefixes.nslots; i++)
		if (from->prefixes.slots[i].name)
			prefix_merge_entry(&into->prefixes, &from->prefixes.slots[i]);
	stats_merge(&into->prefixes.other, &from->prefixes.other);
	into->prefixes.dropped_keys += from->prefixes.dropped_keys;
	merge_topn(&into->top_all, &from->top_all);
	for (int t = 0; t < KT_COUNT; t++)
		merge_topn(&into->top_type[t], &from->top_type[t]);
	merge_topn(&into->top_len, &from->top_len);
	merge_topn(&into->streams, &from->streams);
	merge_topn(&into->hot, &from->hot);
	for (size_t i = 0; i < from->n_stream_hits; i++)
		add_stream_hit(into, &from->stream_hits[i].e, from->stream_hits[i].rule);
	into->stream_hits_dropped += from->stream_hits_dropped;
	modtypes_merge(&into->modules, &from->modules);
	encodings_merge(&into->encodings, &from->encodings);
	for (size_t i = 0; i < s->n_expire_patterns; i++) {
		into->patterns[i].keys += from->patterns[i].keys;
		if (from->patterns[i].example)
			set_example(&into->patterns[i].example, &into->patterns[i].example_len,
				    from->patterns[i].example, from->patterns[i].example_len);
	}
}
