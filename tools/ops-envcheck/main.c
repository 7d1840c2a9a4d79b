/*
 * ops-envcheck — validate .env files before a service starts with them.
 * main: options and config (flags win over the config), then one subcommand:
 * lint (default), print, compare or env (a loader stack's resolved environment).
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
#include "secret_rules.h"
#include "msg.h"
#include "util.h"

static int opt_dialect(void *opts, const char *arg, char **why);
static int opt_stack(void *opts, const char *arg, char **why);

#define O struct envcheck_opts
static const struct cli_opt options[] = {
	CLI_CALL_OPT(0, "dialect", "D", opt_dialect, "compose, python, node, shell, docker or node-env-file",
		     .config_key = "envcheck.dialect", .choices = "compose|python|node|shell|docker|node-env-file"),
	CLI_OPT(0, "no-expand", NULL, CLI_FLAG_OFF, O, expand, "do not interpolate ${VAR} (python, compose, shell)",
		.config_key = "envcheck.expand"),
	CLI_OPT(0, "schema", "FILE", CLI_STRING, O, schema_path, "check keys against a YAML schema",
		.config_key = "envcheck.schema"),
	CLI_OPT(0, "compose", "FILE", CLI_STRING, O, compose_path, "check a docker-compose.yml's ${VAR} and env_file"),
	CLI_OPT(0, "fix", NULL, CLI_FLAG, O, fix, "rewrite safe, mechanical findings"),
	CLI_OPT(0, "dry-run", NULL, CLI_FLAG, O, dry_run, "with --fix: print a unified diff, write nothing"),
	CLI_OPT(0, "backup", NULL, CLI_FLAG, O, backup, "with --fix: keep the original as FILE.bak"),
	CLI_OPT(0, "no-git", NULL, CLI_FLAG_OFF, O, git, "skip the git tracking check", .config_key = "envcheck.git"),
	CLI_OPT(0, "history-commits", "N", CLI_INT, O, history_commits,
		"read at most N commits of HEAD's history for credentials once committed (0: none)",
		.config_key = "envcheck.history_commits"),
	CLI_OPT('r', "recursive", NULL, CLI_FLAG, O, recursive,
		"a directory operand: its env files in the whole tree (skips node_modules, .git, vendor)"),
	CLI_OPT(0, "exclude", "GLOB", CLI_LIST, O, exclude, "skip files and directories whose name or path matches GLOB"),
	CLI_CALL_OPT(0, "stack", "NAME", opt_stack, "DIR is read as this loader stack: dotenv, nextjs, vite, "
		     "dotenv-flow, rails or compose", .choices = "dotenv|nextjs|vite|dotenv-flow|rails|compose"),
	CLI_OPT(0, "mode", "MODE", CLI_STRING, O, mode, "the stack's mode (NODE_ENV, vite --mode, RAILS_ENV)",
		.def = "development"),
	CLI_OPT(0, "baseline", "FILE", CLI_STRING, O, baseline_path,
		"report only findings not listed in FILE", .config_key = "envcheck.baseline"),
	CLI_OPT(0, "write-baseline", NULL, CLI_FLAG, O, write_baseline,
		"write the findings to the --baseline FILE (and report them as OK)"),
	CLI_OPT(0, "environment", "NAME", CLI_STRING, O, environment,
		"the deployment environment: keys with required_in: [NAME] are required",
		.config_key = "envcheck.environment"),
	CLI_OPT(0, "verify", NULL, CLI_FLAG, O, verify,
		"ask each credential's issuer whether it works (network; see VERIFY)", .config_key = "envcheck.verify"),
	CLI_OPT(0, "verify-timeout", "DURATION", CLI_DURATION, O, verify_timeout_ms, "bound on one --verify request",
		.config_key = "envcheck.verify_timeout"),
	CLI_OPT_END,
};
#undef O

static const struct cli_tool tool = {
	.name = "ops-envcheck",
	.synopsis = "[options] [lint] FILE...\n"
		    "       ops-envcheck [--dialect D] [--no-expand] print FILE\n"
		    "       ops-envcheck [options] compare FILE EXAMPLE\n"
		    "       ops-envcheck [options] env --stack NAME [--mode MODE] [DIR]\n",
	.opts = options,
	.subcommands = "lint print compare env",
	.config_section = "envcheck",
	.verbose_help = "hints of OK checks too",
	.formats = FMT_MASK_ALL,
};

static int opt_dialect(void *opts, const char *arg, char **why)
{
	if (dotenv_dialect_parse(arg, &((struct envcheck_opts *)opts)->dialect) == 0)
		return 0;
	*why = xasprintf("unknown dialect '%s' (compose, python, node, shell, docker or node-env-file)", arg);
	return -1;
}

static int opt_stack(void *opts, const char *arg, char **why)
{
	if (stack_known(arg)) {
		((struct envcheck_opts *)opts)->stack = arg;
		return 0;
	}
	*why = xasprintf("unknown stack '%s' (dotenv, nextjs, vite, dotenv-flow, rails or compose)", arg);
	return -1;
}

/* The config-only key; the rows settled the rest. */
static void apply_config(struct envcheck_opts *o, const struct config *cfg)
{
	const char *const *list;
	size_t n;
	if (cfg_list(cfg, "envcheck.secret_patterns", &list, &n) > 0) {
		o->secret_patterns = list;
		o->nsecret_patterns = n;
	}
	if (cfg_list(cfg, "envcheck.verify_allow_token_uri", &list, &n) > 0)
		o->verify_allow = (struct cli_list){ list, n };
	if (cfg_list(cfg, "envcheck.ignore", &list, &n) > 0) {
		o->ignore = list;
		o->nignore = n;
	}
}

static int cmd_lint(struct report *r, char **paths, int npaths, const struct envcheck_opts *o,
		    const struct cli_common *common)
{
	struct env_file *files = xcalloc((size_t)npaths, sizeof(*files));
	size_t n = 0;
	for (int i = 0; i < npaths; i++) {
		if (env_file_load(&files[n], paths[i], o) < 0) {
			check_hint(ec_report_unreadable(r, "file-unreadable", paths[i]),
				   "check the path and its permissions");
			continue;
		}
		suppress_scan(&files[n]);
		n++;
	}
	(void)common;
	bool *utf16 = xcalloc(n ? n : 1, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		struct check *c = ec_report(r, "env-file", ST_OK, files[i].path, "%zu keys loaded (%s dialect)",
					       files[i].res.nkeys, dotenv_dialect_name(o->dialect));
		check_metric(c, "keys", (double)files[i].res.nkeys, "", THRESHOLDS_NONE);
		if ((utf16[i] = lint_encoding(r, &files[i])))
			continue;
		lint_diagnostics(r, &files[i]);
		lint_style(r, &files[i], o);
		portability_check(r, &files[i], o);
		secrets_check(r, &files[i], o);
	}
	/* compose: the project .env only fills ${VAR}; the schema is for each service's
	 * environment (compose.c) */
	if (o->schema_path && !(o->stack && !strcmp(o->stack, "compose")))
		schema_check(r, files, n, o);
	else
		schema_check_defaults(r, files, n, o);
	if (o->compose_path)
		compose_check(r, files, n, o);
	if (o->stack)
		stack_report(r, files, n, o);
	if (o->fix)
		for (size_t i = 0; i < n; i++)
			if (!utf16[i])
				fix_file(r, &files[i], o);
	free(utf16);
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

/* lint and env: the operands' files (a stack's, or what discovery finds), checked. */
static void lint_operands(struct report *r, char **operands, int nargs, struct envcheck_opts *o,
			  const struct cli_common *common)
{
	char **paths;
	char *compose_file = NULL, *dir = NULL;
	if (o->stack && nargs != 1)
		cli_usage_error(&tool, "--stack takes one DIR");
	if (o->stack && !strcmp(o->stack, "compose")) {
		compose_file = stack_compose_file(operands[0], &dir);
		if (!o->compose_path)
			o->compose_path = compose_file;
	}
	size_t npaths = o->stack ? stack_files(o->stack, o->mode, dir ? dir : operands[0], &paths)
				 : discover_files(operands, nargs, o, &paths);
	if (!npaths && !o->stack)
		ec_report(r, "env-file", ST_OK, operands[0], "no env file found under %s", operands[0]);
	cmd_lint(r, paths, (int)npaths, o, common);
	struct stat st;
	for (int i = 0; !o->stack && o->git && i < nargs; i++)
		if (stat(operands[i], &st) == 0 && S_ISDIR(st.st_mode))
			secrets_history_sweep(r, operands[i], o);
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	if (o->compose_path == compose_file)
		o->compose_path = NULL;
	free(compose_file);
	free(dir);
}

int main(int argc, char **argv)
{
	struct cli_common common;
	struct envcheck_opts o = { .dialect = DOTENV_COMPOSE, .expand = true, .git = true };
	int first = cli_parse(&tool, argc, argv, &o, &common);
	struct config *cfg = cli_load_config(&tool, &common);
	apply_config(&o, cfg);
	/* the JavaScript stacks load with npm dotenv's rules unless told otherwise */
	if (o.stack && strcmp(o.stack, "rails") && strcmp(o.stack, "compose") && !cli_given(&common, "dialect"))
		o.dialect = DOTENV_NODE;
	const char *cmd = "lint";
	if (first < argc && (!strcmp(argv[first], "lint") || !strcmp(argv[first], "print") ||
			     !strcmp(argv[first], "compare") || !strcmp(argv[first], "env")))
		cmd = argv[first++];
	int nargs = argc - first;
	int rc;
	if (!strcmp(cmd, "print") && nargs != 1)
		cli_usage_error(&tool, "print takes exactly one FILE");
	if (!strcmp(cmd, "compare") && nargs != 2)
		cli_usage_error(&tool, "compare takes FILE and EXAMPLE");
	char **operands = argv + first;
	char *here[] = { ".", NULL };
	if (!strcmp(cmd, "env")) {
		if (!o.stack)
			cli_usage_error(&tool, "env needs --stack NAME");
		if (nargs > 1)
			cli_usage_error(&tool, "env takes at most one DIR");
		o.show_values = true;
		if (!nargs) {
			operands = here;
			nargs = 1;
		}
	}
	if (nargs < 1)
		cli_usage_error(&tool, "no FILE given");
	/* a schema's secret keys are masked from the first line of output on */
	char *schema_err = NULL;
	bool schema_ok = !o.schema_path || schema_mark_secrets(o.schema_path, &schema_err) == 0;
	if (!strcmp(cmd, "print")) {
		if (!schema_ok) {
			/* print shows values: without the schema it cannot know which to mask */
			errorf("%s", schema_err);
			free(schema_err);
			config_free(cfg);
			return 3;
		}
		rc = print_file(argv[first], &o);
		if (rc == 3)
			errorf("cannot read %s: %s", argv[first], strerror(errno));
		config_free(cfg);
		forget_secret_keys();
		return rc;
	}
	free(schema_err); /* lint reports it as schema-invalid */
	if (o.write_baseline && !o.baseline_path)
		cli_usage_error(&tool, "--write-baseline needs --baseline FILE");
	char *why = NULL;
	if (suppress_init(&o, &why) < 0)
		cli_fail_unknown(&tool, &common, "baseline", "%s", why);
	struct report *r = cli_report_new(&tool, &common);
	o.shows_other_dialects = strcmp(cmd, "compare") != 0; /* print has returned */
	if (!strcmp(cmd, "compare"))
		compare_files(r, argv[first], argv[first + 1], &o);
	else
		lint_operands(r, operands, nargs, &o, &common);
	if (suppress_finish(&why) < 0) {
		check_hint(ec_report(r, "baseline", ST_UNKNOWN, o.baseline_path, "%s", why), "check the path");
		free(why);
	}
	FILE *out = cli_open_output(&common);
	rc = report_finish(r, out);
	cli_close_output(out, &common);
	report_free(r);
	config_free(cfg);
	forget_secret_keys();
	return rc;
}
