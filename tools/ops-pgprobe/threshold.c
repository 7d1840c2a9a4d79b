/*
 * threshold — check_postgres style thresholds: numbers, percentages of a base, and
 * durations. A value at or above a level raises that status. The defaults are the rows
 * postgres.thresholds.<check>.warning|critical of lib/schema_pgprobe.c.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "util.h"

const struct th_def threshold_defs[TH_COUNT] = {
	[TH_CONNECTIONS] = { "connections", "connections", TH_KIND_COUNT },
	[TH_APP_SHARE] = { "application-share", "application_share", TH_KIND_COUNT },
	[TH_IDLE_TX] = { "idle-in-transaction", "idle_in_transaction", TH_KIND_DURATION },
	[TH_IDLE_TX_COUNT] = { "idle-in-transaction-count", "idle_in_transaction_count", TH_KIND_COUNT },
	[TH_LONG_QUERIES] = { "long-queries", "long_queries", TH_KIND_DURATION },
	[TH_LOCK_WAITS] = { "lock-waits", "lock_waits", TH_KIND_COUNT },
	[TH_OLDEST_XACT] = { "oldest-transaction", "oldest_transaction", TH_KIND_DURATION },
	[TH_IDLE_CONNS] = { "idle-connections", "idle_connections", TH_KIND_COUNT },
	[TH_CONNECT] = { "connect", "connect", TH_KIND_DURATION },
	[TH_QUERY] = { "query", "query", TH_KIND_DURATION },
	[TH_REPL_LAG] = { "replication-lag", "replication_lag", TH_KIND_DURATION },
	[TH_PGB_WAITING] = { "pgbouncer-waiting", "pgbouncer_waiting", TH_KIND_COUNT },
	[TH_PGB_MAXWAIT] = { "pgbouncer-maxwait", "pgbouncer_maxwait", TH_KIND_DURATION },
	[TH_PGB_SATURATION] = { "pgbouncer-saturation", "pgbouncer_saturation", TH_KIND_PERCENT },
	[TH_PGB_CLIENTS] = { "pgbouncer-clients", "pgbouncer_clients", TH_KIND_COUNT },
	[TH_ROLE_LIMIT] = { "role-connection-limit", "role_connection_limit", TH_KIND_PERCENT },
	[TH_DB_LIMIT] = { "database-connection-limit", "database_connection_limit", TH_KIND_PERCENT },
	[TH_PREPARED] = { "prepared-transactions", "prepared_transactions", TH_KIND_DURATION },
	[TH_XMIN_AGE] = { "oldest-xmin", "oldest_xmin", TH_KIND_COUNT },
};

int threshold_find(const char *name, size_t len)
{
	for (int i = 0; i < TH_COUNT; i++)
		if (strlen(threshold_defs[i].id) == len && !strncmp(threshold_defs[i].id, name, len))
			return i;
	return -1;
}

int threshold_parse(enum th_id id, const char *s, struct th_level *out, const char **why)
{
	size_t n = strlen(s);
	bool pct = n > 1 && s[n - 1] == '%';
	double v, ms;
	*why = NULL;
	switch (threshold_defs[id].kind) {
	case TH_KIND_DURATION:
		if (pct || parse_duration_ms(s, &ms)) {
			*why = "must be a duration such as 500ms, 30s, 5m";
			return -1;
		}
		*out = (struct th_level){ ms / 1000, false };
		return 0;
	case TH_KIND_PERCENT:
	case TH_KIND_COUNT: {
		char *num = xstrndup(s, pct ? n - 1 : n);
		int rc = parse_double(num, &v);
		free(num);
		if (rc || v < 0) {
			*why = "must be a number or a percentage such as 80%";
			return -1;
		}
		*out = (struct th_level){ v, pct || threshold_defs[id].kind == TH_KIND_PERCENT };
		return 0;
	}
	}
	return -1;
}

static double level_value(struct th_level l, double base)
{
	if (isnan(l.value))
		return NAN;
	if (!l.percent)
		return l.value;
	return isnan(base) ? NAN : l.value * base / 100;
}

enum status threshold_eval(const struct threshold *t, double value, double base)
{
	double c = level_value(t->crit, base), w = level_value(t->warn, base);
	/* A missing value (NaN: a column or setting the server did not give) is UNKNOWN,
	 * never OK; so is a percentage of a base that is missing. */
	if (isnan(value) || (isnan(base) && ((t->crit.percent && !isnan(t->crit.value)) ||
					     (t->warn.percent && !isnan(t->warn.value)))))
		return ST_UNKNOWN;
	if (!isnan(c) && value >= c)
		return ST_CRITICAL;
	if (!isnan(w) && value >= w)
		return ST_WARNING;
	return ST_OK;
}

struct thresholds threshold_perf(const struct threshold *t, double base, double min, double max)
{
	return (struct thresholds){ level_value(t->warn, base), level_value(t->crit, base), min, max };
}
