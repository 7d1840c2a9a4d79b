#define _GNU_SOURCE
#include "report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "redact.h"

struct table_col {
	char *key;
	char *header;
	enum col_type type;
};

struct cell {
	bool is_null;
	bool is_number;
	double number;
	long long integer;
	bool is_integer;
	struct strbuf bytes;   /* a string, or a number's text (rp_table_int_text) */
};

struct rp_table {
	struct report *r;
	char *key;
	char *title;
	struct table_col *cols;
	size_t ncols;
	struct cell *cells;    /* row-major */
	size_t ncells;
};

struct rp_table *rp_table_new(struct report *r, const char *key, const char *title)
{
	struct rp_table *t = xcalloc(1, sizeof(*t));
	t->r = r;
	t->key = xstrdup(key);
	t->title = title ? xstrdup(title) : NULL;
	return t;
}

void rp_table_col(struct rp_table *t, const char *key, const char *header, enum col_type type)
{
	t->cols = xrealloc(t->cols, sizeof(*t->cols) * (t->ncols + 1));
	t->cols[t->ncols++] = (struct table_col){ xstrdup(key), header ? xstrdup(header) : NULL, type };
}

static struct cell *next_cell(struct rp_table *t)
{
	t->cells = xrealloc(t->cells, sizeof(*t->cells) * (t->ncells + 1));
	struct cell *c = &t->cells[t->ncells++];
	memset(c, 0, sizeof(*c));
	return c;
}

void rp_table_str(struct rp_table *t, const char *value)
{
	if (!value) {
		next_cell(t)->is_null = true;
		return;
	}
	char *safe = redact_text(value);
	sb_addstr(&next_cell(t)->bytes, safe);
	free(safe);
}

void rp_table_bytes_str(struct rp_table *t, const void *data, size_t len)
{
	redact_bytes(&next_cell(t)->bytes, data, len);
}

void rp_table_int(struct rp_table *t, long long value)
{
	struct cell *c = next_cell(t);
	c->is_number = c->is_integer = true;
	c->integer = value;
	c->number = (double)value;
}

void rp_table_int_text(struct rp_table *t, long long value, const char *text)
{
	rp_table_int(t, value);
	char *safe = redact_text(text);
	sb_addstr(&t->cells[t->ncells - 1].bytes, safe);
	free(safe);
}

void rp_table_double(struct rp_table *t, double value)
{
	struct cell *c = next_cell(t);
	if (!isfinite(value)) {
		c->is_null = true;
		return;
	}
	c->is_number = true;
	c->number = value;
}

static json_t *cell_json(const struct cell *c)
{
	if (c->is_null)
		return json_null();
	if (c->is_integer)
		return json_integer(c->integer);
	if (c->is_number)
		return json_real(c->number);
	return report_json_bytes(c->bytes.buf ? c->bytes.buf : "", c->bytes.len);
}

static void cell_text(struct strbuf *sb, const struct cell *c, enum col_type type)
{
	if (c->is_null) {
		sb_addch(sb, '-');
		return;
	}
	if (!c->is_number || c->bytes.len) {
		report_text_bytes(sb, c->bytes.buf ? c->bytes.buf : "", c->bytes.len, ESCAPE_DATA);
		return;
	}
	switch (type) {
	case COL_BYTES: sb_addstr(sb, human_bytes(c->number)); break;
	case COL_DURATION: sb_addstr(sb, human_duration(c->number)); break;
	case COL_PERCENT: sb_addf(sb, "%.1f%%", c->number); break;
	case COL_DOUBLE: sb_addf(sb, "%.2f", c->number); break;
	default:
		if (c->is_integer)
			sb_addf(sb, "%lld", c->integer);
		else
			sb_addf(sb, "%.0f", c->number);
	}
}

/* Display width: counts UTF-8 lead bytes, good enough for alignment of names. */
static size_t text_width(const char *s, size_t len)
{
	size_t w = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* A text cell wider than this (a 16 MiB Redis key name) is cut, ending in "...": the
 * column is padded to its widest cell, so one huge cell would pad every row of the
 * table to its size. JSON keeps the whole value. */
#define TEXT_CELL_MAX 256

static void cut_wide_cell(struct strbuf *sb)
{
	size_t w = 0, i = 0;
	for (; i < sb->len; i++)
		if (((unsigned char)sb->buf[i] & 0xc0) != 0x80 && ++w > TEXT_CELL_MAX)
			break;
	if (i == sb->len)
		return;
	sb->len = i;
	sb->buf[i] = '\0';
	sb_addstr(sb, "...");
}

static void render_table_text(struct rp_table *t, size_t nrows)
{
	struct strbuf *out = &t->r->text;
	struct strbuf *texts = xcalloc(t->ncells + t->ncols, sizeof(*texts));
	size_t *width = xcalloc(t->ncols, sizeof(*width));
	for (size_t j = 0; j < t->ncols; j++) {
		if (t->cols[j].header)
			sb_addstr(&texts[t->ncells + j], t->cols[j].header);
		width[j] = text_width(sb_str(&texts[t->ncells + j]), texts[t->ncells + j].len);
	}
	for (size_t i = 0; i < t->ncells; i++) {
		size_t j = i % t->ncols;
		cell_text(&texts[i], &t->cells[i], t->cols[j].type);
		cut_wide_cell(&texts[i]);
		size_t w = text_width(sb_str(&texts[i]), texts[i].len);
		if (w > width[j])
			width[j] = w;
	}
	if (t->title)
		sb_addf(out, "%s\n", t->title);
	for (size_t row = 0; row <= nrows; row++) {
		/* row 0 is the header line */
		bool first = true;
		for (size_t j = 0; j < t->ncols; j++) {
			if (!t->cols[j].header)
				continue;
			struct strbuf *cell = row == 0 ? &texts[t->ncells + j] : &texts[(row - 1) * t->ncols + j];
			size_t pad = width[j] - text_width(sb_str(cell), cell->len);
			bool right = t->cols[j].type != COL_STR;
			sb_addstr(out, first ? "  " : "  ");
			first = false;
			if (right)
				sb_addpad(out, ' ', pad);
			sb_add(out, sb_str(cell), cell->len);
			if (!right && j + 1 < t->ncols)
				sb_addpad(out, ' ', pad);
		}
		/* trim trailing blanks of the row */
		while (out->len && out->buf[out->len - 1] == ' ')
			out->buf[--out->len] = '\0';
		sb_addch(out, '\n');
	}
	sb_addch(out, '\n');
	for (size_t i = 0; i < t->ncells + t->ncols; i++)
		sb_release(&texts[i]);
	free(texts);
	free(width);
}

void rp_table_end(struct rp_table *t)
{
	size_t nrows = t->ncols ? t->ncells / t->ncols : 0;
	if (t->ncols && t->ncells % t->ncols)
		die(3, "internal error: table %s has a partial row", t->key);
	json_t *arr = json_array();
	for (size_t row = 0; row < nrows; row++) {
		json_t *obj = json_object();
		for (size_t j = 0; j < t->ncols; j++)
			json_object_set_new(obj, t->cols[j].key, cell_json(&t->cells[row * t->ncols + j]));
		json_array_append_new(arr, obj);
	}
	report_json_add(t->r, t->key, arr);
	if (t->r->fmt == FMT_TEXT && nrows)
		render_table_text(t, nrows);
	for (size_t i = 0; i < t->ncells; i++)
		sb_release(&t->cells[i].bytes);
	for (size_t j = 0; j < t->ncols; j++) {
		free(t->cols[j].key);
		free(t->cols[j].header);
	}
	free(t->cells);
	free(t->cols);
	free(t->key);
	free(t->title);
	free(t);
}
