/*
 * mask: the one owner of masking. mask_source() runs right after a source is parsed —
 * an env file (env_file_load), a committed version of one (the history checks), a
 * compose service's environment: entries — and registers every secret text of it
 * before any check or output can quote it, so whether a value is masked never depends
 * on which check runs first, or whether one runs at all (print, compare, env).
 * A value is secret when is_secret_value() says so (schema secret: true,
 * envcheck.secret_patterns, a secret-looking name unless the value is a path, a pasted
 * service account, a value taken from the checker's environment) or when it holds a
 * credential format (secret_rules.c), whatever its key. The same rule is applied to what
 * other views of the file show: the values the other dialects load (the portability
 * check quotes them; print and compare never run it, and skip that parse), the lines of a quote the loader did not close (the rest of a
 * value, often a private key), and the NAME VALUE pairs of a line the loader did not
 * read as written (DB_PASSWORD hunter2: a loader may take it for a key).
 * A secret a check derives later (a decoded credential, an issuer's access token) does
 * not exist at parse time: the check registers it with mask_derived() where it is made.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "envcheck.h"
#include "lint.h"
#include "redact.h"
#include "secret_rules.h"
#include "util.h"

/* Words of a line not read as written that are tried as a NAME (export, declare -x,
 * then the name): a line of a million words is a value, not a statement. */
#define MAX_WORDS_TRIED 8

static bool value_is_masked(const struct dotenv_entry *e, const struct envcheck_opts *o)
{
	return e->value && (is_secret_value(e->key, e->value, o) || credential_kind(e, o));
}

/* A value may hold a NUL (a raw byte in the file), and every output masks it with
 * redact_bytes(), piece by NUL-separated piece, where a secret registered whole would
 * match no piece: so such a value is secret when any piece is (a token after "abc\0"),
 * and then each piece is registered. */
static void mask_value(const struct dotenv_entry *e, const struct envcheck_opts *o, bool secret)
{
	if (!e->value)
		return;
	for (size_t at = 0; !secret && at <= e->value_len;) {
		struct dotenv_entry piece = *e;
		piece.value = e->value + at;
		piece.value_len = strnlen(piece.value, e->value_len - at);
		secret = value_is_masked(&piece, o);
		at += piece.value_len + 1;
	}
	for (size_t at = 0; secret && at <= e->value_len;) {
		char *piece = xstrndup(e->value + at, e->value_len - at);
		redact_add_secret(piece);
		at += strlen(piece) + 1;
		free(piece);
	}
}

static void mask_entries(const struct dotenv_result *res, const struct envcheck_opts *o)
{
	/* a value taken from the checker's environment (X=${CI_TOKEN}) makes its key secret */
	for (size_t i = 0; i < res->n; i++) {
		const struct dotenv_entry *e = &res->entries[i];
		if (e->from_env && e->value)
			mark_secret_key(e->key);
	}
	for (size_t i = 0; i < res->n; i++)
		mask_value(&res->entries[i], o, false);
}

/* Whether the chosen dialect loaded e just so (key, value, where it came from): most
 * lines read alike in every dialect, and judging them again would triple the cost. */
static bool same_as_loaded(const struct dotenv_result *loaded, const struct dotenv_entry *e)
{
	const struct dotenv_entry *mine = dotenv_lookup(loaded, e->key);
	return mine && mine->value && e->value && mine->from_env == e->from_env &&
	       mine->value_len == e->value_len && !memcmp(mine->value, e->value, e->value_len);
}

/* The values the portable dialects other than the chosen one load. */
static void mask_other_dialects(const struct env_file *f, const struct envcheck_opts *o)
{
	if (!o->shows_other_dialects || (int)o->dialect >= ENV_PORTABLE_DIALECTS)
		return; /* print and compare show the chosen dialect's values alone */
	for (int d = 0; d < ENV_PORTABLE_DIALECTS; d++) {
		if (d == (int)o->dialect)
			continue;
		struct dotenv_options dopts;
		dotenv_options_init(&dopts, (enum dotenv_dialect)d);
		dopts.expand = o->expand;
		if (o->lookup) {
			dopts.lookup = o->lookup;
			dopts.lookup_ctx = o->lookup_ctx;
		}
		struct dotenv_result other;
		dotenv_parse(f->buf, f->len, &dopts, &other);
		for (size_t i = 0; i < other.n; i++) {
			const struct dotenv_entry *e = &other.entries[i];
			if (!same_as_loaded(&f->res, e)) /* else judged already, by mask_entries */
				mask_value(e, o, e->from_env);
		}
		dotenv_result_free(&other);
	}
}

static void mask_text(const char *s, size_t len)
{
	char *text = xstrndup(s, len);
	redact_add_secret(text);
	free(text);
}

/* NAME and the VALUE after it, as written: [name, name_end) and [v, end) of s; the
 * value without its blanks and one pair of quotes (an unclosed one: its opening). */
static void judge_pair(const char *s, size_t name, size_t name_end, size_t v, size_t end,
		       const struct envcheck_opts *o)
{
	while (v < end && (s[v] == ' ' || s[v] == '\t'))
		v++;
	while (end > v && (s[end - 1] == ' ' || s[end - 1] == '\t'))
		end--;
	if (v < end && (s[v] == '"' || s[v] == '\'' || s[v] == '`')) {
		if (end - v > 1 && s[end - 1] == s[v])
			end--;
		v++;
	}
	if (v >= end || name_end == name)
		return;
	char *key = xstrndup(s + name, name_end - name);
	char *value = xstrndup(s + v, end - v);
	struct dotenv_entry e = { .key = key, .value = value, .value_len = end - v };
	if (value_is_masked(&e, o))
		redact_add_secret(value);
	free(key);
	free(value);
}

/* Each of the first words of a line as a NAME: its value is what follows its = (a word
 * that has one) or the rest of the line (DB_PASSWORD hunter2, declare -x TOKEN abc). */
static void judge_line(const char *s, const struct lint_line *l, const struct envcheck_opts *o)
{
	size_t w = l->start;
	for (int tried = 0; tried < MAX_WORDS_TRIED; tried++) {
		while (w < l->end && (s[w] == ' ' || s[w] == '\t'))
			w++;
		if (w >= l->end)
			return;
		size_t e = w;
		while (e < l->end && s[e] != ' ' && s[e] != '\t' && s[e] != '=')
			e++;
		size_t name_end = e > w && s[e - 1] == ':' ? e - 1 : e; /* KEY: value */
		if (e < l->end && s[e] == '=') {
			judge_pair(s, w, name_end, e + 1, l->end, o);
			return; /* what follows is the value, not names */
		}
		judge_pair(s, w, name_end, e, l->end, o);
		w = e;
	}
}

enum line_reading { LINE_NOT_READ, LINE_READ_AS_WRITTEN, LINE_IN_GARBLED_ENTRY };

/* How the loader read each line (indexed by line number; caller frees): as written when
 * an entry starts there under the key the line model reads (an unquoted KEY: is KEY);
 * garbled when an entry's key is not that (node --env-file reads a key across lines up
 * to the next =): every line of such an entry is judged, continuations too. */
static unsigned char *line_readings(const struct env_file *f, const struct lint_line *lines, size_t n)
{
	unsigned char *how = xcalloc(n + 1, 1);
	for (size_t i = 0; i < f->res.n; i++) {
		const struct dotenv_entry *e = &f->res.entries[i];
		if (e->line < 1 || (size_t)e->line > n)
			continue;
		const struct lint_line *l = &lines[e->line - 1];
		size_t klen = l->key_len;
		if (klen && f->buf[l->key + klen - 1] == ':')
			klen--;
		if (!l->continuation && strlen(e->key) == klen && !memcmp(e->key, f->buf + l->key, klen)) {
			how[e->line] = LINE_READ_AS_WRITTEN;
			continue;
		}
		for (size_t k = (size_t)e->line; k <= n && (k == (size_t)e->line || (int)k <= e->end_line); k++)
			if (how[k] == LINE_NOT_READ)
				how[k] = LINE_IN_GARBLED_ENTRY;
	}
	return how;
}

static void mask_lines(const struct env_file *f, const struct envcheck_opts *o)
{
	struct lint_line *lines;
	size_t n;
	lint_lines(f, &lines, &n);
	unsigned char *how = line_readings(f, lines, n);
	for (size_t i = 0; i < n; i++) {
		const struct lint_line *l = &lines[i];
		if (l->unclosed)
			mask_text(f->buf + l->start, l->end - l->start);
		else if (how[l->no] == LINE_IN_GARBLED_ENTRY ||
			 (how[l->no] == LINE_NOT_READ && !l->continuation && !l->blank && !l->comment))
			judge_line(f->buf, l, o);
	}
	free(how);
	free(lines);
}

void mask_source(const struct env_file *f, const struct envcheck_opts *o)
{
	mask_entries(&f->res, o);
	if (!f->buf)
		return;
	mask_other_dialects(f, o);
	mask_lines(f, o);
}

void mask_derived(const char *secret)
{
	redact_add_secret(secret);
}
