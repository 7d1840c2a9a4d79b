#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "msg.h"
#include "util.h"

#ifndef OPSKIT_VERSION
#define OPSKIT_VERSION "0.0.0-dev"
#endif

enum { OPT_CONFIG = 0x1000, OPT_FORMAT };

static const struct option common_long[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};

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

/* Where the descriptions of the tool's option lines start (after the first run of two or
 * more spaces of an option line), so the common options line up with them. */
static int help_column(const char *options)
{
	int column = 0;
	const char *eol;
	for (const char *line = options; line && (eol = strchr(line, '\n')); line = eol + 1) {
		if (strncmp(line, "  -", 3) != 0)
			continue;
		const char *gap = strstr(line + 2, "  ");
		if (gap && gap < eol) {
			int col = (int)(gap + strspn(gap, " ") - line);
			if (col > column && line + col < eol)
				column = col;
		}
	}
	return column ? column : 24;
}

void cli_print_help(const struct cli_tool *tool, FILE *out)
{
	struct strbuf formats = STRBUF_INIT, config = STRBUF_INIT;
	format_names(tool->formats, ", ", " or ", &formats);
	sb_addf(&config, "configuration file (opskit.yaml(5), section %s)", tool->config_section);
	const char *common[][2] = {
		{ "--config FILE", sb_str(&config) },
		{ "--format FMT", sb_str(&formats) },
		{ "-o, --output FILE", "write the report to FILE" },
		{ "-q, --quiet", "only the problems" },
		{ "-v, --verbose", tool->verbose_help },
		{ "-h, --help", "this help" },
		{ "-V, --version", "the version" },
	};
	int width = help_column(tool->options) - 2;
	fputs(tool->synopsis, out);
	fprintf(out, "options:\n%s", tool->options);
	fputs("common options:\n", out);
	for (size_t i = 0; i < ARRAY_SIZE(common); i++)
		fprintf(out, "  %-*s%s\n", width, common[i][0], common[i][1]);
	sb_release(&formats);
	sb_release(&config);
}

static _Noreturn void usage_exit(const struct cli_tool *tool)
{
	fputs(tool->synopsis, stderr);
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

static struct option *merge_long(const struct option *extra)
{
	size_t n_extra = 0;
	while (extra && extra[n_extra].name)
		n_extra++;
	struct option *all = xcalloc(ARRAY_SIZE(common_long) + n_extra + 1, sizeof(*all));
	memcpy(all, common_long, sizeof(common_long));
	if (n_extra)
		memcpy(all + ARRAY_SIZE(common_long), extra, n_extra * sizeof(*all));
	return all;
}

/* The merged option tables live for the whole run: cli_parse may exit (--help, usage
 * errors) while they are in use, and globals keep them reachable for LeakSanitizer. */
static struct option *longopts;
static char *shortopts;

int cli_parse(const struct cli_tool *tool, int argc, char **argv,
	      const char *extra_short, const struct option *extra_long,
	      cli_option_fn fn, void *ctx, struct cli_common *out)
{
	set_progname(tool->name);
	memset(out, 0, sizeof(*out));
	out->format = FMT_TEXT;
	free(longopts);
	free(shortopts);
	longopts = merge_long(extra_long);
	shortopts = xasprintf(":o:qvhV%s", extra_short ? extra_short : "");
	bool format_given = false;
	int opt;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_CONFIG: out->config_path = optarg; break;
		case 'o': out->output_path = optarg; break;
		case 'q': out->quiet = 1; break;
		case 'v': out->verbose++; break;
		case 'h':
			cli_print_help(tool, stdout);
			exit(0);
		case 'V':
			printf("%s %s\n", tool->name, OPSKIT_VERSION);
			exit(0);
		case OPT_FORMAT:
			if (report_format_parse(optarg, tool->formats, &out->format)) {
				static struct strbuf names = STRBUF_INIT;
				format_names(tool->formats, "|", "|", &names);
				cli_usage_error(tool, "unknown format \"%s\" (use %s)", optarg, sb_str(&names));
			}
			format_given = true;
			break;
		case ':':
			cli_usage_error(tool, "option %s needs a value", argv[optind - 1]);
		case '?': {
			const char *arg = argv[optind - 1];
			/* getopt sets optopt for "--quiet=x" too: a known option given a value */
			if (str_starts_with(arg, "--") && strchr(arg, '=') && optopt)
				cli_usage_error(tool, "option %.*s does not take a value",
						(int)(strchr(arg, '=') - arg), arg);
			if (optopt && !str_starts_with(arg, "--"))
				cli_usage_error(tool, "unknown option -%c", optopt);
			/* never echo the value of a mistyped "--opt=value": it may be a password */
			cli_usage_error(tool, "unknown option %.*s", (int)strcspn(arg, "="), arg);
		}
		default:
			if (!fn || fn(opt, optarg, ctx) != 0)
				usage_exit(tool);
		}
	}
	out->format_given = format_given;
	opskit_quiet = out->quiet;
	opskit_verbose = out->verbose;
	return optind;
}

FILE *cli_open_output(const struct cli_common *common)
{
	if (!common->output_path || !strcmp(common->output_path, "-"))
		return stdout;
	FILE *f = fopen(common->output_path, "w");
	if (!f)
		die(3, "cannot write %s: %s", common->output_path, strerror(errno));
	return f;
}

void cli_close_output(FILE *out, const struct cli_common *common)
{
	bool bad = fflush(out) != 0 || ferror(out);
	if (out != stdout)
		bad |= fclose(out) != 0;
	if (bad)
		die(3, "cannot write %s: %s",
		    common->output_path ? common->output_path : "standard output", strerror(errno));
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
	return cfg;
}
