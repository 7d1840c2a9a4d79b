/* Config keys of ops-pgprobe (section "postgres" of opskit.yaml(5)). */
#include "config.h"

/* A check's two levels; w and c are the defaults (NULL: unset). */
#define TH(name, what, w, c)                                                                \
	CFG_KEY("postgres.thresholds." name ".warning", CFG_THRESHOLD, "warning level: " what, .def = (w)), \
	CFG_KEY("postgres.thresholds." name ".critical", CFG_THRESHOLD, "critical level: " what, .def = (c))

const struct cfg_key opskit_schema_pgprobe[] = {
	CFG_KEY("postgres.timeout", CFG_DURATION, "bound on the whole probe",
		.def = "5s", .fallback = "defaults.timeout", CFG_RANGE(100, CFG_NO_MAX)),
	CFG_KEY("postgres.session_age", CFG_DURATION, "list sessions running or in a transaction at least this long",
		.def = "5s", CFG_RANGE(0, CFG_NO_MAX)),
	CFG_KEY("postgres.idle_age", CFG_DURATION, "idle connections older than this count as stale",
		.def = "10m", CFG_RANGE(0, CFG_NO_MAX)),
	CFG_KEY("postgres.query_text", CFG_BOOL, "false hides query text (like --no-query-text)",
		.def = "true"),
	CFG_KEY("postgres.query_length", CFG_INT, "truncate query text to this many characters",
		.def = "200", CFG_RANGE(1, 100000)),
	CFG_KEY("postgres.targets.*.dsn", CFG_STRING, "libpq DSN (key=value or postgresql:// URL) of a target"),
	CFG_KEY("postgres.pgbouncer.*.dsn", CFG_STRING, "DSN of a PgBouncer admin console (dbname=pgbouncer)"),
	CFG_KEY("postgres.pools.*.workers", CFG_INT, "processes of the application, each with its own pool"),
	CFG_KEY("postgres.pools.*.pool_max", CFG_INT, "pool size per process"),
	CFG_KEY("postgres.pools.*.pool_min", CFG_INT, "connections each process keeps open even when idle"),
	CFG_KEY("postgres.pools.*.overflow", CFG_INT, "extra connections per process above pool_max"),
	CFG_KEY("postgres.pools.*.env_file", CFG_STRING, "the application's .env file: pool numbers found there win"),
	CFG_KEY("postgres.pools.*.env_dialect", CFG_STRING, "how to read env_file: compose, python, node, shell",
		.def = "compose"),
	CFG_KEY("postgres.pools.*.env_keys.workers", CFG_STRING, "variable of env_file holding workers",
		.def = "WEB_CONCURRENCY"),
	CFG_KEY("postgres.pools.*.env_keys.pool_max", CFG_STRING, "variable of env_file holding pool_max",
		.def = "DB_POOL_MAX"),
	CFG_KEY("postgres.pools.*.env_keys.pool_min", CFG_STRING, "variable of env_file holding pool_min",
		.def = "DB_POOL_MIN"),
	CFG_KEY("postgres.pools.*.env_keys.overflow", CFG_STRING, "variable of env_file holding overflow",
		.def = "DB_POOL_OVERFLOW"),
	CFG_KEY("postgres.pools.*.target", CFG_STRING, "the target whose max_connections the pool counts against (default all)"),
	TH("connections", "connections in use (count, or % of usable slots)", "80%", "95%"),
	TH("application_share", "connections of the largest application (count or % of usable)", "60%", "85%"),
	TH("idle_in_transaction", "age of the oldest session idle in transaction (duration)", "1m", "10m"),
	TH("idle_in_transaction_count", "sessions idle in transaction (count or % of usable)", "5", "20"),
	TH("long_queries", "age of the longest running query (duration)", "1m", "5m"),
	TH("lock_waits", "sessions waiting on a lock (count or % of usable)", "1", "5"),
	TH("oldest_transaction", "age of the oldest open transaction (duration)", "10m", "1h"),
	TH("idle_connections", "idle connections older than idle_age (count or % of usable)", NULL, NULL),
	TH("connect", "connect latency (duration)", "500ms", "2s"),
	TH("query", "probe query round trip (duration)", "500ms", "2s"),
	TH("replication_lag", "replica replay lag (duration)", "30s", "5m"),
	TH("pgbouncer_waiting", "PgBouncer clients waiting (count)", "1", "10"),
	TH("pgbouncer_maxwait", "PgBouncer oldest wait (duration)", "1s", "5s"),
	TH("pgbouncer_saturation", "server connections in use of a pool's size (%)", "80%", "100%"),
	TH("pgbouncer_clients", "PgBouncer clients (count or % of max_client_conn)", "80%", "95%"),
	CFG_END,
};
