/*
 * opskit-test-helper — exercises lib/ code from shell tests (after git's test-tool).
 *
 *   config FILE             load FILE; print "path=value" for each key read through getters
 *   config --discover       the same for the file discovery finds: "file=PATH" first
 *   config-typed FILE       like config, with a test section "test" holding every type
 *   config-keys             every declared config key: "path<TAB>type<TAB>doc"
 *   config-get FILE PATH    print one value (exit 1 when absent)
 *   config-coverage FILE    load FILE; print each schema key with no instance in it
 *                           (exit 1 when there is one): does an example cover the schema?
 *   redact                  each stdin line through redact_dsn(), then redact_text()
 *   redact-with FILE        register each line of FILE (redact_add_secret), then each
 *                           stdin line through redact_text()
 *   redact-longest          register each stdin line (redact_add_secret), then print
 *                           redact_longest_secret()
 *   secret-key NAME...      "NAME yes|no": is the name secret-looking?
 *   secret-path NAME=VALUE...  "NAME=VALUE yes|no": is VALUE only the path to NAME's secret?
 *   duration STR...         milliseconds, or "error"
 *   base64-encode STR...    base64 of each argument
 *   base64-decode STR...    each argument decoded (strict), or "error"
 *   read-file FILE MAX      sb_read_file(FILE, MAX): the bytes to stdout, or exit 1 and
 *                           strerror on stderr
 *   unsafe-file FILE MAX    unsafe_file_reason(FILE, MAX), or "ok"
 *   shell-name STR...       "STR yes|no": is STR one shell variable name?
 *   utf8-prefix N STR...    utf8_prefix_len(STR, N): STR's first N characters
 *   report FORMAT           build a report from a script on stdin (see below), render it
 *   cli ARGS...             parse ARGS with a table of every option kind (lib/cli), load
 *                           the config with the test schema, print the settled values
 *   exporter-config FILE SECTION  exporter_config_load() of SECTION ("redis", "postgres",
 *                           or the helper's "xdef" with defaults unlike the tools' and
 *                           "xnodef" with none): "name=value" per setting
 *
 * Report script lines (tab-separated):
 *   check ID STATUS SUBJECT MESSAGE
 *   hint TEXT | location FILE LINE COL | metric NAME VALUE UOM WARN CRIT MIN MAX ("-" = unset)
 *   secret VALUE | string KEY VALUE | int KEY N | object KEY | array KEY | end
 *   bytes KEY VALUE (rp_bytes) | endobject | endarray
 *   table KEY TITLE col,col...  then  row V1 V2 ...  then  endtable
 *       (a cell N is rp_table_int, N=TEXT rp_table_int_text, - null, anything else a string)
 * Fields take C escapes: \n \t \\ \xHH (not \x00), for newlines, tabs and invalid UTF-8.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cli.h"
#include "config.h"
#include "exporter.h"
#include "test-schema.h"
#include "msg.h"
#include "redact.h"
#include "report.h"
#include "util.h"

static const char *const type_names[] = { "string", "int", "number", "bool", "duration", "threshold", "list" };

static int cmd_config_keys(void)
{
	for (size_t i = 0; config_schema_key(i); i++) {
		const struct cfg_key *k = config_schema_key(i);
		printf("%s\t%s\t%s\t%s\n", k->path, type_names[k->type], k->doc, k->def ? k->def : "-");
	}
	return 0;
}

/* Prints every present concrete key: walks the schema, expanding "*" through children. */
static void dump_pattern(const struct config *c, const char *done, const char *rest, enum cfg_type type)
{
	if (!*rest) {
		const char *v;
		const char *const *items;
		size_t n;
		if (type == CFG_STRLIST && cfg_list(c, done, &items, &n)) {
			printf("%s=[", done);
			for (size_t i = 0; i < n; i++)
				printf("%s%s", i ? "," : "", items[i]);
			printf("]\n");
		} else if (cfg_str(c, done, &v)) {
			char *safe = redact_text(v);
			printf("%s=%s\n", done, safe);
			free(safe);
		}
		return;
	}
	size_t len = strcspn(rest, ".");
	const char *next = rest[len] == '.' ? rest + len + 1 : rest + len;
	if (len == 1 && rest[0] == '*') {
		const char *const *names;
		size_t n;
		if (!cfg_children(c, done, &names, &n))
			return;
		for (size_t i = 0; i < n; i++) {
			char *p = xasprintf("%s.%s", done, names[i]);
			dump_pattern(c, p, next, type);
			free(p);
		}
		return;
	}
	char *p = *done ? xasprintf("%s.%.*s", done, (int)len, rest) : xstrndup(rest, len);
	dump_pattern(c, p, next, type);
	free(p);
}


static int cmd_config(const char *file)
{
	char *err;
	bool discover = !strcmp(file, "--discover");
	struct config *c = config_load(discover ? NULL : file, &err);
	if (!c) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 3;
	}
	if (discover)
		printf("file=%s\n", config_path(c) ? config_path(c) : "(none)");
	for (size_t i = 0; config_schema_key(i); i++)
		dump_pattern(c, "", config_schema_key(i)->path, config_schema_key(i)->type);
	config_free(c);
	return 0;
}

/* Number of present instances of a schema pattern ("postgres.targets.*.dsn"). */
static size_t count_pattern(const struct config *c, const char *done, const char *rest, enum cfg_type type)
{
	if (!*rest) {
		const char *v;
		const char *const *items;
		size_t n;
		if (type == CFG_STRLIST)
			return (size_t)cfg_list(c, done, &items, &n);
		return (size_t)cfg_str(c, done, &v);
	}
	size_t len = strcspn(rest, ".");
	const char *next = rest[len] == '.' ? rest + len + 1 : rest + len;
	size_t found = 0;
	if (len == 1 && rest[0] == '*') {
		const char *const *names;
		size_t n;
		if (!cfg_children(c, done, &names, &n))
			return 0;
		for (size_t i = 0; i < n; i++) {
			char *p = xasprintf("%s.%s", done, names[i]);
			found += count_pattern(c, p, next, type);
			free(p);
		}
		return found;
	}
	char *p = *done ? xasprintf("%s.%.*s", done, (int)len, rest) : xstrndup(rest, len);
	found = count_pattern(c, p, next, type);
	free(p);
	return found;
}

static int cmd_config_coverage(const char *file)
{
	char *err;
	struct config *c = config_load(file, &err);
	if (!c) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 3;
	}
	int rc = 0;
	for (size_t i = 0; config_schema_key(i); i++) {
		const struct cfg_key *k = config_schema_key(i);
		if (!count_pattern(c, "", k->path, k->type)) {
			printf("%s\n", k->path);
			rc = 1;
		}
	}
	config_free(c);
	return rc;
}

static int cmd_config_get(const char *file, const char *path)
{
	char *err;
	struct config *c = config_load(file, &err);
	if (!c) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 3;
	}
	const char *v;
	int rc = 1;
	if (cfg_str(c, path, &v)) {
		printf("%s\n", v);
		rc = 0;
	}
	config_free(c);
	return rc;
}

/* Each line of in, without its newline, to fn. */
static void each_line(FILE *in, void (*fn)(const char *line))
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		fn(line);
	}
	free(line);
}

static void print_redacted(const char *line)
{
	char *out = redact_text(line);
	printf("%s\n", out);
	free(out);
}

static void print_longest_secret(const char *line)
{
	redact_add_secret(line);
	printf("%zu\n", redact_longest_secret());
}

static void print_dsn_redacted(const char *line)
{
	char *out = redact_dsn(line);
	printf("%s\n", out);
	free(out);
}

static int cmd_redact_with(const char *secrets_file)
{
	FILE *f = fopen(secrets_file, "r");
	if (!f)
		die(3, "%s: %s", secrets_file, strerror(errno));
	each_line(f, redact_add_secret);
	fclose(f);
	each_line(stdin, print_redacted);
	return 0;
}

static double num_or_nan(const char *s)
{
	return !s || !strcmp(s, "-") ? NAN : strtod(s, NULL);
}

static enum status parse_status(const char *s)
{
	static const char *const names[] = { "ok", "warning", "critical", "unknown" };
	for (int i = 0; i < 4; i++)
		if (s && !strcmp(s, names[i]))
			return (enum status)i;
	die(3, "bad status %s", s ? s : "(none)");
}

#define MAX_FIELDS 16

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* In place: \n \t \\ \xHH. The result is never longer than the input. */
static void unescape(char *s)
{
	char *out = s;
	for (const char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			*out++ = *p;
			continue;
		}
		p++;
		if (*p == 'n')
			*out++ = '\n';
		else if (*p == 't')
			*out++ = '\t';
		else if (*p == 'x' && hex_digit(p[1]) >= 0 && hex_digit(p[2]) >= 0 && (p[1] != '0' || p[2] != '0')) {
			*out++ = (char)(hex_digit(p[1]) * 16 + hex_digit(p[2]));
			p += 2;
		} else
			*out++ = *p;
	}
	*out = '\0';
}

static size_t split_tabs(char *line, char **f)
{
	size_t n = 0;
	for (char *save = NULL, *tok = strtok_r(line, "\t", &save); tok && n < MAX_FIELDS;
	     tok = strtok_r(NULL, "\t", &save))
		f[n++] = tok;
	for (size_t i = 0; i < n; i++)
		unescape(f[i]);
	for (size_t i = n; i < MAX_FIELDS; i++)
		f[i] = NULL;
	return n;
}

static void report_table_cell(struct rp_table *table, const char *field)
{
	long long v;
	const char *eq = strchr(field, '=');
	if (eq) {
		char *num = xstrndup(field, (size_t)(eq - field));
		bool labelled = parse_ll(num, &v) == 0;
		free(num);
		if (labelled) {
			rp_table_int_text(table, v, eq + 1);
			return;
		}
	}
	if (parse_ll(field, &v) == 0)
		rp_table_int(table, v);
	else if (!strcmp(field, "-"))
		rp_table_str(table, NULL);
	else
		rp_table_str(table, field);
}

static void report_table_line(struct rp_table **table, char **f, size_t n, struct report *r)
{
	if (!strcmp(f[0], "table")) {
		*table = rp_table_new(r, f[1], f[2] && strcmp(f[2], "-") ? f[2] : NULL);
		char *save = NULL;
		for (char *col = strtok_r(f[3], ",", &save); col; col = strtok_r(NULL, ",", &save)) {
			enum col_type t = COL_STR;
			char *colon = strchr(col, ':');
			if (colon) {
				*colon = '\0';
				t = !strcmp(colon + 1, "int") ? COL_INT : !strcmp(colon + 1, "bytes") ? COL_BYTES : COL_STR;
			}
			rp_table_col(*table, col, col, t);
		}
	} else if (!strcmp(f[0], "row")) {
		for (size_t i = 1; i < n; i++)
			report_table_cell(*table, f[i]);
	} else {
		rp_table_end(*table);
		*table = NULL;
	}
}

static int cmd_report(const char *format)
{
	enum report_format fmt;
	if (report_format_parse(format, FMT_MASK_ALL, &fmt))
		die(3, "unknown format %s", format);
	struct report *r = report_new("ops-test", "0.0.0", fmt);
	struct check *c = NULL;
	struct rp_table *table = NULL;
	char *line = NULL, *f[MAX_FIELDS];
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		size_t n = split_tabs(line, f);
		if (!n || f[0][0] == '#')
			continue;
		if (!strcmp(f[0], "check"))
			c = report_check(r, f[1], parse_status(f[2]), strcmp(f[3], "-") ? f[3] : NULL, "%s", f[4] ? f[4] : "");
		else if (!strcmp(f[0], "hint") && c)
			check_hint(c, "%s", f[1]);
		else if (!strcmp(f[0], "location") && c)
			check_location(c, f[1], atoi(f[2] ? f[2] : "0"), atoi(f[3] ? f[3] : "0"));
		else if (!strcmp(f[0], "metric") && c)
			check_metric(c, f[1], num_or_nan(f[2]), f[3] && strcmp(f[3], "-") ? f[3] : "",
				     (struct thresholds){ num_or_nan(f[4]), num_or_nan(f[5]), num_or_nan(f[6]), num_or_nan(f[7]) });
		else if (!strcmp(f[0], "secret"))
			redact_add_secret(f[1]);
		else if (!strcmp(f[0], "string"))
			rp_string(r, f[1], "%s\n", f[2]);
		else if (!strcmp(f[0], "bytes"))
			rp_bytes(r, f[1], "%s\n", f[2], f[2] ? strlen(f[2]) : 0);
		else if (!strcmp(f[0], "int"))
			rp_int(r, f[1], "%lld\n", atoll(f[2]));
		else if (!strcmp(f[0], "object"))
			rp_open_object(r, f[1]);
		else if (!strcmp(f[0], "array"))
			rp_open_array(r, f[1]);
		else if (!strcmp(f[0], "endobject"))
			rp_close_object(r);
		else if (!strcmp(f[0], "endarray"))
			rp_close_array(r);
		else if (!strcmp(f[0], "table") || !strcmp(f[0], "row") || !strcmp(f[0], "endtable"))
			report_table_line(&table, f, n, r);
		else
			die(3, "bad report script line: %s", f[0]);
	}
	free(line);
	int rc = report_finish(r, stdout);
	report_free(r);
	return rc;
}

/* Every option kind, for t0001-cli.sh: what lib/cli settles from flags, config, defaults. */
struct cli_test_opts {
	bool flag, on;
	int count;
	long long num;
	double number, wait_ms, fallback_ms, size, seconds;
	long defaulted;
	unsigned long bounded;
	const char *string, *secret, *creds, *word;
	struct cli_list list;
};

static int cli_test_word(void *opts, const char *arg, char **why)
{
	if (strcmp(arg, "alpha") && strcmp(arg, "beta")) {
		*why = xasprintf("\"%s\" is neither alpha nor beta", arg);
		return -1;
	}
	((struct cli_test_opts *)opts)->word = arg;
	return 0;
}

#define O struct cli_test_opts
static const struct cli_opt cli_test_rows[] = {
	CLI_OPT('f', "flag", NULL, CLI_FLAG, O, flag, "a flag"),
	CLI_OPT(0, "no-on", NULL, CLI_FLAG_OFF, O, on, "turns test.bool off", .config_key = "test.bool"),
	CLI_OPT('c', "count", NULL, CLI_COUNT, O, count, "counted"),
	CLI_OPT('n', "num", "N", CLI_INT, O, num, "an int, no config", .def = "7", CLI_BOUNDS(0, 100)),
	CLI_OPT(0, "number", "X", CLI_NUMBER, O, number, "a number", .config_key = "test.number"),
	CLI_OPT(0, "bounded", "N", CLI_INT, O, bounded, "an int from 1 to 10", .config_key = "test.bounded"),
	CLI_OPT(0, "defaulted", "N", CLI_INT, O, defaulted, "an int whose default is in the schema",
		.config_key = "test.defaulted"),
	CLI_OPT(0, "wait", "DURATION", CLI_DURATION, O, wait_ms, "at least 1s", .config_key = "test.wait",
		.flags = CLI_BARE_MS),
	CLI_OPT(0, "fallback", "DURATION", CLI_DURATION, O, fallback_ms, "test.fallback, else test.duration, else 5s",
		.config_key = "test.fallback"),
	CLI_OPT(0, "seconds", "DURATION", CLI_SECONDS, O, seconds, "a duration in seconds", .def = "1m",
		CLI_BOUNDS(1000, 3600 * 1000)),
	CLI_OPT(0, "size", "BYTES", CLI_SIZE, O, size, "a size", .def = "1k"),
	CLI_OPT(0, "string", "TEXT", CLI_STRING, O, string, "a string", .config_key = "test.string"),
	CLI_OPT(0, "secret", "TOKEN", CLI_SECRET, O, secret, "a secret"),
	CLI_OPT(0, "creds", "USER:PASSWORD", CLI_CREDS, O, creds, "credentials"),
	CLI_OPT(0, "item", "ITEM", CLI_LIST, O, list, "repeatable", .config_key = "test.list"),
	CLI_CALL_OPT(0, "word", "WORD", cli_test_word, "alpha or beta", .def = "alpha", .choices = "alpha|beta"),
	CLI_OPT_END,
};
#undef O

static const struct cli_tool cli_test_tool = {
	.name = "opskit-test-helper", .synopsis = "cli [options]\n", .opts = cli_test_rows,
	.config_section = "test", .verbose_help = "more", .formats = FMT_MASK_ALL,
};

static int cmd_cli(int argc, char **argv)
{
	struct cli_test_opts o = { .on = true };
	struct cli_common common;
	config_schema_set_extra(test_schema);
	int first = cli_parse(&cli_test_tool, argc, argv, &o, &common);
	struct config *cfg = cli_load_config(&cli_test_tool, &common);
	printf("flag=%d on=%d count=%d num=%lld number=%g bounded=%lu defaulted=%ld\n", o.flag, o.on, o.count,
	       o.num, o.number, o.bounded, o.defaulted);
	printf("wait_ms=%g fallback_ms=%g seconds=%g size=%g\n", o.wait_ms, o.fallback_ms, o.seconds, o.size);
	printf("string=%s word=%s format=%s quiet=%d verbose=%d\n", o.string ? o.string : "-", o.word,
	       report_format_name(common.format), common.quiet, common.verbose);
	char *shown = redact_text(o.creds ? o.creds : "-");
	printf("creds=%s secret=%s given-num=%d\n", shown, o.secret ? "set" : "-", cli_given(&common, "num"));
	free(shown);
	for (size_t i = 0; i < o.list.n; i++)
		printf("item=%s\n", o.list.items[i]);
	for (int i = first; i < argc; i++)
		printf("operand=%s\n", argv[i]);
	config_free(cfg);
	return 0;
}

/* One line per argument: base64-encode, base64-decode or shell-name. */
static int cmd_strings(const char *cmd, int n, char **args)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(cmd, "base64-encode")) {
			char *enc = base64_encode(args[i], strlen(args[i]));
			printf("%s\n", enc);
			free(enc);
		} else if (!strcmp(cmd, "base64-decode")) {
			struct strbuf out = STRBUF_INIT;
			if (base64_decode(args[i], strlen(args[i]), &out))
				printf("error\n");
			else
				printf("%s\n", sb_str(&out));
			sb_release(&out);
		} else {
			printf("%s %s\n", args[i], shell_name_valid(args[i], strlen(args[i])) ? "yes" : "no");
		}
	}
	return 0;
}

/* Exporter rows whose defaults differ from CFG_EXPORTER_KEYS ("xdef") or are missing
 * ("xnodef"): the values exporter_config_load() gives must follow the rows. */
static const struct cfg_key exporter_test_schema[] = {
	CFG_KEY("xdef.exporter.max_concurrent", CFG_INT, "", .def = "7", CFG_RANGE(1, 256)),
	CFG_KEY("xdef.exporter.timeout", CFG_DURATION, "", .def = "3s", CFG_RANGE(100, CFG_NO_MAX)),
	CFG_KEY("xdef.exporter.allow_remote", CFG_BOOL, "", .def = "true"),
	CFG_KEY("xdef.exporter.allow_any_target", CFG_BOOL, "", .def = "true"),
	CFG_KEY("xnodef.exporter.max_concurrent", CFG_INT, "", CFG_RANGE(1, 256)),
	CFG_KEY("xnodef.exporter.timeout", CFG_DURATION, "", CFG_RANGE(100, CFG_NO_MAX)),
	CFG_END,
};

static int cmd_exporter_config(const char *file, const char *section)
{
	config_schema_set_extra(exporter_test_schema);
	char *err = NULL;
	struct config *c = config_load(file, &err);
	if (!c)
		die(3, "%s", err);
	struct exporter_config ec = { 0 };
	bool any = false;
	exporter_config_load(&ec, c, section, &any);
	printf("max_concurrent=%d\ntimeout_ms=%.15g\nallow_remote=%s\nallow_any_target=%s\n", ec.max_concurrent,
	       ec.timeout_ms, ec.allow_remote ? "true" : "false", any ? "true" : "false");
	printf("username=%s\ntls_cert_file=%s\ntls_key_file=%s\n", ec.username ? ec.username : "-",
	       ec.tls_cert_file ? ec.tls_cert_file : "-", ec.tls_key_file ? ec.tls_key_file : "-");
	config_free(c);
	return 0;
}

static int cmd_read_file(const char *path, const char *max)
{
	long long m;
	if (parse_ll(max, &m) || m < 0)
		die(3, "bad MAX: %s", max);
	struct strbuf sb = STRBUF_INIT;
	int rc = sb_read_file(&sb, path, (size_t)m);
	if (rc)
		fprintf(stderr, "%s\n", strerror(errno));
	else
		fwrite(sb_str(&sb), 1, sb.len, stdout);
	sb_release(&sb);
	return rc ? 1 : 0;
}

static int cmd_unsafe_file(const char *path, const char *max)
{
	long long m;
	if (parse_ll(max, &m) || m < 0)
		die(3, "bad MAX: %s", max);
	const char *why = unsafe_file_reason(path, (size_t)m);
	printf("%s\n", why ? why : "ok");
	return 0;
}

int main(int argc, char **argv)
{
	set_progname("opskit-test-helper");
	if (argc < 2)
		die(3, "usage: opskit-test-helper config|config-keys|config-get|config-coverage|exporter-config|redact|redact-with|redact-longest|secret-key|secret-path|duration|report|base64-*|read-file|unsafe-file|shell-name|utf8-prefix ...");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "cli"))
		return cmd_cli(argc - 1, argv + 1);
	if (!strcmp(cmd, "config-keys"))
		return cmd_config_keys();
	if (!strcmp(cmd, "config") && argc == 3)
		return cmd_config(argv[2]);
	if (!strcmp(cmd, "config-typed") && argc == 3) {
		config_schema_set_extra(test_schema);
		return cmd_config(argv[2]);
	}
	if (!strcmp(cmd, "config-coverage") && argc == 3)
		return cmd_config_coverage(argv[2]);
	if (!strcmp(cmd, "config-get") && argc == 4)
		return cmd_config_get(argv[2], argv[3]);
	if (!strcmp(cmd, "redact")) {
		each_line(stdin, print_dsn_redacted);
		return 0;
	}
	if (!strcmp(cmd, "redact-longest")) {
		each_line(stdin, print_longest_secret);
		return 0;
	}
	if (!strcmp(cmd, "redact-with") && argc == 3)
		return cmd_redact_with(argv[2]);
	if (!strcmp(cmd, "report") && argc == 3)
		return cmd_report(argv[2]);
	if (!strcmp(cmd, "secret-key")) {
		for (int i = 2; i < argc; i++)
			printf("%s %s\n", argv[i], redact_key_is_secret(argv[i]) ? "yes" : "no");
		return 0;
	}
	if (!strcmp(cmd, "secret-path")) {
		for (int i = 2; i < argc; i++) {
			char *name = xstrdup(argv[i]), *eq = strchr(name, '=');
			if (eq)
				*eq = '\0';
			printf("%s %s\n", argv[i], eq && redact_value_is_path(name, eq + 1) ? "yes" : "no");
			free(name);
		}
		return 0;
	}
	if (!strcmp(cmd, "duration")) {
		for (int i = 2; i < argc; i++) {
			double ms;
			if (parse_duration_ms(argv[i], &ms))
				printf("error\n");
			else
				printf("%.15g\n", ms);
		}
		return 0;
	}
	if (!strcmp(cmd, "base64-encode") || !strcmp(cmd, "base64-decode") || !strcmp(cmd, "shell-name"))
		return cmd_strings(cmd, argc - 2, argv + 2);
	if (!strcmp(cmd, "utf8-prefix") && argc >= 3) {
		for (int i = 3; i < argc; i++)
			printf("%.*s\n", (int)utf8_prefix_len(argv[i], strtoul(argv[2], NULL, 10)), argv[i]);
		return 0;
	}
	if (!strcmp(cmd, "exporter-config") && argc == 4)
		return cmd_exporter_config(argv[2], argv[3]);
	if (!strcmp(cmd, "unsafe-file") && argc == 4)
		return cmd_unsafe_file(argv[2], argv[3]);
	if (!strcmp(cmd, "read-file") && argc == 4)
		return cmd_read_file(argv[2], argv[3]);
	die(3, "unknown or incomplete command: %s", cmd);
}
