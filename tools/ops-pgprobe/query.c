/*
 * query — the one query. Everything the checks need comes back in a single round trip as
 * one JSON document built on the server (json_build_object over CTEs on
 * pg_stat_activity), so the probe costs one connection and one query whatever the number
 * of sessions. pg_blocking_pids() is called only for sessions waiting on a lock: it takes
 * the lock manager's partition locks, which is not free on a busy server.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "pgprobe.h"
#include "util.h"

/* Sessions listed in "sessions" and checks' "top" sessions share these columns. */
#define SESSION_COLS \
	"pid, usename AS user, application_name AS application, client, datname AS database, state, " \
	"round(xact_age::numeric, 3)::float8 AS xact_age, wait_event_type, wait_event, " \
	"lock_mode, lock_type, lock_relation, round(wait_age::numeric, 3)::float8 AS wait_age, by_prepared, "

static void add_header(struct strbuf *sb, const struct server_features *f, double statement_timeout_ms,
		       const struct probe_opts *o)
{
	/* SET LOCAL: the statements of one simple query run as one implicit transaction,
	 * so the timeouts end with it and never leak into a pooled server connection when
	 * the target is a PgBouncer database in transaction pooling. */
	sb_addf(sb, "SET LOCAL statement_timeout = %d; SET LOCAL lock_timeout = %d;\n",
		(int)statement_timeout_ms, (int)statement_timeout_ms);
	sb_addstr(sb,
		  "WITH a0 AS (\n"
		  "  SELECT pid, datname, usename, application_name, client_addr,\n"
		  /* A role without pg_read_all_stats sees only pid, datname, usename and
		   * application_name of other roles' sessions (query reads "<insufficient
		   * privilege>", in every version; state, client and backend_type are NULL). */
		  "         state, backend_type, query IS NOT DISTINCT FROM '<insufficient privilege>' AS hidden,\n"
		  "         " AGE_OF("xact_start") " AS xact_age,\n"
		  "         " AGE_OF("query_start") " AS query_age,\n"
		  "         " AGE_OF("state_change") " AS state_age,\n"
		  "         wait_event_type, wait_event,\n"
		  "         CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END AS blocked_raw,\n");
	/* Query text is never fetched with --no-query-text; otherwise it is masked and cut
	 * in add_sessions(), for the sessions listed only, not for every backend. */
	sb_addstr(sb, o->query_text ? "         query\n" : "         NULL::text AS query\n");
	/* query_id (for pg_stat_statements) arrived in 14. */
	sb_addstr(sb, f->version_num >= 140000 ? "         , query_id\n" : "         , NULL::bigint AS query_id\n");
	sb_addstr(sb, "  FROM pg_stat_activity\n");
	/* The lock a session waits for, and since 14 since when (pg_locks.waitstart): read
	 * only when some session waits on a heavyweight lock (the EXISTS is a one-time
	 * filter: pg_locks is not scanned otherwise, it takes the lock manager's locks). */
	sb_addf(sb,
		"), lw AS (\n"
		"  SELECT DISTINCT ON (pid) pid, mode, locktype,\n"
		"         CASE WHEN relation IS NOT NULL THEN relation::regclass::text END AS relation,\n"
		"         %s AS wait_age\n"
		"  FROM pg_locks WHERE NOT granted AND EXISTS (SELECT 1 FROM a0 WHERE wait_event_type = 'Lock')\n"
		"  ORDER BY pid, wait_age DESC NULLS LAST\n",
		f->version_num >= 140000 ? AGE_OF("waitstart")
					 : "NULL::float8");
	sb_addstr(sb,
		  "), a AS (\n"
		  "  SELECT a0.*,\n"
		  /* Hidden rows have no client address or backend type: "hidden", not "local".
		   * One with a database and a user is counted as a client backend (background
		   * workers have no user, except parallel and logical replication workers). */
		  "         CASE WHEN hidden THEN 'hidden' ELSE host(client_addr) END AS client,\n"
		  "         coalesce(backend_type, CASE WHEN hidden AND datname IS NOT NULL AND usename IS NOT NULL\n"
		  "           THEN 'client backend' END) AS kind_of_backend,\n"
		  /* pg_blocking_pids() gives 0 for a prepared transaction and a pid once per lock
		   * it waits behind: distinct real pids, and the prepared transaction apart. */
		  "         ARRAY(SELECT DISTINCT p FROM unnest(blocked_raw) p WHERE p <> 0 ORDER BY p) AS blocked_by,\n"
		  "         coalesce(0 = ANY(blocked_raw), false) AS by_prepared,\n"
		  "         coalesce(blocked_raw <> '{}', false) AS is_waiting,\n"
		  "         lw.mode AS lock_mode, lw.locktype AS lock_type, lw.relation AS lock_relation, lw.wait_age\n"
		  "  FROM a0 LEFT JOIN lw USING (pid)\n"
		  "), c AS (SELECT * FROM a WHERE kind_of_backend = 'client backend'),\n"
		  "o AS (SELECT * FROM c WHERE pid <> pg_backend_pid()),\n"
		  "blockers AS (SELECT DISTINCT unnest(blocked_by) AS pid FROM o)");
	sessions_sql_cte(sb, o);
	sb_addstr(sb, "\n");
}

static void add_settings(struct strbuf *sb, const struct server_features *f)
{
	sb_addstr(sb,
		  "SELECT json_build_object(\n"
		  " 'version', current_setting('server_version'),\n"
		  " 'version_num', current_setting('server_version_num')::int,\n"
		  " 'max_connections', current_setting('max_connections')::int,\n"
		  " 'superuser_reserved', current_setting('superuser_reserved_connections')::int,\n");
	/* Slots ordinary roles cannot use besides superuser_reserved_connections: Amazon
	 * RDS keeps rds.rds_superuser_reserved_connections for rds_superuser (a setting that
	 * only exists there: missing_ok), and from 16 reserved_connections is kept for
	 * roles with pg_use_reserved_connections, which the probe's role may have. */
	sb_addstr(sb, " 'rds_reserved', coalesce(current_setting('rds.rds_superuser_reserved_connections', true)::int, 0),\n");
	if (f->version_num >= 160000)
		sb_addstr(sb, " 'reserved', current_setting('reserved_connections')::int\n"
			      "    + coalesce(current_setting('rds.rds_superuser_reserved_connections', true)::int, 0),\n"
			      " 'may_use_reserved', pg_has_role('pg_use_reserved_connections', 'USAGE')\n"
			      "    OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),\n");
	else
		sb_addstr(sb, " 'reserved', coalesce(current_setting('rds.rds_superuser_reserved_connections', true)::int, 0),\n");
	/* track_activities = off leaves state, query and ages empty for every session. */
	/* the bytes of a statement pg_stat_activity keeps (query_text.c: a cut there may
	 * fall inside a secret); pg_settings: current_setting() gives it with a unit */
	sb_addstr(sb, " 'track_activity_query_size', (SELECT setting::int FROM pg_settings\n"
		      "    WHERE name = 'track_activity_query_size'),\n");
	sb_addstr(sb, " 'track_activities', current_setting('track_activities')::bool,\n"
		      " 'in_recovery', pg_is_in_recovery(),\n");
	if (f->no_replication) {
		/* The reduced statement, after the full one failed: no WAL receiver and no
		 * recovery functions (Aurora readers raise on them, other managed servers lack
		 * or forbid them). The replication-lag check says why it cannot tell. */
		sb_addstr(sb, " 'streaming', NULL, 'replay_lag', NULL, 'replay_lag_bytes', NULL,\n");
		return;
	}
	if (f->in_recovery == 0) {
		/* A primary (PostgreSQL 14+ reports in_hot_standby at login): nothing to ask. */
		sb_addstr(sb, " 'streaming', NULL, 'replay_lag', NULL, 'replay_lag_bytes', NULL,\n");
		return;
	}
	sb_addstr(sb,
		  /* All received WAL replayed means no lag only while a WAL receiver runs: a
		   * replica cut off from its primary has replayed all it ever received. */
		  " 'streaming', CASE WHEN pg_is_in_recovery() THEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver) END,\n"
		  " 'replay_lag', CASE WHEN pg_is_in_recovery() THEN\n"
		  "    CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()\n"
		  "      AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0\n"
		  "    ELSE " AGE_OF("pg_last_xact_replay_timestamp()") " END END,\n"
		  " 'replay_lag_bytes', CASE WHEN pg_is_in_recovery() THEN\n"
		  "    pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 END,\n");
}

static void add_counts(struct strbuf *sb, const struct probe_opts *o)
{
	sb_addstr(sb,
		  " 'total', (SELECT count(*) FROM c),\n"
		  " 'role', current_user,\n"
		  " 'hidden', (SELECT count(*) FROM c WHERE hidden),\n"
		  " 'by_state', (SELECT coalesce(json_object_agg(st, n), '{}') FROM\n"
		  "    (SELECT CASE WHEN hidden THEN 'hidden' ELSE coalesce(state, 'unknown') END AS st, count(*) AS n\n"
		  "     FROM c GROUP BY 1 ORDER BY 1) s),\n"
		  " 'background', (SELECT coalesce(json_object_agg(bt, n), '{}') FROM\n"
		  "    (SELECT coalesce(kind_of_backend, CASE WHEN hidden THEN 'hidden' ELSE 'unknown' END) AS bt,\n"
		  "     count(*) AS n FROM a WHERE kind_of_backend IS DISTINCT FROM 'client backend' GROUP BY 1 ORDER BY 1) s),\n"
		  " 'groups', (SELECT coalesce(json_agg(g), '[]') FROM (\n"
		  "    SELECT datname AS database, usename AS user, application_name AS application, client,\n"
		  "      count(*) AS total,\n"
		  "      count(*) FILTER (WHERE state = 'active') AS active,\n"
		  "      count(*) FILTER (WHERE state = 'idle') AS idle,\n"
		  "      count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction,\n"
		  "      count(*) FILTER (WHERE state = 'idle in transaction (aborted)') AS idle_in_transaction_aborted,\n"
		  "      count(*) FILTER (WHERE state = 'fastpath function call') AS fastpath,\n"
		  "      count(*) FILTER (WHERE is_waiting) AS waiting\n"
		  "    FROM c GROUP BY 1, 2, 3, 4 ORDER BY total DESC, 1, 2, 3, 4 LIMIT 100) g),\n"
		  " 'apps', (SELECT coalesce(json_agg(x), '[]') FROM (\n"
		  "    SELECT application_name AS application, count(*) AS total FROM c\n"
		  "    GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1) x),\n"
		  " 'waiting', (SELECT count(*) FROM o WHERE is_waiting),\n"
		  /* Waits on lightweight locks (LockManager, BufferPin ...) are no lock queue
		   * behind a session, but a sign of contention: counted apart. */
		  " 'lwlock_waits', (SELECT count(*) FROM o WHERE wait_event_type IN ('LWLock', 'BufferPin')),\n");
	sb_addf(sb, " 'stale_idle', (SELECT count(*) FROM o WHERE state = 'idle' AND state_age >= %.3f),\n",
		o->idle_age_s);
	sb_addf(sb, " 'long_queries', (SELECT count(*) FROM o WHERE state = 'active' AND query_age >= %.3f),\n",
		o->session_age_s);
}

/* The worst session of each kind, with who it is, for the checks' messages. */
static void add_tops(struct strbuf *sb)
{
	/* The session-age checks read "ox": the sessions --exclude-* leaves in. */
	static const struct { const char *key, *age, *from, *where; } tops[] = {
		{ "top_idle_tx", "state_age", "ox", "state LIKE 'idle in transaction%'" },
		{ "top_query", "query_age", "ox", "state = 'active'" },
		{ "top_xact", "xact_age", "ox", "xact_age IS NOT NULL" },
		{ "top_wait", "coalesce(wait_age, state_age)", "o", "is_waiting" },
		{ "top_stale_idle", "state_age", "o", "state = 'idle'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tops); i++)
		sb_addf(sb, " '%s', (SELECT row_to_json(t) FROM (SELECT " SESSION_COLS
			"round(%s::numeric, 3)::float8 AS age, coalesce(blocked_by, '{}') AS blocked_by\n"
			"    FROM %s WHERE %s ORDER BY %s DESC NULLS LAST LIMIT 1) t),\n",
			tops[i].key, tops[i].age, tops[i].from, tops[i].where, tops[i].age);
}

static void add_sessions(struct strbuf *sb, const struct probe_opts *o)
{
	double age = o->session_age_s;
	sb_addf(sb,
		" 'sessions', (SELECT coalesce(json_agg(s), '[]') FROM (\n"
		"    SELECT " SESSION_COLS "\n"
		"      CASE WHEN is_waiting THEN 'waiting'\n"
		"           WHEN pid IN (SELECT pid FROM blockers) THEN 'blocking'\n"
		"           WHEN state LIKE 'idle in transaction%%' THEN 'idle in transaction'\n"
		"           WHEN state = 'active' THEN 'long'\n"
		"           ELSE 'old transaction' END AS kind,\n"
		"      round((CASE WHEN state = 'active' THEN query_age ELSE state_age END)::numeric, 3)::float8 AS age,\n"
		"      coalesce(blocked_by, '{}') AS blocked_by, query_id,\n      ");
	sessions_sql_query_text(sb, o->query_max);
	sb_addf(sb, " AS query\n"
		"    FROM o WHERE is_waiting OR pid IN (SELECT pid FROM blockers)\n"
		"      OR (state LIKE 'idle in transaction%%' AND state_age >= %.3f)\n"
		"      OR (state = 'active' AND query_age >= %.3f)\n"
		"      OR xact_age >= %.3f\n"
		"    ORDER BY is_waiting DESC, (pid IN (SELECT pid FROM blockers)) DESC,\n"
		"      xact_age DESC NULLS LAST, pid LIMIT 50) s)\n"
		") AS probe",
		age, age, age);
}

char *query_sql(const struct probe_opts *o, const struct server_features *f, double statement_timeout_ms)
{
	struct strbuf sb = STRBUF_INIT;
	add_header(&sb, f, statement_timeout_ms, o);
	add_settings(&sb, f);
	add_counts(&sb, o);
	sessions_sql_keys(&sb, o);
	add_tops(&sb);
	add_sessions(&sb, o);
	return sb_detach(&sb);
}
