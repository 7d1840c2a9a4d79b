/*
 * sessions — the session checks on-call asks for after the basic ones: how many sessions
 * sit idle in a transaction for long ("N for T"), roles and databases near their own
 * connection limit (rolconnlimit, datconnlimit), prepared transactions left behind, and
 * the oldest xmin that holds back vacuum (a backend's or a replication slot's). Their
 * data comes in the one statement (query.c calls the add_* functions below).
 *
 * --exclude-user/-application/-database take maintenance sessions (pg_dump, replication,
 * vacuum jobs) out of the session-age checks: the CTE "ox" is "o" without them. Patterns
 * are exact names or globs with * and ?, turned into LIKE patterns here, so the server
 * filters and the counts stay right whatever the number of sessions.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "util.h"

/* How many of the longest idle-in-transaction sessions the check names. */
#define IDLE_TX_NAMED 3

/* ---- the --exclude-* filters ---- */

/* pattern as an E'' literal for LIKE: * and ? become % and _, LIKE's own wildcards and
 * the escape character are escaped, then the literal's quote and backslash. */
static void add_like_literal(struct strbuf *sb, const char *pattern)
{
	sb_addstr(sb, "E'");
	for (const char *p = pattern; *p; p++) {
		switch (*p) {
		case '*': sb_addch(sb, '%'); break;
		case '?': sb_addch(sb, '_'); break;
		case '%': case '_': sb_addstr(sb, "\\\\"); sb_addch(sb, *p); break;
		case '\\': sb_addstr(sb, "\\\\\\\\"); break;
		case '\'': sb_addstr(sb, "''"); break;
		default: sb_addch(sb, *p);
		}
	}
	sb_addch(sb, '\'');
}

/* " OR coalesce(column, '') LIKE ..." for each pattern (coalesce: NOT (NULL) would drop
 * a session whose application_name or database is NULL). */
static void add_matches(struct strbuf *sb, const char *column, const struct cli_list *patterns)
{
	for (size_t i = 0; i < patterns->n; i++) {
		sb_addf(sb, " OR coalesce(%s, '') LIKE ", column);
		add_like_literal(sb, patterns->items[i]);
	}
}

void sessions_build_exclusion(struct probe_opts *o)
{
	struct strbuf sb = STRBUF_INIT;
	sb_addstr(&sb, "false");
	add_matches(&sb, "usename", &o->exclude_users);
	add_matches(&sb, "application_name", &o->exclude_apps);
	add_matches(&sb, "datname", &o->exclude_dbs);
	free(o->exclude_sql);
	o->exclude_sql = sb_detach(&sb);
}

void sessions_add_cte(struct strbuf *sb, const struct probe_opts *o)
{
	sb_addf(sb, ",\nox AS (SELECT * FROM o WHERE NOT (%s))", o->exclude_sql ? o->exclude_sql : "false");
}

/* ---- the statement's keys ---- */

static void add_idle_tx_keys(struct strbuf *sb, const struct probe_opts *o)
{
#define IDLE_TX_OLD "state LIKE 'idle in transaction%%' AND state_age >= %.3f"
	sb_addf(sb, " 'idle_tx', (SELECT count(*) FROM ox WHERE " IDLE_TX_OLD "),\n", o->idle_tx_age_s);
	sb_addstr(sb, " 'excluded', (SELECT count(*) FROM o) - (SELECT count(*) FROM ox),\n"
		      " 'idle_tx_longest', (SELECT coalesce(json_agg(x), '[]') FROM (\n"
		      "    SELECT pid, usename AS user, application_name AS application, datname AS database,\n"
		      "      round(state_age::numeric, 3)::float8 AS age, ");
	if (o->query_text)
		query_add_text(sb, o->query_max);
	else
		sb_addstr(sb, "NULL::text");
	sb_addf(sb, " AS query\n    FROM ox WHERE " IDLE_TX_OLD " ORDER BY state_age DESC, pid LIMIT %d) x),\n",
		o->idle_tx_age_s, IDLE_TX_NAMED);
#undef IDLE_TX_OLD
}

/* Roles and databases with a limit, the fullest first: what PostgreSQL counts against
 * it is close to the client backends with that role or database ("c", the probe's own
 * connection included: it takes a slot too). Superusers are not held to rolconnlimit. */
static void add_limit_keys(struct strbuf *sb)
{
	static const struct { const char *key, *name, *limit, *from, *where, *column; } limits[] = {
		{ "role_limits", "rolname", "rolconnlimit", "pg_roles", "rolcanlogin AND NOT rolsuper", "usename" },
		{ "db_limits", "datname", "datconnlimit", "pg_database", "true", "datname" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(limits); i++)
		sb_addf(sb,
			" '%s', (SELECT coalesce(json_agg(x), '[]') FROM (SELECT * FROM (\n"
			"    SELECT l.%s AS name, l.%s AS limit, (SELECT count(*) FROM c WHERE c.%s = l.%s) AS used\n"
			"    FROM %s l WHERE l.%s >= 0 AND %s) y\n"
			"    ORDER BY CASE WHEN y.limit > 0 THEN y.used::float8 / y.limit WHEN y.used > 0 THEN 1e9 ELSE 0 END DESC,\n"
			"      y.name LIMIT 100) x),\n",
			limits[i].key, limits[i].name, limits[i].limit, limits[i].column, limits[i].name,
			limits[i].from, limits[i].limit, limits[i].where);
	sb_addstr(sb, " 'no_connect_dbs', (SELECT coalesce(json_agg(datname ORDER BY datname), '[]')\n"
		      "    FROM pg_database WHERE NOT datallowconn AND datname <> 'template0'),\n");
}

/* Prepared transactions and the oldest xmin: both hold back vacuum, whoever holds them
 * (the --exclude-* filters do not apply: a pg_dump's snapshot holds it back too). */
static void add_horizon_keys(struct strbuf *sb)
{
	sb_addstr(sb,
		  " 'prepared', (SELECT count(*) FROM pg_prepared_xacts),\n"
		  " 'top_prepared', (SELECT row_to_json(x) FROM (SELECT gid, owner AS user, database,\n"
		  "    round(" AGE_OF("prepared") "::numeric, 3)::float8 AS age, age(transaction) AS xid_age\n"
		  "    FROM pg_prepared_xacts ORDER BY prepared LIMIT 1) x),\n"
		  " 'top_xmin', (SELECT row_to_json(x) FROM (SELECT pid, usename AS user, application_name AS application,\n"
		  "    datname AS database, backend_type, age(backend_xmin) AS xid_age\n"
		  "    FROM pg_stat_activity WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid()\n"
		  "    ORDER BY age(backend_xmin) DESC, pid LIMIT 1) x),\n"
		  " 'top_slot_xmin', (SELECT row_to_json(x) FROM (SELECT slot_name AS slot, slot_type AS type,\n"
		  "    greatest(age(xmin), age(catalog_xmin)) AS xid_age\n"
		  "    FROM pg_replication_slots WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL\n"
		  "    ORDER BY 3 DESC, 1 LIMIT 1) x),\n");
}

void sessions_add_keys(struct strbuf *sb, const struct probe_opts *o)
{
	add_idle_tx_keys(sb, o);
	add_limit_keys(sb);
	add_horizon_keys(sb);
}

/* ---- checks ---- */

/* "pid 12 (user u, application "web") 2m05s, query "UPDATE t SET ..."" for each one. */
static char *idle_tx_names(const json_t *longest)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *s;
	json_array_foreach(longest, i, s) {
		const char *app = checks_json_str(s, "application"), *q = checks_json_str(s, "query");
		sb_addf(&sb, "%spid %.0f (user %s, %s%s%s) %s", i ? "; " : "", checks_json_num(s, "pid"),
			checks_json_str(s, "user") ? checks_json_str(s, "user") : "?",
			app && *app ? "application \"" : "no application_name", app && *app ? app : "",
			app && *app ? "\"" : "", human_duration(checks_json_num(s, "age")));
		if (q) {
			char *line = output_query_line(q, 40);
			sb_addf(&sb, ", query \"%s\"", line);
			free(line);
		}
	}
	return sb_detach(&sb);
}

void sessions_check_idle_tx(struct report *r, const struct target *t, const struct probe_opts *o, double usable)
{
	if (checks_activity_untracked(r, t, "idle-in-transaction-count"))
		return;
	double n = checks_json_num(t->snap, "idle_tx");
	const struct threshold *th = &o->th[TH_IDLE_TX_COUNT];
	enum status st = threshold_eval(th, n, usable);
	char *names = n > 0 ? idle_tx_names(json_object_get(t->snap, "idle_tx_longest")) : NULL;
	char *for_t = o->idle_tx_age_s > 0 ? xasprintf(" for %s or longer", human_duration(o->idle_tx_age_s))
					   : xstrdup("");
	struct check *c = report_check(r, "idle-in-transaction-count", st, t->name,
				       "%.0f %s idle in transaction%s%s%s", n, n == 1 ? "session" : "sessions",
				       for_t, names ? "; the longest: " : "", names ? names : "");
	free(names);
	free(for_t);
	check_metric(c, "idle_in_transaction", n, "", threshold_perf(th, usable, 0, usable));
	if (st != ST_OK)
		check_hint(c, "the application leaves transactions open between requests; set idle_in_transaction_session_timeout");
}

/* Percent of its limit an entry uses; a limit of 0 with sessions left is over it. */
static double limit_used_percent(const json_t *x)
{
	double limit = checks_json_num(x, "limit"), used = checks_json_num(x, "used");
	if (limit > 0)
		return 100 * used / limit;
	return used > 0 ? INFINITY : 0;
}

/* One check over every role (or database) with a limit: the fullest one named, and how
 * many others are at a level too. A limit of 0 with no session is a closed door, no alarm. */
static void check_limits(struct report *r, const struct target *t, const struct probe_opts *o,
			 enum th_id id, const char *key, const char *what, const char *sql_what)
{
	const struct threshold *th = &o->th[id];
	const json_t *list = json_object_get(t->snap, key), *worst = NULL, *x;
	enum status st = ST_OK;
	size_t i, flagged = 0;
	json_array_foreach(list, i, x) {
		double pct = limit_used_percent(x);
		enum status s = pct == 0 ? ST_OK : threshold_eval(th, isinf(pct) ? 1e9 : pct, 100);
		flagged += s != ST_OK;
		if (!worst || status_worst(s, st) != st) {
			worst = x;
			st = s;
		}
	}
	double pct = worst ? limit_used_percent(worst) : 0;
	struct check *c = worst
		? report_check(r, threshold_defs[id].id, st, t->name, "%s %s uses %.0f of its %.0f connections",
				 what, checks_json_str(worst, "name"), checks_json_num(worst, "used"),
				 checks_json_num(worst, "limit"))
		: report_check(r, threshold_defs[id].id, st, t->name, "no %s has a connection limit", what);
	if (flagged > 1)
		check_hint(c, "%zu of them at a threshold: see connection_limits in the data", flagged);
	char *metric = xasprintf("%s_used_percent", threshold_defs[id].cfg);
	check_metric(c, metric, isinf(pct) ? 100 : pct, "%", threshold_perf(th, 100, 0, NAN));
	free(metric);
	if (st != ST_OK)
		check_hint(c, "new sessions of that %s are refused at the limit (SQLSTATE 53300): shrink its pools, "
			   "or ALTER %s %s CONNECTION LIMIT n", what, sql_what, checks_json_str(worst, "name"));
}

static void check_prepared(struct report *r, const struct target *t, const struct probe_opts *o)
{
	double n = checks_json_num(t->snap, "prepared");
	const json_t *top = json_object_get(t->snap, "top_prepared");
	double age = json_is_object(top) ? checks_json_num(top, "age") : 0;
	const struct threshold *th = &o->th[TH_PREPARED];
	enum status st = threshold_eval(th, age, NAN);
	struct check *c;
	if (json_is_object(top))
		c = report_check(r, "prepared-transactions", st, t->name,
				 "%.0f prepared %s, the oldest for %s (gid \"%s\", user %s, database %s, xid age %.0f)",
				 n, n == 1 ? "transaction" : "transactions", human_duration(age),
				 checks_json_str(top, "gid"), checks_json_str(top, "user"),
				 checks_json_str(top, "database"), checks_json_num(top, "xid_age"));
	else
		c = report_check(r, "prepared-transactions", st, t->name, "no prepared transaction");
	check_metric(c, "prepared_transactions", isnan(n) ? 0 : n, "", THRESHOLDS_NONE);
	check_metric(c, "prepared_transaction_age_seconds", age, "s", threshold_perf(th, NAN, 0, NAN));
	if (st != ST_OK)
		check_hint(c, "a prepared transaction outlives its session and holds its locks and vacuum back: ask its "
			   "transaction manager, then COMMIT PREPARED or ROLLBACK PREPARED '%s'", checks_json_str(top, "gid"));
}

/* The older of a backend's xmin and a replication slot's (xmin or catalog_xmin). */
static void check_xmin(struct report *r, const struct target *t, const struct probe_opts *o)
{
	const json_t *be = json_object_get(t->snap, "top_xmin"), *slot = json_object_get(t->snap, "top_slot_xmin");
	double be_age = json_is_object(be) ? checks_json_num(be, "xid_age") : 0;
	double slot_age = json_is_object(slot) ? checks_json_num(slot, "xid_age") : 0;
	bool by_slot = slot_age > be_age;
	double age = by_slot ? slot_age : be_age;
	const struct threshold *th = &o->th[TH_XMIN_AGE];
	enum status st = threshold_eval(th, age, NAN);
	struct check *c;
	if (by_slot) {
		c = report_check(r, "oldest-xmin", st, t->name, "replication slot %s (%s) holds an xmin %.0f transactions old",
				 checks_json_str(slot, "slot"), checks_json_str(slot, "type"), slot_age);
	} else if (json_is_object(be)) {
		char *whom = checks_who(be);
		const char *kind = checks_json_str(be, "backend_type");
		c = report_check(r, "oldest-xmin", st, t->name, "oldest backend xmin is %.0f transactions old%s%s%s",
				 be_age, whom, kind ? ", " : "", kind ? kind : "");
		free(whom);
	} else {
		c = report_check(r, "oldest-xmin", st, t->name, "no other session holds an xmin");
	}
	check_metric(c, "oldest_xmin_age", age, "", threshold_perf(th, NAN, 0, NAN));
	if (st != ST_OK && by_slot)
		check_hint(c, "an inactive or lagging slot keeps dead rows and WAL: catch its consumer up, or "
			   "SELECT pg_drop_replication_slot('%s') if it is abandoned", checks_json_str(slot, "slot"));
	else if (st != ST_OK)
		check_hint(c, "a long snapshot (REPEATABLE READ, a long query or transaction, hot_standby_feedback) "
			   "stops vacuum from removing dead rows: end it, or move the job to a replica");
}

void sessions_checks(struct report *r, const struct target *t, const struct probe_opts *o)
{
	check_limits(r, t, o, TH_ROLE_LIMIT, "role_limits", "role", "ROLE");
	check_limits(r, t, o, TH_DB_LIMIT, "db_limits", "database", "DATABASE");
	check_prepared(r, t, o);
	check_xmin(r, t, o);
}

/* ---- data ---- */

static void output_limits(struct report *r, const json_t *list, const char *key)
{
	rp_open_array(r, key);
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		rp_open_object(r, NULL);
		rp_string(r, "name", i ? ", %s" : "", checks_json_str(x, "name"));
		rp_int(r, "used", " %lld", (long long)checks_json_num(x, "used"));
		rp_int(r, "limit", "/%lld", (long long)checks_json_num(x, "limit"));
		rp_close_object(r);
	}
	rp_close_array(r);
}

/* "connection_limits": roles and databases with a limit and their use, databases that
 * refuse connections (datallowconn = false), and sessions --exclude-* left out. */
void sessions_output(struct report *r, const struct target *t)
{
	const json_t *s = t->snap;
	const json_t *roles = json_object_get(s, "role_limits"), *dbs = json_object_get(s, "db_limits");
	rp_open_object(r, "connection_limits");
	if (json_array_size(roles))
		rp_text(r, "role limits (used/limit): ");
	output_limits(r, roles, "roles");
	if (json_array_size(roles))
		rp_text(r, "\n");
	if (json_array_size(dbs))
		rp_text(r, "database limits (used/limit): ");
	output_limits(r, dbs, "databases");
	if (json_array_size(dbs))
		rp_text(r, "\n");
	rp_open_array(r, "no_connect_databases");
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(s, "no_connect_dbs"), i, x)
		rp_string(r, NULL, i ? ", %s" : "databases with datallowconn off: %s", json_string_value(x));
	if (json_array_size(json_object_get(s, "no_connect_dbs")))
		rp_text(r, "\n");
	rp_close_array(r);
	rp_close_object(r);
	rp_int(r, "excluded_sessions", NULL, (long long)checks_json_num(s, "excluded"));
}
