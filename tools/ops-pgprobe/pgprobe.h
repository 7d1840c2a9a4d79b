/*
 * ops-pgprobe internals: one connection and one query per PostgreSQL target, the
 * PgBouncer admin console, checks with thresholds, pool sizing, output and watch mode.
 *
 * Flow (main.c): options and config -> targets -> probe_run_all() (one thread per
 * target, each bounded by --timeout) -> checks and data into the report (main thread
 * only: the report is not thread-safe) -> report_finish().
 *
 * Modules, each leaning only on the ones listed below it (and on lib/):
 *   main.c       options, config, targets, one probe or the --watch loop, the report
 *   watch.c      --watch: a compact screen redrawn every N seconds
 *   output.c     tool data of one target ("server", "connections", "sessions")
 *   pgbouncer.c  PgBouncer's admin console: its checks and data
 *   sessions.c   connection limits of roles and databases, prepared transactions, xmin
 *   bouncer_capacity.c PgBouncer as configured: limits, paused/disabled databases, and
 *                what all its pools may open against the server behind it
 *   pools.c      application pool sizing (--pool, env files) against the server
 *   pool_model.c pods x surge x processes x concurrency x (pool + overflow); pool-held
 *   bouncer_clients.c  PgBouncer's clients grouped by application, address and user
 *   pgbouncer_show.c  columns of the SHOW results by name, pool sizes as PgBouncer computes them
 *   checks.c     the checks of one PostgreSQL target
 *   probe.c      every target in parallel, one thread each, one deadline
 *   query.c      the one query (a JSON document built on the server)
 *   sessions_sql.c  its parts for the session checks, and the --exclude-* filters
 *   query_text.c other sessions' query text: fetched long enough, masked whole, then cut
 *   conn.c       libpq without hangs: connect and query against a deadline
 *   threshold.c  check_postgres style thresholds: parse, judge, perfdata
 */
#ifndef OPSKIT_PGPROBE_H
#define OPSKIT_PGPROBE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "dotenv.h"
#include "cli.h"
#include "report.h"

/* ---- thresholds (threshold.c) ---- */

enum th_id {
	TH_CONNECTIONS,
	TH_APP_SHARE,
	TH_IDLE_TX,
	TH_IDLE_TX_COUNT,
	TH_LONG_QUERIES,
	TH_LOCK_WAITS,
	TH_OLDEST_XACT,
	TH_IDLE_CONNS,
	TH_CONNECT,
	TH_QUERY,
	TH_REPL_LAG,
	TH_PGB_WAITING,
	TH_PGB_MAXWAIT,
	TH_PGB_SATURATION,
	TH_PGB_CLIENTS,
	TH_ROLE_LIMIT,
	TH_DB_LIMIT,
	TH_PREPARED,
	TH_XMIN_AGE,
	TH_COUNT
};

enum th_kind { TH_KIND_COUNT, TH_KIND_DURATION, TH_KIND_PERCENT };

/* One level: NAN = not set. percent: value is a percentage of the check's base. */
struct th_level {
	double value;
	bool percent;
};

struct threshold {
	struct th_level warn, crit;
};

struct th_def {
	const char *id;        /* check id, also the -w/-c key */
	const char *cfg;       /* postgres.thresholds.<cfg>.warning|critical, whose schema
				* rows (lib/schema_pgprobe.c) hold the defaults */
	enum th_kind kind;
};

extern const struct th_def threshold_defs[TH_COUNT];

/* Parses "80%", "12", "30s" for the kind; -1 with *why set on error. */
int threshold_parse(enum th_id id, const char *s, struct th_level *out, const char **why);
/* "connections" or "connections=80%" lookups; -1 when name is no threshold id. */
int threshold_find(const char *name, size_t len);
/* Status of value against t; base converts percent levels to the value's unit. */
enum status threshold_eval(const struct threshold *t, double value, double base);
/* Thresholds in the value's unit, for perfdata. */
struct thresholds threshold_perf(const struct threshold *t, double base, double min, double max);

/* ---- options ---- */


#define POOL_FIELDS 4 /* workers, pool_max, pool_min, overflow */
struct pool_spec {
	char *name;
	long long workers, pool_max, pool_min, overflow;
	long long pods, concurrency; /* replicas, and Celery children per worker (default 1) */
	double surge;                /* rolling deploy: pods x surge run at once (default 1) */
	bool from_env[POOL_FIELDS];
	char *target;  /* NULL = every target */
	char *where;   /* config location or "--pool" */
};

/* The pool model (pool_model.c): a spec with pods, concurrency and surge at 1; whether
 * it applies to a target (no target: every one); what it may open; "web 8 x (10 + 5) = 120"; --pool's two forms (-1 with *why, caller frees);
 * the pool-held check (applications holding more than declared). */
void pool_spec_init(struct pool_spec *p, char *name);
struct target;
bool pool_spec_applies(const struct pool_spec *p, const struct target *t);
double pool_model_peak(const struct pool_spec *p);
struct strbuf;
void pool_model_formula(struct strbuf *sb, const struct pool_spec *p);
int pool_model_parse(const char *arg, struct pool_spec *p, char **why);

/* Reads the pool's numbers from an env file (pools.c), keys[] naming the variables of
 * workers, pool_max, pool_min, overflow (postgres.pools.*.env_keys, whose schema rows
 * hold the usual names); -1 with *err (caller frees). */
int pools_from_env(struct pool_spec *p, const char *path, enum dotenv_dialect dialect,
		  const char *const keys[POOL_FIELDS], char **err);

/* The tool's option state: command line, config and defaults merged (main.c). */
struct probe_opts {
	double timeout_ms;
	double session_age_s;  /* sessions older than this are listed */
	double idle_age_s;     /* idle connections older than this are stale */
	double idle_tx_age_s;  /* idle-in-transaction-count counts sessions idle this long */
	struct cli_list exclude_users, exclude_apps, exclude_dbs; /* --exclude-*: patterns */
	char *exclude_sql;     /* the --exclude-* patterns as one SQL condition (sessions_sql.c) */
	int query_max;         /* query text truncated to this many characters */
	bool query_text;
	double watch_s;        /* --watch: seconds between screens; 0: one probe */
	const char *listen;    /* --listen: exporter mode on this address */
	struct cli_list bouncers; /* --pgbouncer DSNs */
	int pgb_processes;     /* --pgbouncer-processes; 0: each PgBouncer's config, else 1 */
	struct threshold th[TH_COUNT];
	bool th_given[TH_COUNT][2]; /* -w / -c on the command line: the config does not apply */
	struct pool_spec *pools;
	size_t npools;
	bool pools_given;      /* --pool replaces the config's pools */
};

/* ---- connections (conn.c) ---- */

enum fail_kind {
	FAIL_NONE,
	FAIL_TOO_MANY,      /* 53300 sorry, too many clients already */
	FAIL_RESERVED,      /* 53300 remaining slots are reserved */
	FAIL_ROLE_LIMIT,    /* 53300 too many connections for role (rolconnlimit) */
	FAIL_DB_LIMIT,      /* 53300 too many connections for database (datconnlimit) */
	FAIL_POOLER,        /* 08P01 PgBouncer refused the client (max_client_conn, ...) */
	FAIL_AUTH,          /* 28P01 / 28000 */
	FAIL_DNS,
	FAIL_REFUSED,
	FAIL_TIMEOUT,       /* connect or query did not finish by the deadline */
	FAIL_STARTING,      /* 57P03 starting up / shutting down / in recovery */
	FAIL_NO_DATABASE,   /* 3D000 */
	FAIL_QUERY,         /* the query failed */
	FAIL_OTHER,
};

struct probe_error {
	enum fail_kind kind;
	char *message;  /* what happened, for the on-call engineer (redacted) */
	char *hint;     /* what to do, or NULL */
};

void conn_error_free(struct probe_error *e);
/* Connects; NULL on failure with *err set. Latency in *connect_ms. */
PGconn *conn_connect(const char *dsn, double deadline_ms, struct probe_error *err, double *connect_ms);
/* Sends sql (may hold several statements) and waits for every result by the deadline.
 * Returns the last tuples result (caller PQclear()s) or NULL with *err set. */
PGresult *conn_query(PGconn *c, const char *sql, double deadline_ms, struct probe_error *err);
/* "host:port/dbname" of a DSN (for subjects), "user@host:port/dbname" with_user; NULL
 * when the DSN does not parse, with libpq's message in *why (caller frees). */
char *conn_describe(const char *dsn, bool with_user, char **why);

/* ---- targets (probe.c) ---- */

struct target {
	char *name;     /* config name or the DSN's host:port/db */
	char *dsn;      /* as given: may hold a password, never printed */
	double connect_ms, query_ms;
	struct probe_error err;
	json_t *snap;   /* the one query's result, or NULL */
};

struct bouncer {
	char *name;
	char *dsn;
	double connect_ms;
	struct probe_error err;
	PGresult *pools, *stats, *clients, *servers, *config, *databases, *users;
	long long processes; /* PgBouncer processes behind this DSN (so_reuseport); 0: not declared */
};

/* What the server has, known at login without asking (probe.c), for the statement. */
struct server_features {
	int version_num;     /* PQserverVersion() */
	int in_recovery;     /* 1, 0, or -1 when not reported (in_hot_standby is 14+) */
	bool no_replication; /* the reduced statement: no WAL receiver, no recovery functions */
};

/* Seconds since a timestamp column, NULL when it is NULL; from clock_timestamp(), read as
 * each row is, never now() (the start of this transaction, which can be older than a
 * session that began since), and never negative (greatest() alone would turn NULL to 0). */
#define AGE_OF(ts) "(CASE WHEN " ts " IS NOT NULL THEN greatest(0, extract(epoch FROM clock_timestamp() - " ts ")) END)::float8"

struct strbuf;
/* Builds the query for what the server has (query.c). Caller frees. */
char *query_sql(const struct probe_opts *o, const struct server_features *f, double statement_timeout_ms);

/* ---- the statement's session parts (sessions_sql.c) ---- */

/* Turns o's --exclude-* lists into o->exclude_sql (call once the config is loaded: the
 * lists may point into it). */
void sessions_sql_exclusion(struct probe_opts *o);
/* The CTE "ox": the sessions of "o" that no --exclude-* pattern matches. */
void sessions_sql_cte(struct strbuf *sb, const struct probe_opts *o);
/* The statement's keys of the session checks (each line ends in ",\n"). */
void sessions_sql_keys(struct strbuf *sb, const struct probe_opts *o);
/* The column query, passwords in statements masked, cut to query_text_fetch_chars(max)
 * characters (query_text_prepare() masks the rest and cuts it to max). */
void sessions_sql_query_text(struct strbuf *sb, int max);

/* ---- query text as shown (query_text.c) ---- */

/* Characters of query text to fetch for a cut at max: enough past it that a registered
 * secret straddling the cut arrives whole (redact_longest_secret(), at least 256). */
int query_text_fetch_chars(int max);
/* Masks the query text of snap's sessions, then cuts it to max characters (on UTF-8
 * boundaries), and the idle-in-transaction heads to one line of 60 characters. */
void query_text_prepare(json_t *snap, int max);
/* Text on one line (runs of whitespace as one space), cut to max_chars characters, with
 * "..." when cut and mark_cut. Give it masked text only. Caller frees. */
char *query_text_line(const char *q, size_t max_chars, bool mark_cut);

void probe_target(struct target *t, const struct probe_opts *o, double deadline_ms);
void probe_bouncer(struct bouncer *b, double deadline_ms);
/* Probes everything in parallel, bounded by o->timeout_ms overall. */
void probe_run_all(struct target *ts, size_t nt, struct bouncer *bs, size_t nb,
		   const struct probe_opts *o);
void probe_target_reset(struct target *t);
void probe_bouncer_reset(struct bouncer *b);

/* ---- checks and output ---- */

void checks_target(struct report *r, const struct target *t, const struct probe_opts *o);
void pools_checks(struct report *r, const struct target *t, const struct probe_opts *o);
/* role- and database-connection-limit, prepared-transactions, oldest-xmin (sessions.c). */
void sessions_checks(struct report *r, const struct target *t, const struct probe_opts *o);
void pool_model_held_checks(struct report *r, const struct target *t, const struct probe_opts *o,
			    const struct bouncer *bs, size_t nb);
void pgbouncer_checks(struct report *r, const struct bouncer *b, const struct probe_opts *o);
void output_target(struct report *r, const struct target *t, bool nested);
void pools_output(struct report *r, const struct probe_opts *o);
void pgbouncer_output(struct report *r, const struct bouncer *b);
void checks_failure(struct report *r, const char *check_id, const char *subject,
		    const struct probe_error *e);

/* " (pid 123, user u, application "web", client 10.0.0.5)", or "" for no session. */
char *checks_who(const json_t *session);

/* Small accessors over the snapshot (NAN / 0 / NULL when absent). */
double checks_json_num(const json_t *o, const char *key);
const char *checks_json_str(const json_t *o, const char *key);
/* Slots ordinary roles cannot use (superuser_reserved_connections, reserved_connections,
 * RDS's), and max_connections less those: the one count of usable slots. */
double checks_reserved_connections(const json_t *snap);
double checks_usable_connections(const json_t *snap);
/* Value of a named column in row 0..n of a PGresult; NULL when absent. */
const char *pgbouncer_get(const PGresult *res, int row, const char *col);
double pgbouncer_num(const PGresult *res, int row, const char *col);
/* SHOW CONFIG's value of key (NAN when absent); the row of name in SHOW DATABASES/USERS. */
double pgbouncer_config_num(const PGresult *cfg, const char *key);
int pgbouncer_row_named(const PGresult *res, const char *name);
/* A pool_size as PgBouncer's version means it (INFINITY: unlimited, NAN: not set); a
 * pool's effective pool_size (the same) and reserve. */
double pgbouncer_size_value(const struct bouncer *b, double n);
double pgbouncer_pool_size(const struct bouncer *b, const char *db, const char *user);
double pgbouncer_reserve_pool(const struct bouncer *b, const char *db, const char *user);
/* Is row the admin console's own (database "pgbouncer" in column col)? */
bool pgbouncer_is_admin_row(const PGresult *res, int row, const char *col);
bool pgbouncer_is_admin_pool(const struct bouncer *b, int row);
/* A count cell: null when PgBouncer did not give it or no long long holds it. */
struct rp_table;
void pgbouncer_table_count(struct rp_table *tb, double v);
/* A size or limit cell: NAN null ("-"), INFINITY 0 in JSON and "unlimited" in text. */
void pgbouncer_table_limit(struct rp_table *tb, double v);

/* SHOW CLIENTS grouped by (application_name, addr, user), top groups first. */
void bouncer_clients_output(struct report *r, const struct bouncer *b);
/* Clients of one application_name (admin console left out); NAN when not probed. */
double bouncer_clients_named(const struct bouncer *b, const char *app);
/* Paused/disabled databases and max_db/user_connections in use (bouncer_capacity.c). */
void bouncer_capacity_checks(struct report *r, const struct bouncer *b, const struct probe_opts *o);
/* What the pooler may open (x processes) against each probed server's usable slots. */
void bouncer_sizing_checks(struct report *r, const struct bouncer *b, const struct target *ts, size_t nt);
void bouncer_capacity_output(struct report *r, const struct bouncer *b);


/* ---- watch mode (watch.c) ---- */

/* Probes once and writes one screen to out: watch_summary(), then the report. */
typedef int (*probe_screen_fn)(void *ctx, FILE *out, int session_rows);
int watch_loop(double interval_s, probe_screen_fn draw, void *ctx);
/* One line per target (and up to session_rows of its sessions) and per PgBouncer. */
void watch_summary(FILE *out, const struct target *ts, size_t nt, const struct bouncer *bs, size_t nb,
		   int session_rows);

#endif
