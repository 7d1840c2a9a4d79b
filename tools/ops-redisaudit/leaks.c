/*
 * Key leaks: a prefix holding one key per id (request, user, job) where almost no key
 * expires. A prefix is one folded shape, so its key count is its count of distinct ids:
 * nothing is kept per id. Growth comes from a previous JSON report (--compare), whose
 * "prefixes" list gives the counts of then.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

/* "Almost none have a TTL": below this share of keys with one, a prefix never empties. */
#define LEAK_MAX_TTL_PCT 1.0

struct leak_baseline {
	json_t *root;
	json_t *prefixes;        /* the previous report's array, or NULL */
	char *error;             /* why the file could not be used */
};

/* A report's tables are bounded by --top and prefix.max: far below this. */
#define COMPARE_REPORT_MAX (64u << 20)

static struct leak_baseline *baseline_load(const char *path)
{
	struct leak_baseline *b = xcalloc(1, sizeof(*b));
	/* read by us, bounded: jansson's own file reading blocks on an idle FIFO and reads
	 * an endless pipe to its end */
	struct strbuf text = STRBUF_INIT;
	if (sb_read_file(&text, path, COMPARE_REPORT_MAX) < 0) {
		b->error = xasprintf("cannot read %s: %s", path, read_failure(errno, COMPARE_REPORT_MAX));
		sb_release(&text);
		return b;
	}
	json_error_t err;
	b->root = json_loadb(sb_str(&text), text.len, 0, &err);
	sb_release(&text);
	if (!b->root) {
		b->error = xasprintf("cannot read %s: %s (line %d)", path, err.text, err.line);
		return b;
	}
	b->prefixes = json_object_get(b->root, "prefixes");
	if (!json_is_array(b->prefixes)) {
		b->prefixes = NULL;
		b->error = xasprintf("%s has no \"prefixes\" list: not a JSON report of ops-redisaudit", path);
	}
	return b;
}

static void baseline_free(struct leak_baseline *b)
{
	if (!b)
		return;
	json_decref(b->root);
	free(b->error);
	free(b);
}

/* The key count of a prefix in the previous report, -1 when it was not there. */
static long long baseline_keys(const struct leak_baseline *b, const char *name, size_t len)
{
	size_t i;
	json_t *p;
	json_array_foreach(b->prefixes, i, p) {
		json_t *pn = json_object_get(p, "prefix"), *keys = json_object_get(p, "keys");
		if (json_is_string(pn) && json_is_integer(keys) && json_string_length(pn) == len &&
		    !memcmp(json_string_value(pn), name, len))
			return (long long)json_integer_value(keys);
	}
	return -1;
}

static void report_one_leak(struct report *r, const struct settings *s, const struct prefix_entry *p,
			    double scale, const struct leak_baseline *b)
{
	long long keys = llround((double)p->st.keys * scale);
	double ttl_pct = 100.0 * (double)(p->st.keys - p->st.no_ttl) / (double)p->st.keys;
	char *name = prefix_key_display(p->name, p->len);
	long long then = b && b->prefixes ? baseline_keys(b, p->name, p->len) : -1;
	enum status st = then >= 0 && keys <= then ? ST_OK : ST_WARNING;
	struct strbuf growth = STRBUF_INIT;
	if (!b || !b->prefixes)
		sb_addstr(&growth, "size now; growth unknown (no previous report to --compare)");
	else if (then < 0)
		sb_addstr(&growth, "new since the previous report");
	else if (keys > then)
		sb_addf(&growth, "grew by %lld keys (+%.1f%%) since the previous report (%lld)", keys - then,
			then ? 100.0 * (double)(keys - then) / (double)then : 100.0, then);
	else
		sb_addf(&growth, "not growing: %lld keys in the previous report", then);
	struct check *c = report_check(r, "key-leak", st, name,
				       "%lld keys under %s, %.1f%% with a TTL, %s: one key per id that never "
				       "expires; %s", keys, name, ttl_pct,
				       human_bytes((double)p->st.memory * scale), sb_str(&growth));
	if (st != ST_OK)
		check_hint(c, "give these keys a TTL where they are written (SET ... EX, EXPIRE), or delete "
			      "them when their request, session or job ends");
	check_metric(c, "prefix_keys", (double)keys, "", (struct thresholds){ (double)s->leak_keys, NAN, 0, NAN });
	if (then >= 0)
		check_metric(c, "prefix_keys_growth", (double)(keys - then), "", THRESHOLDS_NONE);
	sb_release(&growth);
	free(name);
}

void leaks_report(struct report *r, const struct settings *s, const struct agg *a, double scale)
{
	struct leak_baseline *b = s->compare ? baseline_load(s->compare) : NULL;
	if (b && b->error)
		check_hint(report_check(r, "key-leak", ST_UNKNOWN, "compare", "--compare: %s", b->error),
			   "give a report written by ops-redisaudit --format json");
	struct prefix_entry **v = agg_prefix_sorted(&a->prefixes);
	size_t found = 0;
	for (size_t i = 0; i < a->prefixes.n; i++) {
		const struct prefix_entry *p = v[i];
		if (!p->len || (double)p->st.keys * scale <= (double)s->leak_keys)
			continue;
		if (100.0 * (double)(p->st.keys - p->st.no_ttl) / (double)p->st.keys >= LEAK_MAX_TTL_PCT)
			continue;
		report_one_leak(r, s, p, scale, b);
		found++;
	}
	free(v);
	if (!found)
		report_check(r, "key-leak", ST_OK, NULL, "no prefix holds more than %lld keys that almost never expire",
			     s->leak_keys);
	baseline_free(b);
}
