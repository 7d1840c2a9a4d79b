/*
 * ops-pgprobe — health of PostgreSQL connection pools and PgBouncer in one round trip.
 * main: options and config (flags win over the config, the config over defaults),
 * targets, then one probe (or a --watch loop) and the report.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "msg.h"
#include "pgprobe.h"
#include "redact.h"
#include "util.h"

static const struct cli_tool tool = {
	.name = "ops-pgprobe",
	.synopsis = "usage: ops-pgprobe [--config file] [--format text|json|prometheus|nagios]\n"
		    "       [-o file] [-qv] [options] [DSN | target]...\n"
		    "       ops-pgprobe -h | -V\n",
	.options = "  -w, --warning CHECK=V   warning threshold of a check (80%, 12, 30s)\n"
		   "  -c, --critical CHECK=V  critical threshold of a check\n"
		   "  --timeout DURATION      bound on the whole probe (default 5s)\n"
		   "  --pgbouncer DSN         also probe this PgBouncer admin console (repeatable)\n"
		   "  --pool NAME=WxP[+O]     an application's pool: W workers, pool_max P, overflow O\n"
		   "  --session-age DURATION  list sessions busy or in a transaction this long (5s)\n"
		   "  --idle-age DURATION     idle connections older than this are stale (10m)\n"
		   "  --no-query-text         never show query text\n"
		   "  --query-length N        truncate query text to N characters (200)\n"
		   "  --watch SECONDS         compact screen redrawn every SECONDS until Ctrl-C (TTY)\n",
	.config_section = "postgres",
	.verbose_help = "hints of OK checks too",
	.formats = FMT_MASK_SHARED,
};

enum {
	OPT_TIMEOUT = 0x2000, OPT_PGBOUNCER, OPT_POOL, OPT_SESSION_AGE, OPT_IDLE_AGE,
	OPT_NO_QUERY_TEXT, OPT_QUERY_LENGTH, OPT_WATCH,
};

static const struct option long_opts[] = {
	{ "warning", required_argument, NULL, 'w' },
	{ "critical", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "pgbouncer", required_argument, NULL, OPT_PGBOUNCER },
	{ "pool", required_argument, NULL, OPT_POOL },
	{ "session-age", required_argument, NULL, OPT_SESSION_AGE },
	{ "idle-age", required_argument, NULL, OPT_IDLE_AGE },
	{ "no-query-text", no_argument, NULL, OPT_NO_QUERY_TEXT },
	{ "query-length", required_argument, NULL, OPT_QUERY_LENGTH },
	{ "watch", required_argument, NULL, OPT_WATCH },
	{ NULL, 0, NULL, 0 },
};

/* Command-line values, applied over the config once it is loaded. */
struct flags {
	double timeout_ms, session_age_ms, idle_age_ms, watch_s;
	long long query_length;
	bool no_query_text;
	bool th_set[TH_COUNT][2];
	struct th_level th[TH_COUNT][2];
	const char **bouncers;
	size_t nbouncers;
	struct pool_spec *pools;
	size_t npools;
};

struct run {
	struct cli_common common;
	struct probe_opts o;
	struct target *ts;
	size_t nt;
	struct bouncer *bs;
	size_t nb;
};

static int flag_threshold(struct flags *f, int level, const char *arg)
{
	const char *eq = strchr(arg, '=');
	int id = eq ? th_find(arg, (size_t)(eq - arg)) : -1;
	const char *why;
	if (id < 0) {
		struct strbuf ids = STRBUF_INIT;
		for (int i = 0; i < TH_COUNT; i++)
			sb_addf(&ids, "%s%s", i ? ", " : "", th_defs[i].id);
		errorf("-%c needs CHECK=VALUE with a check that has thresholds (%s), got \"%s\"",
		       level ? 'c' : 'w', sb_str(&ids), arg);
		sb_release(&ids);
		return -1;
	}
	if (th_parse((enum th_id)id, eq + 1, &f->th[id][level], &why)) {
		errorf("threshold %s: \"%s\" %s", th_defs[id].id, eq + 1, why);
		return -1;
	}
	f->th_set[id][level] = true;
	return 0;
}

/* NAME=WxP[+O]: "web=8x10+5". */
static int flag_pool(struct flags *f, const char *arg)
{
	struct pool_spec p = { 0 };
	const char *eq = strchr(arg, '=');
	char *end;
	if (!eq || eq == arg)
		goto bad;
	p.workers = strtoll(eq + 1, &end, 10);
	if (*end != 'x' || p.workers < 0)
		goto bad;
	p.pool_max = strtoll(end + 1, &end, 10);
	if (*end == '+')
		p.overflow = strtoll(end + 1, &end, 10);
	if (*end || p.pool_max < 0 || p.overflow < 0)
		goto bad;
	p.name = xstrndup(arg, (size_t)(eq - arg));
	p.where = xstrdup("--pool");
	f->pools = xrealloc(f->pools, sizeof(*f->pools) * (f->npools + 1));
	f->pools[f->npools++] = p;
	return 0;
bad:
	errorf("--pool wants NAME=WORKERSxPOOL_MAX[+OVERFLOW] (e.g. web=8x10+5), got \"%s\"", arg);
	return -1;
}

static int flag_duration(const char *opt, const char *arg, double *ms)
{
	if (parse_duration_ms(arg, ms) == 0)
		return 0;
	errorf("%s: \"%s\" is not a duration (500ms, 30s, 5m)", opt, arg);
	return -1;
}

static int on_option(int opt, const char *arg, void *ctx)
{
	struct flags *f = ctx;
	long long n;
	switch (opt) {
	case 'w': return flag_threshold(f, 0, arg);
	case 'c': return flag_threshold(f, 1, arg);
	case OPT_TIMEOUT:
		if (flag_duration("--timeout", arg, &f->timeout_ms))
			return -1;
		if (f->timeout_ms < 100) {
			errorf("--timeout must be at least 100ms");
			return -1;
		}
		return 0;
	case OPT_SESSION_AGE: return flag_duration("--session-age", arg, &f->session_age_ms);
	case OPT_IDLE_AGE: return flag_duration("--idle-age", arg, &f->idle_age_ms);
	case OPT_NO_QUERY_TEXT: f->no_query_text = true; return 0;
	case OPT_QUERY_LENGTH:
		if (parse_ll(arg, &n) || n < 1 || n > 100000) {
			errorf("--query-length wants a number from 1 to 100000, got \"%s\"", arg);
			return -1;
		}
		f->query_length = n;
		return 0;
	case OPT_WATCH:
		if (parse_double(arg, &f->watch_s) || f->watch_s < 0.5 || f->watch_s > 86400) {
			errorf("--watch wants seconds between 0.5 and 86400, got \"%s\"", arg);
			return -1;
		}
		return 0;
	case OPT_PGBOUNCER: {
		char *shown = redact_dsn(arg);
		free(shown);
		f->bouncers = xrealloc(f->bouncers, sizeof(*f->bouncers) * (f->nbouncers + 1));
		f->bouncers[f->nbouncers++] = arg;
		return 0;
	}
	case OPT_POOL: return flag_pool(f, arg);
	}
	return -1;
}

/* ---- config ---- */

_Noreturn static void config_error(struct run *rn, const struct config *cfg, const char *path, const char *what)
{
	cli_fail_unknown(&tool, &rn->common, "config", "%s: %s %s", cfg_where(cfg, path), path, what);
}

static void config_thresholds(struct run *rn, const struct config *cfg)
{
	static const char *const levels[] = { "warning", "critical" };
	for (int i = 0; i < TH_COUNT; i++) {
		for (int l = 0; l < 2; l++) {
			char *path = xasprintf("postgres.thresholds.%s.%s", th_defs[i].cfg, levels[l]);
			const char *v, *why;
			struct th_level *dst = l ? &rn->o.th[i].crit : &rn->o.th[i].warn;
			if (cfg_str(cfg, path, &v) && th_parse((enum th_id)i, v, dst, &why))
				config_error(rn, cfg, path, why);
			free(path);
		}
	}
}

/* env_file: the application's own .env gives workers and pool sizes (see pools.c). */
static void config_pool_env(struct run *rn, const struct config *cfg, struct pool_spec *p)
{
	static const char *const fields[] = { "workers", "pool_max", "pool_min", "overflow" };
	char *path = xasprintf("postgres.pools.%s.env_file", p->name);
	const char *file, *dialect_name;
	if (!cfg_str(cfg, path, &file)) {
		free(path);
		return;
	}
	enum dotenv_dialect dialect = DOTENV_COMPOSE;
	char *dpath = xasprintf("postgres.pools.%s.env_dialect", p->name);
	if (cfg_str(cfg, dpath, &dialect_name) && dotenv_dialect_parse(dialect_name, &dialect))
		config_error(rn, cfg, dpath, "must be compose, python, node or shell");
	free(dpath);
	const char *keys[POOL_FIELDS];
	for (size_t k = 0; k < POOL_FIELDS; k++) {
		char *kpath = xasprintf("postgres.pools.%s.env_keys.%s", p->name, fields[k]);
		if (!cfg_str(cfg, kpath, &keys[k]))
			keys[k] = pool_env_defaults[k];
		free(kpath);
	}
	char *err = NULL;
	if (pool_from_env(p, file, dialect, keys, &err))
		cli_fail_unknown(&tool, &rn->common, "config", "%s: %s", cfg_where(cfg, path), err);
	free(path);
}

static void config_pools(struct run *rn, const struct config *cfg)
{
	static const char *const fields[] = { "workers", "pool_max", "pool_min", "overflow" };
	const char *const *names;
	size_t n;
	if (!cfg_children(cfg, "postgres.pools", &names, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct pool_spec p = { .name = xstrdup(names[i]) };
		long long *dst[] = { &p.workers, &p.pool_max, &p.pool_min, &p.overflow };
		bool have[POOL_FIELDS];
		for (size_t k = 0; k < POOL_FIELDS; k++) {
			char *path = xasprintf("postgres.pools.%s.%s", names[i], fields[k]);
			have[k] = cfg_int(cfg, path, dst[k]);
			if (have[k] && *dst[k] < 0)
				config_error(rn, cfg, path, "must not be negative");
			free(path);
		}
		config_pool_env(rn, cfg, &p);
		char *where = xasprintf("postgres.pools.%s", names[i]);
		if (!(have[0] || p.from_env[0]) || !(have[1] || p.from_env[1]))
			config_error(rn, cfg, where, "needs workers and pool_max (in the config or its env_file)");
		if (p.pool_min > p.pool_max)
			config_error(rn, cfg, where, "has pool_min larger than pool_max");
		p.where = xstrdup(cfg_where(cfg, where));
		free(where);
		char *tpath = xasprintf("postgres.pools.%s.target", names[i]);
		const char *target;
		if (cfg_str(cfg, tpath, &target))
			p.target = xstrdup(target);
		free(tpath);
		rn->o.pools = xrealloc(rn->o.pools, sizeof(*rn->o.pools) * (rn->o.npools + 1));
		rn->o.pools[rn->o.npools++] = p;
	}
}

static void apply_defaults(struct probe_opts *o, const struct config *cfg)
{
	*o = (struct probe_opts){ .timeout_ms = 5000, .session_age_s = 5, .idle_age_s = 600,
				  .query_max = 200, .query_text = true };
	for (int i = 0; i < TH_COUNT; i++) {
		const char *why;
		o->th[i].warn = o->th[i].crit = (struct th_level){ NAN, false };
		if (th_defs[i].warn)
			th_parse((enum th_id)i, th_defs[i].warn, &o->th[i].warn, &why);
		if (th_defs[i].crit)
			th_parse((enum th_id)i, th_defs[i].crit, &o->th[i].crit, &why);
	}
	double ms;
	long long n;
	bool b;
	if (cfg_duration_ms(cfg, "postgres.timeout", &ms) || cfg_duration_ms(cfg, "defaults.timeout", &ms))
		o->timeout_ms = fmax(100, ms);
	if (cfg_duration_ms(cfg, "postgres.session_age", &ms))
		o->session_age_s = ms / 1000;
	if (cfg_duration_ms(cfg, "postgres.idle_age", &ms))
		o->idle_age_s = ms / 1000;
	if (cfg_int(cfg, "postgres.query_length", &n) && n > 0)
		o->query_max = (int)n;
	if (cfg_bool(cfg, "postgres.query_text", &b))
		o->query_text = b;
}

static void apply_flags(struct probe_opts *o, struct flags *f)
{
	if (f->timeout_ms > 0)
		o->timeout_ms = f->timeout_ms;
	if (f->session_age_ms > 0)
		o->session_age_s = f->session_age_ms / 1000;
	if (f->idle_age_ms > 0)
		o->idle_age_s = f->idle_age_ms / 1000;
	if (f->query_length)
		o->query_max = (int)f->query_length;
	if (f->no_query_text)
		o->query_text = false;
	for (int i = 0; i < TH_COUNT; i++) {
		if (f->th_set[i][0])
			o->th[i].warn = f->th[i][0];
		if (f->th_set[i][1])
			o->th[i].crit = f->th[i][1];
	}
	/* --pool replaces the config's pools: the on-call engineer is asking "what if". */
	if (f->npools) {
		for (size_t i = 0; i < o->npools; i++) {
			free(o->pools[i].name);
			free(o->pools[i].target);
			free(o->pools[i].where);
		}
		free(o->pools);
		o->pools = f->pools;
		o->npools = f->npools;
		f->pools = NULL;
		f->npools = 0;
	}
}

/* ---- targets ---- */

static bool looks_like_dsn(const char *s)
{
	return strchr(s, '=') || strstr(s, "://") || !*s;
}

static bool name_taken(const struct run *rn, const char *name)
{
	for (size_t i = 0; i < rn->nt; i++)
		if (!strcmp(rn->ts[i].name, name))
			return true;
	for (size_t i = 0; i < rn->nb; i++)
		if (!strcmp(rn->bs[i].name, name))
			return true;
	return false;
}

/* The subject of a target's checks. Subjects must be unique: Prometheus refuses two
 * series with the same labels, and Nagios perfdata labels collide. Two DSNs for the same
 * server and database are told apart by their user, else by a number. */
static char *subject_name(struct run *rn, const char *name, const char *dsn, const char *what)
{
	char *why = NULL;
	char *shown = redact_dsn(dsn); /* registers the password before any message */
	free(shown);
	char *base = pgc_describe(dsn, false, &why);
	if (!base)
		cli_fail_unknown(&tool, &rn->common, "dsn", "bad %s: %s", what, why);
	if (name) {
		free(base);
		base = xstrdup(name);
	} else if (name_taken(rn, base)) {
		free(base);
		base = pgc_describe(dsn, true, &why);
	}
	char *unique = xstrdup(base);
	for (int n = 2; name_taken(rn, unique) && n < 10000; n++) {
		free(unique);
		unique = xasprintf("%s#%d", base, n);
	}
	free(base);
	return unique;
}

static void add_target(struct run *rn, const char *name, const char *dsn)
{
	char *subject = subject_name(rn, name, dsn, "DSN");
	rn->ts = xrealloc(rn->ts, sizeof(*rn->ts) * (rn->nt + 1));
	rn->ts[rn->nt++] = (struct target){ .name = subject, .dsn = xstrdup(dsn),
					   .connect_ms = NAN, .query_ms = NAN };
}

static void add_bouncer(struct run *rn, const char *name, const char *dsn)
{
	char *subject = subject_name(rn, name, dsn, "PgBouncer DSN");
	rn->bs = xrealloc(rn->bs, sizeof(*rn->bs) * (rn->nb + 1));
	rn->bs[rn->nb++] = (struct bouncer){ .name = subject, .dsn = xstrdup(dsn), .connect_ms = NAN };
}

static const char *target_dsn(struct run *rn, const struct config *cfg, const char *section, const char *name)
{
	char *path = xasprintf("postgres.%s.%s.dsn", section, name);
	const char *dsn = NULL;
	int found = cfg_str(cfg, path, &dsn);
	free(path);
	if (!found)
		cli_fail_unknown(&tool, &rn->common, "target",
				 "\"%s\" is neither a DSN (host=... or postgresql://...) nor a target in the config (postgres.%s)",
				 name, section);
	return dsn;
}

static void collect_targets(struct run *rn, const struct config *cfg, char **operands, int n,
			    const struct flags *f)
{
	const char *const *names;
	size_t count;
	for (int i = 0; i < n; i++) {
		if (looks_like_dsn(operands[i]))
			add_target(rn, NULL, operands[i]);
		else
			add_target(rn, operands[i], target_dsn(rn, cfg, "targets", operands[i]));
	}
	if (!n && cfg_children(cfg, "postgres.targets", &names, &count))
		for (size_t i = 0; i < count; i++)
			add_target(rn, names[i], target_dsn(rn, cfg, "targets", names[i]));
	if (!rn->nt && !f->nbouncers && !cfg_children(cfg, "postgres.pgbouncer", &names, &count))
		add_target(rn, NULL, ""); /* libpq's defaults: PGHOST, PGPORT, the socket */
	for (size_t i = 0; i < f->nbouncers; i++)
		add_bouncer(rn, NULL, f->bouncers[i]);
	if (!f->nbouncers && cfg_children(cfg, "postgres.pgbouncer", &names, &count))
		for (size_t i = 0; i < count; i++)
			add_bouncer(rn, names[i], target_dsn(rn, cfg, "pgbouncer", names[i]));
}

/* ---- one run ---- */

static void build_report(struct report *r, struct run *rn)
{
	for (size_t i = 0; i < rn->nt; i++) {
		checks_target(r, &rn->ts[i], &rn->o);
		checks_pools(r, &rn->ts[i], &rn->o);
	}
	for (size_t i = 0; i < rn->nb; i++)
		checks_bouncer(r, &rn->bs[i], &rn->o);
	if (rn->nt == 1) {
		output_target(r, &rn->ts[0], false);
	} else if (rn->nt > 1) {
		rp_open_array(r, "targets");
		for (size_t i = 0; i < rn->nt; i++)
			output_target(r, &rn->ts[i], true);
		rp_close_array(r);
	}
	output_pools(r, &rn->o);
	if (rn->nb) {
		rp_open_array(r, "pgbouncer");
		for (size_t i = 0; i < rn->nb; i++)
			output_bouncer(r, &rn->bs[i]);
		rp_close_array(r);
	}
}

static int run_once(void *ctx, FILE *out)
{
	struct run *rn = ctx;
	probe_run_all(rn->ts, rn->nt, rn->bs, rn->nb, &rn->o);
	struct report *r = cli_report_new(&tool, &rn->common);
	build_report(r, rn);
	int rc = report_finish(r, out);
	report_free(r);
	return rc;
}

/* One --watch screen: the compact summary, then only the checks that are not OK. */
static int run_screen(void *ctx, FILE *out, int session_rows)
{
	struct run *rn = ctx;
	probe_run_all(rn->ts, rn->nt, rn->bs, rn->nb, &rn->o);
	watch_summary(out, rn->ts, rn->nt, rn->bs, rn->nb, session_rows);
	struct report *r = cli_report_new(&tool, &rn->common);
	report_set_verbosity(r, 1, rn->common.verbose);
	report_set_terminal(r, true);   /* the screen is composed in memory for a TTY */
	build_report(r, rn);
	int rc = report_finish(r, out);
	report_free(r);
	return rc;
}

static void run_free(struct run *rn)
{
	for (size_t i = 0; i < rn->nt; i++) {
		target_reset(&rn->ts[i]);
		free(rn->ts[i].name);
		free(rn->ts[i].dsn);
	}
	for (size_t i = 0; i < rn->nb; i++) {
		bouncer_reset(&rn->bs[i]);
		free(rn->bs[i].name);
		free(rn->bs[i].dsn);
	}
	for (size_t i = 0; i < rn->o.npools; i++) {
		free(rn->o.pools[i].name);
		free(rn->o.pools[i].target);
		free(rn->o.pools[i].where);
	}
	free(rn->o.pools);
	free(rn->ts);
	free(rn->bs);
}

int main(int argc, char **argv)
{
	struct run rn = { 0 };
	struct flags f = { 0 };
	int first = cli_parse(&tool, argc, argv, "w:c:", long_opts, on_option, &f, &rn.common);
	struct config *cfg = cli_load_config(&tool, &rn.common);
	apply_defaults(&rn.o, cfg);
	config_thresholds(&rn, cfg);
	config_pools(&rn, cfg);
	apply_flags(&rn.o, &f);
	if (f.watch_s > 0 && (!isatty(STDOUT_FILENO) || rn.common.output_path || rn.common.format != FMT_TEXT))
		cli_usage_error(&tool, "--watch redraws a terminal: it needs text output to a TTY (run without --watch for one probe)");
	collect_targets(&rn, cfg, argv + first, argc - first, &f);
	config_free(cfg);
	free(f.bouncers);

	int rc;
	if (f.watch_s > 0) {
		rc = watch_loop(f.watch_s, run_screen, &rn);
	} else {
		FILE *out = cli_open_output(&rn.common);
		rc = run_once(&rn, out);
		cli_close_output(out, &rn.common);
	}
	run_free(&rn);
	return rc;
}
