/* ops-promote — promote a tested container image by digest: retag, mount or copy, never
 * rebuild. See ops-promote(1). */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "msg.h"
#include "promote.h"
#include "output.h"
#include "redact.h"

static const struct cli_tool tool = {
	.name = "ops-promote",
	.synopsis = "usage: ops-promote [--config file] [--format text|json|prometheus|nagios]\n"
		    "       [-o file] [-qv] [--digest digest] [--dry-run] [--force] [--jobs n]\n"
		    "       [--no-referrers] [--insecure-registry host] [--ca-file file]\n"
		    "       [--src-creds user:password] [--dest-creds user:password]\n"
		    "       [--timeout duration] [--total-timeout duration] [--retries n]\n"
		    "       [--environment name] [--git-repo path] [--require-ancestor branch]\n"
		    "       [--record-tag] SOURCE TARGET\n"
		    "       ops-promote -h | -V\n",
	.options = "  --digest DIGEST             promote only this digest (what was tested); refuse if SOURCE moved\n"
		   "  --dry-run                   resolve and print the plan; change nothing\n"
		   "  --force                     move a protected target tag\n"
		   "  --jobs N                    parallel blob transfers (default 4)\n"
		   "  --no-referrers              do not copy signatures, attestations and referrers\n"
		   "  --insecure-registry HOST    talk plain HTTP to HOST (loopback always may)\n"
		   "  --ca-file FILE              trust this CA bundle for registry TLS\n"
		   "  --src-creds USER:PASSWORD   credentials for the source registry\n"
		   "  --dest-creds USER:PASSWORD  credentials for the target registry\n"
		   "  --timeout DURATION          bound on one request (default 30s)\n"
		   "  --total-timeout DURATION    bound on the whole run (default 10m)\n"
		   "  --retries N                 retries on connection errors, 5xx and 429 (default 3)\n"
		   "  --environment NAME          apply this environment's policy from the config\n"
		   "  --git-repo PATH             the git repository the image was built from\n"
		   "  --require-ancestor BRANCH   the image's revision must be reachable from BRANCH\n"
		   "  --record-tag                record the promotion as an annotated git tag\n",
	.config_section = "promote",
	.verbose_help = "trace requests (credentials redacted)",
	.formats = FMT_MASK_SHARED,
};

enum {
	OPT_DIGEST = 0x2000, OPT_DRY_RUN, OPT_FORCE, OPT_JOBS, OPT_NO_REFERRERS, OPT_INSECURE,
	OPT_CA_FILE, OPT_SRC_CREDS, OPT_DEST_CREDS, OPT_TIMEOUT, OPT_TOTAL_TIMEOUT, OPT_RETRIES,
	OPT_ENVIRONMENT, OPT_GIT_REPO, OPT_REQUIRE_ANCESTOR, OPT_RECORD_TAG,
};

static const struct option long_options[] = {
	{ "digest", required_argument, NULL, OPT_DIGEST },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "no-referrers", no_argument, NULL, OPT_NO_REFERRERS },
	{ "insecure-registry", required_argument, NULL, OPT_INSECURE },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "src-creds", required_argument, NULL, OPT_SRC_CREDS },
	{ "dest-creds", required_argument, NULL, OPT_DEST_CREDS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "total-timeout", required_argument, NULL, OPT_TOTAL_TIMEOUT },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "environment", required_argument, NULL, OPT_ENVIRONMENT },
	{ "git-repo", required_argument, NULL, OPT_GIT_REPO },
	{ "require-ancestor", required_argument, NULL, OPT_REQUIRE_ANCESTOR },
	{ "record-tag", no_argument, NULL, OPT_RECORD_TAG },
	{ NULL, 0, NULL, 0 },
};

struct options {
	const char *digest, *ca_file, *src_creds, *dest_creds, *environment;
	const char *git_repo, *require_ancestor;
	const char **insecure;
	size_t ninsecure;
	bool dry_run, force, no_referrers, record_tag;
	long long jobs, retries;
	double timeout_ms, total_timeout_ms;
};

static int parse_option(int opt, const char *arg, void *ctx)
{
	struct options *o = ctx;
	switch (opt) {
	case OPT_DIGEST:
		if (!digest_valid(arg)) {
			errorf("--digest \"%s\": expected sha256: and 64 lowercase hex digits", arg);
			return -1;
		}
		o->digest = arg;
		return 0;
	case OPT_DRY_RUN: o->dry_run = true; return 0;
	case OPT_FORCE: o->force = true; return 0;
	case OPT_NO_REFERRERS: o->no_referrers = true; return 0;
	case OPT_RECORD_TAG: o->record_tag = true; return 0;
	case OPT_CA_FILE: o->ca_file = arg; return 0;
	case OPT_ENVIRONMENT: o->environment = arg; return 0;
	case OPT_GIT_REPO: o->git_repo = arg; return 0;
	case OPT_REQUIRE_ANCESTOR: o->require_ancestor = arg; return 0;
	case OPT_SRC_CREDS:
	case OPT_DEST_CREDS:
		if (!strchr(arg, ':')) {
			errorf("%s needs user:password", opt == OPT_SRC_CREDS ? "--src-creds" : "--dest-creds");
			return -1;
		}
		redact_add_secret(strchr(arg, ':') + 1);
		*(opt == OPT_SRC_CREDS ? &o->src_creds : &o->dest_creds) = arg;
		return 0;
	case OPT_INSECURE:
		o->insecure = xrealloc(o->insecure, (o->ninsecure + 1) * sizeof(*o->insecure));
		o->insecure[o->ninsecure++] = arg;
		return 0;
	case OPT_JOBS:
	case OPT_RETRIES: {
		long long v;
		long long lo = opt == OPT_JOBS ? 1 : 0;
		if (parse_ll(arg, &v) || v < lo || v > 64) {
			errorf("%s \"%s\": expected a whole number from %lld to 64",
			       opt == OPT_JOBS ? "--jobs" : "--retries", arg, lo);
			return -1;
		}
		*(opt == OPT_JOBS ? &o->jobs : &o->retries) = v;
		return 0;
	}
	case OPT_TIMEOUT:
	case OPT_TOTAL_TIMEOUT: {
		double ms;
		if (parse_duration_ms(arg, &ms) || ms <= 0) {
			errorf("%s \"%s\": expected a duration such as 30s or 500ms",
			       opt == OPT_TIMEOUT ? "--timeout" : "--total-timeout", arg);
			return -1;
		}
		*(opt == OPT_TIMEOUT ? &o->timeout_ms : &o->total_timeout_ms) = ms;
		return 0;
	}
	default:
		return -1;
	}
}

static void load_limits(const struct config *cfg, const struct options *o, struct run_limits *l)
{
	double ms;
	long long n;
	l->connect_timeout_ms = cfg_duration_ms(cfg, "promote.connect_timeout", &ms) ? (long)ms : 5000;
	l->request_timeout_ms = o->timeout_ms > 0 ? (long)o->timeout_ms
		: cfg_duration_ms(cfg, "promote.timeout", &ms) ? (long)ms
		: cfg_duration_ms(cfg, "defaults.timeout", &ms) ? (long)ms : 30000;
	double total = o->total_timeout_ms > 0 ? o->total_timeout_ms
		: cfg_duration_ms(cfg, "promote.total_timeout", &ms) ? ms : 600000;
	l->deadline_ms = now_ms() + total;
	l->retries = o->retries >= 0 ? (int)o->retries
		: cfg_int(cfg, "promote.retries", &n) && n >= 0 ? (int)n : 3;
	l->backoff_ms = cfg_duration_ms(cfg, "promote.backoff", &ms) ? (long)ms : 200;
	if (l->backoff_ms < 1)
		l->backoff_ms = 1;
	l->low_speed_bytes = 1024;
	l->low_speed_secs = l->request_timeout_ms / 1000 > 0 ? l->request_timeout_ms / 1000 : 1;
	if (l->connect_timeout_ms > l->request_timeout_ms)
		l->connect_timeout_ms = l->request_timeout_ms;
}

/* The promote.registries entry whose host is host, or NULL. */
static const char *registry_entry(const struct config *cfg, const char *host)
{
	const char *const *names;
	size_t n;
	if (!cfg_children(cfg, "promote.registries", &names, &n))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char *key = xasprintf("promote.registries.%s.host", names[i]);
		const char *h;
		bool hit = cfg_str(cfg, key, &h) && !strcmp(h, host);
		free(key);
		if (hit)
			return names[i];
	}
	return NULL;
}

static const char *entry_value(const struct config *cfg, const char *entry, const char *key)
{
	char *path = xasprintf("promote.registries.%s.%s", entry, key);
	const char *v = NULL;
	if (!cfg_str(cfg, path, &v))
		v = NULL;
	free(path);
	return v;
}

static void set_creds(struct registry *r, const char *user, const char *pass)
{
	free(r->username);
	free(r->password);
	r->username = xstrdup(user);
	r->password = pass ? xstrdup(pass) : NULL;
	log_secret(pass);
}

/* Credentials: flag, then the config (value or named env), then ~/.docker/config.json. */
static void registry_credentials(struct registry *r, const struct config *cfg, const char *entry,
				 const char *creds_flag)
{
	if (creds_flag) {
		const char *colon = strchr(creds_flag, ':');
		char *user = xstrndup(creds_flag, (size_t)(colon - creds_flag));
		set_creds(r, user, colon + 1);
		free(user);
		return;
	}
	if (entry) {
		const char *user = entry_value(cfg, entry, "username");
		const char *pass = entry_value(cfg, entry, "password");
		const char *user_env = entry_value(cfg, entry, "username_env");
		const char *pass_env = entry_value(cfg, entry, "password_env");
		const char *token = entry_value(cfg, entry, "token");
		if (user_env && getenv(user_env))
			user = getenv(user_env);
		if (pass_env && getenv(pass_env))
			pass = getenv(pass_env);
		if (token) {
			log_secret(token);
			r->static_token = xstrdup(token);
		}
		if (user) {
			set_creds(r, user, pass);
			return;
		}
		if (token)
			return;
	}
	char *user = NULL, *pass = NULL, *err = NULL;
	int found = auth_docker_config(r->host, &user, &pass, &err);
	if (found == 1)
		set_creds(r, user, pass);
	else if (found < 0) {
		warnf("%s; trying %s anonymously", err, r->host);
		free(err);
	}
	free(user);
	free(pass);
}

static struct registry *make_registry(const char *host, const struct config *cfg, const struct options *o,
				      const char *creds, const struct run_limits *limits)
{
	struct registry *r = registry_new(host, limits);
	const char *entry = registry_entry(cfg, host);
	bool insecure = false;
	for (size_t i = 0; i < o->ninsecure; i++)
		insecure |= !strcmp(o->insecure[i], host);
	char *key = entry ? xasprintf("promote.registries.%s.insecure", entry) : NULL;
	bool cfg_insecure = false;
	if (key && cfg_bool(cfg, key, &cfg_insecure) && cfg_insecure)
		insecure = true;
	free(key);
	if (insecure) {
		r->probe_scheme = false;
		r->plain_http = true;
		free(r->base_url);
		r->base_url = xasprintf("http://%s", r->api_host);
	}
	const char *ca = o->ca_file ? o->ca_file : entry ? entry_value(cfg, entry, "ca_file") : NULL;
	if (ca)
		r->ca_file = xstrdup(ca);
	registry_credentials(r, cfg, entry, creds);
	return r;
}

/* One registry object per host, so that a same-registry promotion shares its token;
 * the token scopes are the whole run's: pull on the source, pull,push on the target. */
static void setup_registries(struct promotion *p, const struct config *cfg, const struct options *o,
			     const struct run_limits *limits)
{
	bool same_registry = !strcmp(p->src.registry, p->dst.registry);
	bool same_repo = same_registry && !strcmp(p->src.repo, p->dst.repo);
	p->sreg = make_registry(p->src.registry, cfg, o, o->src_creds, limits);
	p->dreg = same_registry ? p->sreg : make_registry(p->dst.registry, cfg, o, o->dest_creds, limits);
	if (same_registry && o->dest_creds)
		registry_credentials(p->sreg, cfg, NULL, o->dest_creds); /* pushing needs them */
	registry_add_scope(p->sreg, p->src.repo, same_repo ? "pull,push" : "pull");
	if (!same_repo)
		registry_add_scope(p->dreg, p->dst.repo, "pull,push");
}

int main(int argc, char **argv)
{
	struct cli_common common;
	struct options o = { .jobs = 0, .retries = -1 };
	int first = cli_parse(&tool, argc, argv, "", long_options, parse_option, &o, &common);
	struct config *cfg = cli_load_config(&tool, &common);
	if (argc - first != 2) {
		config_free(cfg);
		cli_usage_error(&tool, "expected SOURCE and TARGET, got %d operand%s", argc - first,
				argc - first == 1 ? "" : "s");
	}
	http_global_init();
	srandom((unsigned)(now_ms() * 1000));
	struct run_limits limits;
	load_limits(cfg, &o, &limits);
	struct promotion p = { 0 };
	char *err = NULL;
	if (ref_parse(argv[first], &p.src, &err) || ref_parse(argv[first + 1], &p.dst, &err))
		cli_fail_unknown(&tool, &common, "usage", "%s", err);
	if (!p.dst.tag || p.dst.digest)
		cli_fail_unknown(&tool, &common, "usage", "TARGET must name a tag (repo:tag), not a digest");
	if (o.digest && p.src.digest && strcmp(o.digest, p.src.digest))
		cli_fail_unknown(&tool, &common, "usage", "--digest %s and SOURCE's @%s disagree", o.digest, p.src.digest);
	p.pin = o.digest ? o.digest : p.src.digest;
	long long jobs = 4;
	cfg_int(cfg, "promote.jobs", &jobs);
	p.jobs = (int)(o.jobs > 0 ? o.jobs : jobs);
	p.dry_run = o.dry_run;
	bool referrers = true;
	cfg_bool(cfg, "promote.referrers", &referrers);
	p.no_referrers = o.no_referrers || !referrers;
	setup_registries(&p, cfg, &o, &limits);

	struct run_result res = { .tool = &tool, .common = &common, .cfg = cfg, .opts_force = o.force,
				  .git_repo = o.git_repo, .require_ancestor = o.require_ancestor,
				  .record_tag = o.record_tag, .environment = o.environment };
	int code = run_and_report(&p, &res);
	registry_free(p.sreg);
	if (p.dreg != p.sreg)
		registry_free(p.dreg);
	promotion_release(&p);
	free(o.insecure);
	config_free(cfg);
	http_global_cleanup();
	return code;
}
