/*
 * ops-envcheck — validate .env files before a service starts with them.
 * main: options and config (flags win over the config), then one subcommand:
 * lint (default), print or compare.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "config.h"
#include "envcheck.h"
#include "msg.h"
#include "util.h"

static const struct cli_tool tool = {
	.name = "ops-envcheck",
	.synopsis = "usage: ops-envcheck [--config file] [--format text|json|sarif|github|prometheus|nagios]\n"
		    "       [-o file] [-qv] [options] [lint] FILE...\n"
		    "       ops-envcheck [--dialect D] [--no-expand] print FILE\n"
		    "       ops-envcheck [options] compare FILE EXAMPLE\n"
		    "       ops-envcheck -h | -V\n",
	.options = "  --dialect D            compose (default), python, node or shell\n"
		   "  --no-expand            do not interpolate ${VAR} (python, compose, shell)\n"
		   "  --schema FILE          check keys against a YAML schema\n"
		   "  --compose FILE         check a docker-compose.yml's ${VAR} and env_file\n"
		   "  --fix                  rewrite safe, mechanical findings (keeps FILE.bak)\n"
		   "  --no-git               skip the git tracking check\n",
	.config_section = "envcheck",
	.verbose_help = "hints of OK checks too",
	.formats = FMT_MASK_ALL,
};

enum { OPT_DIALECT = 0x2000, OPT_NO_EXPAND, OPT_SCHEMA, OPT_COMPOSE, OPT_FIX, OPT_NO_GIT };

static const struct option long_options[] = {
	{ "dialect", required_argument, NULL, OPT_DIALECT },
	{ "no-expand", no_argument, NULL, OPT_NO_EXPAND },
	{ "schema", required_argument, NULL, OPT_SCHEMA },
	{ "compose", required_argument, NULL, OPT_COMPOSE },
	{ "fix", no_argument, NULL, OPT_FIX },
	{ "no-git", no_argument, NULL, OPT_NO_GIT },
	{ NULL, 0, NULL, 0 },
};

struct cli_state {
	struct envcheck_opts o;
	bool dialect_given, expand_given;
};

static int on_option(int opt, const char *arg, void *ctx)
{
	struct cli_state *st = ctx;
	switch (opt) {
	case OPT_DIALECT:
		if (dotenv_dialect_parse(arg, &st->o.dialect) < 0) {
			errorf("unknown dialect '%s' (compose, python, node or shell)", arg);
			return -1;
		}
		st->dialect_given = true;
		return 0;
	case OPT_NO_EXPAND:
		st->o.expand = false;
		st->expand_given = true;
		return 0;
	case OPT_SCHEMA:
		st->o.schema_path = arg;
		return 0;
	case OPT_COMPOSE:
		st->o.compose_path = arg;
		return 0;
	case OPT_FIX:
		st->o.fix = true;
		return 0;
	case OPT_NO_GIT:
		st->o.no_git = true;
		return 0;
	}
	return -1;
}

static void apply_config(struct cli_state *st, const struct config *cfg)
{
	const char *s;
	bool b;
	if (!st->dialect_given && cfg_str(cfg, "envcheck.dialect", &s) > 0 &&
	    dotenv_dialect_parse(s, &st->o.dialect) < 0)
		die(3, "%s: envcheck.dialect: unknown dialect '%s'", cfg_where(cfg, "envcheck.dialect"), s);
	if (!st->expand_given && cfg_bool(cfg, "envcheck.expand", &b) > 0)
		st->o.expand = b;
	if (!st->o.schema_path && cfg_str(cfg, "envcheck.schema", &s) > 0)
		st->o.schema_path = s;
	if (cfg_bool(cfg, "envcheck.git", &b) > 0 && !b)
		st->o.no_git = true;
	const char *const *list;
	size_t n;
	if (cfg_list(cfg, "envcheck.secret_patterns", &list, &n) > 0) {
		st->o.secret_patterns = list;
		st->o.nsecret_patterns = n;
	}
}

static int cmd_lint(struct report *r, char **paths, int npaths, const struct envcheck_opts *o,
		    const struct cli_common *common)
{
	struct env_file *files = xcalloc((size_t)npaths, sizeof(*files));
	size_t n = 0;
	for (int i = 0; i < npaths; i++) {
		if (env_file_load(&files[n], paths[i], o) < 0) {
			struct check *c = report_check(r, "file-unreadable", ST_UNKNOWN, paths[i],
						       "cannot read %s: %s", paths[i], strerror(errno));
			check_hint(c, "check the path and its permissions");
			continue;
		}
		n++;
	}
	(void)common;
	for (size_t i = 0; i < n; i++) {
		struct check *c = report_check(r, "env-file", ST_OK, files[i].path, "%zu keys loaded (%s dialect)",
					       files[i].res.nkeys, dotenv_dialect_name(o->dialect));
		check_metric(c, "keys", (double)files[i].res.nkeys, "", THRESHOLDS_NONE);
		lint_diagnostics(r, &files[i]);
		lint_style(r, &files[i], o);
		portability_check(r, &files[i], o);
		secrets_check(r, &files[i], o);
	}
	if (o->schema_path)
		schema_check(r, files, n, o);
	else
		schema_check_defaults(r, files, n, o);
	if (o->compose_path)
		compose_check(r, files, n, o);
	if (o->fix)
		for (size_t i = 0; i < n; i++)
			fix_file(r, &files[i], o);
	rp_open_array(r, "files");
	for (size_t i = 0; i < n; i++) {
		rp_open_object(r, NULL);
		rp_string(r, "path", NULL, files[i].path);
		rp_string(r, "dialect", NULL, dotenv_dialect_name(o->dialect));
		rp_int(r, "keys", NULL, (long long)files[i].res.nkeys);
		rp_int(r, "entries", NULL, (long long)files[i].res.n);
		rp_close_object(r);
		env_file_free(&files[i]);
	}
	rp_close_array(r);
	free(files);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_common common;
	struct cli_state st = { .o = { .dialect = DOTENV_COMPOSE, .expand = true } };
	int first = cli_parse(&tool, argc, argv, "", long_options, on_option, &st, &common);
	struct config *cfg = cli_load_config(&tool, &common);
	apply_config(&st, cfg);
	const char *cmd = "lint";
	if (first < argc && (!strcmp(argv[first], "lint") || !strcmp(argv[first], "print") ||
			     !strcmp(argv[first], "compare")))
		cmd = argv[first++];
	int nargs = argc - first;
	int rc;
	if (!strcmp(cmd, "print") && nargs != 1)
		cli_usage_error(&tool, "print takes exactly one FILE");
	if (!strcmp(cmd, "compare") && nargs != 2)
		cli_usage_error(&tool, "compare takes FILE and EXAMPLE");
	if (nargs < 1)
		cli_usage_error(&tool, "no FILE given");
	/* a schema's secret keys are masked from the first line of output on */
	char *schema_err = NULL;
	bool schema_ok = !st.o.schema_path || schema_mark_secrets(st.o.schema_path, &schema_err) == 0;
	if (!strcmp(cmd, "print")) {
		if (!schema_ok) {
			/* print shows values: without the schema it cannot know which to mask */
			errorf("%s", schema_err);
			free(schema_err);
			config_free(cfg);
			return 3;
		}
		rc = print_file(argv[first], &st.o);
		if (rc == 3)
			errorf("cannot read %s: %s", argv[first], strerror(errno));
		config_free(cfg);
		env_file_forget_secrets();
		return rc;
	}
	free(schema_err); /* lint reports it as schema-invalid */
	struct report *r = cli_report_new(&tool, &common);
	if (!strcmp(cmd, "compare"))
		compare_files(r, argv[first], argv[first + 1], &st.o);
	else
		cmd_lint(r, argv + first, nargs, &st.o, &common);
	FILE *out = cli_open_output(&common);
	rc = report_finish(r, out);
	cli_close_output(out, &common);
	report_free(r);
	config_free(cfg);
	env_file_forget_secrets();
	return rc;
}
