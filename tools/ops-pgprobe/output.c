/*
 * output — the tool data of one target: "server", "connections" and "sessions" in JSON
 * (keys documented in ops-pgprobe(1)), a compact picture in text.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "util.h"

static void output_server(struct report *r, const struct target *t)
{
	const json_t *s = t->snap;
	double max = checks_json_num(s, "max_connections");
	double su = checks_json_num(s, "superuser_reserved");
	rp_open_object(r, "server");
	rp_text(r, "%s: PostgreSQL ", t->name);
	rp_string(r, "version", "%s", checks_json_str(s, "version"));
	rp_int(r, "version_num", NULL, (long long)checks_json_num(s, "version_num"));
	rp_bool(r, "in_recovery", NULL, json_is_true(json_object_get(s, "in_recovery")));
	rp_text(r, "%s", json_is_true(json_object_get(s, "in_recovery")) ? " (replica)" : "");
	rp_int(r, "max_connections", ", max_connections %lld", (long long)max);
	rp_int(r, "superuser_reserved", NULL, (long long)su);
	rp_int(r, "reserved", ", %lld reserved", (long long)checks_reserved_connections(s));
	rp_int(r, "usable", ", %lld usable", (long long)checks_usable_connections(s));
	/* Amazon RDS's own reserved slots (included in "reserved"), and from 16 whether
	 * the probe's role may use the reserved_connections slots (null before). */
	rp_int(r, "rds_superuser_reserved", NULL, (long long)checks_json_num(s, "rds_reserved"));
	json_t *may = json_object_get(s, "may_use_reserved");
	if (json_is_boolean(may))
		rp_bool(r, "may_use_reserved", NULL, json_is_true(may));
	else
		rp_null(r, "may_use_reserved", NULL);
	rp_double(r, "connect_ms", "; connect %.1f ms", t->connect_ms);
	rp_double(r, "query_ms", ", query %.1f ms\n", t->query_ms);
	if (json_is_true(json_object_get(s, "in_recovery"))) {
		rp_double(r, "replay_lag_seconds", NULL, checks_json_num(s, "replay_lag"));
		rp_double(r, "replay_lag_bytes", NULL, checks_json_num(s, "replay_lag_bytes"));
		rp_bool(r, "streaming", NULL, json_is_true(json_object_get(s, "streaming")));
	}
	rp_close_object(r);
}

/* A {name: count} object; in text "prefix name n, name n suffix" (prefix NULL: JSON only). */
static void counts_object(struct report *r, const char *key, const char *prefix, const char *suffix,
			  const json_t *obj)
{
	const char *k;
	json_t *v;
	bool first = true;
	rp_open_object(r, key);
	if (prefix)
		rp_text(r, "%s", prefix);
	json_object_foreach((json_t *)obj, k, v) {
		rp_int(r, k, NULL, json_integer_value(v));
		if (prefix)
			rp_text(r, "%s%s %lld", first ? "" : ", ", k, (long long)json_integer_value(v));
		first = false;
	}
	if (prefix)
		rp_text(r, "%s%s", first ? "none" : "", suffix);
	rp_close_object(r);
}

static void output_groups(struct report *r, const json_t *groups)
{
	struct rp_table *tb = rp_table_new(r, "by_application", NULL);
	rp_table_col(tb, "database", "DATABASE", COL_STR);
	rp_table_col(tb, "user", "USER", COL_STR);
	rp_table_col(tb, "application", "APPLICATION", COL_STR);
	rp_table_col(tb, "client", "CLIENT", COL_STR);
	rp_table_col(tb, "total", "TOTAL", COL_INT);
	rp_table_col(tb, "active", "ACTIVE", COL_INT);
	rp_table_col(tb, "idle", "IDLE", COL_INT);
	rp_table_col(tb, "idle_in_transaction", "IDLE_IN_TX", COL_INT);
	rp_table_col(tb, "idle_in_transaction_aborted", "ABORTED", COL_INT);
	rp_table_col(tb, "waiting", "WAITING", COL_INT);
	rp_table_col(tb, "fastpath", NULL, COL_INT); /* rare: JSON only, keeps the table narrow */
	size_t i;
	json_t *g;
	json_array_foreach((json_t *)groups, i, g) {
		rp_table_str(tb, checks_json_str(g, "database"));
		rp_table_str(tb, checks_json_str(g, "user"));
		rp_table_str(tb, checks_json_str(g, "application"));
		rp_table_str(tb, checks_json_str(g, "client") ? checks_json_str(g, "client") : "local");
		static const char *const cols[] = { "total", "active", "idle", "idle_in_transaction",
						    "idle_in_transaction_aborted", "waiting", "fastpath" };
		for (size_t k = 0; k < ARRAY_SIZE(cols); k++)
			rp_table_int(tb, (long long)checks_json_num(g, cols[k]));
	}
	rp_table_end(tb);
}

static void output_connections(struct report *r, const struct target *t)
{
	const json_t *s = t->snap;
	rp_open_object(r, "connections");
	rp_int(r, "total", "connections: %lld client backends", (long long)checks_json_num(s, "total"));
	counts_object(r, "by_state", " (", ")\n", json_object_get(s, "by_state"));
	counts_object(r, "background", "other processes: ", "\n", json_object_get(s, "background"));
	rp_int(r, "stale_idle", NULL, (long long)checks_json_num(s, "stale_idle"));
	rp_int(r, "hidden", NULL, (long long)checks_json_num(s, "hidden"));
	output_groups(r, json_object_get(s, "groups"));
	rp_close_object(r);
}

static void output_limit_list(struct report *r, const json_t *list, const char *key)
{
	rp_open_array(r, key);
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		rp_open_object(r, NULL);
		rp_string(r, "name", i ? ", %s" : "%s", checks_json_str(x, "name"));
		rp_int(r, "used", " %lld", (long long)checks_json_num(x, "used"));
		rp_int(r, "limit", "/%lld", (long long)checks_json_num(x, "limit"));
		rp_close_object(r);
	}
	rp_close_array(r);
}

/* "connection_limits": roles and databases with a limit and their use, databases that
 * refuse connections (datallowconn = false), and sessions --exclude-* left out. */
static void output_limits_of(struct report *r, const struct target *t)
{
	const json_t *s = t->snap;
	const json_t *roles = json_object_get(s, "role_limits"), *dbs = json_object_get(s, "db_limits");
	rp_open_object(r, "connection_limits");
	if (json_array_size(roles))
		rp_text(r, "role limits (used/limit): ");
	output_limit_list(r, roles, "roles");
	if (json_array_size(roles))
		rp_text(r, "\n");
	if (json_array_size(dbs))
		rp_text(r, "database limits (used/limit): ");
	output_limit_list(r, dbs, "databases");
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
	/* A block of lines ends with a blank line, as the tables do. */
	if (json_array_size(roles) || json_array_size(dbs) || json_array_size(json_object_get(s, "no_connect_dbs")))
		rp_text(r, "\n");
	rp_int(r, "excluded_sessions", NULL, (long long)checks_json_num(s, "excluded"));
}

/* Text column widths of the sessions list: user and application names vary in length. */
struct session_widths {
	int user, app;
};

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static struct session_widths session_widths(const json_t *sessions)
{
	struct session_widths w = { (int)strlen("USER"), (int)strlen("APPLICATION") };
	size_t i;
	json_t *s;
	json_array_foreach(sessions, i, s) {
		int u = (int)strlen(or_dash(checks_json_str(s, "user"))), a = (int)strlen(or_dash(checks_json_str(s, "application")));
		w.user = u > w.user ? u : w.user;
		w.app = a > w.app ? a : w.app;
	}
	/* A runaway application_name must not push the query off the screen. */
	w.user = w.user > 24 ? 24 : w.user;
	w.app = w.app > 32 ? 32 : w.app;
	return w;
}

static void output_blocked_by(struct report *r, const json_t *s)
{
	struct strbuf pids = STRBUF_INIT;
	rp_open_array(r, "blocked_by");
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(s, "blocked_by"), i, b) {
		rp_int(r, NULL, NULL, json_integer_value(b));
		sb_addf(&pids, "%s%lld", i ? "," : "", (long long)json_integer_value(b));
	}
	rp_close_array(r);
	rp_text(r, "%-10s", pids.len ? sb_str(&pids) : "-");
	sb_release(&pids);
}

static void output_session(struct report *r, const json_t *s, struct session_widths w)
{
	rp_open_object(r, NULL);
	rp_int(r, "pid", "  %-8lld", (long long)checks_json_num(s, "pid"));
	rp_string(r, "kind", "%-20s", checks_json_str(s, "kind"));
	rp_string(r, "state", NULL, checks_json_str(s, "state"));
	rp_double(r, "age_seconds", NULL, checks_json_num(s, "age"));
	rp_text(r, "%8s  ", human_duration(checks_json_num(s, "age")));
	rp_double(r, "xact_age_seconds", NULL, checks_json_num(s, "xact_age"));
	rp_string(r, "user", NULL, checks_json_str(s, "user"));
	rp_text(r, "%-*.*s  ", w.user, w.user, or_dash(checks_json_str(s, "user")));
	rp_string(r, "application", NULL, checks_json_str(s, "application"));
	rp_text(r, "%-*.*s  ", w.app, w.app, or_dash(checks_json_str(s, "application")));
	rp_string(r, "client", NULL, checks_json_str(s, "client"));
	rp_string(r, "database", NULL, checks_json_str(s, "database"));
	rp_string(r, "wait_event_type", NULL, checks_json_str(s, "wait_event_type"));
	rp_string(r, "wait_event", NULL, checks_json_str(s, "wait_event"));
	output_blocked_by(r, s);
	/* The lock waited for (pg_locks), since when (waitstart, 14+; null before), and
	 * whether a prepared transaction holds it (pg_blocking_pids' pid 0). */
	rp_string(r, "lock_mode", NULL, checks_json_str(s, "lock_mode"));
	rp_string(r, "lock_type", NULL, checks_json_str(s, "lock_type"));
	rp_string(r, "lock_relation", NULL, checks_json_str(s, "lock_relation"));
	if (isnan(checks_json_num(s, "wait_age")))
		rp_null(r, "wait_seconds", NULL);
	else
		rp_double(r, "wait_seconds", NULL, checks_json_num(s, "wait_age"));
	rp_bool(r, "blocked_by_prepared", NULL, json_is_true(json_object_get(s, "by_prepared")));
	json_t *qid = json_object_get(s, "query_id");
	if (json_is_integer(qid))
		rp_int(r, "query_id", NULL, json_integer_value(qid));
	else
		rp_null(r, "query_id", NULL);
	const char *q = checks_json_str(s, "query");
	if (q) {
		rp_string(r, "query", NULL, q);
		char *line = query_text_line(q, 60, true);
		rp_text(r, "  %s", line);
		free(line);
	} else {
		rp_null(r, "query", NULL);
	}
	rp_text(r, "\n");
	rp_close_object(r);
}

static void output_sessions(struct report *r, const struct target *t)
{
	const json_t *sessions = json_object_get(t->snap, "sessions");
	struct session_widths w = session_widths(sessions);
	rp_open_array(r, "sessions");
	if (json_array_size(sessions))
		rp_text(r, "sessions:\n  %-8s%-20s%8s  %-*s  %-*s  %s\n", "PID", "KIND", "AGE", w.user, "USER",
			w.app, "APPLICATION", "BLOCKED_BY  QUERY");
	size_t i;
	json_t *s;
	json_array_foreach(sessions, i, s)
		output_session(r, s, w);
	/* The tables above end with a blank line; the list does the same. */
	if (json_array_size(sessions))
		rp_text(r, "\n");
	rp_close_array(r);
}

void output_target(struct report *r, const struct target *t, bool nested)
{
	if (nested) {
		rp_open_object(r, NULL);
		rp_string(r, "name", NULL, t->name);
	}
	if (t->snap) {
		output_server(r, t);
		output_connections(r, t);
		output_limits_of(r, t);
		output_sessions(r, t);
	} else {
		if (!nested)
			rp_null(r, "server", NULL);
		rp_text(r, "%s: not probed (the %s check below says why)\n\n", t->name,
			isnan(t->connect_ms) ? "connect" : "query");
	}
	if (nested) {
		if (!t->snap)
			rp_string(r, "error", NULL, t->err.message);
		rp_close_object(r);
	}
}
