/*
 * sessions — the checks of a target's connection limits and xmin horizon: roles and
 * databases near their own CONNECTION LIMIT (rolconnlimit, datconnlimit), prepared
 * transactions left behind, and the oldest xmin that holds vacuum back (a backend's or a
 * replication slot's). Their data comes in the one statement (sessions_sql.c).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>

#include "pgprobe.h"
#include "util.h"

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
	char *metric = xasprintf("%s_used_percent", threshold_defs[id].cfg);
	check_metric(c, metric, isinf(pct) ? 100 : pct, "%", threshold_perf(th, 100, 0, NAN));
	free(metric);
	if (st != ST_OK)
		check_hint(c, "new sessions of that %s are refused at the limit (SQLSTATE 53300): shrink its pools, "
			   "or ALTER %s %s CONNECTION LIMIT n%s", what, sql_what, checks_json_str(worst, "name"),
			   flagged > 1 ? "; more of them are at a threshold (connection_limits in the data)" : "");
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
	if (!t->snap)
		return; /* the connect or query check says why */
	check_limits(r, t, o, TH_ROLE_LIMIT, "role_limits", "role", "ROLE");
	check_limits(r, t, o, TH_DB_LIMIT, "db_limits", "database", "DATABASE");
	check_prepared(r, t, o);
	check_xmin(r, t, o);
}
