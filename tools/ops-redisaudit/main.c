/*
 * ops-redisaudit — a SCAN-based key-space audit of Redis and Redis Cluster.
 * Options and config here; the work is in conn.c, scan.c, agg.c, findings.c, output.c.
 */
#define _GNU_SOURCE
#include <math.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exporter.h"
#include "config.h"
#include "msg.h"
#include "redact.h"
#include "redisaudit.h"
#include "util.h"

static int opt_delimiters(void *opts, const char *arg, char **why);
static int opt_sample(void *opts, const char *arg, char **why);

#define O struct settings
static const struct cli_opt options[] = {
	CLI_OPT(0, "count", "N", CLI_INT, O, count, "SCAN COUNT per batch", .config_key = "redis.count"),
	CLI_OPT(0, "match", "PATTERN", CLI_STRING, O, match, "audit only keys matching the SCAN MATCH pattern"),
	CLI_OPT(0, "memory-samples", "N", CLI_INT, O, samples, "MEMORY USAGE SAMPLES for nested values",
		.config_key = "redis.memory_samples"),
	CLI_OPT(0, "no-exact", NULL, CLI_FLAG_OFF, O, exact,
		"no exact pass (MEMORY USAGE ... SAMPLES 0) over the listed top keys", .config_key = "redis.exact"),
	CLI_OPT(0, "lengths", NULL, CLI_FLAG, O, lengths, "also read element counts (STRLEN, LLEN, HLEN, ...)"),
	CLI_OPT(0, "hot", NULL, CLI_FLAG, O, hot, "OBJECT FREQ per key for the hot-key table, whatever the policy"),
	CLI_OPT(0, "idle", NULL, CLI_FLAG, O, idle, "OBJECT IDLETIME per key: memory by time since last access"),
	CLI_OPT(0, "encodings", NULL, CLI_FLAG, O, encodings,
		"also read OBJECT ENCODING of hashes, sets and zsets: those past the compact encoding"),
	CLI_OPT(0, "top", "N", CLI_INT, O, top, "rows of each top-key table, and prefixes shown in text",
		.config_key = "redis.top"),
	CLI_CALL_OPT(0, "delimiters", "CHARS", opt_delimiters, "prefix delimiters",
		     .config_key = "redis.prefix.delimiters"),
	CLI_OPT(0, "depth", "N", CLI_INT, O, depth, "named segments in a prefix, ids aside",
		.config_key = "redis.prefix.depth"),
	CLI_OPT(0, "max-prefixes", "N", CLI_INT, O, prefix_max, "distinct prefixes kept",
		.config_key = "redis.prefix.max"),
	CLI_OPT(0, "rate", "KEYS_PER_SEC", CLI_NUMBER, O, rate,
		"examine at most this many keys a second, all nodes together; 0: no limit",
		.config_key = "redis.rate"),
	CLI_OPT(0, "pause-ms", "MS", CLI_DURATION, O, pause_ms, "sleep between batches, on each node (a bare number is milliseconds)",
		.config_key = "redis.pause", .flags = CLI_BARE_MS),
	CLI_OPT(0, "max-keys", "N", CLI_INT, O, max_keys, "stop after N keys (results extrapolated, except with --match)",
		CLI_BOUNDS(1, 1e18)),
	CLI_CALL_OPT(0, "sample", "FRACTION", opt_sample, "examine this fraction of keys (results extrapolated)",
		     .def = "1"),
	CLI_OPT(0, "jobs", "N", CLI_INT, O, jobs, "cluster nodes scanned at once", .config_key = "redis.jobs"),
	CLI_OPT(0, "replica", NULL, CLI_FLAG, O, replica, "scan a replica of each primary (cluster) or of a standalone primary"),
	CLI_OPT(0, "no-scan", NULL, CLI_FLAG, O, no_scan, "no SCAN: only the server's facts (INFO, SLOWLOG, CLIENT LIST)"),
	CLI_OPT(0, "listen", "ADDR:PORT", CLI_STRING, O, listen, "exporter mode: serve /probe?target=NAME and /metrics"),
	CLI_OPT(0, "resume", "TOKEN", CLI_STRING, O, resume, "continue an interrupted scan from its cursor(s)"),
	CLI_OPT(0, "tls", NULL, CLI_FLAG, O, tls, "connect over TLS (as a rediss:// URL does)"),
	CLI_OPT(0, "ca-file", "FILE", CLI_STRING, O, ca_file, "CA certificates (PEM) that verify the server, instead of the system's"),
	CLI_OPT(0, "cert", "FILE", CLI_STRING, O, cert, "client certificate (PEM) for servers that ask for one"),
	CLI_OPT(0, "key", "FILE", CLI_STRING, O, key, "private key (PEM) of --cert"),
	CLI_OPT(0, "sni", "NAME", CLI_STRING, O, sni, "server name sent and verified, instead of the target's host"),
	CLI_OPT(0, "timeout", "DURATION", CLI_DURATION, O, timeout_ms, "connect and command timeout",
		.config_key = "redis.timeout"),
	CLI_OPT(0, "compare", "FILE", CLI_STRING, O, compare,
		"a previous JSON report: key-leak says how much each prefix grew since"),
	CLI_OPT(0, "big-key", "BYTES", CLI_SIZE, O, big_warn, "warn about keys using this much memory",
		.config_key = "redis.thresholds.big_key_warning"),
	CLI_OPT(0, "big-key-critical", "BYTES", CLI_SIZE, O, big_crit, "critical from this size",
		.config_key = "redis.thresholds.big_key_critical"),
	CLI_OPT(0, "stream-lag", "N", CLI_INT, O, group_lag_warn,
		"warn about a consumer group with more entries than this to deliver",
		.config_key = "redis.stream_groups.lag_warning"),
	CLI_OPT(0, "consumer-idle", "DURATION", CLI_DURATION, O, consumer_idle_ms,
		"warn about a consumer idle longer than this that holds pending entries",
		.config_key = "redis.stream_groups.consumer_idle_warning"),
	CLI_OPT_END,
};
#undef O

static const struct cli_tool tool = {
	.name = "ops-redisaudit",
	.synopsis = "[options] [redis://[user:pass@]host:port[/db] | sentinel://[user:pass@]host:port[,...]/name | path | target]\n",
	.opts = options,
	.config_section = "redis",
	.verbose_help = "hints of OK checks too",
	.formats = FMT_MASK_SHARED,
};

static int opt_delimiters(void *opts, const char *arg, char **why)
{
	if (!*arg) {
		*why = xstrdup("needs at least one character");
		return -1;
	}
	((struct settings *)opts)->delimiters = arg;
	return 0;
}

static int opt_sample(void *opts, const char *arg, char **why)
{
	double *sample = &((struct settings *)opts)->sample;
	if (parse_double(arg, sample) || !(*sample > 0 && *sample <= 1)) {
		*why = xasprintf("needs a fraction in (0, 1], not \"%s\"", arg);
		return -1;
	}
	return 0;
}

static void load_streams(struct settings *s, const struct config *cfg)
{
	const char *const *names;
	size_t n;
	if (!cfg_children(cfg, "redis.streams", &names, &n))
		return;
	s->streams = xcalloc(n + 1, sizeof(*s->streams));
	for (size_t i = 0; i < n; i++) {
		struct stream_rule *r = &s->streams[s->n_streams];
		char *key = xasprintf("redis.streams.%s.maxlen", names[i]);
		bool has = cfg_int(cfg, key, &r->maxlen);
		free(key);
		if (!has)
			continue;   /* a rule without maxlen checks nothing */
		r->name = names[i];
		key = xasprintf("redis.streams.%s.match", names[i]);
		if (!cfg_str(cfg, key, &r->match))
			r->match = names[i];
		free(key);
		key = xasprintf("redis.streams.%s.tolerance", names[i]);
		/* unset: one macro node of the server's stream-node-max-entries (agg.c) */
		if (!cfg_threshold(cfg, key, &r->tolerance, &r->tolerance_percent))
			r->tolerance = NAN;
		free(key);
		s->n_streams++;
	}
}

/* What the option rows do not cover: config-only keys (their defaults are in the schema
 * rows) and values derived from several settings. */
static void load_settings(struct settings *s, const struct config *cfg)
{
	long long v;
	bool pct = true;
	cfg_int(cfg, "redis.thresholds.big_key_elements_warning", &v);
	s->big_len_warn = (double)v;
	cfg_int(cfg, "redis.thresholds.big_key_elements_critical", &v);
	s->big_len_crit = (double)v;
	cfg_threshold(cfg, "redis.thresholds.ttl_share", &s->ttl_heuristic_pct, &pct);
	if (!pct && s->ttl_heuristic_pct <= 1)   /* "0.9" means 90% */
		s->ttl_heuristic_pct *= 100;
	cfg_int(cfg, "redis.thresholds.ttl_min_keys", &s->ttl_heuristic_min);
	cfg_bool(cfg, "redis.require_maxmemory", &s->require_maxmemory);
	cfg_int(cfg, "redis.thresholds.leak_keys", &s->leak_keys);
	cfg_int(cfg, "redis.exact_max_elements", &s->exact_max_elements);
	pct = true;
	cfg_threshold(cfg, "redis.thresholds.mass_expiry_share", &s->mass_expiry_pct, &pct);
	if (!pct && s->mass_expiry_pct <= 1)   /* "0.5" means 50% */
		s->mass_expiry_pct *= 100;
	cfg_duration_ms(cfg, "redis.thresholds.mass_expiry_window", &s->mass_expiry_window_ms);
	if (s->rate > 0 && (double)s->count > s->rate)   /* a slow rate: smaller batches, not long naps */
		s->count = s->rate >= 1 ? (long long)s->rate : 1;
	cfg_list(cfg, "redis.expire_patterns", &s->expire_patterns, &s->n_expire_patterns);
	cfg_list(cfg, "redis.address_map", &s->address_map, &s->n_address_map);
	load_streams(s, cfg);
	cfg_list(cfg, "redis.stream_groups.watch", &s->stream_watch, &s->n_stream_watch);
	cfg_int(cfg, "redis.stream_groups.max_streams", &s->stream_groups_max);
	cfg_double(cfg, "redis.thresholds.memory_used_warning", &s->mem_used_warn_pct);
	cfg_double(cfg, "redis.thresholds.memory_used_critical", &s->mem_used_crit_pct);
	cfg_double(cfg, "redis.thresholds.fragmentation_warning", &s->frag_warn);
	cfg_int(cfg, "redis.thresholds.fragmentation_min_bytes", &s->frag_min_bytes);
}

/* redis.id_patterns: a bad regex is a config error, located like the loader's. */
static void load_id_patterns(const struct config *cfg, const struct cli_common *common)
{
	const char *const *patterns;
	size_t n = 0, bad = 0;
	char *why = NULL;
	if (!cfg_list(cfg, "redis.id_patterns", &patterns, &n) || !prefix_set_id_patterns(patterns, n, &bad, &why))
		return;
	char *where = xasprintf("%s", cfg_where(cfg, "redis.id_patterns"));
	cli_fail_unknown(&tool, common, "config", "%s: redis.id_patterns item %zu \"%s\": %s", where, bad + 1,
			 patterns[bad], why);
}

/* redis.targets.NAME.FIELD, copied, or NULL. */
static char *target_key(const struct config *cfg, const char *name, const char *field)
{
	char *key = xasprintf("redis.targets.%s.%s", name, field);
	const char *v = NULL;
	bool found = cfg_str(cfg, key, &v);
	free(key);
	return found ? xstrdup(v) : NULL;
}

/* A target given by redis.targets.NAME.sentinels and .master_name, as a sentinel:// URL
 * (caller frees), or NULL. */
static char *sentinel_spec(const struct config *cfg, const char *name)
{
	char *key = xasprintf("redis.targets.%s.sentinels", name);
	const char *const *hosts;
	size_t n = 0;
	cfg_list(cfg, key, &hosts, &n);
	free(key);
	char *master = target_key(cfg, name, "master_name");
	if (!n || !master) {
		free(master);
		return NULL;
	}
	struct strbuf sb = STRBUF_INIT;
	sb_add(&sb, "sentinel://", 11);
	for (size_t i = 0; i < n; i++)
		sb_addf(&sb, "%s%s", i ? "," : "", hosts[i]);
	sb_addf(&sb, "/%s", master);
	free(master);
	return sb_detach(&sb);
}

/* The target: an operand (URL, path or configured name), else the first configured target,
 * else localhost. Credentials: URL, then config, then REDISCLI_AUTH. */
static void resolve_target(const struct config *cfg, const char *operand, struct target *t,
			   struct settings *s, const struct cli_common *common, char **sentinel_password)
{
	const char *const *names;
	size_t n = 0;
	const char *name = NULL, *spec = operand;
	cfg_children(cfg, "redis.targets", &names, &n);
	for (size_t i = 0; operand && i < n; i++)
		if (!strcmp(names[i], operand))
			name = names[i];
	if (!operand && n)
		name = names[0];
	char *url = name ? target_key(cfg, name, "url") : NULL;
	if (!url && name)
		url = sentinel_spec(cfg, name);
	if (url)
		spec = url;
	char *err = NULL;
	int bad = conn_target_parse(spec ? spec : "redis://127.0.0.1:6379", t, &err);
	free(url);
	if (bad)
		cli_fail_unknown(&tool, common, "target", "%s", err);
	/* TLS from the target's keys, unless given on the command line */
	static const struct { const char *field, *option; size_t off; } tls_keys[] = {
		{ "ca_file", "ca-file", offsetof(struct settings, ca_file) },
		{ "cert", "cert", offsetof(struct settings, cert) },
		{ "key", "key", offsetof(struct settings, key) },
		{ "sni", "sni", offsetof(struct settings, sni) },
	};
	for (size_t i = 0; name && i < sizeof(tls_keys) / sizeof(tls_keys[0]); i++) {
		const char **field = (const char **)((char *)s + tls_keys[i].off);
		char *key = xasprintf("redis.targets.%s.%s", name, tls_keys[i].field);
		const char *v;
		if (!cli_given(common, tls_keys[i].option) && cfg_str(cfg, key, &v))
			*field = v;
		free(key);
	}
	char *tlskey = name ? xasprintf("redis.targets.%s.tls", name) : NULL;
	bool tls = false;
	if (tlskey && cfg_bool(cfg, tlskey, &tls) && tls)
		s->tls = true;
	free(tlskey);
	if (t->tls)
		s->tls = true;
	if (name && !t->password && (t->password = target_key(cfg, name, "password")))
		redact_add_secret(t->password);
	if (name && !t->username)
		t->username = target_key(cfg, name, "username");
	if (name && (*sentinel_password = target_key(cfg, name, "sentinel_password")))
		redact_add_secret(*sentinel_password);
	const char *env = getenv("REDISCLI_AUTH");
	if (!t->password && env && *env) {
		t->password = xstrdup(env);
		redact_add_secret(env);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	scan_stop = true;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;   /* a second ^C ends the run at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

struct run {
	struct cli_common common;
	struct settings s;
	struct target target;
	struct node *nodes;
	size_t nn;
	struct agg total;
	struct caller_list callers;
	struct stream_audit streams;
	struct memctx *mem;        /* per node */
	double elapsed_ms;
	bool cluster;
	char *sentinel_password;   /* the target's sentinel_password (owned), or NULL */
	char *sentinel_said;       /* which Sentinel named which primary, for the report */
	char *resume_mismatch;     /* what of --resume matched no node, or NULL */
	char *resume_fresh;        /* nodes it did not name, scanned from 0 */
	struct slot_map *slots_before, *slots_after;   /* cluster: around the scan (slots.c) */
};

/*
 * --resume: "CURSOR" (one node) or "host:port=CURSOR,..." with "done" for finished nodes.
 * A bare cursor means nothing on another node, so it is refused on a cluster. An entry that
 * names no node now (failover, address change) and a node the token does not name (it is
 * then scanned from 0) are said in resume checks: the two runs do not add up.
 */
static void apply_resume(struct run *run)
{
	const char *tok = run->s.resume;
	if (!tok)
		return;
	if (!strchr(tok, '=')) {
		if (run->nn > 1)
			cli_fail_unknown(&tool, &run->common, "resume",
					 "--resume: a bare cursor resumes one node, and this cluster scans %zu: "
					 "give the token the interrupted run printed (host:port=cursor,...)", run->nn);
		snprintf(run->nodes[0].cursor, sizeof(run->nodes[0].cursor), "%s", tok);
		return;
	}
	bool *named = xcalloc(run->nn + 1, sizeof(*named));
	struct strbuf unknown = STRBUF_INIT;
	for (const char *p = tok; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		size_t el = strcspn(p, ","), ll = strcspn(p, "=,");
		if (ll == el) {
			free(named);
			sb_release(&unknown);
			cli_fail_unknown(&tool, &run->common, "resume",
					 "--resume: \"%.*s\" is not host:port=cursor", (int)el, p);
		}
		bool found = false;
		for (size_t i = 0; i < run->nn && !found; i++) {
			struct node *n = &run->nodes[i];
			if (strlen(n->label) != ll || strncmp(p, n->label, ll))
				continue;
			found = named[i] = true;
			const char *cur = p + ll + 1;
			size_t cl = el - ll - 1;
			if (cl == 4 && !strncmp(cur, "done", 4))
				n->skipped = n->complete = true;
			else
				snprintf(n->cursor, sizeof(n->cursor), "%.*s", (int)cl, cur);
		}
		if (!found)
			sb_addf(&unknown, "%s%.*s", unknown.len ? ", " : "", (int)ll, p);
	}
	struct strbuf fresh = STRBUF_INIT;
	for (size_t i = 0; i < run->nn; i++)
		if (!named[i])
			sb_addf(&fresh, "%s%s", fresh.len ? ", " : "", run->nodes[i].label);
	if (unknown.len || fresh.len) {
		run->resume_mismatch = xasprintf("the --resume token %s%s%s%s%s%s", unknown.len ? "names " : "",
						 unknown.len ? sb_str(&unknown) : "",
						 unknown.len ? ", no node now" : "",
						 unknown.len && fresh.len ? ", and " : "",
						 fresh.len ? "does not name " : "", fresh.len ? sb_str(&fresh) : "");
		run->resume_fresh = fresh.len ? sb_detach(&fresh) : NULL;
	}
	sb_release(&unknown);
	sb_release(&fresh);
	free(named);
}

static bool valid_cursor(const char *c)
{
	if (!*c)
		return false;
	for (; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

/* --replica on a standalone primary: scan an online replica instead; without one (or on a
 * replica already) the target itself is scanned. */
static void switch_to_replica(struct run *run)
{
	char *host = NULL;
	int port;
	struct node *seed = &run->nodes[0];
	if (replica_find_online(seed, &host, &port))
		return;
	struct node replica = { .role = "replica" };
	replica.label = conn_addr_label(host, port);
	conn_map_address(&run->s, host, port, &replica.host, &replica.port);
	free(host);
	replica.primary_label = xstrdup(seed->label);
	strcpy(replica.cursor, "0");
	if (conn_node_connect(&replica, &run->s))
		cli_fail_unknown(&tool, &run->common, "connect", "%s (the replica --replica picked)", replica.error);
	conn_node_free(seed);
	*seed = replica;
}

static void connect_all(struct run *run)
{
	struct node *seed = &run->nodes[0];
	if (conn_node_connect(seed, &run->s))
		cli_fail_unknown(&tool, &run->common, "connect", "%s", seed->error);
	run->cluster = !strcmp(seed->role, "primary");
	if (!run->cluster) {
		if (run->s.replica && !seed->primary_label)
			switch_to_replica(run);
		return;
	}
	if (run->s.db)
		cli_fail_unknown(&tool, &run->common, "target", "Redis Cluster has only database 0, not %d", run->s.db);
	char *err = NULL;
	if (conn_cluster_discover(&run->nodes, &run->nn, &run->s, &err) < 0)
		cli_fail_unknown(&tool, &run->common, "cluster", "%s", err);
	for (size_t i = 0; i < run->nn; i++)
		conn_node_connect(&run->nodes[i], &run->s);   /* a failed node is reported, the rest scanned */
	run->slots_before = xcalloc(1, sizeof(*run->slots_before));
	slots_read(run->slots_before, run->nodes, run->nn);
}

static void init_nodes(struct run *run)
{
	run->nn = 1;
	run->nodes = xcalloc(1, sizeof(*run->nodes));
	struct node *n = &run->nodes[0];
	n->host = run->target.host ? xstrdup(run->target.host) : NULL;
	n->port = run->target.port;
	n->path = run->target.path ? xstrdup(run->target.path) : NULL;
	/* a path's display is the path with what looks like a password masked */
	n->label = n->path ? xstrdup(run->target.display) : conn_addr_label(n->host, n->port);
	strcpy(n->cursor, "0");
}

/* After the scan (our own commands are done): consumer groups and memory, also --no-scan. */
static void read_server_context(struct run *run)
{
	if (scan_stop)
		return;
	streams_audit(run->nodes, run->nn, &run->s, &run->streams);
	run->mem = xcalloc(run->nn + 1, sizeof(*run->mem));
	for (size_t i = 0; i < run->nn; i++) {
		memctx_collect(&run->nodes[i], &run->mem[i]);
		if (run->s.encodings && run->nodes[i].connected && !run->nodes[i].error)
			encodings_read_config(&run->nodes[i], &run->nodes[i].agg.encodings);
	}
}

/* sentinel://: the primary Sentinel names, or with --replica a healthy replica of it
 * (KEYS callers and maxmemory then come from the primary, replica.c). */
static void ask_sentinels(struct run *run)
{
	struct sentinel_answer a;
	char *err = NULL;
	if (sentinel_resolve(&run->target, &run->s, run->sentinel_password, &a, &err))
		cli_fail_unknown(&tool, &run->common, "sentinel", "%s", err);
	free(run->target.host);
	run->target.host = xstrdup(a.primary_host);
	run->target.port = a.primary_port;
	init_nodes(run);
	struct node *n = &run->nodes[0];
	free(n->host);
	conn_map_address(&run->s, a.primary_host, a.primary_port, &n->host, &n->port);
	run->sentinel_said = xasprintf("Sentinel %s names %s as primary %s", a.sentinel, n->label,
				       run->target.master_name);
	if (a.replica_host) {
		n->primary_label = n->label;
		free(n->host);
		conn_map_address(&run->s, a.replica_host, a.replica_port, &n->host, &n->port);
		n->label = conn_addr_label(a.replica_host, a.replica_port);
		n->role = "replica";
	}
	sentinel_answer_free(&a);
}

static void scan_everything(struct run *run)
{
	unsigned long long total = 0;
	apply_resume(run);
	for (size_t i = 0; i < run->nn; i++) {
		struct node *n = &run->nodes[i];
		agg_init(&n->agg, &run->s);
		if (n->connected && n->stream_node_max_entries > 0)
			n->agg.stream_node_max_entries = n->stream_node_max_entries;
		if (!valid_cursor(n->cursor))
			cli_fail_unknown(&tool, &run->common, "resume", "--resume: \"%s\" is not a SCAN cursor", n->cursor);
		if (n->connected) {
			if (n->primary_label)
				replica_primary_facts(n, &run->s, &run->callers);
			else
				findings_collect_callers(n, &run->callers);
			total += (unsigned long long)n->dbsize;
		}
	}
	install_signals();
	double t0 = now_ms();
	if (!run->s.no_scan)
		scan_all(run->nodes, run->nn, &run->s, total);
	run->elapsed_ms = now_ms() - t0;
	if (run->cluster && !run->s.no_scan) {
		run->slots_after = xcalloc(1, sizeof(*run->slots_after));
		slots_read(run->slots_after, run->nodes, run->nn);
	}
	agg_init(&run->total, &run->s);
	for (size_t i = 0; i < run->nn; i++)
		agg_merge(&run->total, &run->nodes[i].agg, &run->s);
	if (!run->s.no_scan && run->s.exact && !scan_stop)
		exact_pass(run->nodes, run->nn, &run->s, &run->total);
	read_server_context(run);
}

/* Slots no healthy primary served, or that moved, around the scan (zeros standalone). */
/* The map after the scan; with --no-scan the one before stands for both. */
static const struct slot_map *slots_end(const struct run *run)
{
	return run->slots_after ? run->slots_after : run->slots_before;
}

static struct slot_coverage coverage_of(const struct run *run)
{
	struct slot_coverage cov = { 0 };
	if (run->slots_before && run->slots_before->valid && slots_end(run)->valid)
		slots_compare(run->slots_before, slots_end(run), &cov);
	return cov;
}

static bool slots_uncovered(const struct run *run)
{
	struct slot_coverage cov = coverage_of(run);
	free(cov.failed_nodes);
	return cov.uncovered > 0;
}

/* A replica still syncing or cut from its primary holds a partial key space, and so does
 * a cluster with slots no healthy primary serves: never complete. */
static bool run_complete(const struct run *run)
{
	if (slots_uncovered(run))
		return false;
	for (size_t i = 0; i < run->nn; i++)
		if (!run->nodes[i].complete || run->nodes[i].replica_problem)
			return false;
	return true;
}

/* Cut short by a signal or an error (not by --max-keys), or slots nobody served. */
static bool run_failed(const struct run *run)
{
	if (scan_stop || slots_uncovered(run))
		return true;
	for (size_t i = 0; i < run->nn; i++)
		if (run->nodes[i].error || run->nodes[i].replica_problem)
			return true;
	return false;
}

static bool replica_problem(const struct run *run)
{
	for (size_t i = 0; i < run->nn; i++)
		if (run->nodes[i].replica_problem)
			return true;
	return false;
}

static char *resume_token(const struct run *run)
{
	size_t done = 0;
	for (size_t i = 0; i < run->nn; i++)
		done += run->nodes[i].complete;
	if (done == run->nn)
		return NULL;   /* scanned whole (a replica out of sync is its own check) */
	if (run->nn == 1)
		return xstrdup(run->nodes[0].cursor);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < run->nn; i++)
		sb_addf(&sb, "%s%s=%s", i ? "," : "", run->nodes[i].label,
			run->nodes[i].complete ? "done" : run->nodes[i].cursor);
	return sb_detach(&sb);
}

/* Extrapolation factor for --sample and --max-keys. */
static double scale_of(const struct run *run)
{
	const struct agg *a = &run->total;
	u64 seen = a->examined;
	if (!seen)
		return 1;
	if (run->s.sample < 1)
		return (double)a->scanned / (double)seen;
	if (scan_limit_reached()) {
		/* DBSIZE counts every key, not those matching --match: how many match is unknown,
		 * so the figures stay those of the keys examined */
		if (run->s.match)
			return 1;
		long long dbsize = 0;
		for (size_t i = 0; i < run->nn; i++)
			dbsize += run->nodes[i].dbsize;
		return dbsize > (long long)seen ? (double)dbsize / (double)seen : 1;
	}
	return 1;
}

/* Which Sentinel named the primary, which replica was scanned and where its facts came from. */
static void report_where(struct report *r, const struct run *run)
{
	const struct node *n = &run->nodes[0];
	if (run->sentinel_said)
		rp_string(r, "sentinel", "sentinel %s\n", run->sentinel_said);
	if (!run->cluster && n->primary_label)
		rp_text(r, "replica  %s of primary %s (KEYS callers and maxmemory read on %s)\n", n->label,
			n->primary_label, n->facts_from ? n->facts_from : n->primary_label);
}

static void report_scan_state(struct report *r, struct run *run, double scale)
{
	bool complete = run_complete(run);
	char *resume = resume_token(run);
	const struct agg *a = &run->total;
	double secs = run->elapsed_ms / 1000;
	rp_string(r, "target", "target   %s", run->target.display);
	rp_string(r, "mode", "  (%s", run->cluster ? "cluster" : "standalone");
	rp_string(r, "server", ", %s", run->nodes[0].server ? run->nodes[0].server : "redis");
	rp_string(r, "redis_version", " %s)\n", run->nodes[0].version[0] ? run->nodes[0].version : NULL);
	report_where(r, run);
	rp_bool(r, "complete", "complete %s", complete);
	rp_int(r, "examined", "   examined %lld keys", (long long)a->examined);
	rp_double(r, "elapsed_seconds", " in %.2fs", secs);
	rp_double(r, "keys_per_second", " (%.0f keys/s)\n", secs > 0 ? (double)a->examined / secs : 0);
	rp_bool(r, "extrapolated", NULL, scale != 1);
	rp_double(r, "scale", NULL, scale);
	rp_string(r, "resume", NULL, resume);
	rp_string(r, "count_method", NULL,
		  "each key as SCAN returned it: a key is counted twice only if the server resized its "
		  "hash table during the scan; keys gone before TYPE are counted in vanished");
	if (scale != 1)
		rp_text(r, "results extrapolated from %llu of %llu keys (x%.2f)\n", a->examined,
			a->examined ? (unsigned long long)llround((double)a->examined * scale) : 0ULL, scale);
	rp_text(r, "\n");
	enum status st = complete || !run_failed(run) ? ST_OK : ST_UNKNOWN;
	struct check *c;
	if (complete)
		c = report_check(r, "scan", st, NULL, "scanned every key (%llu) on %zu node%s", a->scanned,
				 run->nn, run->nn == 1 ? "" : "s");
	else if (!run_failed(run) && run->s.match) {
		char *m = prefix_key_display(run->s.match, strlen(run->s.match));
		c = report_check(r, "scan", st, NULL, "stopped after %llu keys matching %s as asked; "
				 "results cover only those keys (how many keys match is unknown)",
				 a->examined, m);
		free(m);
	}
	else if (!run_failed(run))
		c = report_check(r, "scan", st, NULL, "stopped after %llu keys as asked; results are extrapolated",
				 a->examined);
	else
		c = report_check(r, "scan", st, NULL, "incomplete: %s",
				 scan_stop ? "interrupted"
				 : replica_problem(run) ? "a replica is not in sync with its primary (see the replica check)"
				 : slots_uncovered(run) ? "slots not covered by a healthy primary (see the slot-coverage check)"
				 : "a node failed");
	if (resume && !complete)
		check_hint(c, "continue with --resume '%s'", resume);
	for (size_t i = 0; i < run->nn; i++)
		if (run->nodes[i].error)
			report_check(r, "scan", ST_UNKNOWN, run->nodes[i].label, "%s", run->nodes[i].error);
	for (size_t i = 0; i < run->nn; i++)
		if (run->nodes[i].replica_problem)
			check_hint(report_check(r, "replica", ST_UNKNOWN, run->nodes[i].label, "%s is %s",
						run->nodes[i].label, run->nodes[i].replica_problem),
				   "audit the primary, or this replica once INFO replication shows "
				   "master_link_status:up and master_sync_in_progress:0");
	/* a Sentinel that missed a failover names the old primary, now a replica */
	if (run->sentinel_said && !run->nodes[0].primary_label && run->nodes[0].reports_replica)
		check_hint(report_check(r, "sentinel", ST_UNKNOWN, run->nodes[0].label,
					"%s, but it reports role:slave: a stale Sentinel or a failover under way; "
					"KEYS callers and maxmemory were read on a replica", run->sentinel_said),
			   "ask the other Sentinels (SENTINEL MASTERS %s), or audit again once the failover is done",
			   run->target.master_name);
	if (run->resume_mismatch) {
		struct check *rc = report_check(r, "resume", ST_UNKNOWN, NULL, "%s (failover or address change?)%s%s%s",
						run->resume_mismatch, run->resume_fresh ? ": " : "",
						run->resume_fresh ? run->resume_fresh : "",
						run->resume_fresh ? " scanned from cursor 0" : "");
		check_hint(rc, "this run and the interrupted one do not add up: audit again without --resume");
	}
	if (resume && run_failed(run))
		errorf("scan incomplete; resume with --resume '%s'", resume);
	free(resume);
}

/* Cluster: slots no healthy primary serves (UNKNOWN) and slots that moved or were
 * migrating during the scan (WARNING): the sums are a partial answer, never silently. */
static void report_slot_coverage(struct report *r, const struct run *run)
{
	if (!run->cluster || !run->slots_before)
		return;
	if (!run->slots_before->valid || !slots_end(run)->valid) {
		report_check(r, "slot-coverage", ST_UNKNOWN, NULL, "the slot map could not be read (CLUSTER NODES "
			     "refused): whether every slot was scanned is unknown");
		return;
	}
	struct slot_coverage cov = coverage_of(run);
	const char *when = run->s.no_scan ? "" : " during the scan";
	u64 redirected = run->total.redirected;
	rp_int(r, "slots_uncovered", NULL, cov.uncovered);
	rp_int(r, "slots_migrating", NULL, cov.migrating);
	rp_int(r, "redirected_keys", NULL, (long long)redirected);
	struct check *c;
	if (cov.uncovered) {
		c = report_check(r, "slot-coverage", ST_UNKNOWN, NULL, "%d slot%s not covered by a healthy primary%s%s%s: "
				 "a partial answer, their keys were not scanned", cov.uncovered, cov.uncovered == 1 ? "" : "s",
				 cov.failed_nodes ? " (failed: " : "", cov.failed_nodes ? cov.failed_nodes : "",
				 cov.failed_nodes ? ")" : "");
		if (cov.failed_nodes)
			check_hint(c, "the primaries named are flagged fail, fail? or noaddr in CLUSTER NODES and were not "
				      "scanned; audit again once a replica took over or the node is back");
		else
			check_hint(c, "assign the slots (CLUSTER ADDSLOTS) or audit again once the cluster is whole");
	} else if (cov.migrating) {
		c = report_check(r, "slot-coverage", ST_WARNING, NULL, "%d slot%s migrating%s: a partial answer, keys "
				 "in them may be counted twice or not at all", cov.migrating, cov.migrating == 1 ? "" : "s",
				 when);
		check_hint(c, "audit again once the resharding or failover is done");
	} else {
		c = report_check(r, "slot-coverage", ST_OK, NULL, "all %d slots served by a healthy primary, none "
				 "migrating%s", CLUSTER_SLOTS, when);
	}
	if (redirected)
		check_hint(c, "%llu key%s answered MOVED/ASK and %s read on the node holding %s now", redirected,
			   redirected == 1 ? "" : "s", redirected == 1 ? "was" : "were", redirected == 1 ? "it" : "them");
	check_metric(c, "slots_uncovered", cov.uncovered, "", THRESHOLDS_NONE);
	check_metric(c, "slots_migrating", cov.migrating, "", THRESHOLDS_NONE);
	check_metric(c, "redirected_keys", (double)redirected, "", THRESHOLDS_NONE);
	free(cov.failed_nodes);
}

/* Keys SCAN listed whose TYPE answered an error: one UNKNOWN check per reason. */
static void report_skipped(struct report *r, const struct agg *a)
{
	static const char *const what[SK_COUNT] = {
		"not readable by this user (NOPERM: outside its ACL key patterns)",
		"not readable while the server loads its data set (LOADING)",
		"not readable while a script or module blocked the server (BUSY)",
		("moved during the scan and not readable where they went (TRYAGAIN, or the node MOVED/ASK "
		 "named unreachable or redirecting again)"),
		"refused with another error",
	};
	static const char *const hint[SK_COUNT] = {
		("audit with a user allowed ~* (read-only commands suffice), or limit the audit to this "
		 "user's keys with --match"),
		"audit again once the server has loaded its data (INFO persistence: loading:0)",
		"audit again when the script or module command is done (SCRIPT KILL, FUNCTION KILL)",
		"audit again once the slot migration or failover is done",
		"see the error in the message",
	};
	for (int k = 0; k < SK_COUNT; k++) {
		if (!a->skipped[k])
			continue;
		struct check *c = report_check(r, "unreadable-keys", ST_UNKNOWN, agg_skip_reason_names[k],
					       "%llu key%s %s %s skipped; the figures cover the other keys%s%s",
					       a->skipped[k], a->skipped[k] == 1 ? "" : "s", what[k],
					       a->skipped[k] == 1 ? "was" : "were",
					       k == SK_OTHER && a->skip_error ? ": " : "",
					       k == SK_OTHER && a->skip_error ? a->skip_error : "");
		check_hint(c, "%s", hint[k]);
		check_metric(c, "skipped_keys", (double)a->skipped[k], "", THRESHOLDS_NONE);
	}
}

static void report_keyspace(struct report *r, const struct run *run, double scale)
{
	const struct stats *t = &run->total.total;
	struct check *c = report_check(r, "keyspace", ST_OK, NULL, "%.0f keys, %s, %.0f without TTL",
				       (double)t->keys * scale, human_bytes((double)t->memory * scale),
				       (double)t->no_ttl * scale);
	check_metric(c, "keys", (double)t->keys * scale, "", THRESHOLDS_NONE);
	check_metric(c, "memory_bytes", (double)t->memory * scale, "B", THRESHOLDS_NONE);
	check_metric(c, "no_ttl_keys", (double)t->no_ttl * scale, "", THRESHOLDS_NONE);
	check_metric(c, "vanished_keys", (double)run->total.vanished, "", THRESHOLDS_NONE);
	if (run->total.memory_refused) {
		check_set_status(c, ST_UNKNOWN);
		check_hint(c, "the server refused MEMORY USAGE for %llu keys (%s), so memory figures are too low: "
			      "grant the audit user +memory|usage, or undo its rename-command",
			   run->total.memory_refused, run->total.memory_error ? run->total.memory_error : "not sent");
	}
	report_skipped(r, &run->total);
	report_slot_coverage(r, run);
}

/* --no-scan: what the server says of itself, without a key read. */
static void report_server_only(struct report *r, const struct run *run)
{
	long long keys = 0;
	for (size_t i = 0; i < run->nn; i++)
		keys += run->nodes[i].connected ? run->nodes[i].dbsize : 0;
	rp_string(r, "target", "target   %s", run->target.display);
	rp_string(r, "mode", "  (%s", run->cluster ? "cluster" : "standalone");
	rp_string(r, "redis_version", ", redis %s)\n", run->nodes[0].version[0] ? run->nodes[0].version : NULL);
	report_where(r, run);
	rp_bool(r, "scanned", "scanned  %s\n\n", false);
	struct check *c = report_check(r, "keyspace", ST_OK, NULL, "%lld keys (DBSIZE); not scanned (--no-scan)", keys);
	check_metric(c, "keys", (double)keys, "", THRESHOLDS_NONE);
	for (size_t i = 0; i < run->nn; i++)
		if (run->nodes[i].error)
			report_check(r, "scan", ST_UNKNOWN, run->nodes[i].label, "%s", run->nodes[i].error);
	report_slot_coverage(r, run);
	findings_report_server(r, &run->s, run->nodes, run->nn, &run->callers);
}

static int finish(struct run *run, FILE *out)
{
	struct report *r = cli_report_new(&tool, &run->common);
	double scale = 1;
	if (run->s.no_scan) {
		report_server_only(r, run);
	} else {
		scale = scale_of(run);
		report_scan_state(r, run, scale);
		report_keyspace(r, run, scale);
		output_report(r, &run->s, run->nodes, run->nn, &run->total, &run->callers, scale);
		findings_report(r, &run->s, run->nodes, run->nn, &run->total, &run->callers);
		leaks_report(r, &run->s, &run->total, scale);
		keyreport_report(r, &run->s, &run->total, scale);
		encodings_report(r, &run->s, run->nodes, run->nn, &run->total.encodings);
	}
	streams_report(r, &run->s, run->nodes, &run->streams);
	if (run->mem)
		memctx_report(r, &run->s, run->nodes, run->nn, run->mem, run->s.no_scan ? NULL : &run->total, scale);
	int rc = report_finish(r, out);
	report_free(r);
	return run_failed(run) ? 3 : rc;
}

/* One audit of one target (an operand, a configured name, or the first configured
 * target), reported to out. */
static int audit(struct run *run, const struct config *cfg, const char *operand, FILE *out)
{
	resolve_target(cfg, operand, &run->target, &run->s, &run->common, &run->sentinel_password);
	if (run->s.tls) {
		char *err = NULL;
		if (run->target.path)
			cli_fail_unknown(&tool, &run->common, "target", "TLS needs a host and port, not a socket path");
		if (!(run->s.tls_ctx = tls_context(&run->s, &err)))
			cli_fail_unknown(&tool, &run->common, "connect", "%s", err);
	}
	run->s.username = run->target.username;
	run->s.password = run->target.password;
	run->s.db = run->target.db;
	if (run->target.master_name)
		ask_sentinels(run);
	else
		init_nodes(run);
	connect_all(run);
	scan_everything(run);
	return finish(run, out);
}

static void run_free(struct run *run)
{
	streams_audit_free(&run->streams);
	for (size_t i = 0; run->mem && i < run->nn; i++)
		memctx_free(&run->mem[i]);
	free(run->mem);
	for (size_t i = 0; i < run->nn; i++)
		conn_node_free(&run->nodes[i]);
	free(run->nodes);
	agg_free(&run->total);
	findings_callers_free(&run->callers);
	free(run->resume_mismatch);
	free(run->resume_fresh);
	free(run->sentinel_password);
	free(run->sentinel_said);
	if (run->slots_before)
		slots_free(run->slots_before);
	if (run->slots_after)
		slots_free(run->slots_after);
	free(run->slots_before);
	free(run->slots_after);
	conn_target_free(&run->target);
	free(run->s.streams);
	if (run->s.tls_ctx)
		SSL_CTX_free(run->s.tls_ctx);
}

/* ---- exporter mode ---- */

struct exporter_ctx {
	struct run *run;
	const struct config *cfg;
	bool any_target;
	struct scan_schedule sched;
};

/* A configured target's scan_interval in ms, 0 when it has none (or is not configured). */
static double target_scan_interval(const struct config *cfg, const char *target)
{
	double ms = 0;
	char *path = xasprintf("redis.targets.%s.scan_interval", target);
	if (config_schema_find(path))
		cfg_duration_ms(cfg, path, &ms);
	free(path);
	return ms;
}

static const char *exporter_target_ok(void *ctx, const char *target)
{
	struct exporter_ctx *ec = ctx;
	char *path = xasprintf("redis.targets.%s.url", target);
	const char *url;
	bool named = cfg_str(ec->cfg, path, &url);
	free(path);
	if (named || (ec->any_target && (strstr(target, "://") || target[0] == '/')))
		return NULL;
	return ec->any_target ? "target is neither a configured target nor a redis:// URL"
			      : "target is not a configured target (redis.targets)";
}

/* In the exporter's child: the server facts of one target, as --format prometheus. */
static int exporter_probe(void *ctx, const char *target, double timeout_ms, FILE *out)
{
	struct exporter_ctx *ec = ctx;
	ec->run->common.format = FMT_PROMETHEUS;
	ec->run->s.no_scan = true;
	ec->run->s.timeout_ms = fmin(ec->run->s.timeout_ms, timeout_ms);
	int rc = audit(ec->run, ec->cfg, target, out);
	double interval = ec->sched.state_dir ? target_scan_interval(ec->cfg, target) : 0;
	if (interval > 0)
		schedule_put(out, ec->sched.state_dir, target, interval);
	return rc;
}

/* In the scheduler's child: the full audit of a target, with the configured limits. */
static int exporter_full_scan(void *ctx, const char *target)
{
	struct exporter_ctx *ec = ctx;
	ec->run->common.format = FMT_PROMETHEUS;
	ec->run->s.no_scan = false;
	return audit(ec->run, ec->cfg, target, stdout);
}

/* The schedule of the targets with a scan_interval; none: no scheduler. */
static int start_schedule(struct exporter_ctx *ec)
{
	const char *const *names;
	size_t n = 0;
	cfg_children(ec->cfg, "redis.targets", &names, &n);
	struct scan_schedule *sch = &ec->sched;
	sch->names = names;
	sch->interval_ms = xcalloc(n + 1, sizeof(*sch->interval_ms));
	sch->n = n;
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any |= (sch->interval_ms[i] = target_scan_interval(ec->cfg, names[i])) > 0;
	if (!any)
		return 0;
	cfg_str(ec->cfg, "redis.exporter.state_dir", &sch->state_dir);
	char *err = NULL;
	if (schedule_start(sch, exporter_full_scan, ec, &err)) {
		errorf("%s", err);
		free(err);
		return -1;
	}
	return 0;
}

static int serve_exporter(struct run *run, const struct config *cfg)
{
	struct exporter_config xc = { .tool = tool.name, .version = OPSKIT_VERSION, .listen = run->s.listen };
	struct exporter_ctx ec = { .run = run, .cfg = cfg };
	exporter_config_load(&xc, cfg, "redis", &ec.any_target);
	if (start_schedule(&ec))
		return 3;
	int rc = exporter_run(&xc, exporter_probe, exporter_target_ok, &ec);
	schedule_stop(&ec.sched);
	free(ec.sched.interval_ms);
	return rc;
}

int main(int argc, char **argv)
{
	struct run run;
	memset(&run, 0, sizeof(run));
	signal(SIGPIPE, SIG_IGN);   /* a server gone mid-write is an error to report, not our death */
	int first = cli_parse(&tool, argc, argv, &run.s, &run.common);
	if (argc - first > 1)
		cli_usage_error(&tool, "one target at a time (got %d)", argc - first);
	if (run.s.listen && argc > first)
		cli_usage_error(&tool, "--listen serves the targets of the config: no target operand");
	struct config *cfg = cli_load_config(&tool, &run.common);
	load_settings(&run.s, cfg);
	load_id_patterns(cfg, &run.common);
	for (size_t i = 0; i < run.s.n_address_map; i++) {
		char *why = NULL;
		if (!conn_address_map_entry_ok(run.s.address_map[i], &why))
			cli_fail_unknown(&tool, &run.common, "config", "redis.address_map: %s", why);
	}
	int rc;
	if (run.s.listen) {
		rc = serve_exporter(&run, cfg);
	} else {
		FILE *out = cli_open_output(&run.common);
		rc = audit(&run, cfg, first < argc ? argv[first] : NULL, out);
		cli_close_output(out, &run.common);
	}
	run_free(&run);
	prefix_free_id_patterns();
	config_free(cfg);
	return rc;
}
