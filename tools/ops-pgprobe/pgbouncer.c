/*
 * pgbouncer — PgBouncer's admin console (SHOW POOLS, DATABASES, CONFIG, STATS, CLIENTS,
 * SERVERS). Columns are looked up by name: they change between PgBouncer versions.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "util.h"

static double pool_maxwait(const struct bouncer *b, int i)
{
	double us = pgbouncer_num(b->pools, i, "maxwait_us");
	return pgbouncer_num(b->pools, i, "maxwait") + (isnan(us) ? 0 : us / 1e6);
}

/* Server connections linked to a client (idle ones in the pool are ready, not busy). */
static double pool_servers_busy(const struct bouncer *b, int i)
{
	static const char *const cols[] = { "sv_active", "sv_active_cancel", "sv_being_canceled" };
	double n = 0;
	for (size_t k = 0; k < ARRAY_SIZE(cols); k++) {
		double v = pgbouncer_num(b->pools, i, cols[k]);
		n += isnan(v) ? 0 : v;
	}
	return n;
}

static void check_waiting(struct report *r, const struct bouncer *b, const struct probe_opts *o)
{
	double waiting = 0, maxwait = 0;
	const char *worst = NULL;
	for (int i = 0; i < PQntuples(b->pools); i++) {
		if (pgbouncer_is_admin_pool(b, i))
			continue;
		waiting += pgbouncer_num(b->pools, i, "cl_waiting");
		double w = pool_maxwait(b, i);
		if (w > maxwait || !worst) {
			maxwait = fmax(maxwait, w);
			worst = pgbouncer_get(b->pools, i, "database");
		}
	}
	const struct threshold *th = &o->th[TH_PGB_WAITING];
	enum status st = threshold_eval(th, waiting, NAN);
	struct check *c = isnan(waiting)
		? report_check(r, "pgbouncer-waiting", st, b->name, "SHOW POOLS has no cl_waiting column")
		: report_check(r, "pgbouncer-waiting", st, b->name, "%.0f %s for a server connection", waiting,
			       waiting == 1 ? "client waiting" : "clients waiting");
	check_metric(c, "pgbouncer_clients_waiting", waiting, "", threshold_perf(th, NAN, 0, NAN));
	if (st != ST_OK && st != ST_UNKNOWN)
		check_hint(c, "the pools are too small for the load or server connections are held too long (session pooling, long transactions)");
	th = &o->th[TH_PGB_MAXWAIT];
	st = threshold_eval(th, maxwait, NAN);
	if (maxwait > 0)
		c = report_check(r, "pgbouncer-maxwait", st, b->name, "oldest waiting client has waited %s in pool %s",
				 human_duration(maxwait), worst ? worst : "?");
	else
		c = report_check(r, "pgbouncer-maxwait", st, b->name, "no client is waiting");
	check_metric(c, "pgbouncer_maxwait_seconds", maxwait, "s", threshold_perf(th, NAN, 0, NAN));
	if (st != ST_OK)
		check_hint(c, "requests queue in PgBouncer: raise pool_size if the server has room, or find what holds the server connections");
}

static void check_saturation(struct report *r, const struct bouncer *b, const struct probe_opts *o)
{
	double worst_pct = 0, worst_used = 0, worst_size = 0;
	const char *worst_db = NULL, *worst_user = NULL;
	for (int i = 0; i < PQntuples(b->pools); i++) {
		if (pgbouncer_is_admin_pool(b, i))
			continue;
		const char *db = pgbouncer_get(b->pools, i, "database");
		double size = pgbouncer_pool_size(b, db, pgbouncer_get(b->pools, i, "user")), used = pool_servers_busy(b, i);
		/* An unlimited pool (size 0, 1.24+) is never saturated; an unknown size is
		 * no reason to call it full either (the table shows it as "-"). */
		double pct = size > 0 && isfinite(size) ? 100 * used / size : 0;
		if (!worst_db || pct > worst_pct) {
			worst_pct = pct, worst_used = used, worst_size = size;
			worst_db = db, worst_user = pgbouncer_get(b->pools, i, "user");
		}
	}
	const struct threshold *th = &o->th[TH_PGB_SATURATION];
	enum status st = threshold_eval(th, worst_pct, 100);
	struct check *c;
	if (!worst_db)
		c = report_check(r, "pgbouncer-saturation", st, b->name, "no pools in use yet");
	else if (isinf(worst_size))
		c = report_check(r, "pgbouncer-saturation", st, b->name,
				 "pool %s/%s has %.0f server connections busy, of an unlimited pool size (0)", worst_db,
				 worst_user ? worst_user : "?", worst_used);
	else if (isnan(worst_size))
		c = report_check(r, "pgbouncer-saturation", ST_UNKNOWN, b->name,
				 "pool %s/%s has %.0f server connections busy; its pool size is unknown (no pool_size in "
				 "SHOW DATABASES)", worst_db, worst_user ? worst_user : "?", worst_used);
	else
		c = report_check(r, "pgbouncer-saturation", st, b->name,
				 "pool %s/%s has %.0f of %.0f server connections busy (%.0f%%)", worst_db,
				 worst_user ? worst_user : "?", worst_used, worst_size, worst_pct);
	check_metric(c, "pgbouncer_pool_used_percent", worst_pct, "%", threshold_perf(th, 100, 0, 100));
	if (st != ST_OK)
		check_hint(c, "a full pool makes clients wait: raise pool_size (within the server's max_connections) or shorten transactions");

	double max_clients = pgbouncer_config_num(b->config, "max_client_conn");
	double clients = b->clients ? PQntuples(b->clients) : 0;
	th = &o->th[TH_PGB_CLIENTS];
	st = threshold_eval(th, clients, max_clients);
	c = report_check(r, "pgbouncer-clients", st, b->name, "%.0f of max_client_conn %.0f client connections (%.0f%%)",
			 clients, max_clients, max_clients > 0 ? 100 * clients / max_clients : 0);
	check_metric(c, "pgbouncer_clients", clients, "", threshold_perf(th, max_clients, 0, max_clients));
	if (st != ST_OK)
		check_hint(c, "new clients will be refused at max_client_conn: raise it (and the file descriptor limit) or find the client leak");
}

void pgbouncer_checks(struct report *r, const struct bouncer *b, const struct probe_opts *o)
{
	/* Any SHOW that failed (a timeout half-way included) makes the rest unreliable:
	 * SHOW CLIENTS missing would read as "0 clients". */
	if (!b->pools || !b->config || b->err.kind != FAIL_NONE) {
		checks_failure(r, "pgbouncer-connect", b->name, &b->err);
		return;
	}
	struct check *c = report_check(r, "pgbouncer-connect", ST_OK, b->name,
				       "admin console answered (connected in %.1f ms)", b->connect_ms);
	check_metric(c, "pgbouncer_connect_seconds", b->connect_ms / 1000, "s", THRESHOLDS_NONE);
	check_waiting(r, b, o);
	check_saturation(r, b, o);
	bouncer_capacity_checks(r, b, o);
}

/* Counts of rows by their "state" column (SHOW CLIENTS / SERVERS). */
static void state_summary(struct report *r, const char *key, const PGresult *res)
{
	rp_open_object(r, key);
	const char *states[64];
	long long counts[64];
	size_t n = 0;
	for (int i = 0; res && i < PQntuples(res); i++) {
		const char *s = pgbouncer_get(res, i, "state");
		size_t k = 0;
		while (k < n && strcmp(states[k], s ? s : "?"))
			k++;
		if (k == n && n < ARRAY_SIZE(states)) {
			states[n] = s ? s : "?";
			counts[n++] = 0;
		}
		if (k < n)
			counts[k]++;
	}
	rp_text(r, "%s:", key);
	for (size_t k = 0; k < n; k++) {
		rp_int(r, states[k], NULL, counts[k]);
		rp_text(r, " %s %lld", states[k], counts[k]);
	}
	rp_text(r, "%s\n", n ? "" : " none");
	rp_close_object(r);
}

static void pools_table(struct report *r, const struct bouncer *b)
{
	struct rp_table *tb = rp_table_new(r, "pools", "pools:");
	rp_table_col(tb, "database", "DATABASE", COL_STR);
	rp_table_col(tb, "user", "USER", COL_STR);
	rp_table_col(tb, "pool_mode", "MODE", COL_STR);
	rp_table_col(tb, "pool_size", "SIZE", COL_INT);
	rp_table_col(tb, "reserve_pool_size", "RESERVE", COL_INT);
	rp_table_col(tb, "cl_active", "CL_ACTIVE", COL_INT);
	rp_table_col(tb, "cl_waiting", "CL_WAITING", COL_INT);
	rp_table_col(tb, "sv_active", "SV_ACTIVE", COL_INT);
	rp_table_col(tb, "sv_idle", "SV_IDLE", COL_INT);
	rp_table_col(tb, "sv_used", "SV_USED", COL_INT);
	rp_table_col(tb, "maxwait_seconds", "MAXWAIT", COL_DURATION);
	for (int i = 0; i < PQntuples(b->pools); i++) {
		if (pgbouncer_is_admin_pool(b, i))
			continue;
		rp_table_str(tb, pgbouncer_get(b->pools, i, "database"));
		rp_table_str(tb, pgbouncer_get(b->pools, i, "user"));
		rp_table_str(tb, pgbouncer_get(b->pools, i, "pool_mode"));
		double size = pgbouncer_pool_size(b, pgbouncer_get(b->pools, i, "database"), pgbouncer_get(b->pools, i, "user"));
		double reserve = pgbouncer_reserve_pool(b, pgbouncer_get(b->pools, i, "database"), pgbouncer_get(b->pools, i, "user"));
		pgbouncer_table_limit(tb, size);
		pgbouncer_table_count(tb, reserve);
		pgbouncer_table_count(tb, pgbouncer_num(b->pools, i, "cl_active"));
		pgbouncer_table_count(tb, pgbouncer_num(b->pools, i, "cl_waiting"));
		pgbouncer_table_count(tb, pgbouncer_num(b->pools, i, "sv_active"));
		pgbouncer_table_count(tb, pgbouncer_num(b->pools, i, "sv_idle"));
		pgbouncer_table_count(tb, pgbouncer_num(b->pools, i, "sv_used"));
		rp_table_double(tb, pool_maxwait(b, i));
	}
	rp_table_end(tb);
}

static void stats_table(struct report *r, const struct bouncer *b)
{
	struct rp_table *tb = rp_table_new(r, "stats", "stats (totals since PgBouncer started, averages of the last stats_period):");
	rp_table_col(tb, "database", "DATABASE", COL_STR);
	rp_table_col(tb, "total_xact_count", "XACTS", COL_INT);
	rp_table_col(tb, "total_query_count", "QUERIES", COL_INT);
	rp_table_col(tb, "avg_query_seconds", "AVG_QUERY", COL_DURATION);
	rp_table_col(tb, "avg_wait_seconds", "AVG_WAIT", COL_DURATION);
	for (int i = 0; b->stats && i < PQntuples(b->stats); i++) {
		if (pgbouncer_is_admin_row(b->stats, i, "database"))
			continue;
		rp_table_str(tb, pgbouncer_get(b->stats, i, "database"));
		pgbouncer_table_count(tb, pgbouncer_num(b->stats, i, "total_xact_count"));
		pgbouncer_table_count(tb, pgbouncer_num(b->stats, i, "total_query_count"));
		rp_table_double(tb, pgbouncer_num(b->stats, i, "avg_query_time") / 1e6);
		rp_table_double(tb, pgbouncer_num(b->stats, i, "avg_wait_time") / 1e6);
	}
	rp_table_end(tb);
}

void pgbouncer_output(struct report *r, const struct bouncer *b)
{
	rp_open_object(r, NULL);
	rp_string(r, "name", "pgbouncer %s", b->name);
	if (!b->pools || !b->config || b->err.kind != FAIL_NONE) {
		rp_string(r, "error", NULL, b->err.message);
		rp_text(r, ": not probed (the pgbouncer-connect check below says why)\n\n");
		rp_close_object(r);
		return;
	}
	rp_double(r, "max_client_conn", ": max_client_conn %.0f", pgbouncer_config_num(b->config, "max_client_conn"));
	rp_double(r, "default_pool_size", ", default_pool_size %.0f", pgbouncer_config_num(b->config, "default_pool_size"));
	rp_text(r, "\n");
	state_summary(r, "clients", b->clients);
	state_summary(r, "servers", b->servers);
	bouncer_clients_output(r, b);
	pools_table(r, b);
	bouncer_capacity_output(r, b);
	stats_table(r, b);  /* tables end with their own blank line */
	rp_close_object(r);
}
