/*
 * The server's memory context, from INFO memory and INFO stats (no key read, so it runs
 * with --no-scan and in exporter mode): "the keys add up to X but Redis uses Y" in one
 * table, with what makes the difference (overhead: client buffers, replication backlog,
 * AOF buffer; fragmentation), the headroom to maxmemory and what the policy does there.
 * MEMORY STATS is not needed: INFO memory carries the same totals and is granted more often.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

/* An INFO field as a number; -1 when absent. */
static long long info_ll(const char *info, const char *name)
{
	const char *v = conn_info_value(info, name);
	return v ? atoll(v) : -1;
}

static char *info_section(struct node *n, const char *section, char **err)
{
	redisReply *r = redisCommand(n->c, "INFO %s", section);
	char *text = NULL;
	if (r && r->type == REDIS_REPLY_STRING)
		text = xstrdup(r->str);
	else if (!*err)
		*err = xasprintf("INFO %s: %s", section,
				 !r ? "connection lost" : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	if (r)
		freeReplyObject(r);
	return text;
}

void memctx_collect(struct node *n, struct memctx *m)
{
	memset(m, 0, sizeof(*m));
	if (!n->connected || !n->c)
		return;
	char *mem = info_section(n, "memory", &m->error), *stats = info_section(n, "stats", &m->error);
	if (mem && conn_info_value(mem, "used_memory")) {
		m->read = true;
		m->used = info_ll(mem, "used_memory");
		m->rss = info_ll(mem, "used_memory_rss");
		m->peak = info_ll(mem, "used_memory_peak");
		m->dataset = info_ll(mem, "used_memory_dataset");
		m->overhead = info_ll(mem, "used_memory_overhead");
		m->startup = info_ll(mem, "used_memory_startup");
		m->maxmemory = info_ll(mem, "maxmemory");
		m->clients_normal = info_ll(mem, "mem_clients_normal");
		m->clients_replicas = info_ll(mem, "mem_clients_slaves");
		m->repl_backlog = info_ll(mem, "mem_replication_backlog");
		m->aof_buffer = info_ll(mem, "mem_aof_buffer");
		const char *v = conn_info_value(mem, "mem_fragmentation_ratio");
		m->frag_ratio = v ? atof(v) : NAN;
		v = conn_info_value(mem, "maxmemory_policy");
		snprintf(m->policy, sizeof(m->policy), "%.*s", v ? (int)strcspn(v, "\r\n") : 0, v ? v : "");
	}   /* an INFO without a memory section (a proxy in front of Redis) gives no check */
	m->evicted_keys = stats ? info_ll(stats, "evicted_keys") : -1;
	m->expired_keys = stats ? info_ll(stats, "expired_keys") : -1;
	free(mem);
	free(stats);
}

void memctx_free(struct memctx *m)
{
	free(m->error);
	memset(m, 0, sizeof(*m));
}

/* ---- report ---- */

static void put_table(struct report *r, struct node *nodes, size_t nn, const struct memctx *m,
		      const double *keys)
{
	struct rp_table *t = rp_table_new(r, "memory_context", "memory (INFO memory, stats)");
	static const struct { const char *key, *head; enum col_type type; } cols[] = {
		{ "node", "NODE", COL_STR }, { "used_memory", "USED", COL_BYTES }, { "rss", "RSS", COL_BYTES },
		{ "dataset", "DATASET", COL_BYTES }, { "keys_memory", "KEYS", COL_BYTES },
		{ "overhead", "OVERHEAD", COL_BYTES }, { "clients_normal", "CLIENTS", COL_BYTES },
		{ "clients_replicas", "REPLICAS", COL_BYTES }, { "replication_backlog", "BACKLOG", COL_BYTES },
		{ "fragmentation_ratio", "FRAG", COL_DOUBLE }, { "maxmemory", "MAXMEMORY", COL_BYTES },
		{ "used_percent", "USED%", COL_PERCENT }, { "maxmemory_policy", "POLICY", COL_STR },
		{ "evicted_keys", "EVICTED", COL_INT }, { "expired_keys", "EXPIRED", COL_INT },
		{ "peak", NULL, COL_BYTES }, { "startup", NULL, COL_BYTES }, { "aof_buffer", NULL, COL_BYTES },
	};
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		rp_table_col(t, cols[i].key, cols[i].head, cols[i].type);
	for (size_t i = 0; i < nn; i++) {
		const struct memctx *x = &m[i];
		if (!x->read)
			continue;
		rp_table_str(t, nodes[i].label);
		rp_table_int(t, x->used);
		rp_table_int(t, x->rss);
		rp_table_int(t, x->dataset);
		if (keys)
			rp_table_int(t, (long long)llround(keys[i]));
		else
			rp_table_str(t, NULL);
		rp_table_int(t, x->overhead);
		rp_table_int(t, x->clients_normal);
		rp_table_int(t, x->clients_replicas);
		rp_table_int(t, x->repl_backlog);
		rp_table_double(t, x->frag_ratio);
		rp_table_int(t, x->maxmemory);
		rp_table_double(t, x->maxmemory > 0 ? 100.0 * (double)x->used / (double)x->maxmemory : 0);
		rp_table_str(t, x->policy);
		rp_table_int(t, x->evicted_keys);
		rp_table_int(t, x->expired_keys);
		rp_table_int(t, x->peak);
		rp_table_int(t, x->startup);
		rp_table_int(t, x->aof_buffer);
	}
	rp_table_end(t);
}

static void context_check(struct report *r, const char *node, const struct memctx *m, double keys)
{
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "used_memory %s", human_bytes((double)m->used));
	if (!isnan(keys))
		sb_addf(&sb, ": keys %s (MEMORY USAGE sum)", human_bytes(keys));
	sb_addf(&sb, ", dataset %s", human_bytes((double)m->dataset));
	sb_addf(&sb, ", overhead %s (clients %s, replicas %s, ", human_bytes((double)m->overhead),
		human_bytes((double)m->clients_normal), human_bytes((double)m->clients_replicas));
	sb_addf(&sb, "replication backlog %s); RSS %s", human_bytes((double)m->repl_backlog),
		human_bytes((double)m->rss));
	sb_addf(&sb, ", fragmentation %.2f; evicted %lld, expired %lld keys", m->frag_ratio, m->evicted_keys,
		m->expired_keys);
	struct check *c = report_check(r, "memory-context", ST_OK, node, "%s", sb_str(&sb));
	sb_release(&sb);
	static const struct { const char *name; size_t off; } metrics[] = {
		{ "used_memory_bytes", offsetof(struct memctx, used) },
		{ "rss_bytes", offsetof(struct memctx, rss) },
		{ "dataset_bytes", offsetof(struct memctx, dataset) },
		{ "overhead_bytes", offsetof(struct memctx, overhead) },
		{ "clients_normal_bytes", offsetof(struct memctx, clients_normal) },
		{ "clients_replicas_bytes", offsetof(struct memctx, clients_replicas) },
		{ "replication_backlog_bytes", offsetof(struct memctx, repl_backlog) },
		{ "maxmemory_bytes", offsetof(struct memctx, maxmemory) },
	};
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		check_metric(c, metrics[i].name, (double)*(const long long *)((const char *)m + metrics[i].off),
			     "B", THRESHOLDS_NONE);
	if (!isnan(keys))
		check_metric(c, "keys_memory_bytes", keys, "B", THRESHOLDS_NONE);
	check_metric(c, "fragmentation_ratio", m->frag_ratio, "", THRESHOLDS_NONE);
	check_metric(c, "evicted_keys", (double)m->evicted_keys, "c", THRESHOLDS_NONE);
	check_metric(c, "expired_keys", (double)m->expired_keys, "c", THRESHOLDS_NONE);
}

static void fragmentation_check(struct report *r, const struct settings *s, const char *node, const struct memctx *m)
{
	double waste = (double)(m->rss - m->used);
	if (isnan(m->frag_ratio) || m->frag_ratio <= s->frag_warn || waste < (double)s->frag_min_bytes)
		return;
	struct check *c = report_check(r, "fragmentation", ST_WARNING, node,
				       "fragmentation ratio %.2f: RSS %s for used_memory %s (%s not usable by keys)",
				       m->frag_ratio, human_bytes((double)m->rss), human_bytes((double)m->used),
				       human_bytes(waste));
	check_hint(c, "enable activedefrag yes (jemalloc), or restart the replica then fail over to it");
	check_metric(c, "fragmentation_ratio", m->frag_ratio, "", (struct thresholds){ s->frag_warn, NAN, 0, NAN });
}

/* Near maxmemory: an outage under noeviction (writes fail), eviction by design under allkeys-*. */
static void headroom_check(struct report *r, const struct settings *s, const char *node, const struct memctx *m)
{
	if (m->maxmemory <= 0)
		return;   /* unset: the maxmemory check says so */
	double pct = 100.0 * (double)m->used / (double)m->maxmemory;
	bool evicts_all = str_starts_with(m->policy, "allkeys-");
	enum status st = evicts_all ? ST_OK : pct >= s->mem_used_crit_pct ? ST_CRITICAL
		       : pct >= s->mem_used_warn_pct ? ST_WARNING : ST_OK;
	struct check *c = report_check(r, "memory-headroom", st, node,
				       "used_memory %s is %.1f%% of maxmemory %s (policy %s%s)",
				       human_bytes((double)m->used), pct, human_bytes((double)m->maxmemory), m->policy,
				       evicts_all ? ": evicts keys at the limit" :
				       !strcmp(m->policy, "noeviction") ? ": writes fail at the limit" :
				       ": evicts only keys with a TTL, then writes fail");
	if (st != ST_OK)
		check_hint(c, "raise maxmemory, free keys (see the prefixes and big keys), or pick an eviction "
			      "policy if this data may be lost");
	check_metric(c, "used_percent", pct, "%",
		     evicts_all ? THRESHOLDS_NONE : (struct thresholds){ s->mem_used_warn_pct, s->mem_used_crit_pct, 0, 100 });
}

void memctx_report(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
		   const struct memctx *m, const struct agg *keys_total, double scale)
{
	(void)keys_total;
	double *keys = NULL;
	if (keys_total) {   /* per node: each node's own scan, extrapolated like the totals */
		keys = xcalloc(nn + 1, sizeof(*keys));
		for (size_t i = 0; i < nn; i++)
			keys[i] = (double)nodes[i].agg.total.memory * scale;
	}
	put_table(r, nodes, nn, m, keys);
	for (size_t i = 0; i < nn; i++) {
		if (!nodes[i].connected)
			continue;
		if (!m[i].read && !m[i].error)
			continue;
		if (!m[i].read) {
			check_hint(report_check(r, "memory-context", ST_UNKNOWN, nodes[i].label,
						"cannot read the memory context: %s", m[i].error ? m[i].error : "no reply"),
				   "grant the audit user +info");
			continue;
		}
		context_check(r, nodes[i].label, &m[i], keys && !nodes[i].no_memory ? keys[i] : NAN);
		fragmentation_check(r, s, nodes[i].label, &m[i]);
		headroom_check(r, s, nodes[i].label, &m[i]);
	}
	free(keys);
}
