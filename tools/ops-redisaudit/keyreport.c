/*
 * What ops-redisaudit shows and judges of the key statistics (keystats.c) and of the
 * access commands: the TTL memory line and size table, hot keys by OBJECT FREQ, idle
 * buckets by OBJECT IDLETIME, and the checks mass-expiry, key-sizes, hot-keys and
 * idle-keys. It also decides which access commands a batch sends (scan.c asks).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

static const char *const ttl_labels[TF_COUNT] = {
	"none", "<1m", "1m-5m", "5m-15m", "15m-1h", "1h-6h", "6h-1d", "1d-7d", ">7d",
};
static const char *const idle_names[IDLE_COUNT] = { "lt_1h", "1h_1d", "1d_7d", "gt_7d" };
static const char *const idle_labels[IDLE_COUNT] = { "<1h", "1h-1d", "1d-7d", ">7d" };

static bool lfu_policy(const struct node *n)
{
	return strstr(n->maxmemory_policy, "-lfu") != NULL;
}

struct access_cmds keyreport_access_cmds(const struct node *n, const struct settings *s)
{
	return (struct access_cmds){ .freq = !n->no_freq && (s->hot || lfu_policy(n)),
				     .idle = s->idle && !n->no_idle };
}

/* A refusal is the same for every key of the node (policy, ACL): note it, stop asking. */
static void note_refusal(u64 *count, char **first, const char *error, bool *stop)
{
	(*count)++;
	if (!*first)
		*first = xstrdup(error);
	*stop = true;
}

void keyreport_add_access(struct node *n, int idx, const char *key, size_t len, enum ktype type, u64 memory,
			 const struct key_access *ka)
{
	struct keystats *ks = &n->agg.keystats;
	if (ka->freq_error) {
		note_refusal(&ks->freq_refused, &ks->freq_error, ka->freq_error, &n->no_freq);
	} else if (ka->freq >= 0) {
		struct key_entry e = { (char *)key, len, memory, -1, -1, type, idx, ka->freq, SZ_SAMPLED };
		agg_topn_push(&n->agg.hot, &e);
		ks->freq_keys++;
	}
	if (ka->idle_error) {
		note_refusal(&ks->idle_refused, &ks->idle_error, ka->idle_error, &n->no_idle);
	} else if (ka->idle_s >= 0) {
		keystats_add_idle(ks, ka->idle_s, memory);
	}
}

/* Why no node sent OBJECT FREQ, or NULL when one did (caller frees). */
static char *hot_unavailable(const struct settings *s, const struct node *nodes, size_t nn, const struct keystats *ks)
{
	if (ks->freq_keys)
		return NULL;
	if (ks->freq_error)
		return xasprintf("the server refused OBJECT FREQ: %s", ks->freq_error);
	for (size_t i = 0; i < nn; i++)
		if (nodes[i].connected && !s->hot && !lfu_policy(&nodes[i]))
			return xasprintf("maxmemory-policy is %s, not an LFU policy, so the server does not count "
					 "accesses (--hot asks OBJECT FREQ anyway)",
					 nodes[i].maxmemory_policy[0] ? nodes[i].maxmemory_policy : "unknown");
	return xstrdup("no key answered OBJECT FREQ");
}

static void put_hot_keys(struct report *r, const struct settings *s, const struct node *nodes, size_t nn,
			 const struct agg *a)
{
	char *why = hot_unavailable(s, nodes, nn, &a->keystats);
	bool text = report_format_of(r) == FMT_TEXT;
	rp_string(r, "hot_keys_unavailable", NULL, why);
	if (text && why)
		rp_text(r, "hot keys: not available: %s\n\n", why);
	if (why) {
		rp_null(r, "hot_keys", NULL);
		free(why);
		return;
	}
	struct key_entry *v = agg_topn_sorted(&a->hot);
	struct rp_table *t = rp_table_new(r, "hot_keys", "hot keys (OBJECT FREQ: logarithmic access counter)");
	rp_table_col(t, "key", "KEY", COL_STR);
	rp_table_col(t, "type", "TYPE", COL_STR);
	rp_table_col(t, "freq", "FREQ", COL_INT);
	rp_table_col(t, "memory_bytes", "MEMORY", COL_BYTES);
	rp_table_col(t, "node", "NODE", COL_STR);
	for (size_t i = 0; i < a->hot.n; i++) {
		rp_table_bytes_str(t, v[i].key, v[i].len);
		rp_table_str(t, agg_ktype_names[v[i].type]);
		rp_table_int(t, v[i].freq);
		rp_table_int(t, (long long)v[i].memory);
		rp_table_str(t, nodes[v[i].node].label);
	}
	rp_table_end(t);
	free(v);
}

static void put_idle(struct report *r, const struct keystats *ks, double scale)
{
	if (report_format_of(r) == FMT_TEXT && ks->idle_refused) {
		rp_text(r, "idle     not available: see the idle-keys check\n\n");
		return;
	}
	if (report_format_of(r) == FMT_TEXT) {
		rp_text(r, "idle    ");
		for (int b = 0; b < IDLE_COUNT; b++)
			rp_text(r, " %s %.0f (%s)", idle_labels[b], (double)ks->idle_keys[b] * scale,
				human_bytes((double)ks->idle_memory[b] * scale));
		rp_text(r, "\n\n");
		return;
	}
	rp_open_object(r, "idle_buckets");
	for (int b = 0; b < IDLE_COUNT; b++) {
		rp_open_object(r, idle_names[b]);
		rp_int(r, "keys", NULL, llround((double)ks->idle_keys[b] * scale));
		rp_int(r, "memory_bytes", NULL, llround((double)ks->idle_memory[b] * scale));
		rp_close_object(r);
	}
	rp_close_object(r);
}

void keyreport_output_access(struct report *r, const struct settings *s, const struct node *nodes, size_t nn,
			    const struct agg *a, double scale)
{
	put_hot_keys(r, s, nodes, nn, a);
	if (s->idle)
		put_idle(r, &a->keystats, scale);
}

static void report_hottest(struct report *r, const struct agg *a)
{
	const struct keystats *ks = &a->keystats;
	struct key_entry *v = agg_topn_sorted(&a->hot);
	char *k = prefix_key_display(v[0].key, v[0].len);
	struct check *c = report_check(r, "hot-keys", ks->freq_refused ? ST_UNKNOWN : ST_OK, NULL,
				       "%llu keys with an access frequency; the hottest is \"%s\" (OBJECT FREQ %lld)%s",
				       ks->freq_keys, k, v[0].freq,
				       ks->freq_refused ? "; some nodes refused OBJECT FREQ" : "");
	check_metric(c, "hottest_freq", (double)v[0].freq, "", THRESHOLDS_NONE);
	free(k);
	free(v);
}

/* Asked for (--hot, an LFU policy, --idle) but refused: never OK. */
static void report_access(struct report *r, const struct settings *s, const struct agg *a, double scale)
{
	const struct keystats *ks = &a->keystats;
	if (ks->freq_refused && !ks->freq_keys)
		check_hint(report_check(r, "hot-keys", ST_UNKNOWN, NULL, "no hot-key table: the server refused "
					"OBJECT FREQ for %llu keys: %s", ks->freq_refused, ks->freq_error),
			   "OBJECT FREQ needs maxmemory-policy allkeys-lfu or volatile-lfu, and the audit user "
			   "+object|freq");
	else if (ks->freq_keys && a->hot.n)
		report_hottest(r, a);
	if (!s->idle)
		return;
	if (ks->idle_refused) {
		check_hint(report_check(r, "idle-keys", ST_UNKNOWN, NULL, "idle buckets incomplete: the server "
					"refused OBJECT IDLETIME for %llu keys: %s", ks->idle_refused, ks->idle_error),
			   "under an LFU maxmemory-policy the server tracks access frequency, not idle time; "
			   "use the hot-key table there");
		return;
	}
	double day = (double)(ks->idle_memory[IDLE_1D_7D] + ks->idle_memory[IDLE_GT_7D]) * scale;
	double week = (double)ks->idle_memory[IDLE_GT_7D] * scale;
	struct check *c = report_check(r, "idle-keys", ST_OK, NULL, "%s not touched for a day or more (%s for a week)",
				       human_bytes(day), human_bytes(week));
	check_metric(c, "idle_1d_memory_bytes", day, "B", THRESHOLDS_NONE);
	check_metric(c, "idle_7d_memory_bytes", week, "B", THRESHOLDS_NONE);
}

static const double percentiles[] = { 0.5, 0.9, 0.99 };
static const char *const percentile_keys[] = { "p50_bytes", "p90_bytes", "p99_bytes" };

static void put_ttl_text(struct report *r, const struct keystats *ks, double scale)
{
	rp_text(r, "TTL mem ");
	for (int b = 0; b < TF_COUNT; b++)
		rp_text(r, " %s %.0f (%s)", ttl_labels[b], (double)ks->ttl_keys[b] * scale,
			human_bytes((double)ks->ttl_memory[b] * scale));
	rp_text(r, "\n\n");
}

static void put_sizes_text(struct report *r, const struct keystats *ks, double scale)
{
	struct rp_table *t = rp_table_new(r, "key_sizes", "key sizes by type (MEMORY USAGE)");
	rp_table_col(t, "type", "TYPE", COL_STR);
	rp_table_col(t, "keys", "KEYS", COL_INT);
	for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++)
		rp_table_col(t, percentile_keys[i], i == 0 ? "P50" : i == 1 ? "P90" : "P99", COL_BYTES);
	rp_table_col(t, "max_bytes", "MAX", COL_BYTES);
	for (int k = 0; k < KT_COUNT; k++) {
		const struct size_hist *h = &ks->sizes[k];
		if (!h->n)
			continue;
		rp_table_str(t, agg_ktype_names[k]);
		rp_table_int(t, llround((double)h->n * scale));
		for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++)
			rp_table_int(t, (long long)keystats_size_percentile(h, percentiles[i]));
		rp_table_int(t, (long long)h->max);
	}
	rp_table_end(t);
}

static void put_json(struct report *r, const struct keystats *ks, double scale)
{
	rp_open_object(r, "ttl_buckets");
	for (int b = 0; b < TF_COUNT; b++) {
		rp_open_object(r, keystats_ttl_names[b]);
		rp_int(r, "keys", NULL, llround((double)ks->ttl_keys[b] * scale));
		rp_int(r, "memory_bytes", NULL, llround((double)ks->ttl_memory[b] * scale));
		rp_close_object(r);
	}
	rp_close_object(r);
	rp_open_object(r, "key_sizes");
	for (int k = 0; k < KT_COUNT; k++) {
		const struct size_hist *h = &ks->sizes[k];
		rp_open_object(r, agg_ktype_names[k]);
		rp_int(r, "keys", NULL, llround((double)h->n * scale));
		for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++)
			rp_int(r, percentile_keys[i], NULL, (long long)keystats_size_percentile(h, percentiles[i]));
		rp_int(r, "max_bytes", NULL, (long long)h->max);
		rp_close_object(r);
	}
	rp_close_object(r);
}

void keyreport_output(struct report *r, const struct keystats *ks, double scale)
{
	if (report_format_of(r) == FMT_TEXT) {
		put_ttl_text(r, ks, scale);
		put_sizes_text(r, ks, scale);
	} else {
		put_json(r, ks, scale);
	}
}

/* One OK check per type with keys, so Prometheus and Nagios get the percentiles too. */
static void report_key_sizes(struct report *r, const struct keystats *ks)
{
	for (int k = 0; k < KT_COUNT; k++) {
		const struct size_hist *h = &ks->sizes[k];
		if (!h->n)
			continue;
		double p[3];
		for (size_t i = 0; i < 3; i++)
			p[i] = keystats_size_percentile(h, percentiles[i]);
		struct check *c = report_check(r, "key-sizes", ST_OK, agg_ktype_names[k],
					       "%s keys: p50 %s, p90 %s, p99 %s, max %s", agg_ktype_names[k],
					       human_bytes(p[0]), human_bytes(p[1]), human_bytes(p[2]),
					       human_bytes((double)h->max));
		for (size_t i = 0; i < 3; i++)
			check_metric(c, percentile_keys[i], p[i], "B", THRESHOLDS_NONE);
		check_metric(c, "max_bytes", (double)h->max, "B", THRESHOLDS_NONE);
	}
}

static void report_mass_expiry(struct report *r, const struct settings *s, const struct agg *a, double scale)
{
	if (s->mass_expiry_pct <= 0)
		return;
	const struct keystats *ks = &a->keystats;
	double total = (double)a->total.memory;
	double pct = total > 0 ? 100.0 * (double)ks->expiring_memory / total : 0;
	enum status st = pct > s->mass_expiry_pct ? ST_WARNING : ST_OK;
	struct check *c = report_check(r, "mass-expiry", st, NULL,
				       "%.1f%% of key memory (%s) expires within %s%s", pct,
				       human_bytes((double)ks->expiring_memory * scale),
				       human_duration(s->mass_expiry_window_ms / 1000),
				       st == ST_OK ? "" : ": a wave of misses and reloads is coming");
	if (st != ST_OK)
		check_hint(c, "keys written together with one TTL expire together: add jitter to the TTL "
			      "(EX base + random) so they expire spread out");
	check_metric(c, "expiring_memory_share", pct, "%", (struct thresholds){ s->mass_expiry_pct, NAN, 0, 100 });
	check_metric(c, "expiring_memory_bytes", (double)ks->expiring_memory * scale, "B", THRESHOLDS_NONE);
	/* the whole TTL profile, so a dashboard sees the wave build up before it trips */
	for (int b = 0; b < TF_COUNT; b++) {
		char name[48];
		snprintf(name, sizeof(name), "ttl_%s_memory_bytes", keystats_ttl_names[b]);
		check_metric(c, name, (double)ks->ttl_memory[b] * scale, "B", THRESHOLDS_NONE);
	}
}

void keyreport_report(struct report *r, const struct settings *s, const struct agg *a, double scale)
{
	report_mass_expiry(r, s, a, scale);
	report_access(r, s, a, scale);
	report_key_sizes(r, &a->keystats);
}
