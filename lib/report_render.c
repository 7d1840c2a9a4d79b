#define _GNU_SOURCE
#include "report_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redact.h"

/* Writes s to out after redaction. */
static void put_safe(FILE *out, const char *s)
{
	char *safe = redact_text(s);
	fputs(safe, out);
	free(safe);
}

/* Redacted copy of s (NULL as ""), to transform further without undoing the masking. */
static char *redacted(const char *s)
{
	return redact_text(s ? s : "");
}

static bool use_colour(const struct report *r, FILE *out)
{
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	if (nc && *nc)
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return r->terminal || isatty(fileno(out));
}

static const char *status_colour(enum status s)
{
	static const char *const c[] = { "\033[32m", "\033[33m", "\033[1;31m", "\033[35m" };
	return c[s];
}

static void count_statuses(const struct report *r, size_t counts[4])
{
	memset(counts, 0, 4 * sizeof(size_t));
	for (size_t i = 0; i < r->nchecks; i++)
		counts[r->checks[i]->status]++;
}

static char *check_subject(const struct check *c)
{
	if (c->subject)
		return xstrdup(c->subject);
	if (c->file && c->line > 0 && c->column > 0)
		return xasprintf("%s:%d:%d", c->file, c->line, c->column);
	if (c->file && c->line > 0)
		return xasprintf("%s:%d", c->file, c->line);
	if (c->file)
		return xstrdup(c->file);
	return xstrdup("");
}

/* ---- text ---- */

/* Redacted, with controls and invalid UTF-8 as C escapes; a newline in a message starts
 * a continuation line indented by indent columns, so a check stays one visual block. */
static char *text_field(const char *s, size_t indent)
{
	char *safe = redact_text(s);
	struct strbuf sb = STRBUF_INIT;
	const char *p = safe;
	for (const char *nl; indent && (nl = strchr(p, '\n')); p = nl + 1) {
		report_text_bytes(&sb, p, (size_t)(nl - p), ESCAPE_PROSE);
		sb_addch(&sb, '\n');
		sb_addpad(&sb, ' ', indent);
	}
	report_text_bytes(&sb, p, strlen(p), ESCAPE_PROSE);
	free(safe);
	return sb_detach(&sb);
}

/* Display width: UTF-8 lead bytes (the text is valid UTF-8 after text_field()). */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void text_pad(FILE *out, const char *s, size_t width)
{
	fputs(s, out);
	for (size_t w = text_width(s); w < width; w++)
		fputc(' ', out);
}

static bool text_shown(const struct report *r, const struct check *c)
{
	return !(r->quiet && c->status == ST_OK);
}

static void text_summary(struct report *r, FILE *out, bool colour)
{
	size_t counts[4];
	count_statuses(r, counts);
	enum status st = report_status(r);
	fprintf(out, "%s: %s%s%s", r->tool, colour ? status_colour(st) : "", status_label(st),
		colour ? "\033[0m" : "");
	const char *sep = " - ";
	static const enum status order[] = { ST_CRITICAL, ST_UNKNOWN, ST_WARNING, ST_OK };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (!counts[order[i]])
			continue;
		fprintf(out, "%s%zu %s", sep, counts[order[i]], status_name(order[i]));
		sep = ", ";
	}
	if (!r->nchecks)
		fputs(" - no checks ran", out);
	fputc('\n', out);
}

#define TEXT_SUBJECT_MAX 48

static void render_text(struct report *r, FILE *out)
{
	bool colour = use_colour(r, out);
	if (!r->quiet && r->text.len)
		put_safe(out, sb_str(&r->text));

	struct check **sorted = report_sorted_checks(r);
	size_t wid = 0, wsub = 0, shown = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		if (!text_shown(r, sorted[i]))
			continue;
		char *raw = check_subject(sorted[i]);
		char *sub = text_field(raw, 0);
		char *id = text_field(sorted[i]->id, 0);
		if (text_width(id) > wid)
			wid = text_width(id);
		if (text_width(sub) > wsub)
			wsub = text_width(sub);
		free(id);
		free(sub);
		free(raw);
		shown++;
	}
	if (wsub > TEXT_SUBJECT_MAX)
		wsub = TEXT_SUBJECT_MAX;
	size_t indent = 10 + wid + 2 + wsub + 2; /* where the message starts */
	for (size_t i = 0; i < r->nchecks; i++) {
		struct check *c = sorted[i];
		if (!text_shown(r, c))
			continue;
		char *raw = check_subject(c);
		char *sub = text_field(raw, 0), *id = text_field(c->id, 0);
		char *msg = text_field(c->message, indent);
		fprintf(out, "%s%-8s%s  ", colour ? status_colour(c->status) : "",
			status_label(c->status), colour ? "\033[0m" : "");
		text_pad(out, id, wid);
		fputs("  ", out);
		text_pad(out, sub, wsub);
		fprintf(out, "  %s\n", msg);
		if (c->hint && (c->status != ST_OK || r->verbose)) {
			char *hint = text_field(c->hint, 10 + wid + 2 + 6);
			fprintf(out, "%*s%-*s  hint: %s\n", 10, "", (int)wid, "", hint);
			free(hint);
		}
		free(msg);
		free(id);
		free(sub);
		free(raw);
	}
	free(sorted);
	if (shown)
		fputc('\n', out);
	text_summary(r, out, colour);
}

/* ---- json ---- */

static json_t *metric_json(const struct metric *m)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "value", isfinite(m->value) ? json_real(m->value) : json_null());
	if (*m->uom)
		json_object_set_new(o, "uom", json_string(m->uom));
	const struct { const char *key; double v; } th[] = {
		{ "warn", m->t.warn }, { "crit", m->t.crit }, { "min", m->t.min }, { "max", m->t.max },
	};
	for (size_t i = 0; i < ARRAY_SIZE(th); i++)
		if (!isnan(th[i].v))
			json_object_set_new(o, th[i].key, json_real(th[i].v));
	return o;
}

static json_t *safe_json_string(const char *s)
{
	char *safe = redact_text(s);
	json_t *j = report_json_bytes(safe, strlen(safe));
	free(safe);
	return j;
}

static json_t *check_json(const struct check *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(c->id));
	json_object_set_new(o, "status", json_string(status_name(c->status)));
	json_object_set_new(o, "subject", c->subject ? safe_json_string(c->subject) : json_null());
	json_object_set_new(o, "message", safe_json_string(c->message));
	if (c->hint)
		json_object_set_new(o, "hint", safe_json_string(c->hint));
	if (c->file) {
		json_t *loc = json_object();
		json_object_set_new(loc, "file", safe_json_string(c->file));
		if (c->line > 0)
			json_object_set_new(loc, "line", json_integer(c->line));
		if (c->column > 0)
			json_object_set_new(loc, "column", json_integer(c->column));
		json_object_set_new(o, "location", loc);
	}
	json_t *metrics = json_array();
	for (size_t i = 0; i < c->nmetrics; i++)
		json_array_append_new(metrics, metric_json(&c->metrics[i]));
	json_object_set_new(o, "metrics", metrics);
	return o;
}

static void render_json(struct report *r, FILE *out)
{
	json_t *doc = json_object();
	enum status st = report_status(r);
	json_object_set_new(doc, "tool", json_string(r->tool));
	json_object_set_new(doc, "version", json_string(r->version));
	json_object_set_new(doc, "format_version", json_integer(1));
	json_object_set_new(doc, "status", json_string(status_name(st)));
	json_object_set_new(doc, "exit_code", json_integer(status_exit_code(st)));
	json_t *checks = json_array();
	for (size_t i = 0; i < r->nchecks; i++)
		json_array_append_new(checks, check_json(r->checks[i]));
	json_object_set_new(doc, "checks", checks);
	json_object_update_missing(doc, r->data);
	json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(doc);
}

/* ---- prometheus (text exposition format 0.0.4) ---- */

static void prom_name(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		sb_addch(sb, isalnum((unsigned char)*s) || *s == '_' || *s == ':' ? *s : '_');
}

/* Label values must be UTF-8: a byte that is not part of a valid sequence is written as
 * the Latin-1 character of the same value, as in JSON. */
static void prom_label_value(FILE *out, const char *s)
{
	char *safe = redact_text(s ? s : "");
	size_t len = strlen(safe);
	for (size_t i = 0; i < len;) {
		const unsigned char *p = (const unsigned char *)safe + i;
		size_t n = utf8_seq_len(p, len - i);
		if (n > 1) {
			fwrite(p, 1, n, out);
		} else if (n == 0) {
			fputc(0xc0 | (*p >> 6), out);
			fputc(0x80 | (*p & 0x3f), out);
			n = 1;
		} else if (*p == '\\' || *p == '"') {
			fprintf(out, "\\%c", *p);
		} else if (*p == '\n') {
			fputs("\\n", out);
		} else {
			fputc(*p, out);
		}
		i += n;
	}
	free(safe);
}

/* HELP text escapes only backslash and newline. */
static void prom_help_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void prom_value(FILE *out, double v)
{
	if (isnan(v))
		fputs("NaN", out);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", out);
	else {
		/* shortest form that reads back as the same double: 0.2, not 0.20000000000000001 */
		char buf[32];
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
		fputs(buf, out);
	}
}

static const char *tool_short(const char *tool)
{
	return str_starts_with(tool, "ops-") ? tool + 4 : tool;
}

/* One series: a check (or a metric of it) under its labels. The subject label is the
 * check's subject, or its location when it has none, so that findings in different
 * places are different series. */
struct prom_series {
	char *family;            /* metric family; NULL for opskit_check_status */
	char *subject;
	const struct check *check;
	const struct metric *metric;
	enum status status;      /* opskit_check_status: worst of the merged checks */
};

static int cmp_series(const void *a, const void *b)
{
	const struct prom_series *x = a, *y = b;
	int c = x->family && y->family ? strcmp(x->family, y->family) : 0;
	if (!c)
		c = strcmp(x->check->id, y->check->id);
	if (!c)
		c = strcmp(x->subject, y->subject);
	if (!c)
		c = x->check->order < y->check->order ? -1 : x->check->order > y->check->order;
	return c;
}

static int cmp_series_order(const void *a, const void *b)
{
	const struct prom_series *x = a, *y = b;
	return x->check->order < y->check->order ? -1 : x->check->order > y->check->order;
}

static bool same_series(const struct prom_series *x, const struct prom_series *y)
{
	return (!x->family || !strcmp(x->family, y->family)) && !strcmp(x->check->id, y->check->id) &&
	       !strcmp(x->subject, y->subject);
}

/* Sorts v by labels and merges series with equal labels (a family may not repeat a label
 * set): the first keeps the worst status and the first metric value. Returns the count. */
static size_t prom_merge(struct prom_series *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_series);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && same_series(&v[k - 1], &v[i])) {
			v[k - 1].status = status_worst(v[k - 1].status, v[i].status);
			free(v[i].family);
			free(v[i].subject);
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

static void prom_labels(FILE *out, const char *tool, const struct prom_series *s)
{
	fputc('{', out);
	if (tool) {
		fputs("tool=\"", out);
		prom_label_value(out, tool);
		fputs("\",", out);
	}
	fputs("check=\"", out);
	prom_label_value(out, s->check->id);
	fputs("\",subject=\"", out);
	prom_label_value(out, s->subject);
	fputs("\"} ", out);
}

static void prom_check_status(struct report *r, FILE *out)
{
	struct prom_series *v = xcalloc(r->nchecks + 1, sizeof(*v));
	for (size_t i = 0; i < r->nchecks; i++)
		v[i] = (struct prom_series){ NULL, check_subject(r->checks[i]), r->checks[i], NULL, r->checks[i]->status };
	size_t n = prom_merge(v, r->nchecks);
	qsort(v, n, sizeof(*v), cmp_series_order);
	fputs("# HELP opskit_check_status Status of one check: 0 ok, 1 warning, 2 critical, 3 unknown.\n", out);
	fputs("# TYPE opskit_check_status gauge\n", out);
	for (size_t i = 0; i < n; i++) {
		fputs("opskit_check_status", out);
		prom_labels(out, r->tool, &v[i]);
		fprintf(out, "%d\n", (int)v[i].status);
		free(v[i].subject);
	}
	free(v);
}

static void prom_metric_families(struct report *r, FILE *out)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nchecks; i++)
		n += r->checks[i]->nmetrics;
	struct prom_series *s = xcalloc(n + 1, sizeof(*s));
	size_t k = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		for (size_t j = 0; j < r->checks[i]->nmetrics; j++) {
			struct strbuf name = STRBUF_INIT;
			sb_addstr(&name, "opskit_");
			prom_name(&name, tool_short(r->tool));
			sb_addch(&name, '_');
			prom_name(&name, r->checks[i]->metrics[j].name);
			s[k++] = (struct prom_series){ sb_detach(&name), check_subject(r->checks[i]), r->checks[i],
						       &r->checks[i]->metrics[j], r->checks[i]->status };
		}
	}
	/* A family's samples must be contiguous, under one HELP/TYPE. */
	n = prom_merge(s, n);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(s[i].family, s[i - 1].family)) {
			fprintf(out, "# HELP %s %s metric ", s[i].family, r->tool);
			prom_help_text(out, s[i].metric->name);
			fputs(".\n", out);
			fprintf(out, "# TYPE %s gauge\n", s[i].family);
		}
		fputs(s[i].family, out);
		prom_labels(out, NULL, &s[i]);
		prom_value(out, s[i].metric->value);
		fputc('\n', out);
	}
	for (size_t i = 0; i < n; i++) {
		free(s[i].family);
		free(s[i].subject);
	}
	free(s);
}

static void render_prometheus(struct report *r, FILE *out)
{
	prom_check_status(r, out);
	fputs("# HELP opskit_status Worst status of the run: 0 ok, 1 warning, 2 critical, 3 unknown.\n", out);
	fputs("# TYPE opskit_status gauge\n", out);
	fputs("opskit_status{tool=\"", out);
	prom_label_value(out, r->tool);
	fprintf(out, "\"} %d\n", (int)report_status(r));
	prom_metric_families(r, out);
}

/* ---- nagios (monitoring-plugins guidelines) ---- */

static void nagios_number(struct strbuf *sb, double v)
{
	if (!isnan(v))
		sb_addf(sb, "%.10g", v);
}

/* Appends s (already redacted) on one line: newlines and '|' (the perfdata separator)
 * become spaces. */
static void one_line(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		sb_addch(sb, *s == '\n' || *s == '\r' || *s == '|' ? ' ' : *s);
}

/* 'label'=value[UOM];warn;crit;min;max, label = "subject metric". The label is redacted
 * before '=' is replaced, or "password=secret" would lose the '=' that masks it. */
static void nagios_perfdata(struct strbuf *sb, const char *subject, const struct metric *m)
{
	char *raw = *subject ? xasprintf("%s %s", subject, m->name) : xstrdup(m->name);
	char *label = redacted(raw);
	sb_addch(sb, '\'');
	for (const char *p = label; *p; p++) {
		if (*p == '\'')
			sb_addch(sb, '\'');
		sb_addch(sb, *p == '=' ? '_' : *p == '\n' || *p == '\r' || *p == '|' ? ' ' : *p);
	}
	sb_addstr(sb, "'=");
	if (isfinite(m->value))
		nagios_number(sb, m->value);
	else
		sb_addch(sb, 'U'); /* "U": the value could not be determined */
	sb_addstr(sb, m->uom);
	struct strbuf tail = STRBUF_INIT;
	const double th[] = { m->t.warn, m->t.crit, m->t.min, m->t.max };
	for (size_t i = 0; i < ARRAY_SIZE(th); i++) {
		sb_addch(&tail, ';');
		nagios_number(&tail, th[i]);
	}
	while (tail.len && tail.buf[tail.len - 1] == ';')
		tail.buf[--tail.len] = '\0';
	sb_addstr(sb, sb_str(&tail));
	sb_release(&tail);
	free(label);
	free(raw);
}

/* "subject: message" on one line, both redacted first. */
static void nagios_check_text(struct strbuf *sb, const char *subject, const char *message)
{
	char *sub = redacted(subject), *msg = redacted(message);
	if (*sub) {
		one_line(sb, sub);
		sb_addstr(sb, ": ");
	}
	one_line(sb, msg);
	free(sub);
	free(msg);
}

#define NAGIOS_SUMMARY_CHECKS 3

static void render_nagios(struct report *r, FILE *out)
{
	enum status st = report_status(r);
	struct check **sorted = report_sorted_checks(r);
	struct strbuf line = STRBUF_INIT, perf = STRBUF_INIT, longtext = STRBUF_INIT;
	char *name = xstrdup(tool_short(r->tool));
	for (char *p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	sb_addf(&line, "%s %s - ", name, status_label(st));
	size_t summarised = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check *c = sorted[i];
		char *subject = check_subject(c);
		if (st != ST_OK && c->status == st && summarised < NAGIOS_SUMMARY_CHECKS) {
			if (summarised++)
				sb_addstr(&line, "; ");
			nagios_check_text(&line, subject, c->message);
		}
		for (size_t j = 0; j < c->nmetrics; j++) {
			sb_addch(&perf, ' ');
			nagios_perfdata(&perf, subject, &c->metrics[j]);
		}
		sb_addf(&longtext, "%s: %s%s", status_label(c->status), c->id, *subject ? " " : ": ");
		nagios_check_text(&longtext, subject, c->message);
		sb_addch(&longtext, '\n');
		free(subject);
	}
	if (st == ST_OK && r->nchecks)
		sb_addf(&line, "%zu checks ok", r->nchecks);
	else if (!r->nchecks)
		sb_addstr(&line, "no checks ran");
	if (perf.len) {
		sb_addstr(&line, " |");
		sb_addstr(&line, sb_str(&perf));
	}
	sb_addch(&line, '\n');
	sb_addstr(&line, sb_str(&longtext));
	struct strbuf text = STRBUF_INIT;
	report_utf8_text(&text, sb_str(&line));
	put_safe(out, sb_str(&text));
	sb_release(&text);
	free(name);
	free(sorted);
	sb_release(&line);
	sb_release(&perf);
	sb_release(&longtext);
}

/* ---- SARIF 2.1.0 and GitHub workflow commands: findings with a location ---- */

static const char *sarif_level(enum status s)
{
	return s == ST_CRITICAL ? "error" : s == ST_WARNING ? "warning" : "note";
}

/* A file path as a SARIF artifactLocation uri (RFC 3986 reference): "my app/.env" is
 * "my%20app/.env"; unreserved characters and '/' stay, every other byte is %XX. */
static json_t *sarif_uri(const char *path)
{
	char *safe = redacted(path);
	struct strbuf sb = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)safe; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~/", *p))
			sb_addch(&sb, (char)*p);
		else
			sb_addf(&sb, "%%%02X", *p);
	}
	json_t *uri = json_string(sb_str(&sb));
	sb_release(&sb);
	free(safe);
	return uri;
}

static json_t *sarif_result(const struct check *c)
{
	json_t *res = json_object();
	json_object_set_new(res, "ruleId", json_string(c->id));
	json_object_set_new(res, "level", json_string(sarif_level(c->status)));
	json_t *msg = json_object();
	json_object_set_new(msg, "text", safe_json_string(c->message));
	json_object_set_new(res, "message", msg);
	if (c->file) {
		json_t *region = json_object();
		if (c->line > 0)
			json_object_set_new(region, "startLine", json_integer(c->line));
		if (c->column > 0)
			json_object_set_new(region, "startColumn", json_integer(c->column));
		json_t *phys = json_pack("{s:{s:o}}", "artifactLocation", "uri", sarif_uri(c->file));
		if (c->line > 0)
			json_object_set_new(phys, "region", region);
		else
			json_decref(region);
		json_object_set_new(res, "locations", json_pack("[{s:o}]", "physicalLocation", phys));
	}
	return res;
}

static void render_sarif(struct report *r, FILE *out)
{
	json_t *rules = json_array(), *results = json_array();
	json_t *seen = json_object();
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check *c = r->checks[i];
		if (c->status == ST_OK)
			continue;
		if (!json_object_get(seen, c->id)) {
			json_object_set_new(seen, c->id, json_true());
			json_t *rule = json_pack("{s:s}", "id", c->id);
			if (c->hint)
				json_object_set_new(rule, "help", json_pack("{s:o}", "text", safe_json_string(c->hint)));
			json_array_append_new(rules, rule);
		}
		json_array_append_new(results, sarif_result(c));
	}
	json_t *driver = json_pack("{s:s,s:s,s:o}", "name", r->tool, "version", r->version,
				   "rules", rules);
	json_t *doc = json_pack("{s:s,s:s,s:[{s:{s:o},s:o}]}",
				"$schema", "https://json.schemastore.org/sarif-2.1.0.json",
				"version", "2.1.0", "runs", "tool", "driver", driver, "results", results);
	json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(doc);
	json_decref(seen);
}

/* GitHub escapes: % \r \n in messages, plus : and , in properties. */
static void github_escape(struct strbuf *sb, const char *s, bool property)
{
	char *safe = redact_text(s);
	for (const char *p = safe; *p; p++) {
		if (*p == '%')
			sb_addstr(sb, "%25");
		else if (*p == '\r')
			sb_addstr(sb, "%0D");
		else if (*p == '\n')
			sb_addstr(sb, "%0A");
		else if (property && *p == ':')
			sb_addstr(sb, "%3A");
		else if (property && *p == ',')
			sb_addstr(sb, "%2C");
		else
			sb_addch(sb, *p);
	}
	free(safe);
}

static void render_github(struct report *r, FILE *out)
{
	struct check **sorted = report_sorted_checks(r);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check *c = sorted[i];
		if (c->status == ST_OK)
			continue;
		struct strbuf sb = STRBUF_INIT;
		sb_addf(&sb, "::%s ", c->status == ST_CRITICAL ? "error" : c->status == ST_WARNING ? "warning" : "notice");
		if (c->file) {
			sb_addstr(&sb, "file=");
			github_escape(&sb, c->file, true);
			if (c->line > 0)
				sb_addf(&sb, ",line=%d", c->line);
			if (c->column > 0)
				sb_addf(&sb, ",col=%d", c->column);
			sb_addch(&sb, ',');
		}
		sb_addstr(&sb, "title=");
		github_escape(&sb, c->id, true);
		sb_addstr(&sb, "::");
		github_escape(&sb, c->message, false);
		struct strbuf text = STRBUF_INIT;
		report_utf8_text(&text, sb_str(&sb));
		fprintf(out, "%s\n", sb_str(&text));
		sb_release(&text);
		sb_release(&sb);
	}
	free(sorted);
}

/* The back ends, one per enum report_format: its name (--format) and its renderer. */
static const struct renderer {
	const char *name;
	void (*render)(struct report *r, FILE *out);
} renderers[] = {
	[FMT_TEXT] = { "text", render_text },
	[FMT_JSON] = { "json", render_json },
	[FMT_PROMETHEUS] = { "prometheus", render_prometheus },
	[FMT_NAGIOS] = { "nagios", render_nagios },
	[FMT_SARIF] = { "sarif", render_sarif },
	[FMT_GITHUB] = { "github", render_github },
};

int report_format_parse(const char *name, unsigned allowed_mask, enum report_format *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(renderers); i++) {
		if (!strcmp(name, renderers[i].name) && (allowed_mask & (1u << i))) {
			*out = (enum report_format)i;
			return 0;
		}
	}
	return -1;
}

const char *report_format_name(enum report_format f)
{
	return renderers[f].name;
}

int report_finish(struct report *r, FILE *out)
{
	renderers[r->fmt].render(r, out);
	return status_exit_code(report_status(r));
}
