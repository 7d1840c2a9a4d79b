/*
 * bouncer_capacity — PgBouncer as it is configured, not only as it is loaded: databases
 * paused or disabled, max_db_connections / max_user_connections against their use, and
 * the pooler-versus-server sizing one level below the applications' pools: every pool
 * (pool_size + reserve_pool_size) times the PgBouncer processes sharing the port
 * (so_reuseport) against the server's usable connections.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "util.h"

/* max_db_connections of a SHOW DATABASES row: the column is max_connections up to
 * 1.23 and max_db_connections from 1.24. 0 = no limit. */
static double db_limit(const PGresult *dbs, int row)
{
	double n = pgbouncer_num(dbs, row, "max_db_connections");
	return isnan(n) ? pgbouncer_num(dbs, row, "max_connections") : n;
}

/* max_db_connections and max_user_connections: 0 is no limit (INFINITY), for the tables. */
static double conn_limit(double n)
{
	return n == 0 ? INFINITY : n;
}

static bool db_flag(const PGresult *dbs, int row, const char *col)
{
	double v = pgbouncer_num(dbs, row, col);
	return !isnan(v) && v != 0;
}

static void check_databases(struct report *r, const struct bouncer *b)
{
	struct strbuf paused = STRBUF_INIT, disabled = STRBUF_INIT;
	int n = 0;
	for (int i = 0; b->databases && i < PQntuples(b->databases); i++) {
		if (pgbouncer_is_admin_row(b->databases, i, "name"))
			continue;
		const char *name = pgbouncer_get(b->databases, i, "name");
		n++;
		if (db_flag(b->databases, i, "paused"))
			sb_addf(&paused, "%s%s", paused.len ? ", " : "", name ? name : "?");
		if (db_flag(b->databases, i, "disabled"))
			sb_addf(&disabled, "%s%s", disabled.len ? ", " : "", name ? name : "?");
	}
	struct check *c;
	if (!paused.len && !disabled.len) {
		c = report_check(r, "pgbouncer-databases", ST_OK, b->name, "%d %s, none paused or disabled", n,
				 n == 1 ? "database" : "databases");
	} else {
		c = report_check(r, "pgbouncer-databases", ST_WARNING, b->name, "%s%s%s%s%s", paused.len ? "paused (PAUSE): " : "",
				 sb_str(&paused), paused.len && disabled.len ? "; " : "",
				 disabled.len ? "disabled (DISABLE), new clients refused: " : "", sb_str(&disabled));
		check_hint(c, "a PAUSE or DISABLE left over from maintenance: RESUME / ENABLE the database on the admin console");
	}
	sb_release(&paused);
	sb_release(&disabled);
}

struct limit_use {
	double pct, used, limit;
	const char *kind, *name;
};

/* The fullest of the rows' limits (0 or unset: none) in *worst. */
static void worst_limit(const PGresult *res, const char *limit_col, const char *kind, struct limit_use *worst)
{
	for (int i = 0; res && i < PQntuples(res); i++) {
		double limit = limit_col ? pgbouncer_num(res, i, limit_col) : db_limit(res, i);
		double used = pgbouncer_num(res, i, "current_connections");
		if (!(limit > 0) || isnan(used))
			continue;
		double pct = 100 * used / limit;
		if (!worst->kind || pct > worst->pct)
			*worst = (struct limit_use){ pct, used, limit, kind, pgbouncer_get(res, i, "name") };
	}
}

static void check_limits(struct report *r, const struct bouncer *b, const struct probe_opts *o)
{
	struct limit_use worst = { 0 };
	worst_limit(b->databases, NULL, "max_db_connections of database", &worst);
	worst_limit(b->users, "max_user_connections", "max_user_connections of user", &worst);
	const struct threshold *th = &o->th[TH_PGB_SATURATION];
	enum status st = worst.kind ? threshold_eval(th, worst.pct, 100) : ST_OK;
	struct check *c;
	if (!worst.kind)
		c = report_check(r, "pgbouncer-limits", st, b->name, "no max_db_connections or max_user_connections set");
	else
		c = report_check(r, "pgbouncer-limits", st, b->name, "%s %s: %.0f of %.0f server connections in use (%.0f%%)",
				 worst.kind, worst.name ? worst.name : "?", worst.used, worst.limit, worst.pct);
	check_metric(c, "pgbouncer_limit_used_percent", worst.pct, "%", threshold_perf(th, 100, 0, 100));
	if (st != ST_OK)
		check_hint(c, "at the limit clients wait for a server connection even when their pool has room: raise it if the server has room");
}

void bouncer_capacity_checks(struct report *r, const struct bouncer *b, const struct probe_opts *o)
{
	check_databases(r, b);
	check_limits(r, b, o);
}

/* Users with their own settings ([users], PgBouncer 1.23+): pool_size, reserve,
 * max_user_connections. Users without any are left out: auth_query may know thousands. */
static bool user_configured(const PGresult *users, int i)
{
	return !isnan(pgbouncer_num(users, i, "pool_size")) || pgbouncer_num(users, i, "max_user_connections") > 0 ||
	       !isnan(pgbouncer_num(users, i, "reserve_pool_size"));
}

static void bouncer_users_output(struct report *r, const struct bouncer *b)
{
	int n = 0;
	for (int i = 0; b->users && i < PQntuples(b->users); i++)
		n += user_configured(b->users, i);
	if (!n)
		return;
	struct rp_table *tb = rp_table_new(r, "users", "users with their own settings (-: not set, the database's applies):");
	rp_table_col(tb, "name", "USER", COL_STR);
	rp_table_col(tb, "pool_size", "POOL_SIZE", COL_INT);
	rp_table_col(tb, "reserve_pool_size", "RESERVE", COL_INT);
	rp_table_col(tb, "max_user_connections", "MAX_USER_CONN", COL_INT);
	rp_table_col(tb, "current_connections", "CURRENT", COL_INT);
	for (int i = 0; i < PQntuples(b->users); i++) {
		if (!user_configured(b->users, i))
			continue;
		rp_table_str(tb, pgbouncer_get(b->users, i, "name"));
		pgbouncer_table_limit(tb, pgbouncer_size_value(b, pgbouncer_num(b->users, i, "pool_size")));
		pgbouncer_table_count(tb, pgbouncer_num(b->users, i, "reserve_pool_size"));
		pgbouncer_table_limit(tb, conn_limit(pgbouncer_num(b->users, i, "max_user_connections")));
		pgbouncer_table_count(tb, pgbouncer_num(b->users, i, "current_connections"));
	}
	rp_table_end(tb);
}

void bouncer_capacity_output(struct report *r, const struct bouncer *b)
{
	struct rp_table *tb = rp_table_new(r, "databases", "databases (as configured):");
	rp_table_col(tb, "name", "DATABASE", COL_STR);
	rp_table_col(tb, "host", "HOST", COL_STR);
	rp_table_col(tb, "port", "PORT", COL_INT);
	rp_table_col(tb, "pool_size", "POOL_SIZE", COL_INT);
	rp_table_col(tb, "reserve_pool_size", "RESERVE", COL_INT);
	rp_table_col(tb, "max_db_connections", "MAX_DB_CONN", COL_INT);
	rp_table_col(tb, "current_connections", "CURRENT", COL_INT);
	rp_table_col(tb, "paused", "PAUSED", COL_STR);
	rp_table_col(tb, "disabled", "DISABLED", COL_STR);
	for (int i = 0; b->databases && i < PQntuples(b->databases); i++) {
		if (pgbouncer_is_admin_row(b->databases, i, "name"))
			continue;
		const char *name = pgbouncer_get(b->databases, i, "name");
		rp_table_str(tb, name);
		rp_table_str(tb, pgbouncer_get(b->databases, i, "host"));
		pgbouncer_table_count(tb, pgbouncer_num(b->databases, i, "port"));
		pgbouncer_table_limit(tb, pgbouncer_size_value(b, pgbouncer_num(b->databases, i, "pool_size")));
		pgbouncer_table_count(tb, pgbouncer_reserve_pool(b, name, NULL));
		pgbouncer_table_limit(tb, conn_limit(db_limit(b->databases, i)));
		pgbouncer_table_count(tb, pgbouncer_num(b->databases, i, "current_connections"));
		rp_table_str(tb, db_flag(b->databases, i, "paused") ? "yes" : "no");
		rp_table_str(tb, db_flag(b->databases, i, "disabled") ? "yes" : "no");
	}
	rp_table_end(tb);
	bouncer_users_output(r, b);
}

/* ---- pooler vs server ---- */

/* Does database row i of SHOW DATABASES point at target t's host and port? */
static bool db_points_at(const PGresult *dbs, int i, const struct target *t)
{
	const char *host = pgbouncer_get(dbs, i, "host"), *port = pgbouncer_get(dbs, i, "port");
	char *where = conn_describe(t->dsn, false, NULL);
	char *want = xasprintf("%s:%s/", host ? host : "", port ? port : "");
	bool same = where && !strncmp(where, want, strlen(want));
	free(where);
	free(want);
	return same;
}

/* Server connections one pool may open: pool_size + reserve_pool_size. */
static double pool_may_open(const struct bouncer *b, const char *db, const char *user)
{
	double reserve = pgbouncer_reserve_pool(b, db, user);
	return pgbouncer_pool_size(b, db, user) + (isnan(reserve) ? 0 : reserve);
}

/* Server connections database row i may open: each of its pools (one at least: the
 * first client makes it) at pool_size + reserve, capped by max_db_connections. */
static double db_may_open(const struct bouncer *b, int i)
{
	const char *db = pgbouncer_get(b->databases, i, "name");
	double sum = 0;
	int pools = 0;
	for (int p = 0; b->pools && p < PQntuples(b->pools); p++) {
		const char *pdb = pgbouncer_get(b->pools, p, "database");
		if (!pdb || !db || strcmp(pdb, db))
			continue;
		sum += pool_may_open(b, db, pgbouncer_get(b->pools, p, "user"));
		pools++;
	}
	if (!pools)
		sum = pool_may_open(b, db, pgbouncer_get(b->databases, i, "force_user"));
	double limit = db_limit(b->databases, i);
	return limit > 0 ? fmin(sum, limit) : sum;
}

/* Sums what the databases pointing at t may open; every database when none points at
 * t by host and port but t is the only target (a socket DSN, a name that resolves). */
static double may_open_to(const struct bouncer *b, const struct target *t, bool only_target, int *dbs)
{
	double open = 0;
	for (int pass = 0; pass < 2 && !*dbs; pass++) {
		if (pass && !only_target)
			break;
		for (int i = 0; b->databases && i < PQntuples(b->databases); i++) {
			if (pgbouncer_is_admin_row(b->databases, i, "name") || (!pass && !db_points_at(b->databases, i, t)))
				continue;
			open += db_may_open(b, i);
			(*dbs)++;
		}
	}
	return open;
}

static void sizing_against(struct report *r, const struct bouncer *b, const struct target *t, bool only_target)
{
	int dbs = 0;
	double open = may_open_to(b, t, only_target, &dbs);
	if (!dbs)
		return;
	long long procs = b->processes > 0 ? b->processes : 1;
	double total = open * (double)procs, usable = checks_usable_connections(t->snap);
	char *subject = xasprintf("%s -> %s", b->name, t->name);
	struct check *c;
	if (isnan(open) || isnan(usable)) {
		c = report_check(r, "pgbouncer-server-sizing", ST_UNKNOWN, subject,
				 "cannot compare: a pool size or the server's max_connections is unknown");
	} else if (isinf(open)) {
		c = report_check(r, "pgbouncer-server-sizing", ST_WARNING, subject,
				 "PgBouncer may open unlimited server connections (pool_size 0 and no max_db_connections) to a server with %.0f usable",
				 usable);
		check_hint(c, "set pool_size or max_db_connections so that PgBouncer cannot exhaust the server");
	} else {
		enum status st = total > usable ? ST_WARNING : ST_OK;
		c = report_check(r, "pgbouncer-server-sizing", st, subject,
				 "PgBouncer may open %.0f server connections (%d %s, pool_size + reserve_pool_size, x %lld %s) %s the server's %.0f usable",
				 total, dbs, dbs == 1 ? "database" : "databases", procs, procs == 1 ? "process" : "processes",
				 total > usable ? ">" : "<=", usable);
		if (st != ST_OK)
			check_hint(c, "PgBouncer can open more server connections than PostgreSQL accepts: lower pool_size/reserve_pool_size, set max_db_connections, or raise max_connections to %.0f",
				   total + (checks_json_num(t->snap, "max_connections") - usable));
	}
	check_metric(c, "pgbouncer_server_connections_possible", isinf(total) ? -1 : total, "",
		     (struct thresholds){ usable, NAN, 0, NAN });
	free(subject);
}

static void check_reuseport(struct report *r, const struct bouncer *b)
{
	if (pgbouncer_config_num(b->config, "so_reuseport") != 1)
		return;
	if (b->processes > 1) {
		report_check(r, "pgbouncer-processes", ST_OK, b->name,
			     "so_reuseport = 1: %lld PgBouncer processes declared behind this port", b->processes);
		return;
	}
	struct check *c = report_check(r, "pgbouncer-processes", ST_WARNING, b->name,
				       "so_reuseport = 1: several processes may share this port; the admin DSN reaches one at random");
	check_hint(c, "set processes (--pgbouncer-processes, postgres.pgbouncer.NAME.processes) or peer_id, or give each process's unix socket as its own DSN");
}

void bouncer_sizing_checks(struct report *r, const struct bouncer *b, const struct target *ts, size_t nt)
{
	if (!b->pools || !b->config || b->err.kind != FAIL_NONE)
		return;
	check_reuseport(r, b);
	for (size_t i = 0; i < nt; i++)
		if (ts[i].snap)
			sizing_against(r, b, &ts[i], nt == 1);
}
