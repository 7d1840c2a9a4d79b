/*
 * sessions_sql — the parts of the one statement (query.c) that the session checks read:
 * sessions idle in a transaction for --idle-tx-age ("N for T") and the longest of them,
 * roles and databases with a connection limit and their use, databases that refuse
 * connections, prepared transactions, and the oldest backend and replication-slot xmin.
 *
 * --exclude-user/-application/-database take maintenance sessions (pg_dump, replication,
 * vacuum jobs) out of the session-age checks: the CTE "ox" is "o" without them. Patterns
 * are exact names or globs with * and ?, turned into LIKE patterns here, so the server
 * filters and the counts stay right whatever the number of sessions.
 */
#define _GNU_SOURCE
#include <stdlib.h>

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

void sessions_sql_exclusion(struct probe_opts *o)
{
	struct strbuf sb = STRBUF_INIT;
	sb_addstr(&sb, "false");
	add_matches(&sb, "usename", &o->exclude_users);
	add_matches(&sb, "application_name", &o->exclude_apps);
	add_matches(&sb, "datname", &o->exclude_dbs);
	free(o->exclude_sql);
	o->exclude_sql = sb_detach(&sb);
}

void sessions_sql_cte(struct strbuf *sb, const struct probe_opts *o)
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
	/* Cut on one line for the check's message once masked, by query_text_prepare()
	 * (the column is NULL with --no-query-text). */
	sessions_sql_query_text(sb, o->query_max);
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

void sessions_sql_keys(struct strbuf *sb, const struct probe_opts *o)
{
	add_idle_tx_keys(sb, o);
	add_limit_keys(sb);
	add_horizon_keys(sb);
}

/* A regex-level text as an E'' literal: whatever the server's standard_conforming_strings. */
static void add_e_literal(struct strbuf *sb, const char *text)
{
	sb_addstr(sb, "E'");
	for (const char *c = text; *c; c++)
		sb_addstr(sb, *c == '\\' ? "\\\\" : *c == '\'' ? "''" : (char[2]){ *c, '\0' });
	sb_addstr(sb, "'");
}

void sessions_sql_query_text(struct strbuf *sb, int max)
{
	/* Passwords in statements (CREATE/ALTER ROLE ... PASSWORD '...') are masked on the
	 * server, before truncation can cut a literal open; a literal left unterminated by
	 * track_activity_query_size is masked to the end. Every literal form counts: '...',
	 * E'...' and U&'...' (E'' has backslash escapes), and a dollar-quoted one, masked to
	 * the end of the text since its closing tag cannot be matched here. So is the password
	 * of a URL (dblink, COPY ... PROGRAM): cut before its '@', it is no URL to redact; one
	 * that track_activity_query_size cut before its '@' is masked to the end. */
	static const char *const masks[][2] = {
		{ "([a-z][a-z0-9+.-]*://[^:/?#@\\s']*:)[^@/?#\\s']*(@|$)", "\\1***\\2" },
		{ "(password\\s*=?\\s*)'(''|[^'])*('|$)", "\\1'***'" },
		{ "(password\\s*=?\\s*)(e|u&)'(\\\\.|''|[^'\\\\])*('|$)", "\\1\\2'***'" },
		{ "(password\\s*=?\\s*)\\$[a-z0-9_]*\\$.*$", "\\1***" },
	};
	sb_addstr(sb, "left(");
	for (size_t i = 0; i < ARRAY_SIZE(masks); i++)
		sb_addstr(sb, "regexp_replace(");
	sb_addstr(sb, "query");
	for (size_t i = 0; i < ARRAY_SIZE(masks); i++) {
		sb_addstr(sb, ", ");
		add_e_literal(sb, masks[i][0]);
		sb_addstr(sb, ", ");
		add_e_literal(sb, masks[i][1]);
		sb_addstr(sb, ", 'gi')");
	}
	/* Cut past max: a registered secret is masked whole on the client, before its cut. */
	sb_addf(sb, ", %d)", query_text_fetch_chars(max));
}
