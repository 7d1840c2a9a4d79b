#define _GNU_SOURCE
#include "report_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "redact.h"

const char *status_name(enum status s)
{
	static const char *const n[] = { "ok", "warning", "critical", "unknown" };
	return n[s];
}

const char *status_label(enum status s)
{
	static const char *const n[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
	return n[s];
}

/* CRITICAL outranks UNKNOWN: a page for a real failure beats "could not tell". */
static int status_rank(enum status s)
{
	static const int rank[] = { [ST_OK] = 0, [ST_WARNING] = 1, [ST_UNKNOWN] = 2, [ST_CRITICAL] = 3 };
	return rank[s];
}

enum status status_worst(enum status a, enum status b)
{
	return status_rank(a) >= status_rank(b) ? a : b;
}

int status_exit_code(enum status s)
{
	return (int)s;
}

struct report *report_new(const char *tool, const char *version, enum report_format fmt)
{
	struct report *r = xcalloc(1, sizeof(*r));
	r->tool = xstrdup(tool);
	r->version = xstrdup(version);
	r->fmt = fmt;
	r->data = json_object();
	r->stack[0] = r->data;
	return r;
}

static void check_free(struct check *c)
{
	free(c->id);
	free(c->subject);
	free(c->message);
	free(c->hint);
	free(c->file);
	for (size_t i = 0; i < c->nmetrics; i++) {
		free(c->metrics[i].name);
		free(c->metrics[i].uom);
	}
	free(c->metrics);
	free(c);
}

void report_free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nchecks; i++)
		check_free(r->checks[i]);
	free(r->checks);
	json_decref(r->data);
	sb_release(&r->text);
	free(r->tool);
	free(r->version);
	free(r);
}

enum report_format report_format_of(const struct report *r)
{
	return r->fmt;
}

void report_set_verbosity(struct report *r, int quiet, int verbose)
{
	r->quiet = quiet;
	r->verbose = verbose;
}

void report_set_terminal(struct report *r, bool terminal)
{
	r->terminal = terminal;
}

enum status report_status(const struct report *r)
{
	enum status worst = ST_OK;
	for (size_t i = 0; i < r->nchecks; i++)
		worst = status_worst(worst, r->checks[i]->status);
	return worst;
}

struct check *report_check(struct report *r, const char *id, enum status st,
			   const char *subject, const char *fmt, ...)
{
	struct check *c = xcalloc(1, sizeof(*c));
	va_list ap;
	va_start(ap, fmt);
	c->message = xvasprintf(fmt, ap);
	va_end(ap);
	c->id = xstrdup(id);
	c->status = st;
	c->subject = subject ? xstrdup(subject) : NULL;
	c->order = r->nchecks;
	r->checks = xrealloc(r->checks, sizeof(*r->checks) * (r->nchecks + 1));
	r->checks[r->nchecks++] = c;
	return c;
}

void check_set_status(struct check *c, enum status st)
{
	c->status = st;
}

void check_hint(struct check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(c->hint);
	c->hint = xvasprintf(fmt, ap);
	va_end(ap);
}

void check_location(struct check *c, const char *file, int line, int column)
{
	free(c->file);
	c->file = file ? xstrdup(file) : NULL;
	c->line = line;
	c->column = column;
}

void check_metric(struct check *c, const char *name, double value, const char *uom,
		  struct thresholds t)
{
	c->metrics = xrealloc(c->metrics, sizeof(*c->metrics) * (c->nmetrics + 1));
	struct metric *m = &c->metrics[c->nmetrics++];
	m->name = xstrdup(name);
	m->value = value;
	m->uom = xstrdup(uom ? uom : "");
	m->t = t;
}

static int cmp_checks(const void *a, const void *b)
{
	const struct check *x = *(struct check *const *)a, *y = *(struct check *const *)b;
	int rx = status_rank(x->status), ry = status_rank(y->status);
	if (rx != ry)
		return ry - rx;
	return x->order < y->order ? -1 : x->order > y->order;
}

struct check **report_sorted_checks(const struct report *r)
{
	struct check **v = xmalloc(sizeof(*v) * (r->nchecks + 1));
	if (r->nchecks)
		memcpy(v, r->checks, sizeof(*v) * r->nchecks);
	qsort(v, r->nchecks, sizeof(*v), cmp_checks);
	return v;
}

/* ---- tool data ---- */

void report_json_add(struct report *r, const char *key, json_t *v)
{
	json_t *top = r->stack[r->depth];
	if (json_is_array(top)) {
		json_array_append_new(top, v);
	} else {
		char *safe_key = redact_text(key ? key : "");
		json_object_set_new(top, safe_key, v);
		free(safe_key);
	}
}

static void push_container(struct report *r, const char *key, json_t *container)
{
	json_incref(container);
	report_json_add(r, key, container);
	if (r->depth + 1 >= REPORT_MAX_DEPTH)
		die(3, "internal error: report nesting deeper than %d", REPORT_MAX_DEPTH);
	r->stack[++r->depth] = container;
}

static void pop_container(struct report *r)
{
	if (r->depth == 0)
		die(3, "internal error: report container closed twice");
	json_decref(r->stack[r->depth--]);
}

void rp_open_object(struct report *r, const char *key) { push_container(r, key, json_object()); }
void rp_close_object(struct report *r) { pop_container(r); }
void rp_open_array(struct report *r, const char *key) { push_container(r, key, json_array()); }
void rp_close_array(struct report *r) { pop_container(r); }

static void text_printf(struct report *r, const char *text_fmt, ...)
{
	va_list ap;
	va_start(ap, text_fmt);
	sb_vaddf(&r->text, text_fmt, ap);
	va_end(ap);
}

/* The text format is the tool's own literal; the check is turned off here only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void rp_string(struct report *r, const char *key, const char *text_fmt, const char *value)
{
	if (!value) {
		rp_null(r, key, text_fmt);
		return;
	}
	char *safe = redact_text(value);
	report_json_add(r, key, report_json_bytes(safe, strlen(safe)));
	if (text_fmt) {
		struct strbuf text = STRBUF_INIT;
		report_utf8_text(&text, safe);
		text_printf(r, text_fmt, sb_str(&text));
		sb_release(&text);
	}
	free(safe);
}

void rp_int(struct report *r, const char *key, const char *text_fmt, long long value)
{
	report_json_add(r, key, json_integer(value));
	if (text_fmt)
		text_printf(r, text_fmt, value);
}

void rp_double(struct report *r, const char *key, const char *text_fmt, double value)
{
	report_json_add(r, key, isfinite(value) ? json_real(value) : json_null());
	if (text_fmt)
		text_printf(r, text_fmt, value);
}

void rp_bool(struct report *r, const char *key, const char *text_fmt, bool value)
{
	report_json_add(r, key, json_boolean(value));
	if (text_fmt)
		text_printf(r, text_fmt, value ? "yes" : "no");
}

void rp_null(struct report *r, const char *key, const char *text_fmt)
{
	report_json_add(r, key, json_null());
	if (text_fmt)
		text_printf(r, text_fmt, "-");
}
#pragma GCC diagnostic pop

void rp_bytes(struct report *r, const char *key, const char *text_fmt, const void *data, size_t len)
{
	struct strbuf safe = STRBUF_INIT;
	redact_bytes(&safe, data, len);
	report_json_add(r, key, report_json_bytes(sb_str(&safe), safe.len));
	if (text_fmt) {
		struct strbuf esc = STRBUF_INIT;
		report_text_bytes(&esc, sb_str(&safe), safe.len, ESCAPE_DATA);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		text_printf(r, text_fmt, sb_str(&esc));
#pragma GCC diagnostic pop
		sb_release(&esc);
	}
	sb_release(&safe);
}

void rp_text(struct report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&r->text, fmt, ap);
	va_end(ap);
}

/* ---- binary-safe strings ---- */

/* Appends s with every byte that is not valid UTF-8 written as "\xHH": Nagios and GitHub
 * consumers expect UTF-8 text. Newlines and tabs are kept. */
void report_utf8_text(struct strbuf *sb, const char *s)
{
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t n = utf8_seq_len(p, len - i);
		if (n && (*p >= 0x20 || *p == '\n' || *p == '\t')) {
			sb_add(sb, p, n);
			i += n;
		} else {
			sb_addf(sb, "\\x%02x", *p);
			i++;
		}
	}
}

/* Valid UTF-8 sequences are kept; every other byte becomes the Latin-1 character of the
 * same value, so a name with one bad byte keeps the rest of its characters intact. */
json_t *report_json_bytes(const void *data, size_t len)
{
	json_t *s = json_stringn(data, len);
	if (s)
		return s;
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *p = data;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (n) {
			sb_add(&sb, p + i, n);
			i += n;
			continue;
		}
		sb_addch(&sb, (char)(0xc0 | (p[i] >> 6)));
		sb_addch(&sb, (char)(0x80 | (p[i] & 0x3f)));
		i++;
	}
	s = json_stringn(sb.buf ? sb.buf : "", sb.len);
	sb_release(&sb);
	return s;
}

void report_text_bytes(struct strbuf *sb, const void *data, size_t len, enum text_escape how)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (n > 1) {
			sb_add(sb, p + i, n);
			i += n;
			continue;
		}
		unsigned char c = p[i++];
		if (c == '\n')
			sb_addstr(sb, "\\n");
		else if (c == '\t')
			sb_addstr(sb, "\\t");
		else if (c == '\r')
			sb_addstr(sb, "\\r");
		else if (c == '\\' && how == ESCAPE_DATA)
			sb_addstr(sb, "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			sb_addf(sb, "\\x%02x", c);
		else
			sb_addch(sb, (char)c);
	}
}
