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
#include "exporter.h"
#include "config.h"
#include "msg.h"
#include "pgprobe.h"
#include "redact.h"
#include "util.h"

static int opt_warning(void *opts, const char *arg, char **why);
static int opt_critical(void *opts, const char *arg, char **why);
static int opt_pool(void *opts, const char *arg, char **why);
static int opt_pgbouncer(void *opts, const char *arg, char **why);

#define O struct probe_opts
static const struct cli_opt options[] = {
	CLI_CALL_OPT('w', "warning", "CHECK=V", opt_warning, "warning threshold of a check (80%, 12, 30s)"),
	CLI_CALL_OPT('c', "critical", "CHECK=V", opt_critical, "critical threshold of a check"),
	CLI_OPT(0, "timeout", "DURATION", CLI_DURATION, O, timeout_ms, "bound on the whole probe",
		.config_key = "postgres.timeout"),
	CLI_CALL_OPT(0, "pgbouncer", "DSN", opt_pgbouncer, "also probe this PgBouncer admin console (repeatable)",
		     .flags = CLI_NO_ECHO),
	CLI_OPT(0, "pgbouncer-processes", "N", CLI_INT, O, pgb_processes,
		"PgBouncer processes sharing each --pgbouncer port (so_reuseport)", CLI_BOUNDS(1, 1024)),
	CLI_CALL_OPT(0, "pool", "NAME=WxP[+O]|app=NAME,...", opt_pool,
		     "an application's pools: W workers, pool_max P, overflow O (long form: see ops-pgprobe(1))"),
	CLI_OPT(0, "session-age", "DURATION", CLI_SECONDS, O, session_age_s,
		"list sessions busy or in a transaction this long", .config_key = "postgres.session_age"),
	CLI_OPT(0, "idle-age", "DURATION", CLI_SECONDS, O, idle_age_s, "idle connections older than this are stale",
		.config_key = "postgres.idle_age"),
	CLI_OPT(0, "idle-tx-age", "DURATION", CLI_SECONDS, O, idle_tx_age_s,
		"idle-in-transaction-count counts sessions idle in a transaction this long", .config_key = "postgres.idle_tx_age"),
	CLI_OPT(0, "exclude-user", "PATTERN", CLI_LIST, O, exclude_users,
		"session-age checks skip this role's sessions (name or glob, repeatable)", .config_key = "postgres.exclude_users"),
	CLI_OPT(0, "exclude-application", "PATTERN", CLI_LIST, O, exclude_apps,
		"session-age checks skip sessions of this application_name (repeatable)",
		.config_key = "postgres.exclude_applications"),
	CLI_OPT(0, "exclude-database", "PATTERN", CLI_LIST, O, exclude_dbs,
		"session-age checks skip sessions in this database (repeatable)", .config_key = "postgres.exclude_databases"),
	CLI_OPT(0, "no-query-text", NULL, CLI_FLAG_OFF, O, query_text, "never show query text",
		.config_key = "postgres.query_text"),
	CLI_OPT(0, "query-length", "N", CLI_INT, O, query_max, "truncate query text to N characters",
		.config_key = "postgres.query_length"),
	CLI_OPT(0, "watch", "SECONDS", CLI_NUMBER, O, watch_s, "compact screen redrawn every SECONDS until Ctrl-C (TTY)",
		CLI_BOUNDS(0.5, 86400)),
	CLI_OPT(0, "listen", "ADDR:PORT", CLI_STRING, O, listen, "exporter mode: serve /probe?target=NAME and /metrics"),
	CLI_OPT_END,
};
#undef O

static const struct cli_tool tool = {
	.name = "ops-pgprobe",
	.synopsis = "[options] [DSN | target]...\n",
	.opts = options,
	.config_section = "postgres",
	.verbose_help = "hints of OK checks too",
	.formats = FMT_MASK_SHARED,
};

struct run {
	struct cli_common common;
	struct probe_opts o;
	struct target *ts;
	size_t nt;
	struct bouncer *bs;
	size_t nb;
};

/* -w / -c CHECK=VALUE */
static int opt_threshold(struct probe_opts *o, int level, const char *arg, char **why)
{
	const char *eq = strchr(arg, '=');
	int id = eq ? threshold_find(arg, (size_t)(eq - arg)) : -1;
	const char *problem;
	if (id < 0) {
		struct strbuf ids = STRBUF_INIT;
		for (int i = 0; i < TH_COUNT; i++)
			sb_addf(&ids, "%s%s", i ? ", " : "", threshold_defs[i].id);
		*why = xasprintf("needs CHECK=VALUE with a check that has thresholds (%s), got \"%s\"",
				 sb_str(&ids), arg);
		sb_release(&ids);
		return -1;
	}
	struct th_level *dst = level ? &o->th[id].crit : &o->th[id].warn;
	if (threshold_parse((enum th_id)id, eq + 1, dst, &problem)) {
		*why = xasprintf("threshold %s: \"%s\" %s", threshold_defs[id].id, eq + 1, problem);
		return -1;
	}
	o->th_given[id][level] = true;
	return 0;
}

static int opt_warning(void *opts, const char *arg, char **why)
{
	return opt_threshold(opts, 0, arg, why);
}

static int opt_critical(void *opts, const char *arg, char **why)
{
	return opt_threshold(opts, 1, arg, why);
}

static void add_pool(struct probe_opts *o, struct pool_spec p)
{
	o->pools = xrealloc(o->pools, sizeof(*o->pools) * (o->npools + 1));
	o->pools[o->npools++] = p;
}

/* NAME=WxP[+O] or app=NAME,pods=N,... (pool_model.c). The first --pool replaces the
 * config's pools: the on-call engineer is asking "what if". */
static int opt_pool(void *opts, const char *arg, char **why)
{
	struct probe_opts *o = opts;
	struct pool_spec p;
	if (pool_model_parse(arg, &p, why))
		return -1;
	p.where = xstrdup("--pool");
	add_pool(o, p);
	o->pools_given = true;
	return 0;
}

static int opt_pgbouncer(void *opts, const char *arg, char **why)
{
	struct probe_opts *o = opts;
	(void)why;
	free(redact_dsn(arg)); /* registers its password before any message */
	const char **items = xrealloc((void *)o->bouncers.items, sizeof(*items) * (o->bouncers.n + 1));
	items[o->bouncers.n++] = arg;
	o->bouncers.items = items;
	return 0;
}

/* ---- config ---- */

_Noreturn static void config_error(struct run *rn, const struct config *cfg, const char *path, const char *what)
{
	cli_fail_unknown(&tool, &rn->common, "config", "%s: %s %s", cfg_where(cfg, path), path, what);
}

/* Each level not given with -w/-c: the config's, else the schema's default. */
static void config_thresholds(struct run *rn, const struct config *cfg)
{
	static const char *const levels[] = { "warning", "critical" };
	for (int i = 0; i < TH_COUNT; i++) {
		for (int l = 0; l < 2; l++) {
			struct th_level *dst = l ? &rn->o.th[i].crit : &rn->o.th[i].warn;
			if (rn->o.th_given[i][l])
				continue;
			*dst = (struct th_level){ NAN, false };
			char *path = xasprintf("postgres.thresholds.%s.%s", threshold_defs[i].cfg, levels[l]);
			const char *v = NULL, *why;
			cfg_str(cfg, path, &v);
			if (v && threshold_parse((enum th_id)i, v, dst, &why))
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
	const char *file, *dialect_name = NULL;
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
		cfg_str(cfg, kpath, &keys[k]); /* the schema row's default names the usual variable */
		free(kpath);
	}
	char *err = NULL;
	if (pools_from_env(p, file, dialect, keys, &err))
		cli_fail_unknown(&tool, &rn->common, "config", "%s: %s", cfg_where(cfg, path), err);
	free(path);
}

/* pods, concurrency, surge: their schema rows hold the defaults and bounds. */
static void config_pool_model(const struct config *cfg, struct pool_spec *p)
{
	char *path = xasprintf("postgres.pools.%s.pods", p->name);
	cfg_int(cfg, path, &p->pods);
	free(path);
	path = xasprintf("postgres.pools.%s.concurrency", p->name);
	cfg_int(cfg, path, &p->concurrency);
	free(path);
	path = xasprintf("postgres.pools.%s.surge", p->name);
	cfg_double(cfg, path, &p->surge);
	free(path);
}

static void config_pools(struct run *rn, const struct config *cfg)
{
	static const char *const fields[] = { "workers", "pool_max", "pool_min", "overflow" };
	const char *const *names;
	size_t n;
	if (rn->o.pools_given || !cfg_children(cfg, "postgres.pools", &names, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct pool_spec p;
		pool_spec_init(&p, xstrdup(names[i]));
		long long *dst[] = { &p.workers, &p.pool_max, &p.pool_min, &p.overflow };
		bool have[POOL_FIELDS];
		for (size_t k = 0; k < POOL_FIELDS; k++) {
			char *path = xasprintf("postgres.pools.%s.%s", names[i], fields[k]);
			have[k] = cfg_int(cfg, path, dst[k]);
			if (have[k] && *dst[k] < 0)
				config_error(rn, cfg, path, "must not be negative");
			free(path);
		}
		config_pool_model(cfg, &p);
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
		add_pool(&rn->o, p);
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
	char *base = conn_describe(dsn, false, &why);
	if (!base)
		cli_fail_unknown(&tool, &rn->common, "dsn", "bad %s: %s", what, why);
	if (name) {
		free(base);
		base = xstrdup(name);
	} else if (name_taken(rn, base)) {
		free(base);
		base = conn_describe(dsn, true, &why);
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

/* processes: --pgbouncer-processes, else the configured PgBouncer's own key. */
static void add_bouncer(struct run *rn, const struct config *cfg, const char *name, const char *dsn)
{
	char *subject = subject_name(rn, name, dsn, "PgBouncer DSN");
	long long processes = rn->o.pgb_processes;
	if (!processes && name) {
		char *path = xasprintf("postgres.pgbouncer.%s.processes", name);
		cfg_int(cfg, path, &processes);
		free(path);
	}
	rn->bs = xrealloc(rn->bs, sizeof(*rn->bs) * (rn->nb + 1));
	rn->bs[rn->nb++] = (struct bouncer){ .name = subject, .dsn = xstrdup(dsn), .connect_ms = NAN,
					   .processes = processes };
}

static const char *target_dsn(struct run *rn, const struct config *cfg, const char *section, const char *name)
{
	char *path = xasprintf("postgres.%s.%s.dsn", section, name);
	const char *dsn = NULL;
	int found = cfg_str(cfg, path, &dsn);
	free(path);
	if (!found) {
		char *shown = redact_userinfo(name); /* "user:pass@db:5432/app", a URL without its scheme */
		cli_fail_unknown(&tool, &rn->common, "target",
				 "\"%s\" is neither a DSN (host=... or postgresql://...) nor a target in the config (postgres.%s)",
				 shown, section);
	}
	return dsn;
}

static void collect_targets(struct run *rn, const struct config *cfg, char **operands, int n)
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
	const struct cli_list *bouncers = &rn->o.bouncers;
	if (!rn->nt && !bouncers->n && !cfg_children(cfg, "postgres.pgbouncer", &names, &count))
		add_target(rn, NULL, ""); /* libpq's defaults: PGHOST, PGPORT, the socket */
	for (size_t i = 0; i < bouncers->n; i++)
		add_bouncer(rn, cfg, NULL, bouncers->items[i]);
	if (!bouncers->n && cfg_children(cfg, "postgres.pgbouncer", &names, &count))
		for (size_t i = 0; i < count; i++)
			add_bouncer(rn, cfg, names[i], target_dsn(rn, cfg, "pgbouncer", names[i]));
}

/* ---- one run ---- */

static void build_report(struct report *r, struct run *rn)
{
	for (size_t i = 0; i < rn->nt; i++) {
		checks_target(r, &rn->ts[i], &rn->o);
		sessions_checks(r, &rn->ts[i], &rn->o);
		pools_checks(r, &rn->ts[i], &rn->o);
		pool_model_held_checks(r, &rn->ts[i], &rn->o, rn->bs, rn->nb);
	}
	for (size_t i = 0; i < rn->nb; i++) {
		pgbouncer_checks(r, &rn->bs[i], &rn->o);
		bouncer_sizing_checks(r, &rn->bs[i], rn->ts, rn->nt);
	}
	if (rn->nt == 1) {
		output_target(r, &rn->ts[0], false);
	} else if (rn->nt > 1) {
		rp_open_array(r, "targets");
		for (size_t i = 0; i < rn->nt; i++)
			output_target(r, &rn->ts[i], true);
		rp_close_array(r);
	}
	pools_output(r, &rn->o);
	if (rn->nb) {
		rp_open_array(r, "pgbouncer");
		for (size_t i = 0; i < rn->nb; i++)
			pgbouncer_output(r, &rn->bs[i]);
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
		probe_target_reset(&rn->ts[i]);
		free(rn->ts[i].name);
		free(rn->ts[i].dsn);
	}
	for (size_t i = 0; i < rn->nb; i++) {
		probe_bouncer_reset(&rn->bs[i]);
		free(rn->bs[i].name);
		free(rn->bs[i].dsn);
	}
	for (size_t i = 0; i < rn->o.npools; i++) {
		free(rn->o.pools[i].name);
		free(rn->o.pools[i].target);
		free(rn->o.pools[i].where);
	}
	free(rn->o.pools);
	free(rn->o.exclude_sql);
	free(rn->ts);
	free(rn->bs);
}

/* ---- exporter mode ---- */

struct exporter_run {
	struct run *rn;
	const struct config *cfg;
	bool any_target;
};

/* A configured target or PgBouncer, or (when the config allows it) a DSN. */
static const char *exporter_target_ok(void *ctx, const char *target)
{
	struct exporter_run *er = ctx;
	char *path = xasprintf("postgres.targets.%s.dsn", target), *bpath = xasprintf("postgres.pgbouncer.%s.dsn", target);
	const char *dsn;
	bool named = cfg_str(er->cfg, path, &dsn) || cfg_str(er->cfg, bpath, &dsn);
	free(path);
	free(bpath);
	if (named || (er->any_target && looks_like_dsn(target) && *target))
		return NULL;
	return er->any_target ? "target is neither a configured target nor a DSN"
			      : "target is not a configured target (postgres.targets or postgres.pgbouncer)";
}

/* In the exporter's child: one probe of one target, as --format prometheus writes it. */
static int exporter_probe(void *ctx, const char *target, double timeout_ms, FILE *out)
{
	struct exporter_run *er = ctx;
	struct run *rn = er->rn;
	rn->nt = rn->nb = 0;
	rn->common.format = FMT_PROMETHEUS;
	rn->o.timeout_ms = fmin(rn->o.timeout_ms, timeout_ms);
	char *bpath = xasprintf("postgres.pgbouncer.%s.dsn", target);
	const char *dsn;
	if (cfg_str(er->cfg, bpath, &dsn))
		add_bouncer(rn, er->cfg, target, dsn);
	else if (looks_like_dsn(target))
		add_target(rn, NULL, target);
	else
		add_target(rn, target, target_dsn(rn, er->cfg, "targets", target));
	free(bpath);
	return run_once(rn, out);
}

static int serve_exporter(struct run *rn, const struct config *cfg)
{
	struct exporter_config ec = { .tool = tool.name, .version = OPSKIT_VERSION, .listen = rn->o.listen };
	struct exporter_run er = { .rn = rn, .cfg = cfg };
	exporter_config_load(&ec, cfg, "postgres", &er.any_target);
	return exporter_run(&ec, exporter_probe, exporter_target_ok, &er);
}

int main(int argc, char **argv)
{
	struct run rn = { 0 };
	int first = cli_parse(&tool, argc, argv, &rn.o, &rn.common);
	struct config *cfg = cli_load_config(&tool, &rn.common);
	config_thresholds(&rn, cfg);
	config_pools(&rn, cfg);
	sessions_sql_exclusion(&rn.o);
	if (rn.o.watch_s > 0 && (!isatty(STDOUT_FILENO) || rn.common.output_path || rn.common.format != FMT_TEXT))
		cli_usage_error(&tool, "--watch redraws a terminal: it needs text output to a TTY (run without --watch for one probe)");
	if (rn.o.listen) {
		if (argc > first || rn.o.watch_s > 0)
			cli_usage_error(&tool, "--listen serves the targets of the config: no DSN operands, no --watch");
		int rc = serve_exporter(&rn, cfg);
		config_free(cfg);
		run_free(&rn);
		return rc;
	}
	collect_targets(&rn, cfg, argv + first, argc - first);
	config_free(cfg);
	free((void *)rn.o.bouncers.items);

	int rc;
	if (rn.o.watch_s > 0) {
		rc = watch_loop(rn.o.watch_s, run_screen, &rn);
	} else {
		FILE *out = cli_open_output(&rn.common);
		rc = run_once(&rn, out);
		cli_close_output(out, &rn.common);
	}
	run_free(&rn);
	return rc;
}
