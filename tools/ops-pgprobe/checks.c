/*
 * checks — the checks of one PostgreSQL target, judged by threshold.c.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "util.h"

double checks_json_num(const json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *checks_json_str(const json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Here, the lowest module that reads the snapshot, so that checks, pools, output, watch
 * and the PgBouncer sizing all count the slots one way. */
double checks_reserved_connections(const json_t *snap)
{
	return checks_json_num(snap, "superuser_reserved") + checks_json_num(snap, "reserved");
}

double checks_usable_connections(const json_t *snap)
{
	return checks_json_num(snap, "max_connections") - checks_reserved_connections(snap);
}

/* Many drivers leave application_name empty: say so rather than print "". */
static char *app_label(const char *app)
{
	return app && *app ? xasprintf("application \"%s\"", app) : xstrdup("no application_name");
}

/* " (pid 123, user u, application "web", client 10.0.0.5)" for a top session, or ""
 * when there is none. */
char *checks_who(const json_t *s)
{
	if (!s || json_is_null(s))
		return xstrdup("");
	char *app = app_label(checks_json_str(s, "application"));
	const char *client = checks_json_str(s, "client");
	char *out = xasprintf(" (pid %.0f, user %s, %s%s%s)", checks_json_num(s, "pid"),
			      checks_json_str(s, "user") ? checks_json_str(s, "user") : "?", app,
			      client ? ", client " : "", client ? client : "");
	free(app);
	return out;
}

/* ---- the checks of one target ---- */

void checks_failure(struct report *r, const char *check_id, const char *subject,
		    const struct probe_error *e)
{
	struct check *c = report_check(r, check_id, ST_CRITICAL, subject, "%s",
				       e->message ? e->message : "failed");
	if (e->hint)
		check_hint(c, "%s", e->hint);
}

static void check_latency(struct report *r, const struct target *t, const struct probe_opts *o,
			  enum th_id id, double ms, const char *what)
{
	const struct threshold *th = &o->th[id];
	enum status st = threshold_eval(th, ms / 1000, NAN);
	struct check *c = report_check(r, threshold_defs[id].id, st, t->name, "%s in %.1f ms", what, ms);
	char *name = xasprintf("%s_seconds", threshold_defs[id].id);
	check_metric(c, name, ms / 1000, "s", threshold_perf(th, NAN, 0, NAN));
	free(name);
	if (st != ST_OK)
		check_hint(c, "slow answers: look at the server's load, the network, or pg_hba.conf DNS lookups");
}

static void check_connections(struct report *r, const struct target *t, const struct probe_opts *o)
{
	const json_t *s = t->snap;
	double max = checks_json_num(s, "max_connections"), total = checks_json_num(s, "total");
	double reserved = checks_reserved_connections(s), usable = checks_usable_connections(s);
	double pct = usable > 0 ? 100 * total / usable : 100;
	const struct threshold *th = &o->th[TH_CONNECTIONS];
	enum status st = threshold_eval(th, total, usable);
	struct check *c = report_check(r, "connections", st, t->name,
				       "%.0f of %.0f usable connections in use (%.0f%%; max_connections %.0f, %.0f reserved)",
				       total, usable, pct, max, reserved);
	check_metric(c, "connections", total, "", threshold_perf(th, usable, 0, usable));
	check_metric(c, "connections_used_percent", pct, "%", THRESHOLDS_NONE);
	if (st != ST_OK && json_is_false(json_object_get(s, "may_use_reserved")) && checks_json_num(s, "reserved") > 0)
		check_hint(c, "see who holds them (the by-application table), end idle sessions, or shrink the pools; "
			   "GRANT pg_use_reserved_connections TO %s so that the probe still gets in when the server is full",
			   checks_json_str(s, "role") ? checks_json_str(s, "role") : "the probe's role");
	else if (st != ST_OK)
		check_hint(c, "see who holds them (the by-application table), end idle sessions, or shrink the pools");

	const json_t *top = json_array_get(json_object_get(s, "apps"), 0);
	double n = top ? checks_json_num(top, "total") : 0;
	th = &o->th[TH_APP_SHARE];
	st = threshold_eval(th, n, usable);
	char *app = app_label(top ? checks_json_str(top, "application") : NULL);
	if (top)
		c = report_check(r, "application-share", st, t->name,
				 "%s holds %.0f %s, %.0f%% of the usable slots",
				 app, n, n == 1 ? "connection" : "connections", usable > 0 ? 100 * n / usable : 0);
	else
		c = report_check(r, "application-share", st, t->name, "no client connections");
	free(app);
	check_metric(c, "application_connections", n, "", threshold_perf(th, usable, 0, usable));
	if (st != ST_OK)
		check_hint(c, "that application's pool is too large for this server: workers x pool size must fit");
}

/* track_activities = off: pg_stat_activity has no state, query or ages for anyone, so
 * the checks that read them cannot tell (UNKNOWN, never an OK that means nothing). */
static bool activity_untracked(struct report *r, const struct target *t, const char *id)
{
	if (!json_is_false(json_object_get(t->snap, "track_activities")))
		return false;
	struct check *c = report_check(r, id, ST_UNKNOWN, t->name,
				       "track_activities is off: pg_stat_activity shows no state, query or ages");
	check_hint(c, "ALTER SYSTEM SET track_activities = on; SELECT pg_reload_conf(); (or remove it from the role's or database's settings)");
	return true;
}

static void check_session_age(struct report *r, const struct target *t, const struct probe_opts *o,
			      enum th_id id, const char *top_key, const char *what, const char *none,
			      const char *hint)
{
	if (activity_untracked(r, t, threshold_defs[id].id))
		return;
	const json_t *top = json_object_get(t->snap, top_key);
	double age = json_is_object(top) ? checks_json_num(top, "age") : 0;
	const struct threshold *th = &o->th[id];
	enum status st = threshold_eval(th, age, NAN);
	char *whom = checks_who(top);
	struct check *c = json_is_object(top)
		? report_check(r, threshold_defs[id].id, st, t->name, "%s for %s%s", what, human_duration(age), whom)
		: report_check(r, threshold_defs[id].id, st, t->name, "%s", none);
	free(whom);
	char *metric = xasprintf("%s_seconds", threshold_defs[id].id);
	for (char *p = metric; *p; p++)
		*p = *p == '-' ? '_' : *p;
	check_metric(c, metric, age, "s", threshold_perf(th, NAN, 0, NAN));
	free(metric);
	if (st != ST_OK)
		check_hint(c, "%s", hint);
}

/* The session with that pid in the snapshot's sessions list, or NULL. */
static const json_t *session_of(const json_t *snap, long long pid)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(snap, "sessions"), i, x)
		if ((long long)checks_json_num(x, "pid") == pid)
			return x;
	return NULL;
}

/*
 * "the longest for 3s (pid 12, ...), waiting for ShareLock on transactionid, blocked by
 * pid 10 (root blocker pid 9)". The root blocker is found by following the first
 * blocker of each waiting session through the sessions list (waiting and blocking
 * sessions are always listed), at most 50 steps: a deadlock cycle ends there.
 */
static char *lock_wait_words(const json_t *snap, const json_t *top)
{
	struct strbuf sb = STRBUF_INIT, pids = STRBUF_INIT;
	json_t *b;
	size_t i;
	json_array_foreach(json_object_get(top, "blocked_by"), i, b)
		sb_addf(&pids, "%s%lld", i ? ", " : "", (long long)json_integer_value(b));
	char *whom = checks_who(top);
	double wait = checks_json_num(top, "wait_age");
	/* pg_locks.waitstart (14+) is the wait itself; before, the age of the waiting query. */
	sb_addf(&sb, "the longest for %s%s", human_duration(isnan(wait) ? checks_json_num(top, "age") : wait), whom);
	free(whom);
	const char *mode = checks_json_str(top, "lock_mode"), *rel = checks_json_str(top, "lock_relation"), *type = checks_json_str(top, "lock_type");
	if (mode)
		sb_addf(&sb, ", waiting for %s on %s%s", mode, rel ? "relation " : "", rel ? rel : type ? type : "?");
	bool prepared = json_is_true(json_object_get(top, "by_prepared"));
	if (pids.len)
		sb_addf(&sb, ", blocked by pid %s", sb_str(&pids));
	if (prepared)
		sb_addf(&sb, "%s a prepared transaction", pids.len ? " and" : ", blocked by");
	long long root = -1;
	const json_t *cur = top;
	for (int step = 0; step < 50 && cur; step++) {
		json_t *first = json_array_get(json_object_get(cur, "blocked_by"), 0);
		if (!json_is_integer(first))
			break;
		root = json_integer_value(first);
		cur = session_of(snap, root);
		if (cur && json_array_size(json_object_get(cur, "blocked_by")) == 0)
			break;
	}
	json_t *direct = json_array_get(json_object_get(top, "blocked_by"), 0);
	if (root >= 0 && (!json_is_integer(direct) || json_integer_value(direct) != root))
		sb_addf(&sb, " (root blocker pid %lld)", root);
	sb_release(&pids);
	return sb_detach(&sb);
}

/* "pid 12 (user u, application "web") 2m05s, query "UPDATE t SET ..."" for each of the
 * longest sessions idle in a transaction (the query head comes on one line). */
static char *idle_tx_names(const json_t *longest)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *s;
	json_array_foreach(longest, i, s) {
		const char *q = checks_json_str(s, "query");
		char *app = app_label(checks_json_str(s, "application"));
		sb_addf(&sb, "%spid %.0f (user %s, %s) %s", i ? "; " : "", checks_json_num(s, "pid"),
			checks_json_str(s, "user") ? checks_json_str(s, "user") : "?", app,
			human_duration(checks_json_num(s, "age")));
		free(app);
		if (q)
			sb_addf(&sb, ", query \"%s\"", q);
	}
	return sb_detach(&sb);
}

static void check_idle_tx_count(struct report *r, const struct target *t, const struct probe_opts *o, double usable)
{
	if (activity_untracked(r, t, "idle-in-transaction-count"))
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

static void check_counts(struct report *r, const struct target *t, const struct probe_opts *o, double usable)
{
	const json_t *s = t->snap;
	double waiting = checks_json_num(s, "waiting");
	const struct threshold *th = &o->th[TH_LOCK_WAITS];
	enum status st = threshold_eval(th, waiting, usable);
	struct check *c;
	const json_t *top = json_object_get(s, "top_wait");
	double lw = checks_json_num(s, "lwlock_waits");
	char *lw_words = lw > 0 ? xasprintf(" (%.0f more %s on lightweight locks or buffer pins, not counted: "
					   "contention, not a lock queue)", lw, lw == 1 ? "waits" : "wait")
				: xstrdup("");
	if (waiting > 0 && json_is_object(top)) {
		char *what = lock_wait_words(s, top);
		c = report_check(r, "lock-waits", st, t->name, "%.0f %s on locks; %s%s", waiting,
				 waiting == 1 ? "session waits" : "sessions wait", what, lw_words);
		free(what);
	} else {
		c = report_check(r, "lock-waits", st, t->name, "no session waits on a lock%s", lw_words);
	}
	free(lw_words);
	check_metric(c, "lock_waits", waiting, "", threshold_perf(th, usable, 0, usable));
	check_metric(c, "lwlock_waits", isnan(lw) ? 0 : lw, "", THRESHOLDS_NONE);
	if (st != ST_OK && json_is_true(json_object_get(top, "by_prepared")))
		check_hint(c, "a prepared transaction holds the lock: see pg_prepared_xacts, then COMMIT PREPARED or ROLLBACK PREPARED its gid");
	else if (st != ST_OK)
		check_hint(c, "look at the blocking sessions (kind \"blocking\"); pg_terminate_backend(pid) of the root blocker ends the queue");

	if (activity_untracked(r, t, "idle-connections"))
		return;
	double stale = checks_json_num(s, "stale_idle");
	th = &o->th[TH_IDLE_CONNS];
	st = threshold_eval(th, stale, usable);
	c = report_check(r, "idle-connections", st, t->name,
			 "%.0f connections idle for more than %s (stale pool members)", stale,
			 human_duration(o->idle_age_s));
	check_metric(c, "idle_connections", stale, "", threshold_perf(th, usable, 0, usable));
	if (st != ST_OK)
		check_hint(c, "pools keep more idle connections than they use: lower pool_min or set an idle timeout");
}

/* A monitoring role without pg_read_all_stats (pg_monitor) sees other roles' sessions
 * without state, age or locks: every check below would read them as harmless. */
static void check_visibility(struct report *r, const struct target *t)
{
	double hidden = checks_json_num(t->snap, "hidden");
	const char *role = checks_json_str(t->snap, "role") ? checks_json_str(t->snap, "role") : "?";
	struct check *c;
	if (hidden > 0) {
		c = report_check(r, "visibility", ST_WARNING, t->name,
				 "role %s cannot see inside %.0f %s of other roles (no pg_read_all_stats): their state, "
				 "age and locks are unknown, so the session checks may miss them",
				 role, hidden, hidden == 1 ? "session" : "sessions");
		check_hint(c, "GRANT pg_monitor TO %s; or probe as a role that has it", role);
	} else {
		c = report_check(r, "visibility", ST_OK, t->name, "role %s sees every session", role);
	}
	check_metric(c, "hidden_sessions", isnan(hidden) ? 0 : hidden, "", THRESHOLDS_NONE);
}

static void check_replica(struct report *r, const struct target *t, const struct probe_opts *o)
{
	json_t *rec = json_object_get(t->snap, "in_recovery");
	if (!json_is_true(rec))
		return;
	const char *why = checks_json_str(t->snap, "replication_error");
	if (why) {
		struct check *c = report_check(r, "replication-lag", ST_UNKNOWN, t->name,
					       "replica: the replication functions failed, so the lag is unknown (the "
					       "other checks come from a reduced statement): %s", why);
		check_hint(c, "a managed replica (Aurora) may not offer pg_stat_wal_receiver or pg_last_wal_receive_lsn(); "
			   "otherwise GRANT pg_monitor, or EXECUTE on them, to the probe's role");
		return;
	}
	double lag = checks_json_num(t->snap, "replay_lag");
	bool streaming = json_is_true(json_object_get(t->snap, "streaming"));
	const struct threshold *th = &o->th[TH_REPL_LAG];
	enum status st = isnan(lag) ? ST_WARNING : threshold_eval(th, lag, NAN);
	struct check *c;
	if (isnan(lag))
		c = report_check(r, "replication-lag", st, t->name, "replica has not replayed any transaction yet");
	else if (!streaming)
		/* Without a WAL receiver nothing new arrives, so "all received is replayed"
		 * proves nothing: the age of the last replayed transaction is the lag. */
		c = report_check(r, "replication-lag", st, t->name,
				 "replica is not streaming from the primary (no WAL receiver); last transaction replayed %s ago",
				 human_duration(lag));
	else
		c = report_check(r, "replication-lag", st, t->name, "replica replays %s behind the primary (%s of WAL received, not replayed)",
				 human_duration(lag), human_bytes(checks_json_num(t->snap, "replay_lag_bytes")));
	check_metric(c, "replication_lag_seconds", isnan(lag) ? NAN : lag, "s", threshold_perf(th, NAN, 0, NAN));
	if (st != ST_OK && !streaming)
		check_hint(c, "check primary_conninfo and the replica's log (pg_stat_wal_receiver is empty), and that the primary is up");
	else if (st != ST_OK)
		check_hint(c, "check the replica's I/O, long queries on the replica (recovery conflicts), and the network");
}

void checks_target(struct report *r, const struct target *t, const struct probe_opts *o)
{
	if (!t->snap) {
		/* Logged in, then failed: the query check (a PgBouncer refusal may come then). */
		checks_failure(r, t->err.kind == FAIL_QUERY || !isnan(t->connect_ms) ? "query" : "connect", t->name,
			       &t->err);
		return;
	}
	check_latency(r, t, o, TH_CONNECT, t->connect_ms, "connected");
	check_latency(r, t, o, TH_QUERY, t->query_ms, "probe query answered");
	check_connections(r, t, o);
	check_visibility(r, t);
	double usable = checks_usable_connections(t->snap);
	check_session_age(r, t, o, TH_IDLE_TX, "top_idle_tx", "oldest session idle in transaction",
			  "no session is idle in transaction",
			  "the application forgot a COMMIT/ROLLBACK; it holds locks and blocks vacuum: end it or fix the code path");
	check_idle_tx_count(r, t, o, usable);
	check_counts(r, t, o, usable);
	check_session_age(r, t, o, TH_LONG_QUERIES, "top_query", "longest running query",
			  "no query is running", "look at the query (sessions, kind \"long\"); pg_cancel_backend(pid) stops it");
	check_session_age(r, t, o, TH_OLDEST_XACT, "top_xact", "oldest open transaction",
			  "no transaction is open", "old transactions hold back vacuum (table bloat): find and end them");
	check_replica(r, t, o);
}
