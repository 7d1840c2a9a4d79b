/* Targets, connections (timeouts, AUTH, SELECT, READONLY), server facts, cluster topology. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "redact.h"
#include "redisaudit.h"
#include "util.h"

/* ---- targets ---- */

/* "user:pass" or "pass" (redis-cli's reading of a userinfo without a colon). */
static void parse_userinfo(const char *s, size_t n, struct target *t)
{
	const char *colon = memchr(s, ':', n);
	if (colon) {
		if (colon > s)
			t->username = percent_decode(s, (size_t)(colon - s));
		t->password = percent_decode(colon + 1, n - (size_t)(colon - s) - 1);
	} else {
		t->password = percent_decode(s, n);
	}
	if (t->password && *t->password)
		redact_add_secret(t->password);
}

/* A URL's host[:port]: an empty host is the local server's. */
static int parse_hostport(const char *s, size_t n, int default_port, struct target *t, char **err)
{
	struct addr_span a;
	if (conn_addr_split(s, n, default_port, &a)) {
		*err = xstrdup("malformed host:port in the Redis URL");
		return -1;
	}
	t->host = a.host_len ? xstrndup(a.host, a.host_len) : xstrdup("127.0.0.1");
	t->port = a.port;
	return 0;
}

/*
 * "sentinel://[user:pass@]host:port[,host:port...]/master-name": the credentials are the data
 * nodes' (Sentinel's own password is sentinel_password); host and port are the first
 * Sentinel's until sentinel.c resolves the primary.
 */
static int parse_sentinel(const char *rest, struct target *t, char **err)
{
	const char *end = rest + strcspn(rest, "/?#");
	const char *at = memrchr(rest, '@', (size_t)(end - rest));
	if (at)
		parse_userinfo(rest, (size_t)(at - rest), t);
	const char *hosts = at ? at + 1 : rest;
	if (*end != '/' || !end[1] || end[1 + strcspn(end + 1, "/?#")]) {
		*err = xstrdup("a sentinel:// URL ends in /master-name");
		return -1;
	}
	if (!at && strchr(end + 1, '@')) {
		/* "sentinel://u:26379/pass@host/name" cut at its first '/': the password's tail
		 * would be the master name, in every message. Not quoted. */
		*err = xstrdup("the master name of the sentinel:// URL holds an '@': a '/' in the user name or "
			       "password is written %2F (an '@' in the name %40)");
		return -1;
	}
	t->master_name = percent_decode(end + 1, strlen(end + 1));
	for (const char *p = hosts; p < end; p += strcspn(p, ",") + 1) {
		size_t n = strcspn(p, ",/");
		struct target one;
		memset(&one, 0, sizeof(one));
		if (parse_hostport(p, n, 26379, &one, err))   /* Sentinel's port */
			return -1;
		t->sentinels = xrealloc(t->sentinels, sizeof(*t->sentinels) * (t->n_sentinels + 1));
		t->sentinels[t->n_sentinels++] = conn_addr_label(one.host, one.port);
		if (!t->host) {
			t->host = one.host;
			t->port = one.port;
		} else {
			free(one.host);
		}
		if (p[n] != ',')
			break;
	}
	if (!t->n_sentinels) {
		*err = xstrdup("a sentinel:// URL names at least one Sentinel host:port");
		return -1;
	}
	t->display = xasprintf("sentinel://%.*s/%s", (int)(end - hosts), hosts, t->master_name);
	return 0;
}

int conn_target_parse(const char *spec, struct target *t, char **err)
{
	memset(t, 0, sizeof(*t));
	if (str_starts_with(spec, "sentinel://")) {
		if (!parse_sentinel(spec + 11, t, err))
			return 0;
		conn_target_free(t);
		return -1;
	}
	bool tls = str_starts_with(spec, "rediss://");
	if (!tls && !str_starts_with(spec, "redis://")) {
		/* a mistyped URL ("user:pass@host:6379"): its password is a secret before
		 * the spec reaches any message, and is shown masked */
		char *shown = redact_userinfo(spec);
		if (!strchr(spec, '/')) {
			*err = xasprintf("\"%s\" is neither a redis:// URL, a socket path nor a configured target", shown);
			free(shown);
			return -1;
		}
		bool unix_url = str_starts_with(spec, "unix://");
		t->path = xstrdup(unix_url ? spec + 7 : spec);
		t->display = xstrdup(unix_url ? shown + 7 : shown);
		free(shown);
		return 0;
	}
	const char *rest = spec + (tls ? 9 : 8);
	t->tls = tls;
	const char *end = rest + strcspn(rest, "/?#");
	const char *at = memrchr(rest, '@', (size_t)(end - rest));
	if (at)
		parse_userinfo(rest, (size_t)(at - rest), t);
	const char *hp = at ? at + 1 : rest;
	if (parse_hostport(hp, (size_t)(end - hp), 6379, t, err)) {
		conn_target_free(t);   /* what userinfo and host parsed (found by fuzz-redis-url) */
		return -1;
	}
	if (*end == '/' && end[1]) {
		long long db;
		char *dbstr = xstrndup(end + 1, strcspn(end + 1, "?#"));
		int bad = parse_ll(dbstr, &db) || db < 0 || db > 100000;
		free(dbstr);
		if (bad) {
			*err = xstrdup("malformed database number in the Redis URL");
			conn_target_free(t);
			return -1;
		}
		t->db = (int)db;
	}
	t->display = xasprintf(strchr(t->host, ':') ? "%s://[%s]:%d/%d" : "%s://%s:%d/%d",
			       tls ? "rediss" : "redis", t->host, t->port, t->db);
	return 0;
}

void conn_target_free(struct target *t)
{
	free(t->host);
	free(t->path);
	free(t->username);
	free(t->password);
	free(t->display);
	free(t->master_name);
	for (size_t i = 0; i < t->n_sentinels; i++)
		free(t->sentinels[i]);
	free(t->sentinels);
	memset(t, 0, sizeof(*t));
}

char *conn_addr_label(const char *host, int port)
{
	return xasprintf(strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);   /* IPv6 in [] */
}

int conn_addr_split(const char *s, size_t n, int default_port, struct addr_span *a)
{
	const char *port_at = NULL;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || (close + 1 < s + n && close[1] != ':'))
			return -1;
		a->host = s + 1;
		a->host_len = (size_t)(close - s - 1);
		port_at = close + 1 < s + n ? close + 2 : NULL;
	} else {
		/* the port is after the last colon: a bare IPv6 address has colons of its own */
		const char *colon = memrchr(s, ':', n);
		if (default_port && colon && memchr(s, ':', n) != colon)
			return -1;   /* "::1" with the port optional: an address, or one with a port? */
		a->host = s;
		a->host_len = colon ? (size_t)(colon - s) : n;
		port_at = colon ? colon + 1 : NULL;
	}
	if (memchr(a->host, '[', a->host_len) || memchr(a->host, ']', a->host_len))
		return -1;   /* no host has one, and a label could not be read back */
	if (!port_at) {
		a->port = default_port;
		return default_port ? 0 : -1;
	}
	size_t digits = (size_t)(s + n - port_at);
	long port = 0;
	for (size_t i = 0; i < digits && port <= 65535; i++) {
		if (port_at[i] < '0' || port_at[i] > '9')
			return -1;
		port = port * 10 + (port_at[i] - '0');
	}
	if (!digits || port < 1 || port > 65535)
		return -1;
	a->port = (int)port;
	return 0;
}

int conn_addr_parse(const char *s, size_t n, char **host, int *port)
{
	struct addr_span a;
	if (conn_addr_split(s, n, 0, &a) || !a.host_len)
		return -1;
	*host = xstrndup(a.host, a.host_len);
	*port = a.port;
	return 0;
}

/* ---- address map (NAT, tunnels) ---- */

bool conn_address_map_entry_ok(const char *entry, char **why)
{
	const char *eq = strchr(entry, '=');
	char *h1 = NULL, *h2 = NULL;
	int p1, p2;
	bool ok = eq && !conn_addr_parse(entry, (size_t)(eq - entry), &h1, &p1) &&
		  !conn_addr_parse(eq + 1, strlen(eq + 1), &h2, &p2);
	free(h1);
	free(h2);
	if (!ok)
		*why = xasprintf("\"%s\" is not host:port=host:port", entry);
	return ok;
}

void conn_map_address(const struct settings *s, const char *host, int port, char **out_host, int *out_port)
{
	for (size_t i = 0; i < s->n_address_map; i++) {
		const char *e = s->address_map[i], *eq = strchr(e, '=');
		char *from_host = NULL;
		int from_port;
		/* compared as addresses: "::1:7000" and "[::1]:7000" are one node */
		bool match = eq && !conn_addr_parse(e, (size_t)(eq - e), &from_host, &from_port) &&
			     from_port == port && !strcmp(from_host, host);
		free(from_host);
		if (match && !conn_addr_parse(eq + 1, strlen(eq + 1), out_host, out_port))
			return;
	}
	*out_host = xstrdup(host);
	*out_port = port;
}

/* ---- commands ---- */

static void node_set_error(struct node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	free(n->error);
	n->error = msg;
}

redisReply *conn_node_command(struct node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(n->c, fmt, ap);
	va_end(ap);
	if (!r) {
		node_set_error(n, "%s: %s", n->label, n->c->errstr[0] ? n->c->errstr : strerror(errno));
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static void key_argv_push(struct key_argv *a, const char *arg, size_t len)
{
	a->argv[a->argc] = arg;
	a->len[a->argc++] = len;
}

void conn_key_argv(struct key_argv *a, const char *cmd, const char *sub, const char *key, size_t len,
		   const char *samples)
{
	a->argc = 0;
	key_argv_push(a, cmd, strlen(cmd));
	if (sub)
		key_argv_push(a, sub, strlen(sub));
	key_argv_push(a, key, len);
	if (samples) {
		key_argv_push(a, "SAMPLES", 7);
		key_argv_push(a, samples, strlen(samples));
	}
}

const char *conn_info_value(const char *info, const char *field)
{
	size_t fl = strlen(field);
	for (const char *p = info; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, field, fl) && p[fl] == ':')
			return p + fl + 1;
	return NULL;
}

/* The value of "field:" in an INFO reply, copied into out. */
static bool info_field(const char *info, const char *field, char *out, size_t outsz)
{
	const char *v = conn_info_value(info, field);
	if (!v)
		return false;
	size_t n = strcspn(v, "\r\n");
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

long long conn_info_db_expires(const char *info, int db)
{
	char field[16], value[96];
	long long keys, expires;
	snprintf(field, sizeof(field), "db%d", db);
	if (!info_field(info, field, value, sizeof(value)))
		return strstr(info, "# Keyspace") ? 0 : -1;   /* an empty database has no line */
	if (sscanf(value, "keys=%lld,expires=%lld", &keys, &expires) != 2)
		return -1;
	return expires;
}

void conn_info_server_facts(struct node *n, const char *info)
{
	char buf[64], sync[16];
	n->server = "redis";
	bool valkey = info_field(info, "valkey_version", n->version, sizeof(n->version));
	if (valkey)
		n->server = "valkey";
	if (valkey || info_field(info, "redis_version", n->version, sizeof(n->version))) {
		int ma = 0, mi = 0, pa = 0;
		sscanf(n->version, "%d.%d.%d", &ma, &mi, &pa);
		/* a version no server has (found by fuzz-redis-text: overflowed) is unknown */
		bool sane = ma >= 0 && ma < 10000 && mi >= 0 && mi < 100 && pa >= 0 && pa < 100;
		n->version_num = sane ? ma * 10000 + mi * 100 + pa : 0;
	}
	free(n->replica_problem);
	n->replica_problem = NULL;
	n->reports_replica = info_field(info, "role", buf, sizeof(buf)) && !strcmp(buf, "slave");
	if (!n->reports_replica)
		return;
	if (info_field(info, "master_sync_in_progress", sync, sizeof(sync)) && strcmp(sync, "0"))
		n->replica_problem = xstrdup("a replica still syncing with its primary (master_sync_in_progress:1): "
					     "its key space is incomplete");
	else if (info_field(info, "master_link_status", buf, sizeof(buf)) && strcmp(buf, "up"))
		n->replica_problem = xasprintf("a replica whose link to its primary is %s "
					       "(master_link_status): its key space may be stale or incomplete", buf);
}

static void read_server_facts(struct node *n, int db, bool *cluster)
{
	n->maxmemory = -1;
	n->stream_node_max_entries = 100;
	*cluster = false;
	redisReply *r = conn_node_command(n, "INFO");
	if (!r || r->type != REDIS_REPLY_STRING) {
		if (r)
			freeReplyObject(r);
		/* INFO refused: CLUSTER NODES answers only on a cluster, so a cluster is
		 * still audited whole rather than as its seed node alone */
		if ((r = conn_node_command(n, "CLUSTER NODES"))) {
			*cluster = r->type == REDIS_REPLY_STRING;
			freeReplyObject(r);
		}
		return;
	}
	char buf[64];
	conn_info_server_facts(n, r->str);
	if (info_field(r->str, "maxmemory", buf, sizeof(buf)))
		n->maxmemory = atoll(buf);
	info_field(r->str, "maxmemory_policy", n->maxmemory_policy, sizeof(n->maxmemory_policy));
	n->ttl_free = conn_info_db_expires(r->str, db) == 0;
	if (info_field(r->str, "cluster_enabled", buf, sizeof(buf)))
		*cluster = !strcmp(buf, "1");
	freeReplyObject(r);
	/* CONFIG may be renamed away on managed servers: keep the default then. */
	r = conn_node_command(n, "CONFIG GET stream-node-max-entries");
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->str)
		n->stream_node_max_entries = atoll(r->element[1]->str);
	else
		n->config_refused = true;
	if (r)
		freeReplyObject(r);
}

/* AUTH with the password alone (no user, or an empty one) logs in as Redis' default user. */
static int node_auth(struct node *n, const struct settings *s)
{
	if (!s->password || !*s->password)
		return 0;
	bool as_user = s->username && *s->username;
	redisReply *r = as_user ? redisCommand(n->c, "AUTH %s %s", s->username, s->password)
				: redisCommand(n->c, "AUTH %s", s->password);
	if (!r) {
		node_set_error(n, "%s: %s", n->label, n->c->errstr);
		return -1;
	}
	int rc = 0;
	if (r->type == REDIS_REPLY_ERROR) {
		if (as_user)
			node_set_error(n, "%s: authentication as %s failed: %s", n->label, s->username, r->str);
		else
			node_set_error(n, "%s: authentication failed (default user): %s", n->label, r->str);
		rc = -1;
	}
	freeReplyObject(r);
	return rc;
}

/* A command that must succeed: on failure, the node's error says which one and why. */
static redisReply *node_vexpect(struct node *n, const char *what, const char *fmt, va_list ap)
{
	redisReply *r = redisvCommand(n->c, fmt, ap);
	if (!r) {
		node_set_error(n, "%s: %s: %s", n->label, what, n->c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		node_set_error(n, "%s: %s: %s", n->label, what, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static redisReply *node_expect(struct node *n, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = node_vexpect(n, what, fmt, ap);
	va_end(ap);
	return r;
}

static int node_must(struct node *n, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = node_vexpect(n, what, fmt, ap);
	va_end(ap);
	if (!r)
		return -1;
	freeReplyObject(r);
	return 0;
}

int conn_node_open(struct node *n, const struct settings *s)
{
	double ms = s->timeout_ms > 0 ? s->timeout_ms : 5000;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((long long)ms % 1000 * 1000) };
	if (s->tls && !n->path) {
		char *err = NULL;
		int fd = -1;
		n->tls = tls_connect(s->tls_ctx, n->host, n->port, s->sni, ms, &fd, &err);
		if (!n->tls) {
			node_set_error(n, "cannot connect to %s over TLS: %s", n->label, err);
			free(err);
			return -1;
		}
		n->c = redisConnectFd(fd);
	} else {
		n->c = n->path ? redisConnectUnixWithTimeout(n->path, tv)
			       : redisConnectWithTimeout(n->host, n->port, tv);
	}
	if (!n->c || n->c->err) {
		node_set_error(n, "cannot connect to %s: %s", n->label,
			       n->c ? n->c->errstr : "out of memory");
		return -1;
	}
	if (redisSetTimeout(n->c, tv) != REDIS_OK) {
		node_set_error(n, "%s: cannot set the command timeout", n->label);
		return -1;
	}
	if (node_auth(n, s))
		return -1;
	/* READONLY exists on cluster replicas only (n->id): a standalone one serves reads as is */
	if (n->id && n->role && !strcmp(n->role, "replica") && node_must(n, "READONLY", "READONLY"))
		return -1;
	if (s->db && node_must(n, "SELECT", "SELECT %d", s->db))
		return -1;
	return 0;
}

int conn_node_connect(struct node *n, const struct settings *s)
{
	if (conn_node_open(n, s))
		return -1;
	bool cluster;
	read_server_facts(n, s->db, &cluster);
	redisReply *r;
	/* XLEN of streams (and every length with --lengths) would reset the keys' LRU idle
	 * time: ask 7.2+ not to. Best effort: a user without +client|no-touch still audits. */
	if (n->version_num >= 70200 && (r = redisCommand(n->c, "CLIENT NO-TOUCH ON")))
		freeReplyObject(r);
	if (!(r = node_expect(n, "DBSIZE", "DBSIZE")))
		return -1;
	n->dbsize = r->integer;
	freeReplyObject(r);
	if (!n->role)
		n->role = cluster ? "primary" : "standalone";
	n->connected = true;
	return 0;
}

void conn_node_free(struct node *n)
{
	if (n->c)
		redisFree(n->c);
	n->c = NULL;
	tls_close(n->tls);
	n->tls = NULL;
	free(n->host);
	free(n->path);
	free(n->label);
	free(n->id);
	free(n->primary_label);
	free(n->facts_from);
	free(n->error);
	free(n->replica_problem);
	agg_free(&n->agg);
}

/* ---- cluster topology ---- */

struct cluster_line {
	char *id, *host, *flags, *primary;
	int port;
};

/* The announced address before CLUSTER SHARDS says better: cluster-announce-hostname
 * when set (7.0+ shows it after the comma), else the IP. */
static void use_hostname(struct cluster_line *cl, char *addr_field)
{
	char *comma = strchr(addr_field, ',');
	if (comma && comma[1] && comma[1] != ',') {
		cl->host = comma + 1;
		cl->host[strcspn(cl->host, ",")] = '\0';
	}
}

/* "<id> <ip:port@cport[,hostname]> <flags> <primary> ..." */
static int parse_nodes_line(char *line, struct cluster_line *cl)
{
	char *save = NULL;
	char *f[4];
	for (int i = 0; i < 4; i++) {
		f[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!f[i])
			return -1;
	}
	char *addr = f[1];
	char *hostname = addr + strcspn(addr, ",");
	struct addr_span a;
	if (conn_addr_split(addr, strcspn(addr, "@,"), 0, &a) || !a.host_len)
		return -1;   /* no address: a node the cluster lost */
	cl->host = (char *)a.host;
	cl->host[a.host_len] = '\0';   /* the text is ours to cut up */
	cl->port = a.port;
	use_hostname(cl, hostname);
	cl->id = f[0];
	cl->flags = f[2];
	cl->primary = f[3];
	return 0;
}

bool conn_has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);
	for (const char *p = flags; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, flag, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

bool conn_flags_unhealthy(const char *flags)
{
	return conn_has_flag(flags, "fail") || conn_has_flag(flags, "fail?") || conn_has_flag(flags, "noaddr");
}

/* The label is the announced address; host and port are what is dialled (address map). */
static void node_init_addr(struct node *n, const struct settings *s, const char *host, int port, const char *id,
			   const char *role)
{
	memset(n, 0, sizeof(*n));
	conn_map_address(s, host, port, &n->host, &n->port);
	n->label = conn_addr_label(host, port);
	n->id = xstrdup(id);
	n->role = role;
	strcpy(n->cursor, "0");
}

static int cmp_nodes(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	int c = strcmp(x->host ? x->host : "", y->host ? y->host : "");
	return c ? c : (x->port > y->port) - (x->port < y->port);
}

/* One node per primary: the primary itself, or with --replica one healthy replica of it. */
static void pick_nodes(struct cluster_line *lines, size_t nl, const struct settings *s,
		       struct node **out, size_t *nout)
{
	struct node *v = xcalloc(nl + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < nl; i++) {
		/* a primary the cluster marks failed is not dialled: its slots are reported
		 * uncovered (slots.c), and a replica promoted in its place is scanned */
		if (!conn_has_flag(lines[i].flags, "master") || conn_flags_unhealthy(lines[i].flags))
			continue;
		const struct cluster_line *use = &lines[i];
		if (s->replica) {
			for (size_t j = 0; j < nl; j++)
				if (conn_has_flag(lines[j].flags, "slave") && !conn_flags_unhealthy(lines[j].flags) &&
				    !strcmp(lines[j].primary, lines[i].id)) {
					use = &lines[j];
					break;
				}
		}
		node_init_addr(&v[k], s, use->host, use->port, use->id, use == &lines[i] ? "primary" : "replica");
		if (use != &lines[i])
			v[k].primary_label = conn_addr_label(lines[i].host, lines[i].port);
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_nodes);
	*out = v;
	*nout = k;
}

const redisReply *conn_reply_field(const redisReply *flat, const char *name)
{
	for (size_t i = 0; flat && flat->type == REDIS_REPLY_ARRAY && i + 1 < flat->elements; i += 2)
		if (flat->element[i]->type == REDIS_REPLY_STRING && !strcmp(flat->element[i]->str, name))
			return flat->element[i + 1];
	return NULL;
}

const char *conn_reply_str(const redisReply *flat, const char *name)
{
	const redisReply *v = conn_reply_field(flat, name);
	return v && v->type == REDIS_REPLY_STRING ? v->str : NULL;
}

/*
 * 7.0+: the endpoint each node asks clients to use (cluster-preferred-endpoint-type: its
 * IP, its announced hostname, or "?" for unknown), from a CLUSTER SHARDS reply; it
 * replaces what CLUSTER NODES suggested. Older servers and users without +cluster|shards
 * (r NULL) keep that. The lines then point into r.
 */
static void use_shard_endpoints(const redisReply *r, struct cluster_line *lines, size_t nl)
{
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *nodes = conn_reply_field(r->element[i], "nodes");
		for (size_t k = 0; nodes && nodes->type == REDIS_REPLY_ARRAY && k < nodes->elements; k++) {
			const char *id = conn_reply_str(nodes->element[k], "id");
			const char *endpoint = conn_reply_str(nodes->element[k], "endpoint");
			if (!id || !endpoint || !*endpoint || !strcmp(endpoint, "?"))
				continue;
			for (size_t j = 0; j < nl; j++)
				if (!strcmp(lines[j].id, id))
					lines[j].host = (char *)endpoint;
		}
	}
}

/* The nodes to scan from CLUSTER NODES text (cut up in place) and the CLUSTER SHARDS
 * reply (or NULL): the primaries, or with --replica a healthy replica of each. */
static void pick_cluster_nodes(char *text, const redisReply *shards, const struct settings *s,
			       struct node **picked, size_t *np)
{
	struct cluster_line *lines = NULL;
	size_t nl = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lines = xrealloc(lines, sizeof(*lines) * (nl + 1));
		if (!parse_nodes_line(line, &lines[nl]))
			nl++;
	}
	use_shard_endpoints(shards, lines, nl);
	pick_nodes(lines, nl, s, picked, np);
	free(lines);
}

int conn_cluster_discover(struct node **nodes, size_t *n, const struct settings *s, char **err)
{
	struct node *seed = &(*nodes)[0];
	redisReply *r = conn_node_command(seed, "CLUSTER NODES");
	if (!r || r->type != REDIS_REPLY_STRING) {
		*err = xasprintf("%s: CLUSTER NODES failed%s%s", seed->label, seed->error ? ": " : "",
				 seed->error ? seed->error : "");
		if (r)
			freeReplyObject(r);
		return -1;
	}
	char *text = xstrdup(r->str);
	freeReplyObject(r);
	struct node *picked;
	size_t np;
	redisReply *shards = conn_node_command(seed, "CLUSTER SHARDS");
	pick_cluster_nodes(text, shards, s, &picked, &np);
	if (shards)
		freeReplyObject(shards);
	free(text);
	if (!np) {
		free(picked);
		*err = xasprintf("%s: CLUSTER NODES lists no primary with an address", seed->label);
		return -1;
	}
	for (size_t i = 0; i < *n; i++)
		conn_node_free(&(*nodes)[i]);
	free(*nodes);
	*nodes = picked;
	*n = np;
	return (int)np;
}
