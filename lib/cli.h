/*
 * cli — the options every opskit binary shares, parsed one way.
 *
 * Contract:
 *  - Common options: --config FILE, --format FMT, -o/--output FILE, -q/--quiet,
 *    -v/--verbose (repeatable), -h/--help, -V/--version. A tool adds its own through
 *    extra long/short options and a callback; GNU getopt permutation applies, so options
 *    may follow a subcommand or operand.
 *  - --help prints the tool's synopsis (which must match the SYNOPSIS of its man page), its
 *    own options, then the common options, aligned to the tool's column, to stdout and
 *    exits 0; --version prints "NAME VERSION" and exits 0.
 *  - A usage error prints "NAME: message", the synopsis and a pointer to --help to stderr
 *    and exits 3: the message stays in sight instead of above a screen of options.
 */
#ifndef OPSKIT_CLI_H
#define OPSKIT_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "report.h"

struct cli_tool {
	const char *name;           /* "ops-pgprobe" */
	const char *synopsis;       /* "usage: ops-pgprobe ...\n       ops-pgprobe -h | -V\n" */
	const char *options;        /* the tool's own option lines, "  --opt ARG  what it does\n" */
	const char *config_section; /* its section of opskit.yaml(5), named in --config's help */
	const char *verbose_help;   /* what -v adds for this tool */
	unsigned formats;           /* allowed formats, FMT_MASK_SHARED or FMT_MASK_ALL */
};

struct cli_common {
	const char *config_path;
	const char *output_path;
	enum report_format format;
	int quiet;
	int verbose;
	int format_given;     /* --format was on the command line */
};

struct config;

/* Called for each tool-specific option. Return 0 when handled, -1 for a usage error
 * (after printing what was wrong with errorf()). */
typedef int (*cli_option_fn)(int opt, const char *arg, void *ctx);

/* Parses argv; returns the index of the first operand. Exits 0 for --help/--version and
 * 3 for usage errors. extra_long may be NULL; it ends with a zeroed entry. */
int cli_parse(const struct cli_tool *tool, int argc, char **argv,
	      const char *extra_short, const struct option *extra_long,
	      cli_option_fn fn, void *ctx, struct cli_common *out);

/* The whole --help text: synopsis, the tool's options, the common options. */
void cli_print_help(const struct cli_tool *tool, FILE *out);

_Noreturn void cli_usage_error(const struct cli_tool *tool, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Opens --output (or stdout). Exits 3 with a message when the file cannot be created. */
FILE *cli_open_output(const struct cli_common *common);
/* Flushes and closes what cli_open_output() returned; exits 3 on a write error. */
void cli_close_output(FILE *out, const struct cli_common *common);

/* Loads the config (--config, then discovery; see config.h) and applies its defaults
 * section. On a bad config it reports one UNKNOWN check "config" with the located
 * message in the chosen format (so a Nagios or Prometheus consumer sees why), prints the
 * message to stderr too, and exits 3. */
struct config *cli_load_config(const struct cli_tool *tool, struct cli_common *common);

/* Reports one UNKNOWN check (id, message) in the chosen format and exits 3: for a run that
 * cannot start at all (bad operand, missing target). */
_Noreturn void cli_fail_unknown(const struct cli_tool *tool, const struct cli_common *common,
				const char *check_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Report for this run, already set to the chosen format and verbosity. */
struct report *cli_report_new(const struct cli_tool *tool, const struct cli_common *common);

#endif
