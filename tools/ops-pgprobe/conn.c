/*
 * conn — libpq without hangs: PQconnectStartParams/PQconnectPoll and PQsendQuery, each
 * step waited for with poll() against one deadline, so a server that accepts and never
 * answers costs at most --timeout. Failures become a kind and a message an on-call
 * engineer can act on (libpq gives no SQLSTATE for refused connections, so the server's
 * FATAL text is matched).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "redact.h"
#include "util.h"

void conn_error_free(struct probe_error *e)
{
	free(e->message);
	free(e->hint);
	memset(e, 0, sizeof(*e));
}

static void set_error(struct probe_error *e, enum fail_kind kind, const char *hint, const char *fmt, ...)
	PRINTF_LIKE(4, 5);
static void set_error(struct probe_error *e, enum fail_kind kind, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *raw = xvasprintf(fmt, ap);
	va_end(ap);
	conn_error_free(e);
	e->kind = kind;
	e->message = redact_text(raw);
	e->hint = hint ? xstrdup(hint) : NULL;
	free(raw);
}

/* Length of the "53300: " a verbose message puts before the server's words, or 0. */
static size_t sqlstate_prefix(const char *p)
{
	for (int i = 0; i < 5; i++)
		if (!(p[i] >= '0' && p[i] <= '9') && !(p[i] >= 'A' && p[i] <= 'Z'))
			return 0;
	return p[5] == ':' && p[6] == ' ' ? 7 : 0;
}

/* libpq's message on one line, without "connection to server at ... failed:" noise,
 * the SQLSTATE and LOCATION of a verbose message (see conn_connect). */
static char *server_words(const char *libpq_msg)
{
	const char *p = libpq_msg ? libpq_msg : "";
	const char *fatal = strstr(p, "FATAL:");
	if (fatal)
		p = fatal + 6;
	else if (strstr(p, "failed: "))
		p = strstr(p, "failed: ") + 8;
	while (*p == ' ')
		p++;
	p += sqlstate_prefix(p);
	const char *location = strstr(p, "\nLOCATION:");
	char *cut = location ? xstrndup(p, (size_t)(location - p)) : NULL;
	if (cut)
		p = cut;
	/* One line, runs of white space squeezed. libpq continues a message on a new line
	 * ("Connection refused\n\tIs the server running...?"): that break becomes a full
	 * stop, so the sentences stay sentences. */
	struct strbuf sb = STRBUF_INIT;
	for (; *p; p++) {
		bool space = *p == '\n' || *p == '\t' || *p == ' ' || *p == '\r';
		if (space && (!sb.len || sb.buf[sb.len - 1] == ' '))
			continue;
		if (*p == '\n' && p[1] && !strchr(".?!:;", sb.buf[sb.len - 1]))
			sb_addch(&sb, '.');
		sb_addch(&sb, space ? ' ' : *p);
	}
	while (sb.len && sb.buf[sb.len - 1] == ' ')
		sb.buf[--sb.len] = '\0';
	free(cut);
	return sb.buf ? sb_detach(&sb) : xstrdup("");
}

static const struct {
	const char *needle;
	enum fail_kind kind;
	const char *what;
	const char *hint;
} connect_failures[] = {
	/* PostgreSQL 16+: "reserved for roles with privileges of the pg_use_reserved_connections
	 * role" when reserved_connections is set; before that only superusers get in. */
	{ "pg_use_reserved_connections", FAIL_RESERVED,
	  "only reserved connection slots are left (SQLSTATE 53300): ordinary roles are refused",
	  "free slots or lower the pool sizes; GRANT pg_use_reserved_connections TO the probe's role "
	  "so that it still gets in when the server is full" },
	/* PgBouncer refuses with SQLSTATE 08P01 and its own words. */
	{ "no more connections allowed (max_client_conn)", FAIL_POOLER,
	  "PgBouncer refuses new clients: max_client_conn is reached (SQLSTATE 08P01)",
	  "raise max_client_conn (and the file descriptor limit), or find the application that leaks client connections" },
	{ "client connections exceeded (max_db_client_connections)", FAIL_POOLER,
	  "PgBouncer refuses new clients of this database: max_db_client_connections is reached (SQLSTATE 08P01)",
	  "raise max_db_client_connections for this database, or find who holds its client connections (SHOW CLIENTS)" },
	{ "client connections exceeded (max_user_client_connections)", FAIL_POOLER,
	  "PgBouncer refuses new clients of this user: max_user_client_connections is reached (SQLSTATE 08P01)",
	  "raise max_user_client_connections for this user, or find who holds its client connections (SHOW CLIENTS)" },
	{ "query_wait_timeout", FAIL_POOLER,
	  "PgBouncer gave up waiting for a server connection (query_wait_timeout, SQLSTATE 08P01)",
	  "the pool is full, the database paused (PAUSE) or the server unreachable: look at SHOW POOLS "
	  "(cl_waiting, sv_active), SHOW DATABASES (paused) and the server" },
	{ "server login has been failing", FAIL_POOLER,
	  "PgBouncer cannot log in to the server and refuses clients meanwhile (server_login_retry, SQLSTATE 08P01)",
	  "the cached error says why: check the server, and the user and password PgBouncer uses for it" },
	{ "pgbouncer cannot connect to server", FAIL_POOLER,
	  "PgBouncer cannot connect to the server (SQLSTATE 08P01)",
	  "check that the server is up and that PgBouncer's [databases] entry points at it" },
	{ "\" is disabled", FAIL_POOLER, "PgBouncer refuses this database: it is disabled (DISABLE, SQLSTATE 08P01)",
	  "ENABLE it on PgBouncer's admin console when the maintenance is over" },
	{ "no such database:", FAIL_NO_DATABASE, "PgBouncer has no such database (SQLSTATE 08P01)",
	  "check dbname= against PgBouncer's [databases] section (or its auth_dbname / fallback *)" },
	{ "too many clients", FAIL_TOO_MANY,
	  "too many clients (SQLSTATE 53300): every max_connections slot is taken",
	  "find who holds the slots (pg_stat_activity by application), end idle sessions, size the pools below max_connections" },
	{ "connection slots are reserved", FAIL_RESERVED,
	  "only reserved connection slots are left (SQLSTATE 53300): ordinary roles are refused",
	  "a superuser can still connect to investigate; free slots or lower the pool sizes" },
	{ "password authentication failed", FAIL_AUTH, "authentication failed (SQLSTATE 28P01)",
	  "check the user and password of the DSN (the password is not shown)" },
	{ "no password supplied", FAIL_AUTH, "authentication failed: the server asks for a password and none was given",
	  "add password= to the DSN, or use a .pgpass file" },
	{ "is not permitted to log in", FAIL_AUTH, "the role may not log in (SQLSTATE 28000, NOLOGIN)",
	  "ALTER ROLE ... LOGIN, or use a role that may log in" },
	{ "no pg_hba.conf entry", FAIL_AUTH, "rejected by pg_hba.conf (SQLSTATE 28000)",
	  "add a pg_hba.conf line for this host, user and database" },
	{ "authentication failed", FAIL_AUTH, "authentication failed", "check the user and password of the DSN" },
	{ "does not exist", FAIL_NO_DATABASE, "the database or role does not exist", "check dbname= and user= in the DSN" },
	{ "could not translate host name", FAIL_DNS, "the host name does not resolve (DNS)",
	  "check host= in the DSN and the resolver" },
	{ "Name or service not known", FAIL_DNS, "the host name does not resolve (DNS)", "check host= in the DSN" },
	{ "Connection refused", FAIL_REFUSED, "connection refused: nothing listens on that address and port",
	  "is PostgreSQL running, and on this port? (pg_ctl status, listen_addresses)" },
	{ "No such file or directory", FAIL_REFUSED, "no server socket at that path: PostgreSQL is not running there",
	  "is PostgreSQL running, and is the socket directory right?" },
	{ "starting up", FAIL_STARTING, "the server is starting up", NULL },
	{ "shutting down", FAIL_STARTING, "the server is shutting down", NULL },
	{ "in recovery mode", FAIL_STARTING, "the server is in recovery and refuses connections", NULL },
	{ "timeout expired", FAIL_TIMEOUT, "connect timed out (connect_timeout)", NULL },
};

/* A server whose lc_messages is not English refuses in its own words; the SQLSTATE of
 * its FATAL still tells what happened. */
static const struct {
	const char *sqlstate;
	enum fail_kind kind;
	const char *what;
	const char *hint;
} login_sqlstates[] = {
	{ "53300", FAIL_TOO_MANY, "the server refuses new connections: its connection slots are taken (SQLSTATE 53300)",
	  "find who holds the slots (pg_stat_activity by application), end idle sessions, size the pools below max_connections" },
	{ "28P01", FAIL_AUTH, "authentication failed (SQLSTATE 28P01)",
	  "check the user and password of the DSN (the password is not shown)" },
	{ "28000", FAIL_AUTH, "the server refuses this role or host (SQLSTATE 28000: pg_hba.conf, or no such role)",
	  "check user= in the DSN and pg_hba.conf" },
	{ "3D000", FAIL_NO_DATABASE, "the database does not exist (SQLSTATE 3D000)", "check dbname= in the DSN" },
	{ "57P03", FAIL_STARTING, "the server cannot accept connections now (SQLSTATE 57P03: starting, stopping or in recovery)",
	  NULL },
};

/* The SQLSTATE of the server's FATAL in a verbose message ("FATAL:  53300: ..."). */
static const char *login_sqlstate(const char *libpq_msg, char buf[6])
{
	const char *fatal = libpq_msg ? strstr(libpq_msg, "FATAL:") : NULL;
	if (!fatal)
		return NULL;
	for (fatal += 6; *fatal == ' '; fatal++)
		;
	if (!sqlstate_prefix(fatal))
		return NULL;
	memcpy(buf, fatal, 5);
	buf[5] = '\0';
	return buf;
}

/* The quoted name after needle in msg ("role \"lim\"" -> lim), or NULL. Caller frees. */
static char *quoted_after(const char *msg, const char *needle)
{
	const char *p = strstr(msg, needle);
	if (!p)
		return NULL;
	p += strlen(needle);
	const char *end = strchr(p, '"');
	return end ? xstrndup(p, (size_t)(end - p)) : NULL;
}

static void classify_connect_failure(const char *libpq_msg, struct probe_error *e)
{
	char *words = server_words(libpq_msg), state_buf[6];
	const char *state = login_sqlstate(libpq_msg, state_buf);
	/* 53300 is three errors: every slot taken (below), the role's CONNECTION LIMIT
	 * (rolconnlimit) and the database's (datconnlimit), which name it in quotes.
	 * Superusers are exempt from the last two. */
	const char *msg = libpq_msg ? libpq_msg : "";
	char *name;
	if ((name = quoted_after(msg, "too many connections for role \""))) {
		set_error(e, FAIL_ROLE_LIMIT, NULL, "role %s is at its connection limit (SQLSTATE 53300, rolconnlimit): %s",
			  name, words);
		e->hint = xasprintf("its sessions hold every connection the role may open: see them "
				    "(pg_stat_activity WHERE usename = '%s'), end the idle ones, or raise the "
				    "limit: ALTER ROLE %s CONNECTION LIMIT n", name, name);
	} else if ((name = quoted_after(msg, "too many connections for database \""))) {
		set_error(e, FAIL_DB_LIMIT, NULL, "database %s is at its connection limit (SQLSTATE 53300, datconnlimit): %s",
			  name, words);
		e->hint = xasprintf("see its sessions (pg_stat_activity WHERE datname = '%s'), end the idle ones, "
				    "or raise the limit: ALTER DATABASE %s CONNECTION LIMIT n", name, name);
	}
	if (name) {
		free(name);
		free(words);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(connect_failures); i++) {
		if (strstr(libpq_msg ? libpq_msg : "", connect_failures[i].needle)) {
			set_error(e, connect_failures[i].kind, connect_failures[i].hint, "%s: %s",
				  connect_failures[i].what, words);
			free(words);
			return;
		}
	}
	for (size_t i = 0; state && i < ARRAY_SIZE(login_sqlstates); i++) {
		if (!strcmp(state, login_sqlstates[i].sqlstate)) {
			set_error(e, login_sqlstates[i].kind, login_sqlstates[i].hint, "%s: %s",
				  login_sqlstates[i].what, words);
			free(words);
			return;
		}
	}
	if (state)
		set_error(e, FAIL_OTHER, NULL, "cannot connect (SQLSTATE %s): %s", state, words);
	else
		set_error(e, FAIL_OTHER, NULL, "cannot connect: %s", words);
	free(words);
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_socket(int fd, short events, double deadline_ms)
{
	if (fd < 0)
		return -1;
	for (;;) {
		double left = deadline_ms - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int rc = poll(&p, 1, (int)ceil(left));
		if (rc > 0)
			return 1;
		if (rc == 0)
			continue; /* re-check the clock: poll may wake a little early */
		if (errno != EINTR)
			return -1;
	}
}

static const char *timeout_phase(ConnStatusType st)
{
	switch (st) {
	case CONNECTION_STARTED:
		return "the TCP connection was not established (host down or packets dropped)";
	case CONNECTION_MADE:
	case CONNECTION_AWAITING_RESPONSE:
	case CONNECTION_SSL_STARTUP:
		return "the port accepts connections but nothing answered the login "
		       "(hung server, another service on the port, or a proxy with no backend: a PgBouncer "
		       "holds the login while the database is paused or no server connection comes)";
	default:
		return "the server did not finish the login";
	}
}

static double timeout_seconds(double deadline_ms, double start_ms)
{
	return (deadline_ms - start_ms) / 1000;
}

PGconn *conn_connect(const char *dsn, double deadline_ms, struct probe_error *err, double *connect_ms)
{
	double start = now_ms();
	char timeout_s[32], user_timeout_ms[32];
	/* libpq's own connect_timeout is a backstop; the poll deadline is what bounds us. */
	snprintf(timeout_s, sizeof(timeout_s), "%d", (int)fmax(2, ceil((deadline_ms - start) / 1000)));
	snprintf(user_timeout_ms, sizeof(user_timeout_ms), "%d", (int)fmax(1000, deadline_ms - start));
	/* tcp_user_timeout is a libpq 12 keyword: an older libpq refuses the whole
	 * connection for an unknown one, so it is passed only when the library has it.
	 * The DSN (dbname, expanded) comes last: what it sets wins over these defaults. */
	const char *keys[10] = { "connect_timeout", "fallback_application_name", "keepalives",
				 "keepalives_idle", "keepalives_interval", "keepalives_count" };
	const char *vals[10] = { timeout_s, "ops-pgprobe", "1", "10", "5", "3" };
	size_t n = 6;
	if (PQlibVersion() >= 120000) {
		keys[n] = "tcp_user_timeout";
		vals[n++] = user_timeout_ms;
	}
	keys[n] = "dbname";
	vals[n++] = dsn ? dsn : "";
	keys[n] = vals[n] = NULL;
	PGconn *c = PQconnectStartParams(keys, vals, 1);
	if (!c) {
		set_error(err, FAIL_OTHER, NULL, "cannot connect: out of memory in libpq");
		return NULL;
	}
	/* Verbose during the login only: the server's FATAL then carries its SQLSTATE,
	 * which classify_connect_failure() needs when the server speaks another language. */
	PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
	PostgresPollingStatusType ps = PQstatus(c) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
	while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
		int rc = wait_socket(PQsocket(c), ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline_ms);
		if (rc == 0) {
			set_error(err, FAIL_TIMEOUT, "check that the host and port are PostgreSQL's; through PgBouncer, see SHOW "
				  "DATABASES (paused) and SHOW POOLS; raise --timeout only if the network is slow",
				  "no answer within %.1fs (--timeout): %s", timeout_seconds(deadline_ms, start),
				  timeout_phase(PQstatus(c)));
			PQfinish(c);
			return NULL;
		}
		ps = rc < 0 ? PGRES_POLLING_FAILED : PQconnectPoll(c);
	}
	if (ps == PGRES_POLLING_FAILED || PQstatus(c) != CONNECTION_OK) {
		classify_connect_failure(PQerrorMessage(c), err);
		PQfinish(c);
		return NULL;
	}
	*connect_ms = now_ms() - start;
	PQsetErrorVerbosity(c, PQERRORS_DEFAULT);
	PQsetnonblocking(c, 1);
	return c;
}

static bool flush_by(PGconn *c, double deadline_ms)
{
	int rc;
	while ((rc = PQflush(c)) == 1)
		if (wait_socket(PQsocket(c), POLLOUT | POLLIN, deadline_ms) <= 0 || !PQconsumeInput(c))
			return false;
	return rc == 0;
}

/* PgBouncer lets a client log in and refuses it at its first query when no server
 * connection frees up in time (query_wait_timeout, also what a paused database ends
 * in), or passes on the server's refusal of its own login for the pool: the words of
 * a refused login, after ours succeeded. Then comes libpq's "server closed the
 * connection", which is noise here. True when msg is one of those, classified into e. */
static bool pooler_refusal(const char *msg, struct probe_error *e)
{
	for (size_t i = 0; msg && i < ARRAY_SIZE(connect_failures); i++) {
		enum fail_kind kind = connect_failures[i].kind;
		if ((kind != FAIL_POOLER && kind != FAIL_AUTH && kind != FAIL_NO_DATABASE) ||
		    !strstr(msg, connect_failures[i].needle))
			continue;
		const char *noise = strstr(msg, "\nserver closed the connection");
		char *cut = noise ? xstrndup(msg, (size_t)(noise - msg)) : NULL;
		char *words = server_words(cut ? cut : msg);
		if (kind == FAIL_POOLER)
			set_error(e, kind, connect_failures[i].hint, "%s: %s", connect_failures[i].what, words);
		else
			set_error(e, FAIL_POOLER, "check the role, password and database PgBouncer logs in with for this "
				  "pool ([databases], auth_file); it refuses the next clients for server_login_retry",
				  "PgBouncer's login to the server failed for this client: %s: %s",
				  connect_failures[i].what, words);
		free(words);
		free(cut);
		return true;
	}
	return false;
}

static void query_failure(PGresult *res, struct probe_error *err)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state && !strcmp(state, "08P01") && pooler_refusal(PQresultErrorMessage(res), err))
		return;
	char *words = server_words(PQresultErrorMessage(res));
	if (state && !strcmp(state, "57014"))
		set_error(err, FAIL_TIMEOUT, "the server is overloaded or blocked; raise --timeout only if this is expected",
			  "the probe query was cancelled by its statement_timeout (SQLSTATE 57014): %s", words);
	else
		set_error(err, FAIL_QUERY, NULL, "the probe query failed (SQLSTATE %s): %s",
			  state ? state : "?", words);
	free(words);
}

static void connection_lost(PGconn *c, struct probe_error *err)
{
	if (pooler_refusal(PQerrorMessage(c), err))
		return;
	char *words = server_words(PQerrorMessage(c));
	set_error(err, FAIL_QUERY, "the server closed the connection: look at its log (crash, restart, or a terminated backend)",
		  "connection lost during the probe query: %s", words);
	free(words);
}

PGresult *conn_query(PGconn *c, const char *sql, double deadline_ms, struct probe_error *err)
{
	double start = now_ms();
	if (!PQsendQuery(c, sql) || !flush_by(c, deadline_ms)) {
		char *words = server_words(PQerrorMessage(c));
		set_error(err, FAIL_QUERY, NULL, "cannot send the probe query: %s", words);
		free(words);
		return NULL;
	}
	PGresult *last = NULL, *res;
	bool failed = false;
	for (;;) {
		while (PQisBusy(c)) {
			int rc = wait_socket(PQsocket(c), POLLIN, deadline_ms);
			if (rc <= 0 || !PQconsumeInput(c)) {
				if (rc == 0)
					set_error(err, FAIL_TIMEOUT, "the server is overloaded or blocked; through PgBouncer, the "
						  "database may be paused (PAUSE) or its pool full: see SHOW DATABASES and SHOW POOLS",
						  "the probe query got no answer within %.1fs (--timeout)",
						  timeout_seconds(deadline_ms, start));
				else
					connection_lost(c, err);
				PQclear(last);
				return NULL;
			}
		}
		if (!(res = PQgetResult(c)))
			break;
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK && !failed) {
			PQclear(last);
			last = res;
			continue;
		}
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !failed) {
			query_failure(res, err);
			failed = true;
		}
		PQclear(res);
	}
	if (failed || !last) {
		if (!failed)
			set_error(err, FAIL_QUERY, NULL, "the probe query returned no rows");
		PQclear(last);
		return NULL;
	}
	return last;
}

/* The value of keyword in the DSN, else in libpq's defaults (PGSSLROOTCERT...). */
static const char *option_value(PQconninfoOption *opts, PQconninfoOption *defs, const char *keyword)
{
	for (PQconninfoOption *list = opts; list; list = list == opts ? defs : NULL)
		for (PQconninfoOption *o = list; o->keyword; o++)
			if (o->val && *o->val && !strcmp(o->keyword, keyword))
				return o->val;
	return NULL;
}

/* The PEM files libpq hands to OpenSSL's file loaders, which wait on a FIFO nobody writes
 * to and read /dev/zero for ever, out of reach of the poll deadline: refused before any
 * connection unless a regular file of at most PEM_FILE_MAX (or missing: libpq says
 * what that means). NULL, or why (to free). */
static char *unusable_ssl_file(PQconninfoOption *opts, PQconninfoOption *defs)
{
	static const char *const keywords[] = { "sslrootcert", "sslcert", "sslkey", "sslcrl" };
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		const char *path = option_value(opts, defs, keywords[i]);
		const char *reason = path && strcmp(path, "system") ? unsafe_file_reason(path, PEM_FILE_MAX) : NULL;
		if (reason)
			return xasprintf("%s %s cannot be read: %s", keywords[i], path, reason);
	}
	return NULL;
}

/* A service file is a few KiB of key=value sections. */
#define SERVICE_FILE_MAX (1u << 20)

/* The service file(s) libpq reads when a service is named (the DSN, PGSERVICE), with no
 * look at what they are: an idle FIFO blocks it, /dev/zero grows one line without end.
 * Checked before PQconndefaults(), which reads them already. NULL, or why (to free). */
static char *unusable_service_file(PQconninfoOption *opts)
{
	const char *service = option_value(opts, NULL, "service");
	if (!service)
		service = getenv("PGSERVICE");
	if (!service || !*service)
		return NULL;
	const char *file = getenv("PGSERVICEFILE"), *home = getenv("HOME"), *sysconf = getenv("PGSYSCONFDIR");
	char *paths[2] = { file && *file ? xstrdup(file) : home && *home ? xasprintf("%s/.pg_service.conf", home) : NULL,
			   sysconf && *sysconf ? xasprintf("%s/pg_service.conf", sysconf) : NULL };
	char *why = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		const char *reason = paths[i] && !why ? unsafe_file_reason(paths[i], SERVICE_FILE_MAX) : NULL;
		if (reason)
			why = xasprintf("the service file %s cannot be read: %s", paths[i], reason);
		free(paths[i]);
	}
	return why;
}

/* "postgresql://u:pa/ss@db/app": libpq ends the host at the first '/', so the head of the
 * password is read as the port and its tail, '@' and all, as the database name. */
static bool url_password_holds_slash(const char *dsn)
{
	if (!str_starts_with(dsn, "postgresql://") && !str_starts_with(dsn, "postgres://"))
		return false;
	const char *path = strchr(strstr(dsn, "://") + 3, '/');
	const char *at = path ? strchr(path, '@') : NULL;
	return at && at < path + strcspn(path, "?#");
}

char *conn_describe(const char *dsn, bool with_user, char **why)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn ? dsn : "", &errmsg);
	if (!opts) {
		char *words = server_words(errmsg ? errmsg : "cannot parse the DSN");
		*why = redact_text(words);
		free(words);
		PQfreemem(errmsg);
		return NULL;
	}
	char *unusable = unusable_service_file(opts);
	if (unusable) {
		*why = redact_text(unusable);
		free(unusable);
		PQconninfoFree(opts);
		return NULL;
	}
	/* What the DSN leaves out comes from libpq's defaults (PGHOST..., the OS user). */
	PQconninfoOption *defs = PQconndefaults();
	const char *host = NULL, *port = NULL, *db = NULL, *user = NULL;
	for (PQconninfoOption *list = opts; list; list = list == opts ? defs : NULL) {
		for (PQconninfoOption *o = list; o->keyword; o++) {
			if (!o->val || !*o->val)
				continue;
			if (!host && (!strcmp(o->keyword, "host") || !strcmp(o->keyword, "hostaddr")))
				host = o->val;
			else if (!port && !strcmp(o->keyword, "port"))
				port = o->val;
			else if (!db && !strcmp(o->keyword, "dbname"))
				db = o->val;
			else if (!user && !strcmp(o->keyword, "user"))
				user = o->val;
		}
	}
	/* Said without quoting the host, port or database, which hold part of the password. */
	char *refusal = unusable_ssl_file(opts, defs);
	if (!refusal && host && strchr(host, '@')) /* "postgresql://u:p@ss@db/app": libpq's host is "ss@db" */
		refusal = xstrdup("the host part of the URL holds an '@': write an '@' in the user name or "
				  "password as %40");
	else if (!refusal && url_password_holds_slash(dsn ? dsn : ""))
		refusal = xstrdup("the path of the URL holds an '@', so its user name or password holds a '/', "
				  "where libpq ends the host: write a '/' in them as %2F");
	if (refusal) {
		*why = redact_text(refusal);
		free(refusal);
		if (defs)
			PQconninfoFree(defs);
		PQconninfoFree(opts);
		return NULL;
	}
	char *s = xasprintf("%s%s%s:%s/%s", with_user && user ? user : "", with_user && user ? "@" : "",
			    host ? host : "local", port ? port : "5432", db ? db : (user ? user : "postgres"));
	if (defs)
		PQconninfoFree(defs);
	PQconninfoFree(opts);
	char *safe = redact_text(s);
	free(s);
	return safe;
}
