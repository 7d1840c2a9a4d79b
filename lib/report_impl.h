/*
 * report_impl — the report's internal state, shared by report.c and report_table.c (the
 * model: building checks and tool data) and report_render.c (the back ends, one layer
 * up: a table of {name, render} that report_finish() and the format names use).
 * The model never calls a renderer. Not for tools: they use report.h.
 */
#ifndef OPSKIT_REPORT_IMPL_H
#define OPSKIT_REPORT_IMPL_H

#include <jansson.h>

#include "report.h"
#include "util.h"

struct metric {
	char *name;
	double value;
	char *uom;
	struct thresholds t;
};

struct check {
	char *id;
	enum status status;
	char *subject;
	char *message;
	char *hint;
	char *file;
	int line, column;
	struct metric *metrics;
	size_t nmetrics;
	size_t order;
};

#define REPORT_MAX_DEPTH 32

struct report {
	char *tool;
	char *version;
	enum report_format fmt;
	int quiet, verbose;
	bool terminal;                      /* output reaches a terminal (report_set_terminal) */
	struct check **checks;
	size_t nchecks;
	json_t *data;                       /* tool data, an object */
	json_t *stack[REPORT_MAX_DEPTH];    /* open containers, stack[0] = data */
	int depth;
	struct strbuf text;                 /* text-mode body */
};

/* Adds v (stolen) under key to the innermost open container. */
void report_json_add(struct report *r, const char *key, json_t *v);
/* A JSON string for arbitrary bytes: UTF-8 kept, otherwise decoded as Latin-1. */
json_t *report_json_bytes(const void *data, size_t len);
/* Text form of arbitrary bytes with C-style escapes for controls and invalid UTF-8.
 * Data (key names, values) escapes the backslash too, so "a\\nb" and a real newline
 * differ; prose (check messages, which tools already escape where they quote values)
 * keeps its backslashes, or an escape a tool wrote would show doubled. */
enum text_escape { ESCAPE_DATA, ESCAPE_PROSE };
void report_text_bytes(struct strbuf *sb, const void *data, size_t len, enum text_escape how);
/* Appends s, writing bytes that are not valid UTF-8 (and controls other than newline and
 * tab) as "\xHH". */
void report_utf8_text(struct strbuf *sb, const char *s);
/* Checks sorted worst first, stable. Caller frees the array (not the checks). */
struct check **report_sorted_checks(const struct report *r);


#endif
