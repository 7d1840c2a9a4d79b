/*
 * cli — every opskit binary's options, from one table of rows (after git's
 * parse-options.h and curl's docs/cmdline-opts/).
 *
 * Contract:
 *  - A tool declares one row per option: names, argument name, help line, kind, the
 *    field it sets, and the config key it mirrors (or its own default). From those rows
 *    come the getopt tables, --help, validation (one parser per kind, shared with the
 *    config values), the merge order, and --dump-options (the machine-readable table that
 *    completions and the docs check are generated from).
 *  - Merge order, in one place: a value on the command line wins; else the config key's
 *    value; else the key's default from its schema row (lib/schema_*.c, which may name a
 *    fallback key such as defaults.timeout); else the row's own default. Rows without a
 *    config key and without a default leave their field as the tool initialised it.
 *  - Common options (every tool): --config FILE, --format FMT, -o/--output FILE,
 *    -q/--quiet, -v/--verbose (repeatable), -h/--help, -V/--version. GNU getopt
 *    permutation applies, so options may follow a subcommand or operand.
 *  - --help prints the synopsis (which must match the SYNOPSIS of the man page; its
 *    first line, with the format list, is built here from the tool's formats), the tool's
 *    options, then the common options, aligned, to stdout and exits 0; --version prints
 *    "NAME VERSION" and exits 0.
 *  - A usage error prints "NAME: message", the synopsis and a pointer to --help to
 *    stderr and exits 3. A bad value is named with its option, never echoed for the
 *    secret kinds. A bad config value is reported "file:line:column: key ..." (exit 3).
 */
#ifndef OPSKIT_CLI_H
#define OPSKIT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "report.h"

/* What an option's argument is, and so how it is parsed, checked and stored. */
enum cli_kind {
	CLI_FLAG,     /* no argument: sets its field true (1) */
	CLI_FLAG_OFF, /* no argument: sets its field false: --no-x, mirroring a key x: true */
	CLI_COUNT,    /* no argument, repeatable: adds one (-v -v) */
	CLI_INT,      /* a whole number within the bounds */
	CLI_NUMBER,   /* a number within the bounds */
	CLI_DURATION, /* 500ms, 30s, 5m, 1h (bare number: seconds); stored in milliseconds */
	CLI_SECONDS,  /* a duration stored in seconds */
	CLI_SIZE,     /* bytes: 1048576, 512k, 10MiB, 1.5G */
	CLI_STRING,
	CLI_SECRET,   /* a string registered with redact: never printed, never echoed */
	CLI_CREDS,    /* USER:PASSWORD; the password is registered with redact */
	CLI_LIST,     /* repeatable string, collected in a struct cli_list */
	CLI_CALL,     /* parsed by the row's own function */
	CLI_HELP,     /* -h: print help, exit 0 (common rows only) */
	CLI_VERSION,  /* -V: print the version, exit 0 (common rows only) */
};

/* How the field a row sets is typed; found by CLI_FIELD() with _Generic. */
enum cli_store {
	CLI_STORE_NONE, CLI_STORE_BOOL, CLI_STORE_INT, CLI_STORE_LONG, CLI_STORE_LLONG,
	CLI_STORE_ULONG, CLI_STORE_DOUBLE, CLI_STORE_STR, CLI_STORE_LIST,
};

/* Values of a repeatable option, in command-line order (or the config list). */
struct cli_list {
	const char *const *items;
	size_t n;
};

/* A CLI_CALL row's parser: applies arg to the tool's option struct. Returns 0, or -1 with
 * *why set (allocated; the caller prefixes the option name). */
typedef int (*cli_call_fn)(void *opts, const char *arg, char **why);

#define CLI_BARE_MS 0x1u    /* a duration given as a bare number is in milliseconds */
#define CLI_NO_ECHO 0x2u    /* never echo the argument in an error (DSNs with passwords) */

struct cli_opt {
	int short_name;         /* 'w', or 0 */
	const char *long_name;  /* "warning"; NULL ends a table */
	const char *arg;        /* argument name in help and the man page; NULL for flags */
	enum cli_kind kind;
	size_t offset;          /* of the field in the tool's option struct */
	enum cli_store store;
	const char *help;       /* one line; "(default X)" is added from the default */
	const char *def;        /* default of a row without config key, as on the command line */
	const char *config_key; /* the key it mirrors: its schema row owns default and bounds */
	bool bounded;           /* bounds of a row without config key */
	double min, max;        /* (durations in milliseconds) */
	cli_call_fn call;       /* CLI_CALL */
	const char *choices;    /* "compose|python|node|shell": completion words */
	unsigned flags;         /* CLI_BARE_MS, CLI_NO_ECHO */
};

/* The store of a field, chosen by its type (size_t is unsigned long here). */
#define CLI_STORE_OF(x) _Generic((x), bool: CLI_STORE_BOOL, int: CLI_STORE_INT,                  \
	long: CLI_STORE_LONG, long long: CLI_STORE_LLONG, unsigned long: CLI_STORE_ULONG,          \
	double: CLI_STORE_DOUBLE, const char *: CLI_STORE_STR, char *: CLI_STORE_STR,              \
	struct cli_list: CLI_STORE_LIST)
#define CLI_FIELD(T, f) .offset = offsetof(T, f), .store = CLI_STORE_OF(((T *)0)->f)
#define CLI_BOUNDS(lo, hi) .bounded = true, .min = (lo), .max = (hi)

/* One row: CLI_OPT('w', "warning", "CHECK=V", CLI_CALL, struct o, f, "help", ...more). */
#define CLI_OPT(s, l, a, k, T, f, h, ...)                                                          \
	{ .short_name = (s), .long_name = (l), .arg = (a), .kind = (k), CLI_FIELD(T, f),           \
	  .help = (h), __VA_ARGS__ }
/* A CLI_CALL row that sets no single field. */
#define CLI_CALL_OPT(s, l, a, fn, h, ...)                                                          \
	{ .short_name = (s), .long_name = (l), .arg = (a), .kind = CLI_CALL, .call = (fn),         \
	  .help = (h), __VA_ARGS__ }
#define CLI_OPT_END { .long_name = NULL }

struct cli_tool {
	const char *name;           /* "ops-pgprobe" */
	/* What follows "usage: NAME [--config file] [--format ...]\n       [-o file] [-qv] ":
	 * the tool's own options and operands, then any further "       NAME ..." lines, each
	 * ending in "\n". "       NAME -h | -V\n" is added. */
	const char *synopsis;
	const struct cli_opt *opts; /* the tool's rows, ending with CLI_OPT_END */
	const char *subcommands;    /* "lint print compare", for completions; NULL: none */
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
	bool format_given;          /* --format was on the command line */
	/* the parse's state, used again by cli_load_config() */
	const struct cli_tool *tool;
	void *opts;
	bool *given;                /* per tool row: set on the command line */
};

struct config;

/* Parses argv into opts (the tool's option struct, which rows point into) and out;
 * returns the index of the first operand. Exits 0 for --help, --version and
 * --dump-options, and 3 for usage errors. */
int cli_parse(const struct cli_tool *tool, int argc, char **argv, void *opts, struct cli_common *out);

/* Loads the config (--config, then discovery; see config.h), applies its defaults
 * section, then settles every row not given on the command line from the config or the
 * defaults. On a bad config it reports one UNKNOWN check "config" with the located
 * message in the chosen format (so a Nagios or Prometheus consumer sees why), prints the
 * message to stderr too, and exits 3. */
struct config *cli_load_config(const struct cli_tool *tool, struct cli_common *common);

/* The whole --help text: synopsis, the tool's options, the common options. */
void cli_print_help(const struct cli_tool *tool, FILE *out);
/* The synopsis alone, as --help and usage errors print it. */
void cli_print_synopsis(const struct cli_tool *tool, FILE *out);
/* The option table, one row a line, tab-separated: short, long, arg, kind, default,
 * config key, choices, help; then "subcommand\tNAME" lines. Returns -1 (after saying
 * why on stderr) when a row contradicts the schema or its default does not parse. */
int cli_dump_options(const struct cli_tool *tool, FILE *out);

_Noreturn void cli_usage_error(const struct cli_tool *tool, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Opens --output (or stdout). A regular file is written to a temporary file beside it
 * and renamed over it by cli_close_output(), so no reader ever sees half a report; a
 * FIFO or device is written in place. Exits 3 with a message when it cannot be created. */
FILE *cli_open_output(const struct cli_common *common);
/* Flushes and closes what cli_open_output() returned; exits 3 on a write error. */
void cli_close_output(FILE *out, const struct cli_common *common);

/* Reports one UNKNOWN check (id, message) in the chosen format and exits 3: for a run that
 * cannot start at all (bad operand, missing target). */
_Noreturn void cli_fail_unknown(const struct cli_tool *tool, const struct cli_common *common,
				const char *check_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Report for this run, already set to the chosen format and verbosity. */
struct report *cli_report_new(const struct cli_tool *tool, const struct cli_common *common);

/* Was the row with this long name given on the command line? */
bool cli_given(const struct cli_common *common, const char *long_name);

#endif
