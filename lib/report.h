/*
 * report — one API, every output format (after iproute2's json_print).
 *
 * A tool produces two things:
 *  1. checks: {id, status, subject, message, hint, location, metrics}. Every back end
 *     renders them; the worst status is the exit code (see report_finish()).
 *  2. tool data: fields, objects, arrays and tables added with the rp_* calls. One call
 *     per field: in JSON it becomes a member of the document, in text it is printed with
 *     the given text format (NULL text format = JSON only). Prometheus, Nagios, SARIF and
 *     GitHub render checks and metrics only.
 *
 * Layers: report.c (checks, status, tool data) and report_table.c are the model;
 * report_render.c sits above them with one table of {name, render} back ends, behind
 * report_format_parse(), report_format_name() and report_finish().
 *
 * Contract:
 *  - Nothing is written until report_finish(); the document is rendered in one go, so a
 *    tool may add checks and data in any order and a partial run still prints a whole,
 *    valid document.
 *  - Every string that reaches the output passes through redact_text().
 *  - JSON is stable: {"tool", "version", "format_version": 1, "status", "exit_code",
 *    "checks": [...], <tool data>...}. Keys are only ever added, never renamed.
 *  - Status order for "worst": OK < WARNING < UNKNOWN < CRITICAL. Exit code: 0 OK,
 *    1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 *  - Text: aligned; colour only when the output is a TTY and NO_COLOR is unset.
 */
#ifndef OPSKIT_REPORT_H
#define OPSKIT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

enum status { ST_OK = 0, ST_WARNING = 1, ST_CRITICAL = 2, ST_UNKNOWN = 3 };

enum report_format {
	FMT_TEXT,
	FMT_JSON,
	FMT_PROMETHEUS,
	FMT_NAGIOS,
	FMT_SARIF,
	FMT_GITHUB,
};
#define FMT_MASK_SHARED ((1u << FMT_TEXT) | (1u << FMT_JSON) | (1u << FMT_PROMETHEUS) | (1u << FMT_NAGIOS))
#define FMT_MASK_ALL (FMT_MASK_SHARED | (1u << FMT_SARIF) | (1u << FMT_GITHUB))

/* Returns 0 and sets *out when name is a format in allowed_mask, else -1. */
int report_format_parse(const char *name, unsigned allowed_mask, enum report_format *out);
const char *report_format_name(enum report_format f);
const char *status_name(enum status s);       /* "ok", "warning", ... */
const char *status_label(enum status s);      /* "OK", "WARNING", ... */
enum status status_worst(enum status a, enum status b);
int status_exit_code(enum status s);

struct report;
struct check;

struct report *report_new(const char *tool, const char *version, enum report_format fmt);
void report_free(struct report *r);
enum report_format report_format_of(const struct report *r);
enum status report_status(const struct report *r);
/* Text-mode detail level: quiet hides tool data and OK checks; verbose >0 shows hints. */
void report_set_verbosity(struct report *r, int quiet, int verbose);
/* The text will reach a terminal although the FILE it is rendered to is not one (a screen
 * composed in memory, as --watch does): colour as for a TTY, unless NO_COLOR says no. */
void report_set_terminal(struct report *r, bool terminal);

/* ---- checks ---- */
struct check *report_check(struct report *r, const char *id, enum status st,
			   const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void check_set_status(struct check *c, enum status st);
void check_hint(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_location(struct check *c, const char *file, int line, int column);

/* A perfdata metric. NAN in any threshold field means "not set". uom is a Nagios unit:
 * "", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB" or "c" (counter). The Prometheus
 * name is opskit_<tool>_<name> with the unit already in the name (e.g. "age_seconds"). */
struct thresholds {
	double warn, crit, min, max;
};
#define THRESHOLDS_NONE ((struct thresholds){ __builtin_nan(""), __builtin_nan(""), __builtin_nan(""), __builtin_nan("") })
void check_metric(struct check *c, const char *name, double value, const char *uom,
		  struct thresholds t);

/* ---- tool data (iproute2 style) ---- */
void rp_open_object(struct report *r, const char *key);  /* key NULL inside an array */
void rp_close_object(struct report *r);
void rp_open_array(struct report *r, const char *key);
void rp_close_array(struct report *r);
void rp_string(struct report *r, const char *key, const char *text_fmt, const char *value);
void rp_int(struct report *r, const char *key, const char *text_fmt, long long value);
void rp_double(struct report *r, const char *key, const char *text_fmt, double value);
void rp_bool(struct report *r, const char *key, const char *text_fmt, bool value);
void rp_null(struct report *r, const char *key, const char *text_fmt);
/* Binary-safe string: JSON gets valid UTF-8 with other bytes as \u00XX escapes of
 * Latin-1 ("\xff" -> "\u00ff"); text gets C-style escapes ("\n", "\xff"). */
void rp_bytes(struct report *r, const char *key, const char *text_fmt, const void *data, size_t len);
/* Text only: a heading or free line (ignored in every other format). */
void rp_text(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- tables: aligned columns in text, an array of objects under key in JSON ---- */
enum col_type { COL_STR, COL_INT, COL_DOUBLE, COL_BYTES, COL_DURATION, COL_PERCENT };
struct rp_table;
struct rp_table *rp_table_new(struct report *r, const char *key, const char *title);
/* header NULL = JSON only column. COL_BYTES/COL_DURATION/COL_PERCENT print human forms in
 * text and raw numbers (bytes, seconds, percent) in JSON. Numbers right-aligned. */
void rp_table_col(struct rp_table *t, const char *key, const char *header, enum col_type type);
void rp_table_str(struct rp_table *t, const char *value);  /* NULL -> JSON null, text "-" */
void rp_table_bytes_str(struct rp_table *t, const void *data, size_t len);
void rp_table_int(struct rp_table *t, long long value);
/* value in JSON, text in the text table: a number that reads as a word to people (a
 * limit of 0 that means none: 0 in JSON, "unlimited" in text), as COL_BYTES does. */
void rp_table_int_text(struct rp_table *t, long long value, const char *text);
void rp_table_double(struct rp_table *t, double value);
void rp_table_end(struct rp_table *t); /* renders and frees */

/* Render everything to out. Returns the exit code for the worst status. A run that
 * produced no checks at all is OK. */
int report_finish(struct report *r, FILE *out);

#endif
