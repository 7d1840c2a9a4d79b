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
	"round(xact_age::numeric, 3)::float8 AS xact_age, wait_event_type, wait_event, "

static void add_header(struct strbuf *sb, int version_num, double statement_timeout_ms, const struct probe_opts *o)
{
	/* SET LOCAL: the statements of one simple query run as one implicit transaction,
	 * so the timeouts end with it and never leak into a pooled server connection when
	 * the target is a PgBouncer database in transaction pooling. */
	sb_addf(sb, "SET LOCAL statement_timeout = %d; SET LOCAL lock_timeout = %d;\n",
		(int)statement_timeout_ms, (int)statement_timeout_ms);
	sb_addstr(sb,
		  "WITH a AS (\n"
		  "  SELECT pid, datname, usename, application_name, host(client_addr) AS client,\n"
		  /* A role without pg_read_all_stats sees only pid, datname, usename and
		   * application_name of other roles' sessions (query reads "<insufficient
		   * privilege>", in every version; backend_type is NULL in some): a row with a
		   * database is then counted as a client backend whose state is unknown
		   * ("hidden"), rather than silently dropped from the connection count. */
		  "         state, coalesce(backend_type, CASE WHEN datname IS NOT NULL THEN 'client backend' END)\n"
		  "           AS backend_type, query IS NOT DISTINCT FROM '<insufficient privilege>' AS hidden,\n"
		  "         extract(epoch FROM now() - xact_start)::float8 AS xact_age,\n"
		  "         extract(epoch FROM now() - query_start)::float8 AS query_age,\n"
		  "         extract(epoch FROM now() - state_change)::float8 AS state_age,\n"
		  "         wait_event_type, wait_event,\n"
		  "         CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END AS blocked_by,\n");
	/* Query text is never fetched with --no-query-text; otherwise it is masked and cut
	 * in add_sessions(), for the sessions listed only, not for every backend. */
	sb_addstr(sb, o->query_text ? "         query\n" : "         NULL::text AS query\n");
	/* query_id (for pg_stat_statements) arrived in 14. */
	sb_addstr(sb, version_num >= 140000 ? "         , query_id\n" : "         , NULL::bigint AS query_id\n");
	sb_addstr(sb, "  FROM pg_stat_activity\n");
	sb_addstr(sb,
		  "), c AS (SELECT * FROM a WHERE backend_type = 'client backend'),\n"
		  "o AS (SELECT * FROM c WHERE pid <> pg_backend_pid()),\n"
		  "blockers AS (SELECT DISTINCT unnest(blocked_by) AS pid FROM o)\n");
}

static void add_settings(struct strbuf *sb, int version_num)
{
	sb_addstr(sb,
		  "SELECT json_build_object(\n"
		  " 'version', current_setting('server_version'),\n"
		  " 'version_num', current_setting('server_version_num')::int,\n"
		  " 'max_connections', current_setting('max_connections')::int,\n"
		  " 'superuser_reserved', current_setting('superuser_reserved_connections')::int,\n");
	/* reserved_connections (pg_use_reserved_connections) arrived in 16. */
	if (version_num >= 160000)
		sb_addstr(sb, " 'reserved', current_setting('reserved_connections')::int,\n");
	else
		sb_addstr(sb, " 'reserved', 0,\n");
	sb_addstr(sb,
		  " 'in_recovery', pg_is_in_recovery(),\n"
		  /* All received WAL replayed means no lag only while a WAL receiver runs: a
		   * replica cut off from its primary has replayed all it ever received. */
		  " 'streaming', CASE WHEN pg_is_in_recovery() THEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver) END,\n"
		  " 'replay_lag', CASE WHEN pg_is_in_recovery() THEN\n"
		  "    CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()\n"
		  "      AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0\n"
		  "    ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END END,\n"
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
		  "    (SELECT coalesce(state, 'unknown') AS st, count(*) AS n FROM c GROUP BY 1 ORDER BY 1) s),\n"
		  " 'background', (SELECT coalesce(json_object_agg(bt, n), '{}') FROM\n"
		  "    (SELECT coalesce(backend_type, 'unknown') AS bt, count(*) AS n FROM a\n"
		  "     WHERE backend_type IS DISTINCT FROM 'client backend' GROUP BY 1 ORDER BY 1) s),\n"
		  " 'groups', (SELECT coalesce(json_agg(g), '[]') FROM (\n"
		  "    SELECT datname AS database, usename AS user, application_name AS application, client,\n"
		  "      count(*) AS total,\n"
		  "      count(*) FILTER (WHERE state = 'active') AS active,\n"
		  "      count(*) FILTER (WHERE state = 'idle') AS idle,\n"
		  "      count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction,\n"
		  "      count(*) FILTER (WHERE state = 'idle in transaction (aborted)') AS idle_in_transaction_aborted,\n"
		  "      count(*) FILTER (WHERE state = 'fastpath function call') AS fastpath,\n"
		  "      count(*) FILTER (WHERE blocked_by <> '{}') AS waiting\n"
		  "    FROM c GROUP BY 1, 2, 3, 4 ORDER BY total DESC, 1, 2, 3, 4 LIMIT 100) g),\n"
		  " 'apps', (SELECT coalesce(json_agg(x), '[]') FROM (\n"
		  "    SELECT application_name AS application, count(*) AS total FROM c\n"
		  "    GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1) x),\n"
		  " 'idle_tx', (SELECT count(*) FROM o WHERE state LIKE 'idle in transaction%'),\n"
		  " 'waiting', (SELECT count(*) FROM o WHERE blocked_by <> '{}'),\n");
	sb_addf(sb, " 'stale_idle', (SELECT count(*) FROM o WHERE state = 'idle' AND state_age >= %.3f),\n",
		o->idle_age_s);
	sb_addf(sb, " 'long_queries', (SELECT count(*) FROM o WHERE state = 'active' AND query_age >= %.3f),\n",
		o->session_age_s);
}

/* The worst session of each kind, with who it is, for the checks' messages. */
static void add_tops(struct strbuf *sb)
{
	static const struct { const char *key, *age, *where; } tops[] = {
		{ "top_idle_tx", "state_age", "state LIKE 'idle in transaction%'" },
		{ "top_query", "query_age", "state = 'active'" },
		{ "top_xact", "xact_age", "xact_age IS NOT NULL" },
		{ "top_wait", "state_age", "blocked_by <> '{}'" },
		{ "top_stale_idle", "state_age", "state = 'idle'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tops); i++)
		sb_addf(sb, " '%s', (SELECT row_to_json(t) FROM (SELECT " SESSION_COLS
			"round(%s::numeric, 3)::float8 AS age, coalesce(blocked_by, '{}') AS blocked_by\n"
			"    FROM o WHERE %s ORDER BY %s DESC NULLS LAST LIMIT 1) t),\n",
			tops[i].key, tops[i].age, tops[i].where, tops[i].age);
}

static void add_sessions(struct strbuf *sb, const struct probe_opts *o)
{
	double age = o->session_age_s;
	sb_addf(sb,
		" 'sessions', (SELECT coalesce(json_agg(s), '[]') FROM (\n"
		"    SELECT " SESSION_COLS "\n"
		"      CASE WHEN blocked_by <> '{}' THEN 'waiting'\n"
		"           WHEN pid IN (SELECT pid FROM blockers) THEN 'blocking'\n"
		"           WHEN state LIKE 'idle in transaction%%' THEN 'idle in transaction'\n"
		"           WHEN state = 'active' THEN 'long'\n"
		"           ELSE 'old transaction' END AS kind,\n"
		"      round((CASE WHEN state = 'active' THEN query_age ELSE state_age END)::numeric, 3)::float8 AS age,\n"
		"      coalesce(blocked_by, '{}') AS blocked_by, query_id,\n"
		/* Passwords in statements (CREATE/ALTER ROLE ... PASSWORD '...') are masked on
		 * the server, before truncation can cut a literal open; a literal left
		 * unterminated by track_activity_query_size is masked to the end. */
		"      left(regexp_replace(query, E'(password\\\\s*=?\\\\s*)''(''''|[^''])*(''|$)',\n"
		"           E'\\\\1''***''', 'gi'), %d) AS query\n"
		"    FROM o WHERE blocked_by <> '{}' OR pid IN (SELECT pid FROM blockers)\n"
		"      OR (state LIKE 'idle in transaction%%' AND state_age >= %.3f)\n"
		"      OR (state = 'active' AND query_age >= %.3f)\n"
		"      OR xact_age >= %.3f\n"
		"    ORDER BY (blocked_by <> '{}') IS TRUE DESC, (pid IN (SELECT pid FROM blockers)) DESC,\n"
		"      xact_age DESC NULLS LAST, pid LIMIT 50) s)\n"
		") AS probe",
		o->query_max, age, age, age);
}

char *query_sql(const struct probe_opts *o, int server_version_num, double statement_timeout_ms)
{
	struct strbuf sb = STRBUF_INIT;
	add_header(&sb, server_version_num, statement_timeout_ms, o);
	add_settings(&sb, server_version_num);
	add_counts(&sb, o);
	add_tops(&sb);
	add_sessions(&sb, o);
	return sb_detach(&sb);
}
