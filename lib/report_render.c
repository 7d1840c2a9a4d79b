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

static bool use_colour(FILE *out)
{
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	if (nc && *nc)
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fileno(out));
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

void render_text(struct report *r, FILE *out)
{
	bool colour = use_colour(out);
	if (!r->quiet && r->text.len)
		put_safe(out, sb_str(&r->text));

	struct check **sorted = report_sorted_checks(r);
	size_t wid = 0, wsub = 0, shown = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		struct check *c = sorted[i];
		if (r->quiet && c->status == ST_OK)
			continue;
		char *sub = check_subject(c);
		if (strlen(c->id) > wid)
			wid = strlen(c->id);
		if (strlen(sub) > wsub)
			wsub = strlen(sub);
		free(sub);
		shown++;
	}
	if (wsub > 48)
		wsub = 48;
	for (size_t i = 0; i < r->nchecks; i++) {
		struct check *c = sorted[i];
		if (r->quiet && c->status == ST_OK)
			continue;
		char *sub = check_subject(c);
		struct strbuf line = STRBUF_INIT;
		sb_addf(&line, "%-*s  %-*s  %s", (int)wid, c->id, (int)wsub, sub, c->message);
		fprintf(out, "%s%-8s%s  ", colour ? status_colour(c->status) : "",
			status_label(c->status), colour ? "\033[0m" : "");
		put_safe(out, sb_str(&line));
		fputc('\n', out);
		if (c->hint && (c->status != ST_OK || r->verbose)) {
			fprintf(out, "%10s", "");
			fprintf(out, "%-*s  hint: ", (int)wid, "");
			put_safe(out, c->hint);
			fputc('\n', out);
		}
		sb_release(&line);
		free(sub);
	}
	free(sorted);

	size_t counts[4];
	count_statuses(r, counts);
	enum status st = report_status(r);
	if (shown)
		fputc('\n', out);
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

void render_json(struct report *r, FILE *out)
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

static void prom_label_value(FILE *out, const char *s)
{
	char *safe = redact_text(s ? s : "");
	for (const char *p = safe; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	free(safe);
}

static const char *tool_short(const char *tool)
{
	return str_starts_with(tool, "ops-") ? tool + 4 : tool;
}

struct prom_sample {
	char *family;
	const struct check *check;
	const struct metric *metric;
};

static int cmp_samples(const void *a, const void *b)
{
	const struct prom_sample *x = a, *y = b;
	int c = strcmp(x->family, y->family);
	if (c)
		return c;
	return x->check->order < y->check->order ? -1 : x->check->order > y->check->order;
}

static void prom_metric_families(struct report *r, FILE *out)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nchecks; i++)
		n += r->checks[i]->nmetrics;
	struct prom_sample *s = xcalloc(n + 1, sizeof(*s));
	size_t k = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		for (size_t j = 0; j < r->checks[i]->nmetrics; j++) {
			struct strbuf name = STRBUF_INIT;
			sb_addstr(&name, "opskit_");
			prom_name(&name, tool_short(r->tool));
			sb_addch(&name, '_');
			prom_name(&name, r->checks[i]->metrics[j].name);
			s[k++] = (struct prom_sample){ sb_detach(&name), r->checks[i], &r->checks[i]->metrics[j] };
		}
	}
	/* A family's samples must be contiguous, under one HELP/TYPE. */
	qsort(s, n, sizeof(*s), cmp_samples);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(s[i].family, s[i - 1].family)) {
			fprintf(out, "# HELP %s %s metric %s.\n", s[i].family, r->tool, s[i].metric->name);
			fprintf(out, "# TYPE %s gauge\n", s[i].family);
		}
		fprintf(out, "%s{check=\"", s[i].family);
		prom_label_value(out, s[i].check->id);
		fputs("\",subject=\"", out);
		prom_label_value(out, s[i].check->subject);
		fprintf(out, "\"} %.17g\n", isfinite(s[i].metric->value) ? s[i].metric->value : NAN);
	}
	for (size_t i = 0; i < n; i++)
		free(s[i].family);
	free(s);
}

void render_prometheus(struct report *r, FILE *out)
{
	const char *t = r->tool;
	fputs("# HELP opskit_check_status Status of one check: 0 ok, 1 warning, 2 critical, 3 unknown.\n", out);
	fputs("# TYPE opskit_check_status gauge\n", out);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check *c = r->checks[i];
		fputs("opskit_check_status{tool=\"", out);
		prom_label_value(out, t);
		fputs("\",check=\"", out);
		prom_label_value(out, c->id);
		fputs("\",subject=\"", out);
		prom_label_value(out, c->subject);
		fprintf(out, "\"} %d\n", (int)c->status);
	}
	fputs("# HELP opskit_status Worst status of the run: 0 ok, 1 warning, 2 critical, 3 unknown.\n", out);
	fputs("# TYPE opskit_status gauge\n", out);
	fputs("opskit_status{tool=\"", out);
	prom_label_value(out, t);
	fprintf(out, "\"} %d\n", (int)report_status(r));
	prom_metric_families(r, out);
}

/* ---- nagios (monitoring-plugins guidelines) ---- */

static void nagios_number(struct strbuf *sb, double v)
{
	if (!isnan(v))
		sb_addf(sb, "%.10g", v);
}

static void nagios_perfdata(struct strbuf *sb, const struct check *c, const struct metric *m)
{
	struct strbuf label = STRBUF_INIT;
	if (c->subject && *c->subject)
		sb_addf(&label, "%s %s", c->subject, m->name);
	else
		sb_addstr(&label, m->name);
	sb_addch(sb, '\'');
	for (const char *p = sb_str(&label); *p; p++) {
		if (*p == '\'')
			sb_addch(sb, '\'');
		sb_addch(sb, *p == '=' ? '_' : *p);
	}
	sb_addstr(sb, "'=");
	nagios_number(sb, m->value);
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
	sb_release(&label);
}

static void one_line(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		sb_addch(sb, *s == '\n' || *s == '|' ? ' ' : *s);
}

void render_nagios(struct report *r, FILE *out)
{
	enum status st = report_status(r);
	struct check **sorted = report_sorted_checks(r);
	struct strbuf line = STRBUF_INIT, perf = STRBUF_INIT, longtext = STRBUF_INIT;
	char *name = xstrdup(tool_short(r->tool));
	for (char *p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	sb_addf(&line, "%s %s - ", name, status_label(st));
	size_t summarised = 0;
	for (size_t i = 0; i < r->nchecks && st != ST_OK; i++) {
		const struct check *c = sorted[i];
		if (c->status != st || summarised == 3)
			continue;
		if (summarised++)
			sb_addstr(&line, "; ");
		if (c->subject && *c->subject)
			sb_addf(&line, "%s: ", c->subject);
		one_line(&line, c->message);
	}
	if (st == ST_OK)
		sb_addf(&line, r->nchecks ? "%zu checks ok" : "no checks ran", r->nchecks);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct check *c = sorted[i];
		for (size_t j = 0; j < c->nmetrics; j++) {
			sb_addch(&perf, ' ');
			nagios_perfdata(&perf, c, &c->metrics[j]);
		}
		sb_addf(&longtext, "%s: %s", status_label(c->status), c->id);
		if (c->subject && *c->subject)
			sb_addf(&longtext, " %s", c->subject);
		sb_addstr(&longtext, ": ");
		one_line(&longtext, c->message);
		sb_addch(&longtext, '\n');
	}
	put_safe(out, sb_str(&line));
	if (perf.len) {
		fputs(" |", out);
		put_safe(out, sb_str(&perf));
	}
	fputc('\n', out);
	put_safe(out, sb_str(&longtext));
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
		json_t *phys = json_pack("{s:{s:o}}", "artifactLocation", "uri", safe_json_string(c->file));
		if (c->line > 0)
			json_object_set_new(phys, "region", region);
		else
			json_decref(region);
		json_object_set_new(res, "locations", json_pack("[{s:o}]", "physicalLocation", phys));
	}
	return res;
}

void render_sarif(struct report *r, FILE *out)
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

void render_github(struct report *r, FILE *out)
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
		fprintf(out, "%s\n", sb_str(&sb));
		sb_release(&sb);
	}
	free(sorted);
}
