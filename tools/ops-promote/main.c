/* ops-promote — promote a tested container image by digest: retag, mount or copy, never
 * rebuild. See ops-promote(1). */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "msg.h"
#include "promote.h"
#include "output.h"
#include "redact.h"

static int opt_digest(void *opts, const char *arg, char **why);

#define MAX_TARGETS 32  /* targets of one run */

struct options {
	const char *digest, *ca_file, *src_creds, *dest_creds, *environment;
	const char *src_creds_file, *dest_creds_file, *platform;
	const char *git_repo, *require_ancestor;
	struct cli_list insecure;
	bool dry_run, force, referrers, record_tag;
	int jobs, retries;
	long timeout_ms;
	double total_timeout_ms;
};

#define O struct options
static const struct cli_opt options[] = {
	CLI_CALL_OPT(0, "digest", "DIGEST", opt_digest, "promote only this digest (what was tested); refuse if SOURCE moved"),
	CLI_OPT(0, "platform", "OS/ARCH[/VARIANT]", CLI_STRING, O, platform,
		"promote only this platform's manifest of an index, by its digest"),
	CLI_OPT(0, "dry-run", NULL, CLI_FLAG, O, dry_run, "resolve and print the plan; change nothing"),
	CLI_OPT(0, "force", NULL, CLI_FLAG, O, force, "move a protected target tag"),
	CLI_OPT(0, "jobs", "N", CLI_INT, O, jobs, "parallel blob transfers", .config_key = "promote.jobs"),
	CLI_OPT(0, "no-referrers", NULL, CLI_FLAG_OFF, O, referrers, "do not copy signatures, attestations and referrers",
		.config_key = "promote.referrers"),
	CLI_OPT(0, "insecure-registry", "HOST", CLI_LIST, O, insecure, "talk plain HTTP to HOST (loopback always may)"),
	CLI_OPT(0, "ca-file", "FILE", CLI_STRING, O, ca_file, "trust this CA bundle for registry TLS"),
	CLI_OPT(0, "src-creds", "USER:PASSWORD", CLI_CREDS, O, src_creds, "credentials for the source registry"),
	CLI_OPT(0, "dest-creds", "USER:PASSWORD", CLI_CREDS, O, dest_creds, "credentials for the target registry"),
	CLI_OPT(0, "src-creds-file", "FILE", CLI_STRING, O, src_creds_file,
		"read the source registry's USER:PASSWORD from FILE (not visible in argv)"),
	CLI_OPT(0, "dest-creds-file", "FILE", CLI_STRING, O, dest_creds_file,
		"read the target registry's USER:PASSWORD from FILE (not visible in argv)"),
	CLI_OPT(0, "timeout", "DURATION", CLI_DURATION, O, timeout_ms, "bound on one request",
		.config_key = "promote.timeout"),
	CLI_OPT(0, "total-timeout", "DURATION", CLI_DURATION, O, total_timeout_ms, "bound on the whole run",
		.config_key = "promote.total_timeout"),
	CLI_OPT(0, "retries", "N", CLI_INT, O, retries, "retries on connection errors, 5xx, 408 and 429",
		.config_key = "promote.retries"),
	CLI_OPT(0, "environment", "NAME", CLI_STRING, O, environment, "apply this environment's policy from the config"),
	CLI_OPT(0, "git-repo", "PATH", CLI_STRING, O, git_repo, "the git repository the image was built from"),
	CLI_OPT(0, "require-ancestor", "BRANCH", CLI_STRING, O, require_ancestor,
		"the image's revision must be reachable from BRANCH"),
	CLI_OPT(0, "record-tag", NULL, CLI_FLAG, O, record_tag, "record the promotion as an annotated git tag"),
	CLI_OPT_END,
};
#undef O

static const struct cli_tool tool = {
	.name = "ops-promote",
	.synopsis = "[--digest digest] [--platform os/arch[/variant]] [--dry-run]\n"
		    "       [--force] [--jobs n] [--no-referrers] [--insecure-registry host]\n"
		    "       [--ca-file file]\n"
		    "       [--src-creds user:password] [--dest-creds user:password]\n"
		    "       [--src-creds-file file] [--dest-creds-file file]\n"
		    "       [--timeout duration] [--total-timeout duration] [--retries n]\n"
		    "       [--environment name] [--git-repo path] [--require-ancestor branch]\n"
		    "       [--record-tag] SOURCE TARGET...\n"
		    "       ops-promote [--src-creds user:password] status TAG...\n",
	.opts = options,
	.subcommands = "status",
	.config_section = "promote",
	.verbose_help = "trace requests (credentials redacted)",
	.formats = FMT_MASK_SHARED,
};

static int opt_digest(void *opts, const char *arg, char **why)
{
	if (!ref_digest_valid(arg)) {
		*why = xasprintf("\"%s\": expected sha256: and 64 lowercase hex digits", arg);
		return -1;
	}
	((struct options *)opts)->digest = arg;
	return 0;
}

/* The run's limits: the option rows settled timeout, total timeout and retries; the
 * config-only keys take their defaults from their schema rows. */
static void load_limits(const struct config *cfg, const struct options *o, struct run_limits *l)
{
	double ms = 0;
	long long backoff = 0;
	cfg_duration_ms(cfg, "promote.connect_timeout", &ms);
	l->connect_timeout_ms = (long)ms;
	l->request_timeout_ms = o->timeout_ms;
	l->deadline_ms = now_ms() + o->total_timeout_ms;
	l->retries = o->retries;
	cfg_duration_ms(cfg, "promote.backoff", &ms);
	backoff = (long long)ms;
	l->backoff_ms = backoff < 1 ? 1 : (long)backoff;
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

/* The first line of a secret file (a mounted secret ends in a newline), registered for
 * redaction. -1 with errno when it cannot be read. Caller frees *line. */
static int read_secret_line(const char *path, char **line)
{
	struct strbuf sb = STRBUF_INIT;
	if (sb_read_file(&sb, path, SECRET_FILE_MAX)) {
		int saved = errno;
		sb_wipe(&sb);
		errno = saved;
		return -1;
	}
	*line = xstrndup(sb_str(&sb), strcspn(sb_str(&sb), "\r\n"));
	sb_wipe(&sb);
	log_secret(*line);
	return 0;
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
		const char *pass_file = entry_value(cfg, entry, "password_file");
		if (user_env && getenv(user_env))
			user = getenv(user_env);
		if (pass_env && getenv(pass_env))
			pass = getenv(pass_env);
		char *pass_from_file = NULL;
		if (pass_file) {
			if (read_secret_line(pass_file, &pass_from_file))
				die(3, "promote.registries.%s.password_file %s: cannot read it: %s", entry, pass_file,
				    read_failure(errno, SECRET_FILE_MAX));
			pass = pass_from_file;
		}
		if (token) {
			log_secret(token);
			r->static_token = xstrdup(token);
		}
		if (user) {
			set_creds(r, user, pass);
			free(pass_from_file);
			return;
		}
		free(pass_from_file);
		if (token)
			return;
	}
	char *user = NULL, *pass = NULL, *err = NULL;
	int found = auth_docker_config(r->host, &user, &pass, &err);
	if (found == 1) {
		set_creds(r, user, pass);
	} else if (found == 2) {
		log_secret(pass);
		free(r->identity_token);
		r->identity_token = xstrdup(pass);
	} else if (found < 0) {
		warnf("%s; trying %s anonymously", err, r->host);
		free(err);
	}
	free(user);
	free(pass);
}

/* USER:PASSWORD from a file (its first line) or an environment variable, so that a
 * password need not be on the command line, which every local user can read. NULL when
 * neither is given; exits 3 naming the file or variable (never its content) when it is
 * unreadable or not USER:PASSWORD. Caller frees. */
static char *creds_from(const struct cli_tool *t, const char *option, const char *file, const char *env)
{
	const char *value = file ? NULL : getenv(env);
	if (!file && (!value || !*value))
		return NULL;
	char *creds = NULL;
	if (file && read_secret_line(file, &creds))
		cli_usage_error(t, "--%s %s: cannot read it: %s", option, file, read_failure(errno, SECRET_FILE_MAX));
	if (!file) {
		log_secret(value);
		creds = xstrndup(value, strcspn(value, "\r\n"));
	}
	const char *colon = strchr(creds, ':');
	if (!colon || colon == creds) {
		free(creds);
		if (file)
			cli_usage_error(t, "--%s %s: expected USER:PASSWORD on its first line", option, file);
		cli_usage_error(t, "$%s: expected USER:PASSWORD", env);
	}
	log_secret(colon + 1);
	return creds;
}

static struct registry *make_registry(const char *host, const struct config *cfg, const struct options *o,
				      const char *creds, const struct run_limits *limits)
{
	struct registry *r = registry_new(host, limits);
	const char *entry = registry_entry(cfg, host);
	bool insecure = false;
	for (size_t i = 0; i < o->insecure.n; i++)
		insecure |= !strcmp(o->insecure.items[i], host);
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
	const char *cert = entry ? entry_value(cfg, entry, "client_cert") : NULL;
	const char *ckey = entry ? entry_value(cfg, entry, "client_key") : NULL;
	/* docker's layout: <certs_dir>/<host>/ca.crt, client.cert and client.key */
	const char *certs_dir = NULL;
	if (!cfg_str(cfg, "promote.certs_dir", &certs_dir))
		certs_dir = NULL;
	char *dir_ca = certs_dir ? xasprintf("%s/%s/ca.crt", certs_dir, host) : NULL;
	char *dir_cert = certs_dir ? xasprintf("%s/%s/client.cert", certs_dir, host) : NULL;
	char *dir_key = certs_dir ? xasprintf("%s/%s/client.key", certs_dir, host) : NULL;
	if (!ca && dir_ca && access(dir_ca, R_OK) == 0)
		ca = dir_ca;
	if (!cert && dir_cert && access(dir_cert, R_OK) == 0 && access(dir_key, R_OK) == 0) {
		cert = dir_cert;
		ckey = dir_key;
	}
	registry_set_tls(r, ca, cert, cert ? ckey : NULL);
	free(dir_ca);
	free(dir_cert);
	free(dir_key);
	registry_credentials(r, cfg, entry, creds);
	return r;
}

/* The run's registries, one object per host, shared by every target. */
struct registries {
	struct registry **items;
	size_t n;
};

static struct registry *registry_for(struct registries *regs, const char *host, const struct config *cfg,
				     const struct options *o, const char *creds, const struct run_limits *limits)
{
	for (size_t i = 0; i < regs->n; i++)
		if (!strcmp(regs->items[i]->host, host))
			return regs->items[i];
	struct registry *r = make_registry(host, cfg, o, creds, limits);
	regs->items[regs->n++] = r;
	return r;
}

/* One registry object per host, so that a same-registry promotion shares its token;
 * the token scopes are the whole run's: pull on the source, pull,push on the target. */
static void setup_registries(struct promotion *p, const struct config *cfg, const struct options *o,
			     const struct run_limits *limits, struct registries *regs)
{
	bool same_registry = !strcmp(p->src.registry, p->dst.registry);
	bool same_repo = same_registry && !strcmp(p->src.repo, p->dst.repo);
	p->sreg = registry_for(regs, p->src.registry, cfg, o, o->src_creds, limits);
	p->dreg = same_registry ? p->sreg : registry_for(regs, p->dst.registry, cfg, o, o->dest_creds, limits);
	if (same_registry && o->dest_creds)
		registry_credentials(p->sreg, cfg, NULL, o->dest_creds); /* pushing needs them */
	registry_add_scope(p->sreg, p->src.repo, same_repo ? "pull,push" : "pull");
	if (!same_repo)
		registry_add_scope(p->dreg, p->dst.repo, "pull,push");
}

/* The end of a run: registries, promotions, config and curl, in that order. */
static void release_run(struct promotion *ps, size_t n, struct registries *regs, struct config *cfg)
{
	for (size_t i = 0; i < regs->n; i++)
		registry_free(regs->items[i]);
	free(regs->items);
	for (size_t i = 0; i < n; i++)
		promote_release(&ps[i]);
	free(ps);
	config_free(cfg);
	http_global_cleanup();
}

/* ops-promote status TAG...: read-only, pull scope on each repository. */
static int status_main(int nrefs, char **refs, struct options *o, struct cli_common *common, struct config *cfg)
{
	if (nrefs < 1) {
		config_free(cfg);
		cli_usage_error(&tool, "status: expected at least one TAG");
	}
	if (nrefs > MAX_TARGETS) {
		config_free(cfg);
		cli_usage_error(&tool, "status: at most %d tags, got %d", MAX_TARGETS, nrefs);
	}
	http_global_init();
	struct run_limits limits;
	load_limits(cfg, o, &limits);
	size_t n = (size_t)nrefs;
	struct promotion *ps = xcalloc(n, sizeof(*ps));
	char *err = NULL;
	char *creds = o->src_creds ? NULL : creds_from(&tool, "src-creds-file", o->src_creds_file, "OPSKIT_SRC_CREDS");
	if (creds)
		o->src_creds = creds;
	struct registries regs = { xcalloc(n, sizeof(*regs.items)), 0 };
	for (size_t i = 0; i < n; i++) {
		if (ref_parse(refs[i], &ps[i].src, &err))
			cli_fail_unknown(&tool, common, "usage", "%s", err);
		ps[i].sreg = ps[i].dreg = registry_for(&regs, ps[i].src.registry, cfg, o, o->src_creds, &limits);
		registry_add_scope(ps[i].sreg, ps[i].src.repo, "pull");
	}
	struct run_result res = { .tool = &tool, .common = common, .cfg = cfg };
	int code = output_status(ps, n, &res);
	release_run(ps, n, &regs, cfg);
	free(creds);
	return code;
}

int main(int argc, char **argv)
{
	struct cli_common common;
	struct options o = { 0 };
	int first = cli_parse(&tool, argc, argv, &o, &common);
	struct config *cfg = cli_load_config(&tool, &common);
	if (argc - first >= 1 && !strcmp(argv[first], "status"))
		return status_main(argc - first - 1, argv + first + 1, &o, &common, cfg);
	if (argc - first < 2) {
		config_free(cfg);
		cli_usage_error(&tool, "expected SOURCE and TARGET, got %d operand%s", argc - first,
				argc - first == 1 ? "" : "s");
	}
	if (argc - first - 1 > MAX_TARGETS) {
		config_free(cfg);
		cli_usage_error(&tool, "at most %d targets in one run, got %d", MAX_TARGETS, argc - first - 1);
	}
	http_global_init();
	srandom((unsigned)(now_ms() * 1000));
	struct run_limits limits;
	load_limits(cfg, &o, &limits);
	size_t n = (size_t)(argc - first - 1);
	struct promotion *ps = xcalloc(n, sizeof(*ps));
	char *err = NULL;
	for (size_t i = 0; i < n; i++) {
		struct promotion *p = &ps[i];
		if (ref_parse(argv[first], &p->src, &err) || ref_parse(argv[first + 1 + i], &p->dst, &err))
			cli_fail_unknown(&tool, &common, "usage", "%s", err);
		if (!p->dst.tag || p->dst.digest)
			cli_fail_unknown(&tool, &common, "usage", "TARGET must name a tag (repo:tag), not a digest");
		if (o.digest && p->src.digest && strcmp(o.digest, p->src.digest))
			cli_fail_unknown(&tool, &common, "usage", "--digest %s and SOURCE's @%s disagree", o.digest,
					 p->src.digest);
		p->pin = o.digest ? o.digest : p->src.digest;
		p->jobs = o.jobs;
		p->dry_run = o.dry_run;
		p->no_referrers = !o.referrers;
		p->platform = o.platform;
	}
	char *src_creds = o.src_creds ? NULL : creds_from(&tool, "src-creds-file", o.src_creds_file, "OPSKIT_SRC_CREDS");
	char *dest_creds = o.dest_creds ? NULL : creds_from(&tool, "dest-creds-file", o.dest_creds_file, "OPSKIT_DEST_CREDS");
	if (src_creds)
		o.src_creds = src_creds;
	if (dest_creds)
		o.dest_creds = dest_creds;
	struct registries regs = { xcalloc(2 * n, sizeof(*regs.items)), 0 };
	for (size_t i = 0; i < n; i++)
		setup_registries(&ps[i], cfg, &o, &limits, &regs);

	struct run_result res = { .tool = &tool, .common = &common, .cfg = cfg, .opts_force = o.force,
				  .git_repo = o.git_repo, .require_ancestor = o.require_ancestor,
				  .record_tag = o.record_tag, .environment = o.environment };
	int code = output_run_many(ps, n, &res);
	release_run(ps, n, &regs, cfg);
	free(src_creds);
	free(dest_creds);
	return code;
}
