/*
 * Per-key statistics in fixed memory: keys and memory per TTL bucket (finer under one
 * hour, to see a mass expiry coming), memory about to expire, a log-scale histogram of
 * key sizes per type for percentiles, and idle-time buckets. Nothing grows with the key
 * count. What is shown and judged of them is in keyreport.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

const char *const keystats_ttl_names[TF_COUNT] = {
	"none", "lt_1m", "1m_5m", "5m_15m", "15m_1h", "1h_6h", "6h_1d", "1d_7d", "gt_7d",
};

static enum ttl_fine ttl_fine_of(long long ttl_ms)
{
	static const long long upper_s[TF_COUNT - 2] = { 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400 };
	if (ttl_ms < 0)
		return TF_NONE;
	for (int i = 0; i < TF_COUNT - 2; i++)
		if (ttl_ms < upper_s[i] * 1000)
			return (enum ttl_fine)(TF_NONE + 1 + i);
	return TF_GT_7D;
}

/* ---- size histogram: SIZE_SUB buckets per power of two, so a percentile is within
 * 1/SIZE_SUB (12.5%) of the true size, and exact at min and max ---- */

#define SIZE_SUB_BITS 3
#define SIZE_SUB (1 << SIZE_SUB_BITS)

static size_t size_bucket_of(u64 v)
{
	int e = 63 - __builtin_clzll(v);   /* v > 0 */
	u64 sub = e >= SIZE_SUB_BITS ? (v >> (e - SIZE_SUB_BITS)) : (v << (SIZE_SUB_BITS - e));
	return 1 + (size_t)e * SIZE_SUB + (size_t)(sub & (SIZE_SUB - 1));
}

/* The largest size bucket b holds. */
static double size_bucket_high(size_t b)
{
	size_t e = (b - 1) / SIZE_SUB, sub = (b - 1) % SIZE_SUB;
	return floor(ldexp((double)(SIZE_SUB + sub + 1), (int)e - SIZE_SUB_BITS) - 1e-9);
}

static void size_hist_add(struct size_hist *h, u64 v)
{
	if (!v)
		return;   /* MEMORY USAGE refused or not sent: no size to rank */
	h->count[size_bucket_of(v)]++;
	if (!h->n || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
}

static void size_hist_merge(struct size_hist *into, const struct size_hist *from)
{
	if (!from->n)
		return;
	for (size_t b = 0; b < SIZE_BUCKETS; b++)
		into->count[b] += from->count[b];
	if (!into->n || from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
	into->n += from->n;
}

/* The size at or below which a share p of the keys lies: the top of its bucket, kept
 * within the sizes seen. */
double keystats_size_percentile(const struct size_hist *h, double p)
{
	if (!h->n)
		return 0;
	u64 rank = (u64)ceil(p * (double)h->n), seen = 0;
	if (rank < 1)
		rank = 1;
	for (size_t b = 1; b < SIZE_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= rank)
			return fmax((double)h->min, fmin(size_bucket_high(b), (double)h->max));
	}
	return (double)h->max;
}

/* ---- the statistics ---- */

void keystats_add(struct keystats *ks, const struct settings *s, enum ktype type, u64 memory, long long ttl_ms)
{
	enum ttl_fine b = ttl_fine_of(ttl_ms);
	ks->ttl_keys[b]++;
	ks->ttl_memory[b] += memory;
	if (ttl_ms >= 0 && (double)ttl_ms < s->mass_expiry_window_ms)
		ks->expiring_memory += memory;
	size_hist_add(&ks->sizes[type], memory);
}

void keystats_merge(struct keystats *into, const struct keystats *from)
{
	for (int b = 0; b < TF_COUNT; b++) {
		into->ttl_keys[b] += from->ttl_keys[b];
		into->ttl_memory[b] += from->ttl_memory[b];
	}
	into->expiring_memory += from->expiring_memory;
	for (int t = 0; t < KT_COUNT; t++)
		size_hist_merge(&into->sizes[t], &from->sizes[t]);
	into->freq_keys += from->freq_keys;
	into->freq_refused += from->freq_refused;
	into->idle_refused += from->idle_refused;
	if (!into->freq_error && from->freq_error)
		into->freq_error = xstrdup(from->freq_error);
	if (!into->idle_error && from->idle_error)
		into->idle_error = xstrdup(from->idle_error);
	for (int b = 0; b < IDLE_COUNT; b++) {
		into->idle_keys[b] += from->idle_keys[b];
		into->idle_memory[b] += from->idle_memory[b];
	}
}

void keystats_free(struct keystats *ks)
{
	free(ks->freq_error);
	free(ks->idle_error);
	ks->freq_error = ks->idle_error = NULL;
}

static enum idle_bucket idle_bucket_of(long long idle_s)
{
	if (idle_s < 3600)
		return IDLE_LT_1H;
	if (idle_s < 86400)
		return IDLE_1H_1D;
	return idle_s < 7 * 86400 ? IDLE_1D_7D : IDLE_GT_7D;
}

void keystats_add_idle(struct keystats *ks, long long idle_s, u64 memory)
{
	enum idle_bucket b = idle_bucket_of(idle_s);
	ks->idle_keys[b]++;
	ks->idle_memory[b] += memory;
}
