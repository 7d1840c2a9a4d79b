/* Config keys of ops-pgprobe (section "postgres" of opskit.yaml(5)). */
#include "config.h"

#define TH(name, what)                                                                      \
	{ "postgres.thresholds." name ".warning", CFG_THRESHOLD, "warning level: " what },  \
	{ "postgres.thresholds." name ".critical", CFG_THRESHOLD, "critical level: " what }

const struct cfg_key opskit_schema_pgprobe[] = {
	{ "postgres.timeout", CFG_DURATION, "bound on the whole probe (default defaults.timeout, else 5s)" },
	{ "postgres.session_age", CFG_DURATION, "list sessions running or in a transaction at least this long (5s)" },
	{ "postgres.idle_age", CFG_DURATION, "idle connections older than this count as stale (10m)" },
	{ "postgres.query_text", CFG_BOOL, "false hides query text (like --no-query-text)" },
	{ "postgres.query_length", CFG_INT, "truncate query text to this many characters (200)" },
	{ "postgres.targets.*.dsn", CFG_STRING, "libpq DSN (key=value or postgresql:// URL) of a target" },
	{ "postgres.pgbouncer.*.dsn", CFG_STRING, "DSN of a PgBouncer admin console (dbname=pgbouncer)" },
	{ "postgres.pools.*.workers", CFG_INT, "processes of the application, each with its own pool" },
	{ "postgres.pools.*.pool_max", CFG_INT, "pool size per process" },
	{ "postgres.pools.*.pool_min", CFG_INT, "connections each process keeps open even when idle" },
	{ "postgres.pools.*.overflow", CFG_INT, "extra connections per process above pool_max" },
	{ "postgres.pools.*.env_file", CFG_STRING, "the application's .env file: pool numbers found there win" },
	{ "postgres.pools.*.env_dialect", CFG_STRING, "how to read env_file: compose (default), python, node, shell" },
	{ "postgres.pools.*.env_keys.workers", CFG_STRING, "variable of env_file holding workers (WEB_CONCURRENCY)" },
	{ "postgres.pools.*.env_keys.pool_max", CFG_STRING, "variable of env_file holding pool_max (DB_POOL_MAX)" },
	{ "postgres.pools.*.env_keys.pool_min", CFG_STRING, "variable of env_file holding pool_min (DB_POOL_MIN)" },
	{ "postgres.pools.*.env_keys.overflow", CFG_STRING, "variable of env_file holding overflow (DB_POOL_OVERFLOW)" },
	{ "postgres.pools.*.target", CFG_STRING, "the target whose max_connections the pool counts against (default all)" },
	TH("connections", "connections in use (count, or % of usable slots)"),
	TH("application_share", "connections of the largest application (count or % of usable)"),
	TH("idle_in_transaction", "age of the oldest session idle in transaction (duration)"),
	TH("idle_in_transaction_count", "sessions idle in transaction (count or % of usable)"),
	TH("long_queries", "age of the longest running query (duration)"),
	TH("lock_waits", "sessions waiting on a lock (count or % of usable)"),
	TH("oldest_transaction", "age of the oldest open transaction (duration)"),
	TH("idle_connections", "idle connections older than idle_age (count or % of usable)"),
	TH("connect", "connect latency (duration)"),
	TH("query", "probe query round trip (duration)"),
	TH("replication_lag", "replica replay lag (duration)"),
	TH("pgbouncer_waiting", "PgBouncer clients waiting (count)"),
	TH("pgbouncer_maxwait", "PgBouncer oldest wait (duration)"),
	TH("pgbouncer_saturation", "server connections in use of a pool's size (%)"),
	TH("pgbouncer_clients", "PgBouncer clients (count or % of max_client_conn)"),
	{ NULL, 0, NULL },
};
