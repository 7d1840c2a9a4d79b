/*
 * ops-redisaudit — a SCAN-based key-space audit of Redis and Redis Cluster.
 * Options and config here; the work is in conn.c, scan.c, agg.c, findings.c, output.c.
 */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "msg.h"
#include "redact.h"
#include "redisaudit.h"
#include "util.h"

static const struct cli_tool tool = {
	.name = "ops-redisaudit",
	.synopsis = "usage: ops-redisaudit [--config file] [--format text|json|prometheus|nagios]\n"
		    "       [-o file] [-qv] [options] [redis://[user:pass@]host:port[/db] | path | target]\n"
		    "       ops-redisaudit -h | -V\n",
	.options = "  --count N              SCAN COUNT per batch (default 1000)\n"
		   "  --match PATTERN        audit only keys matching the SCAN MATCH pattern\n"
		   "  --memory-samples N     MEMORY USAGE SAMPLES for nested values (default 5)\n"
		   "  --lengths              also read element counts (STRLEN, LLEN, HLEN, ...)\n"
		   "  --top N                keys and prefixes listed per table (default 10)\n"
		   "  --delimiters CHARS     prefix delimiters (default \":\")\n"
		   "  --depth N              named segments in a prefix, ids aside (default 2)\n"
		   "  --max-prefixes N       distinct prefixes kept (default 10000)\n"
		   "  --rate KEYS_PER_SEC    examine at most this many keys a second\n"
		   "  --pause-ms MS          sleep between batches\n"
		   "  --max-keys N           stop after N keys (results extrapolated)\n"
		   "  --sample FRACTION      examine this fraction of keys (results extrapolated)\n"
		   "  --jobs N               cluster nodes scanned at once (default 4)\n"
		   "  --replica              scan a replica of each cluster primary (READONLY)\n"
		   "  --resume TOKEN         continue an interrupted scan from its cursor(s)\n"
		   "  --timeout DURATION     connect and command timeout (default 5s)\n"
		   "  --big-key BYTES        warn about keys using this much memory (default 1MiB)\n"
		   "  --big-key-critical BYTES\n"
		   "                         critical from this size (default 10MiB)\n",
	.config_section = "redis",
	.verbose_help = "hints of OK checks too",
	.formats = FMT_MASK_SHARED,
};

enum {
	OPT_COUNT = 0x2000, OPT_MATCH, OPT_SAMPLES, OPT_LENGTHS, OPT_TOP, OPT_DELIMS, OPT_DEPTH,
	OPT_MAX_PREFIXES, OPT_RATE, OPT_PAUSE, OPT_MAX_KEYS, OPT_SAMPLE, OPT_JOBS, OPT_REPLICA,
	OPT_RESUME, OPT_TIMEOUT, OPT_BIG, OPT_BIG_CRIT,
};

static const struct option long_opts[] = {
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "match", required_argument, NULL, OPT_MATCH },
	{ "memory-samples", required_argument, NULL, OPT_SAMPLES },
	{ "lengths", no_argument, NULL, OPT_LENGTHS },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "delimiters", required_argument, NULL, OPT_DELIMS },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "max-prefixes", required_argument, NULL, OPT_MAX_PREFIXES },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "pause-ms", required_argument, NULL, OPT_PAUSE },
	{ "max-keys", required_argument, NULL, OPT_MAX_KEYS },
	{ "sample", required_argument, NULL, OPT_SAMPLE },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "replica", no_argument, NULL, OPT_REPLICA },
	{ "resume", required_argument, NULL, OPT_RESUME },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "big-key", required_argument, NULL, OPT_BIG },
	{ "big-key-critical", required_argument, NULL, OPT_BIG_CRIT },
	{ NULL, 0, NULL, 0 },
};

#define COUNT_MAX 100000

/* Options as given; NAN / -1 / NULL = not given, so the config may fill them. */
struct cmdline {
	long long count, samples, top, depth, max_prefixes, max_keys, jobs;
	double rate, pause_ms, sample, timeout_ms, big, big_crit;
	const char *match, *delimiters, *resume;
	bool lengths, replica;
};

/* "1048576", "512k", "10MiB", "1.5G" -> bytes. */
static int parse_size(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	double mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1024; end++; break;
	case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
	default: break;
	}
	if (mult > 1 && (!strcmp(end, "iB") || !strcmp(end, "B") || !strcmp(end, "b")))
		end += strlen(end);
	if (*end)
		return -1;
	*out = v * mult;
	return 0;
}

static int positive_ll(const char *opt, const char *arg, long long min, long long *out)
{
	if (parse_ll(arg, out) || *out < min) {
		errorf("%s needs an integer >= %lld, not \"%s\"", opt, min, arg);
		return -1;
	}
	return 0;
}

static int nonneg_double(const char *opt, const char *arg, double *out)
{
	if (parse_double(arg, out) || *out < 0 || !isfinite(*out)) {
		errorf("%s needs a number >= 0, not \"%s\"", opt, arg);
		return -1;
	}
	return 0;
}

static int on_option(int opt, const char *arg, void *ctx)
{
	struct cmdline *c = ctx;
	switch (opt) {
	case OPT_COUNT:
		if (positive_ll("--count", arg, 1, &c->count))
			return -1;
		if (c->count > COUNT_MAX) {   /* one SCAN call must stay short on the server */
			errorf("--count %lld is over the limit of %d", c->count, COUNT_MAX);
			return -1;
		}
		return 0;
	case OPT_SAMPLES: return positive_ll("--memory-samples", arg, 0, &c->samples);
	case OPT_TOP: return positive_ll("--top", arg, 0, &c->top);
	case OPT_DEPTH: return positive_ll("--depth", arg, 1, &c->depth);
	case OPT_MAX_PREFIXES: return positive_ll("--max-prefixes", arg, 1, &c->max_prefixes);
	case OPT_MAX_KEYS: return positive_ll("--max-keys", arg, 1, &c->max_keys);
	case OPT_JOBS: return positive_ll("--jobs", arg, 1, &c->jobs);
	case OPT_RATE: return nonneg_double("--rate", arg, &c->rate);
	case OPT_PAUSE: return nonneg_double("--pause-ms", arg, &c->pause_ms);
	case OPT_MATCH: c->match = arg; return 0;
	case OPT_DELIMS: c->delimiters = arg; return *arg ? 0 : (errorf("--delimiters needs at least one character"), -1);
	case OPT_RESUME: c->resume = arg; return 0;
	case OPT_LENGTHS: c->lengths = true; return 0;
	case OPT_REPLICA: c->replica = true; return 0;
	case OPT_SAMPLE:
		if (parse_double(arg, &c->sample) || !(c->sample > 0 && c->sample <= 1)) {
			errorf("--sample needs a fraction in (0, 1], not \"%s\"", arg);
			return -1;
		}
		return 0;
	case OPT_TIMEOUT:
		if (parse_duration_ms(arg, &c->timeout_ms) || c->timeout_ms <= 0) {
			errorf("--timeout needs a duration such as 5s or 500ms, not \"%s\"", arg);
			return -1;
		}
		return 0;
	case OPT_BIG:
	case OPT_BIG_CRIT:
		if (parse_size(arg, opt == OPT_BIG ? &c->big : &c->big_crit)) {
			errorf("%s needs a size in bytes (512k, 10MiB), not \"%s\"",
			       opt == OPT_BIG ? "--big-key" : "--big-key-critical", arg);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* Command line first, then config, then the built-in default. */
static long long pick_ll(long long given, const struct config *cfg, const char *key, long long def)
{
	long long v;
	if (given >= 0)
		return given;
	return cfg_int(cfg, key, &v) ? v : def;
}

static double pick_ms(double given, const struct config *cfg, const char *key, double def)
{
	double v;
	if (!isnan(given))
		return given;
	return cfg_duration_ms(cfg, key, &v) ? v : def;
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
		if (!cfg_threshold(cfg, key, &r->tolerance, &r->tolerance_percent)) {
			r->tolerance = 100;   /* one macro node of stream-node-max-entries */
			r->tolerance_percent = false;
		}
		free(key);
		s->n_streams++;
	}
}

static void load_thresholds(struct settings *s, const struct config *cfg, const struct cmdline *c)
{
	long long v;
	double d;
	bool pct = true;
	s->big_warn = !isnan(c->big) ? c->big : cfg_int(cfg, "redis.thresholds.big_key_warning", &v) ? (double)v : 1048576;
	s->big_crit = !isnan(c->big_crit) ? c->big_crit
		    : cfg_int(cfg, "redis.thresholds.big_key_critical", &v) ? (double)v : 10485760;
	s->big_len_warn = cfg_int(cfg, "redis.thresholds.big_key_elements_warning", &v) ? (double)v : 100000;
	s->big_len_crit = cfg_int(cfg, "redis.thresholds.big_key_elements_critical", &v) ? (double)v : 1000000;
	s->ttl_heuristic_pct = cfg_threshold(cfg, "redis.thresholds.ttl_share", &d, &pct) ? d : 90;
	if (!pct && s->ttl_heuristic_pct <= 1)   /* "0.9" means 90% */
		s->ttl_heuristic_pct *= 100;
	s->ttl_heuristic_min = pick_ll(-1, cfg, "redis.thresholds.ttl_min_keys", 20);
	bool b;
	s->require_maxmemory = cfg_bool(cfg, "redis.require_maxmemory", &b) ? b : true;
}

static void load_settings(struct settings *s, const struct config *cfg, const struct cmdline *c)
{
	memset(s, 0, sizeof(*s));
	s->count = pick_ll(c->count, cfg, "redis.count", 1000);
	s->samples = pick_ll(c->samples, cfg, "redis.memory_samples", 5);
	s->top = (size_t)pick_ll(c->top, cfg, "redis.top", 10);
	s->depth = (int)pick_ll(c->depth, cfg, "redis.prefix.depth", 2);
	s->prefix_max = (size_t)pick_ll(c->max_prefixes, cfg, "redis.prefix.max", 10000);
	s->jobs = (int)pick_ll(c->jobs, cfg, "redis.jobs", 4);
	s->max_keys = c->max_keys > 0 ? c->max_keys : 0;
	double d;
	s->timeout_ms = pick_ms(c->timeout_ms, cfg, "redis.timeout",
				cfg_duration_ms(cfg, "defaults.timeout", &d) ? d : 5000);
	s->pause_ms = pick_ms(c->pause_ms, cfg, "redis.pause", 0);
	s->rate = !isnan(c->rate) ? c->rate : cfg_double(cfg, "redis.rate", &d) ? d : 0;
	s->sample = !isnan(c->sample) ? c->sample : 1;
	if (s->rate > 0 && (double)s->count > s->rate)   /* a slow rate: smaller batches, not long naps */
		s->count = s->rate >= 1 ? (long long)s->rate : 1;
	s->match = c->match;
	s->lengths = c->lengths;
	s->replica = c->replica;
	s->resume = c->resume;
	if (!(s->delimiters = c->delimiters) && !cfg_str(cfg, "redis.prefix.delimiters", &s->delimiters))
		s->delimiters = ":";
	cfg_list(cfg, "redis.expire_patterns", &s->expire_patterns, &s->n_expire_patterns);
	load_streams(s, cfg);
	load_thresholds(s, cfg, c);
}

/* Ranges the schema cannot express; a bad value is a located config error (exit 3). */
static void validate_config(const struct config *cfg, const struct cli_common *common)
{
	static const struct { const char *key; long long min; } int_keys[] = {
		{ "redis.memory_samples", 0 }, { "redis.top", 0 },
		{ "redis.jobs", 1 }, { "redis.prefix.depth", 1 }, { "redis.prefix.max", 1 },
		{ "redis.thresholds.big_key_warning", 1 }, { "redis.thresholds.big_key_critical", 1 },
		{ "redis.thresholds.big_key_elements_warning", 1 },
		{ "redis.thresholds.big_key_elements_critical", 1 }, { "redis.thresholds.ttl_min_keys", 1 },
	};
	long long v;
	double d;
	const char *str;
	for (size_t i = 0; i < ARRAY_SIZE(int_keys); i++)
		if (cfg_int(cfg, int_keys[i].key, &v) && v < int_keys[i].min)
			cli_fail_unknown(&tool, common, "config", "%s: %s must be at least %lld, not %lld",
					 cfg_where(cfg, int_keys[i].key), int_keys[i].key, int_keys[i].min, v);
	if (cfg_int(cfg, "redis.count", &v) && (v < 1 || v > COUNT_MAX))
		cli_fail_unknown(&tool, common, "config", "%s: redis.count must be 1 to %d, not %lld",
				 cfg_where(cfg, "redis.count"), COUNT_MAX, v);
	if (cfg_double(cfg, "redis.rate", &d) && d < 0)
		cli_fail_unknown(&tool, common, "config", "%s: redis.rate must be 0 (unlimited) or more",
				 cfg_where(cfg, "redis.rate"));
	if (cfg_str(cfg, "redis.prefix.delimiters", &str) && !*str)
		cli_fail_unknown(&tool, common, "config", "%s: redis.prefix.delimiters needs at least one character",
				 cfg_where(cfg, "redis.prefix.delimiters"));
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

/* The target: an operand (URL, path or configured name), else the first configured target,
 * else localhost. Credentials: URL, then config, then REDISCLI_AUTH. */
static void resolve_target(const struct config *cfg, const char *operand, struct target *t,
			   const struct cli_common *common)
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
	if (url)
		spec = url;
	char *err = NULL;
	int bad = target_parse(spec ? spec : "redis://127.0.0.1:6379", t, &err);
	free(url);
	if (bad) {
		char *copy = err;
		cli_fail_unknown(&tool, common, "target", "%s", copy);
	}
	if (name && !t->password && (t->password = target_key(cfg, name, "password")))
		redact_add_secret(t->password);
	if (name && !t->username)
		t->username = target_key(cfg, name, "username");
	const char *env = getenv("REDISCLI_AUTH");
	if (!t->password && env && *env) {
		t->password = xstrdup(env);
		redact_add_secret(env);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	audit_stop = 1;
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
	double elapsed_ms;
	bool cluster;
};

/* --resume: "CURSOR" (one node) or "host:port=CURSOR,..." with "done" for finished nodes. */
static void apply_resume(struct run *run)
{
	const char *tok = run->s.resume;
	if (!tok)
		return;
	if (!strchr(tok, '=')) {
		for (size_t i = 0; i < run->nn; i++)
			snprintf(run->nodes[i].cursor, sizeof(run->nodes[i].cursor), "%s", tok);
		return;
	}
	for (size_t i = 0; i < run->nn; i++) {
		struct node *n = &run->nodes[i];
		size_t ll = strlen(n->label);
		for (const char *p = tok; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
			if (strncmp(p, n->label, ll) || p[ll] != '=')
				continue;
			const char *cur = p + ll + 1;
			size_t cl = strcspn(cur, ",");
			if (cl == 4 && !strncmp(cur, "done", 4))
				n->skipped = n->complete = true;
			else
				snprintf(n->cursor, sizeof(n->cursor), "%.*s", (int)cl, cur);
		}
	}
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

static void connect_all(struct run *run)
{
	struct node *seed = &run->nodes[0];
	if (node_connect(seed, &run->s)) {
		char *msg = xstrdup(seed->error);
		cli_fail_unknown(&tool, &run->common, "connect", "%s", msg);
	}
	run->cluster = !strcmp(seed->role, "primary");
	if (!run->cluster)
		return;
	if (run->s.db)
		cli_fail_unknown(&tool, &run->common, "target", "Redis Cluster has only database 0, not %d", run->s.db);
	char *err = NULL;
	if (cluster_discover(&run->nodes, &run->nn, &run->s, &err) < 0) {
		char *copy = err;
		cli_fail_unknown(&tool, &run->common, "cluster", "%s", copy);
	}
	for (size_t i = 0; i < run->nn; i++)
		node_connect(&run->nodes[i], &run->s);   /* a failed node is reported, the rest scanned */
}

static void init_nodes(struct run *run)
{
	run->nn = 1;
	run->nodes = xcalloc(1, sizeof(*run->nodes));
	struct node *n = &run->nodes[0];
	n->host = run->target.host ? xstrdup(run->target.host) : NULL;
	n->port = run->target.port;
	n->path = run->target.path ? xstrdup(run->target.path) : NULL;
	n->label = n->path ? xstrdup(n->path) : addr_label(n->host, n->port);
	strcpy(n->cursor, "0");
}

static void scan_everything(struct run *run)
{
	unsigned long long total = 0;
	apply_resume(run);
	for (size_t i = 0; i < run->nn; i++) {
		struct node *n = &run->nodes[i];
		agg_init(&n->agg, &run->s);
		if (!valid_cursor(n->cursor))
			cli_fail_unknown(&tool, &run->common, "resume", "--resume: \"%s\" is not a SCAN cursor", n->cursor);
		if (n->connected) {
			findings_collect_callers(n, &run->callers);
			total += (unsigned long long)n->dbsize;
		}
	}
	install_signals();
	double t0 = now_ms();
	scan_all(run->nodes, run->nn, &run->s, total);
	run->elapsed_ms = now_ms() - t0;
	agg_init(&run->total, &run->s);
	for (size_t i = 0; i < run->nn; i++)
		agg_merge(&run->total, &run->nodes[i].agg, &run->s);
}

static bool run_complete(const struct run *run)
{
	for (size_t i = 0; i < run->nn; i++)
		if (!run->nodes[i].complete)
			return false;
	return true;
}

/* Cut short by a signal or an error (not by --max-keys). */
static bool run_failed(const struct run *run)
{
	if (audit_stop)
		return true;
	for (size_t i = 0; i < run->nn; i++)
		if (run->nodes[i].error)
			return true;
	return false;
}

static char *resume_token(const struct run *run)
{
	if (run_complete(run))
		return NULL;
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
		long long dbsize = 0;
		for (size_t i = 0; i < run->nn; i++)
			dbsize += run->nodes[i].dbsize;
		return dbsize > (long long)seen ? (double)dbsize / (double)seen : 1;
	}
	return 1;
}

static void report_scan_state(struct report *r, struct run *run, double scale)
{
	bool complete = run_complete(run);
	char *resume = resume_token(run);
	const struct agg *a = &run->total;
	double secs = run->elapsed_ms / 1000;
	rp_string(r, "target", "target   %s", run->target.display);
	rp_string(r, "mode", "  (%s", run->cluster ? "cluster" : "standalone");
	rp_string(r, "redis_version", ", redis %s)\n", run->nodes[0].version[0] ? run->nodes[0].version : NULL);
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
	else if (!run_failed(run))
		c = report_check(r, "scan", st, NULL, "stopped after %llu keys as asked; results are extrapolated",
				 a->examined);
	else
		c = report_check(r, "scan", st, NULL, "incomplete: %s", audit_stop ? "interrupted" : "a node failed");
	if (resume && !complete)
		check_hint(c, "continue with --resume '%s'", resume);
	for (size_t i = 0; i < run->nn; i++)
		if (run->nodes[i].error)
			report_check(r, "scan", ST_UNKNOWN, run->nodes[i].label, "%s", run->nodes[i].error);
	if (resume && run_failed(run))
		errorf("scan incomplete; resume with --resume '%s'", resume);
	free(resume);
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
		check_hint(c, "the server refused MEMORY USAGE for %llu keys, so memory figures are too low: "
			      "grant the audit user +memory|usage", run->total.memory_refused);
	}
}

static int finish(struct run *run)
{
	struct report *r = cli_report_new(&tool, &run->common);
	double scale = scale_of(run);
	report_scan_state(r, run, scale);
	report_keyspace(r, run, scale);
	output_report(r, &run->s, run->nodes, run->nn, &run->total, &run->callers, scale);
	findings_report(r, &run->s, run->nodes, run->nn, &run->total, &run->callers);
	FILE *out = cli_open_output(&run->common);
	int rc = report_finish(r, out);
	cli_close_output(out, &run->common);
	report_free(r);
	return run_failed(run) ? 3 : rc;
}

int main(int argc, char **argv)
{
	struct run run;
	memset(&run, 0, sizeof(run));
	struct cmdline c = { -1, -1, -1, -1, -1, -1, -1, NAN, NAN, NAN, NAN, NAN, NAN,
			     NULL, NULL, NULL, false, false };
	signal(SIGPIPE, SIG_IGN);   /* a server gone mid-write is an error to report, not our death */
	int first = cli_parse(&tool, argc, argv, "", long_opts, on_option, &c, &run.common);
	if (argc - first > 1)
		cli_usage_error(&tool, "one target at a time (got %d)", argc - first);
	struct config *cfg = cli_load_config(&tool, &run.common);
	validate_config(cfg, &run.common);
	load_settings(&run.s, cfg, &c);
	resolve_target(cfg, first < argc ? argv[first] : NULL, &run.target, &run.common);
	run.s.username = run.target.username;
	run.s.password = run.target.password;
	run.s.db = run.target.db;
	init_nodes(&run);
	connect_all(&run);
	scan_everything(&run);
	int rc = finish(&run);
	for (size_t i = 0; i < run.nn; i++)
		node_free(&run.nodes[i]);
	free(run.nodes);
	agg_free(&run.total);
	callers_free(&run.callers);
	target_free(&run.target);
	free(run.s.streams);
	config_free(cfg);
	return rc;
}
