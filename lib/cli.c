#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "redact.h"
#include "msg.h"
#include "util.h"

#ifndef OPSKIT_VERSION
#define OPSKIT_VERSION "0.0.0-dev"
#endif

static int parse_format(void *opts, const char *arg, char **why);

/* The options every tool shares. A NULL help is built per tool (see common_help). */
static const struct cli_opt common_rows[] = {
	CLI_OPT(0, "config", "FILE", CLI_STRING, struct cli_common, config_path, NULL),
	CLI_CALL_OPT(0, "format", "FMT", parse_format, NULL),
	CLI_OPT('o', "output", "FILE", CLI_STRING, struct cli_common, output_path, "write the report to FILE"),
	CLI_OPT('q', "quiet", NULL, CLI_FLAG, struct cli_common, quiet, "only the problems"),
	CLI_OPT('v', "verbose", NULL, CLI_COUNT, struct cli_common, verbose, NULL),
	{ .short_name = 'h', .long_name = "help", .kind = CLI_HELP, .help = "this help" },
	{ .short_name = 'V', .long_name = "version", .kind = CLI_VERSION, .help = "the version" },
	CLI_OPT_END,
};

static const char *const kind_names[] = {
	[CLI_FLAG] = "flag", [CLI_FLAG_OFF] = "flag-off", [CLI_COUNT] = "count", [CLI_INT] = "int",
	[CLI_NUMBER] = "number", [CLI_DURATION] = "duration", [CLI_SECONDS] = "duration",
	[CLI_SIZE] = "size", [CLI_STRING] = "string", [CLI_SECRET] = "secret", [CLI_CREDS] = "creds",
	[CLI_LIST] = "list", [CLI_CALL] = "call", [CLI_HELP] = "help", [CLI_VERSION] = "version",
};

/* The tool being parsed: the format parser needs its formats. */
static const struct cli_tool *current_tool;

/* Memory that must stay reachable for the whole run (LeakSanitizer), since cli_parse
 * may exit while it is in use and lists live in the tools' stack structs. */
static void **owned;
static size_t nowned;

static void *keep(void *p)
{
	owned = xrealloc(owned, sizeof(*owned) * (nowned + 1));
	owned[nowned++] = p;
	return p;
}

static size_t row_count(const struct cli_opt *rows)
{
	size_t n = 0;
	while (rows && rows[n].long_name)
		n++;
	return n;
}

static bool takes_arg(const struct cli_opt *row)
{
	return row->arg != NULL;
}

static bool secret_kind(const struct cli_opt *row)
{
	return row->kind == CLI_SECRET || row->kind == CLI_CREDS || (row->flags & CLI_NO_ECHO);
}

/* ---- formats ---- */

/* The format names of mask joined by sep, the last pair by last_sep ("a, b or c"). */
static void format_names(unsigned mask, const char *sep, const char *last_sep, struct strbuf *sb)
{
	int n = 0, total = 0;
	for (int f = FMT_TEXT; f <= FMT_GITHUB; f++)
		total += !!(mask & (1u << f));
	for (int f = FMT_TEXT; f <= FMT_GITHUB; f++) {
		if (!(mask & (1u << f)))
			continue;
		if (n++)
			sb_addstr(sb, n == total ? last_sep : sep);
		sb_addstr(sb, report_format_name((enum report_format)f));
	}
}

static int parse_format(void *opts, const char *arg, char **why)
{
	struct cli_common *common = opts;
	if (report_format_parse(arg, current_tool->formats, &common->format) == 0) {
		common->format_given = true;
		return 0;
	}
	struct strbuf names = STRBUF_INIT;
	format_names(current_tool->formats, "|", "|", &names);
	*why = xasprintf("unknown format \"%s\" (use %s)", arg, sb_str(&names));
	sb_release(&names);
	return -1;
}

/* ---- defaults and bounds: the config key's schema row, else the row's own ---- */

static const struct cfg_key *row_key(const struct cli_opt *row)
{
	return row->config_key ? config_schema_find(row->config_key) : NULL;
}

static const char *row_default(const struct cli_opt *row)
{
	const struct cfg_key *k = row_key(row);
	return k ? k->def : row->def;
}

/* "must be from 1 to 64", or NULL when v is within the row's bounds. A row without a
 * config key has its bounds checked and worded as a schema row's would be (durations in
 * milliseconds, whether the row stores milliseconds or seconds). */
static const char *bounds_problem(const struct cli_opt *row, double v)
{
	const struct cfg_key *k = row_key(row);
	bool duration = row->kind == CLI_DURATION || row->kind == CLI_SECONDS;
	struct cfg_key own = { .type = duration ? CFG_DURATION : CFG_NUMBER, .bounded = row->bounded,
			       .min = row->min, .max = row->max };
	return cfg_bounds_problem(k ? k : &own, row->kind == CLI_SECONDS ? v * 1000 : v);
}

/* ---- one parser per kind ---- */

/* "1048576", "512k", "10MiB", "1.5G" -> bytes. */
static int parse_size(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || !(v >= 0) || !isfinite(v))
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

/* A value of a row's kind as a number (flags: 0 or 1). -1 when it is not one, -2 when it
 * is out of bounds, with *why saying what is wrong.
 * from_cli: a CLI_BARE_MS duration's bare number is milliseconds on the command line. */
static int parse_number(const struct cli_opt *row, const char *v, bool from_cli, double *out,
			const char **why)
{
	long long ll;
	bool b;
	switch (row->kind) {
	case CLI_FLAG:
	case CLI_FLAG_OFF:
		*why = "is not true or false";
		if (config_parse_bool(v, &b))
			return -1;
		*out = b;
		return 0;
	case CLI_INT:
		*why = "is not a whole number";
		if (parse_ll(v, &ll))
			return -1;
		*out = (double)ll;
		break;
	case CLI_NUMBER:
		*why = "is not a number";
		if (parse_double(v, out) || !isfinite(*out))
			return -1;
		break;
	case CLI_DURATION:
	case CLI_SECONDS:
		*why = "is not a duration (500ms, 30s, 5m)";
		if (from_cli && (row->flags & CLI_BARE_MS) && parse_double(v, out) == 0 && isfinite(*out))
			;
		else if (parse_duration_ms(v, out))
			return -1;
		if (row->kind == CLI_SECONDS)
			*out /= 1000;
		break;
	case CLI_SIZE:
		*why = "is not a size in bytes (1048576, 512k, 10MiB)";
		if (parse_size(v, out))
			return -1;
		break;
	default:
		*why = "has no numeric value";
		return -1;
	}
	return (*why = bounds_problem(row, *out)) ? -2 : 0;
}

static bool numeric_kind(enum cli_kind kind)
{
	return kind == CLI_FLAG || kind == CLI_FLAG_OFF || kind == CLI_INT || kind == CLI_NUMBER ||
	       kind == CLI_DURATION || kind == CLI_SECONDS || kind == CLI_SIZE;
}

static void store_number(const struct cli_opt *row, void *field, double v)
{
	switch (row->store) {
	case CLI_STORE_BOOL: *(bool *)field = v != 0; break;
	case CLI_STORE_INT: *(int *)field = (int)v; break;
	case CLI_STORE_LONG: *(long *)field = (long)v; break;
	case CLI_STORE_LLONG: *(long long *)field = (long long)v; break;
	case CLI_STORE_ULONG: *(unsigned long *)field = (unsigned long)v; break;
	case CLI_STORE_DOUBLE: *(double *)field = v; break;
	default: break;
	}
}

static void list_append(struct cli_list *list, const char *item)
{
	const void *old = list->items;
	const char **items = xrealloc((void *)list->items, sizeof(*items) * (list->n + 1));
	items[list->n++] = item;
	list->items = items;
	for (size_t i = 0; old && i < nowned; i++)
		if (owned[i] == old) {
			owned[i] = items;
			return;
		}
	keep(items);
}

/* Applies one value (command line or config) to the row's field. Returns 0, or -1 with
 * *why (allocated). */
static int apply_value(const struct cli_opt *row, void *opts, const char *v, bool from_cli, char **why)
{
	void *field = (char *)opts + row->offset;
	const char *problem;
	double d;
	if (row->kind == CLI_CALL)
		return row->call(opts, v, why);
	if (numeric_kind(row->kind)) {
		int rc = parse_number(row, v, from_cli, &d, &problem);
		if (rc == -1)
			*why = secret_kind(row) ? xstrdup(problem) : xasprintf("\"%s\" %s", v, problem);
		else if (rc == -2)
			*why = secret_kind(row) ? xstrdup(problem) : xasprintf("%s, not %s", problem, v);
		if (rc)
			return -1;
		if (row->kind == CLI_FLAG_OFF && from_cli)
			d = 0;
		store_number(row, field, d);
		return 0;
	}
	switch (row->kind) {
	case CLI_CREDS:
		if (!strchr(v, ':')) {
			*why = xstrdup("needs user:password");
			return -1;
		}
		redact_add_secret(strchr(v, ':') + 1);
		break;
	case CLI_SECRET:
		redact_add_secret(v);
		break;
	case CLI_LIST:
		list_append(field, v);
		return 0;
	default:
		break;
	}
	if (row->store == CLI_STORE_STR)
		*(const char **)field = v;
	return 0;
}

/* ---- help ---- */

/* "-w, --warning CHECK=V" */
static void row_label(const struct cli_opt *row, struct strbuf *sb)
{
	if (row->short_name)
		sb_addf(sb, "-%c, ", row->short_name);
	sb_addf(sb, "--%s", row->long_name);
	if (takes_arg(row))
		sb_addf(sb, " %s", row->arg);
}

static void common_help(const struct cli_opt *row, const struct cli_tool *tool, struct strbuf *sb)
{
	if (row->help)
		sb_addstr(sb, row->help);
	else if (!strcmp(row->long_name, "config"))
		sb_addf(sb, "configuration file (opskit.yaml(5), section %s)", tool->config_section);
	else if (!strcmp(row->long_name, "format"))
		format_names(tool->formats, ", ", " or ", sb);
	else if (!strcmp(row->long_name, "verbose"))
		sb_addstr(sb, tool->verbose_help);
}

/* The help line of a row, with its default when it has a value worth showing. */
static void row_help(const struct cli_opt *row, struct strbuf *sb)
{
	sb_addstr(sb, row->help);
	const char *def = row_default(row);
	if (def && *def && takes_arg(row))
		sb_addf(sb, " (default %s)", def);
}

#define HELP_MAX_COLUMN 30

static size_t label_width(const struct cli_opt *rows, size_t width)
{
	for (size_t i = 0; rows[i].long_name; i++) {
		struct strbuf label = STRBUF_INIT;
		row_label(&rows[i], &label);
		if (label.len + 2 > width && label.len + 2 <= HELP_MAX_COLUMN)
			width = label.len + 2;
		sb_release(&label);
	}
	return width;
}

static void print_rows(const struct cli_opt *rows, const struct cli_tool *tool, size_t width,
		       bool common, FILE *out)
{
	for (size_t i = 0; rows[i].long_name; i++) {
		struct strbuf label = STRBUF_INIT, help = STRBUF_INIT;
		row_label(&rows[i], &label);
		if (common)
			common_help(&rows[i], tool, &help);
		else
			row_help(&rows[i], &help);
		if (label.len + 2 > width)   /* too long for the column: help on the next line */
			fprintf(out, "  %s\n  %-*s%s\n", sb_str(&label), (int)width, "", sb_str(&help));
		else
			fprintf(out, "  %-*s%s\n", (int)width, sb_str(&label), sb_str(&help));
		sb_release(&label);
		sb_release(&help);
	}
}

void cli_print_synopsis(const struct cli_tool *tool, FILE *out)
{
	struct strbuf formats = STRBUF_INIT;
	format_names(tool->formats, "|", "|", &formats);
	fprintf(out, "usage: %s [--config file] [--format %s]\n       [-o file] [-qv] %s", tool->name,
		sb_str(&formats), tool->synopsis);
	fprintf(out, "       %s -h | -V\n", tool->name);
	sb_release(&formats);
}

void cli_print_help(const struct cli_tool *tool, FILE *out)
{
	size_t width = label_width(common_rows, label_width(tool->opts, 0));
	cli_print_synopsis(tool, out);
	fputs("options:\n", out);
	print_rows(tool->opts, tool, width, false, out);
	fputs("common options:\n", out);
	print_rows(common_rows, tool, width, true, out);
}

/* ---- --dump-options ---- */

static bool kind_fits_type(enum cli_kind kind, enum cfg_type type)
{
	switch (kind) {
	case CLI_FLAG: case CLI_FLAG_OFF: return type == CFG_BOOL;
	case CLI_INT: return type == CFG_INT;
	case CLI_NUMBER: return type == CFG_NUMBER || type == CFG_INT;
	case CLI_DURATION: case CLI_SECONDS: return type == CFG_DURATION;
	case CLI_SIZE: return type == CFG_INT || type == CFG_NUMBER;
	case CLI_LIST: return type == CFG_STRLIST;
	default: return type == CFG_STRING;
	}
}

/* A row whose config key is undeclared or of another type, or whose default does not
 * parse, is a bug: say which. */
static int check_row(const struct cli_tool *tool, const struct cli_opt *row)
{
	const struct cfg_key *k = row_key(row);
	const char *def = row_default(row), *why;
	double d;
	if (row->config_key && !k) {
		errorf("%s --%s: config key %s is not in the schema", tool->name, row->long_name, row->config_key);
		return -1;
	}
	if (k && !kind_fits_type(row->kind, k->type)) {
		errorf("%s --%s: kind %s does not fit the type of %s", tool->name, row->long_name,
		       kind_names[row->kind], row->config_key);
		return -1;
	}
	if (k && (row->def || row->bounded)) {
		errorf("%s --%s: default and bounds belong to %s's schema row", tool->name, row->long_name,
		       row->config_key);
		return -1;
	}
	if (def && numeric_kind(row->kind) && parse_number(row, def, false, &d, &why)) {
		errorf("%s --%s: default \"%s\" %s", tool->name, row->long_name, def, why);
		return -1;
	}
	if ((row->kind == CLI_CALL) != (row->call != NULL) ||
	    (row->kind != CLI_CALL && row->kind < CLI_HELP && row->store == CLI_STORE_NONE)) {
		errorf("%s --%s: a row needs a field or a parser", tool->name, row->long_name);
		return -1;
	}
	return 0;
}

static void dump_rows(const struct cli_opt *rows, const struct cli_tool *tool, FILE *out)
{
	for (size_t i = 0; rows[i].long_name; i++) {
		const struct cli_opt *row = &rows[i];
		struct strbuf help = STRBUF_INIT;
		const char *def = row_default(row);
		if (rows == common_rows)
			common_help(row, tool, &help);
		else
			sb_addstr(&help, row->help);
		const char *choices = row->choices;
		struct strbuf formats = STRBUF_INIT;
		if (rows == common_rows && !strcmp(row->long_name, "format")) {
			format_names(tool->formats, "|", "|", &formats);
			choices = sb_str(&formats);
		}
		fprintf(out, "%s%c\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row->short_name ? "-" : "",
			row->short_name ? row->short_name : '-', row->long_name, row->arg ? row->arg : "-",
			kind_names[row->kind], def ? def : "-", row->config_key ? row->config_key : "-",
			choices ? choices : "-", sb_str(&help));
		sb_release(&help);
		sb_release(&formats);
	}
}

int cli_dump_options(const struct cli_tool *tool, FILE *out)
{
	int bad = 0;
	for (size_t i = 0; tool->opts[i].long_name; i++)
		bad |= check_row(tool, &tool->opts[i]);
	if (bad)
		return -1;
	dump_rows(tool->opts, tool, out);
	dump_rows(common_rows, tool, out);
	for (const char *s = tool->subcommands; s && *s;) {
		size_t n = strcspn(s, " ");
		fprintf(out, "subcommand\t%.*s\n", (int)n, s);
		s += n + strspn(s + n, " ");
	}
	return 0;
}

/* ---- parsing ---- */

static _Noreturn void usage_exit(const struct cli_tool *tool)
{
	cli_print_synopsis(tool, stderr);
	fprintf(stderr, "Run '%s --help' for the options, or see %s(1).\n", tool->name, tool->name);
	exit(3);
}

void cli_usage_error(const struct cli_tool *tool, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	errorf("%s", msg);
	free(msg);
	usage_exit(tool);
}

enum { LONG_BASE = 0x1000, COMMON_BASE = 0x2000 };

/* getopt's tables from both row sets; each long option's val finds its row again. */
static void build_getopt(const struct cli_tool *tool, struct option **longopts, char **shortopts)
{
	size_t nt = row_count(tool->opts), nc = row_count(common_rows);
	struct option *lo = keep(xcalloc(nt + nc + 1, sizeof(*lo)));
	struct strbuf so = STRBUF_INIT;
	sb_addch(&so, ':');
	for (size_t i = 0; i < nt + nc; i++) {
		const struct cli_opt *row = i < nt ? &tool->opts[i] : &common_rows[i - nt];
		lo[i] = (struct option){ row->long_name, takes_arg(row) ? required_argument : no_argument,
					 NULL, i < nt ? LONG_BASE + (int)i : COMMON_BASE + (int)(i - nt) };
		if (row->short_name)
			sb_addf(&so, "%c%s", row->short_name, takes_arg(row) ? ":" : "");
	}
	*longopts = lo;
	*shortopts = keep(sb_detach(&so));
}

/* The row (and its base struct) of what getopt returned; NULL when none. */
static const struct cli_opt *find_row(const struct cli_tool *tool, int opt, bool *common)
{
	*common = opt >= COMMON_BASE || !(opt >= LONG_BASE);
	if (opt >= COMMON_BASE)
		return &common_rows[opt - COMMON_BASE];
	if (opt >= LONG_BASE)
		return &tool->opts[opt - LONG_BASE];
	for (size_t i = 0; tool->opts[i].long_name; i++)
		if (tool->opts[i].short_name == opt) {
			*common = false;
			return &tool->opts[i];
		}
	for (size_t i = 0; common_rows[i].long_name; i++)
		if (common_rows[i].short_name == opt)
			return &common_rows[i];
	return NULL;
}

static _Noreturn void unknown_option(const struct cli_tool *tool, char **argv, int opt)
{
	const char *arg = argv[optind - 1];
	if (opt == ':')
		cli_usage_error(tool, "option %s needs a value", arg);
	/* getopt sets optopt for "--quiet=x" too: a known option given a value */
	if (str_starts_with(arg, "--") && strchr(arg, '=') && optopt)
		cli_usage_error(tool, "option %.*s does not take a value", (int)(strchr(arg, '=') - arg), arg);
	if (optopt && !str_starts_with(arg, "--"))
		cli_usage_error(tool, "unknown option -%c", optopt);
	/* never echo the value of a mistyped "--opt=value": it may be a password */
	cli_usage_error(tool, "unknown option %.*s", (int)strcspn(arg, "="), arg);
}

static void on_row(const struct cli_tool *tool, const struct cli_opt *row, void *base, const char *arg)
{
	char *why = NULL;
	switch (row->kind) {
	case CLI_HELP:
		cli_print_help(tool, stdout);
		exit(0);
	case CLI_VERSION:
		printf("%s %s\n", tool->name, OPSKIT_VERSION);
		exit(0);
	case CLI_COUNT:
		if (row->store == CLI_STORE_INT)
			(*(int *)((char *)base + row->offset))++;
		return;
	default:
		break;
	}
	if (apply_value(row, base, takes_arg(row) ? arg : "true", true, &why) == 0)
		return;
	static char *msg; /* reachable when cli_usage_error exits */
	msg = why;
	cli_usage_error(tool, "--%s: %s", row->long_name, msg);
}

int cli_parse(const struct cli_tool *tool, int argc, char **argv, void *opts, struct cli_common *out)
{
	set_progname(tool->name);
	current_tool = tool;
	memset(out, 0, sizeof(*out));
	out->format = FMT_TEXT;
	out->tool = tool;
	out->opts = opts;
	out->given = keep(xcalloc(row_count(tool->opts) + 1, sizeof(*out->given)));
	if (argc == 2 && !strcmp(argv[1], "--dump-options"))   /* for completions and docs checks */
		exit(cli_dump_options(tool, stdout) ? 3 : 0);
	struct option *longopts;
	char *shortopts;
	build_getopt(tool, &longopts, &shortopts);
	int opt;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		bool common;
		const struct cli_opt *row = opt == '?' || opt == ':' ? NULL : find_row(tool, opt, &common);
		if (!row)
			unknown_option(tool, argv, opt);
		on_row(tool, row, common ? (void *)out : opts, optarg);
		if (!common)
			out->given[row - tool->opts] = true;
	}
	opskit_quiet = out->quiet;
	opskit_verbose = out->verbose;
	return optind;
}

bool cli_given(const struct cli_common *common, const char *long_name)
{
	for (size_t i = 0; common->tool->opts[i].long_name; i++)
		if (!strcmp(common->tool->opts[i].long_name, long_name))
			return common->given[i];
	return false;
}

/* ---- config and defaults ---- */

/* A row not given on the command line takes the config's value or a default. */
static void settle_row(const struct cli_tool *tool, struct cli_common *common, const struct cli_opt *row,
		       const struct config *cfg)
{
	const char *v = row->def;
	const char *const *items;
	size_t n;
	if (row->kind == CLI_LIST) {
		if (row->config_key && cfg_list(cfg, row->config_key, &items, &n))
			*(struct cli_list *)((char *)common->opts + row->offset) = (struct cli_list){ items, n };
		return;
	}
	if (row->config_key && !cfg_str(cfg, row->config_key, &v) && !cfg_default(cfg, row->config_key))
		v = NULL;
	if (!v)
		return;
	static char *why; /* reachable when cli_fail_unknown exits */
	if (apply_value(row, common->opts, v, false, &why) == 0)
		return;
	if (row->config_key && cfg_where(cfg, row->config_key)[0])
		cli_fail_unknown(tool, common, "config", "%s: %s: %s", cfg_where(cfg, row->config_key),
				 row->config_key, why);
	cli_fail_unknown(tool, common, "config", "%s: default of --%s: %s",
			 row->config_key ? row->config_key : tool->name, row->long_name, why);
}

struct config *cli_load_config(const struct cli_tool *tool, struct cli_common *common)
{
	/* static: reachable when cli_fail_unknown() exits */
	static char *err;
	static struct config *cfg;
	cfg = config_load(common->config_path, &err);
	if (!cfg)
		cli_fail_unknown(tool, common, "config", "%s", err);
	const char *fmt;
	if (!common->format_given && cfg_str(cfg, "defaults.format", &fmt) &&
	    report_format_parse(fmt, tool->formats, &common->format))
		cli_fail_unknown(tool, common, "config", "%s: defaults.format \"%s\" is not a format %s writes",
				 cfg_where(cfg, "defaults.format"), fmt, tool->name);
	bool colour;
	if (cfg_bool(cfg, "defaults.color", &colour) && !colour)
		setenv("NO_COLOR", "1", 1);
	for (size_t i = 0; tool->opts[i].long_name; i++)
		if (!common->given[i] && common->opts)
			settle_row(tool, common, &tool->opts[i], cfg);
	return cfg;
}

/* ---- output ---- */

/* The temporary file of --output while it is written; renamed over the output when
 * closed, so a reader (node_exporter's textfile collector, a monitoring plugin) never
 * sees half a report. */
static char *output_tmp;

/* An output opened and then abandoned (a run that exits 3 before its report, or whose
 * report cli_fail_unknown() writes through a second open) leaves no temporary file. */
static void discard_output_tmp(void)
{
	if (output_tmp)
		unlink(output_tmp);
	free(output_tmp);
	output_tmp = NULL;
}

/* A regular file or a name that does not exist yet is replaced atomically; a symbolic
 * link (/dev/stdout), a FIFO or a device is written in place. *mode is what the
 * replacement gets: the permissions of the file it replaces (a report made readable to
 * one group stays so), or what fopen would create (0666 less the umask). */
static bool replace_atomically(const char *path, mode_t *mode)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		*mode = st.st_mode & 07777;
		return S_ISREG(st.st_mode);
	}
	bool absent = errno == ENOENT;
	mode_t mask = umask(0);
	umask(mask);
	*mode = 0666 & ~mask;
	return absent;
}

static FILE *open_in_place(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die(3, "cannot write %s: %s", path, strerror(errno));
	return f;
}

FILE *cli_open_output(const struct cli_common *common)
{
	if (!common->output_path || !strcmp(common->output_path, "-"))
		return stdout;
	mode_t mode;
	if (!replace_atomically(common->output_path, &mode))
		return open_in_place(common->output_path);
	static bool discard_registered;
	if (!discard_registered)
		discard_registered = atexit(discard_output_tmp) == 0;
	discard_output_tmp();
	output_tmp = xasprintf("%s.XXXXXX", common->output_path);
	int fd = mkstemp(output_tmp);
	if (fd < 0) { /* a file we may write in a directory we may not: write it in place */
		free(output_tmp);
		output_tmp = NULL;
		return open_in_place(common->output_path);
	}
	fchmod(fd, mode); /* not mkstemp's 0600 */
	FILE *f = fdopen(fd, "w");
	if (!f)
		die(3, "cannot write %s: %s", common->output_path, strerror(errno));
	return f;
}

void cli_close_output(FILE *out, const struct cli_common *common)
{
	bool bad = fflush(out) != 0 || ferror(out);
	int err = errno;
	if (out != stdout) {
		bad |= fclose(out) != 0;
		err = bad ? errno : err;
		if (output_tmp && !bad && rename(output_tmp, common->output_path)) {
			bad = true;
			err = errno;
		}
		if (output_tmp && bad)
			unlink(output_tmp);
		free(output_tmp);
		output_tmp = NULL;
	}
	if (bad)
		die(3, "cannot write %s: %s",
		    common->output_path ? common->output_path : "standard output", strerror(err));
}

struct report *cli_report_new(const struct cli_tool *tool, const struct cli_common *common)
{
	struct report *r = report_new(tool->name, OPSKIT_VERSION, common->format);
	report_set_verbosity(r, common->quiet, common->verbose);
	return r;
}

void cli_fail_unknown(const struct cli_tool *tool, const struct cli_common *common,
		      const char *check_id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	errorf("%s", msg);
	if (common->format != FMT_TEXT) {
		struct report *r = cli_report_new(tool, common);
		report_check(r, check_id, ST_UNKNOWN, NULL, "%s", msg);
		FILE *out = cli_open_output(common);
		report_finish(r, out);
		cli_close_output(out, common);
		report_free(r);
	}
	free(msg);
	exit(3);
}
