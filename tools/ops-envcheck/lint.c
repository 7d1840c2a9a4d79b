/*
 * lint: dotenv-linter's checks on the lines as written, the loader's own diagnostics
 * for the chosen dialect, and the portability check (the same line loads differently
 * in another dialect).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "envcheck.h"
#include "lint.h"
#include "util.h"

/* ---- loader diagnostics ---- */

void lint_diagnostics(struct report *r, const struct env_file *f)
{
	for (size_t i = 0; i < f->res.ndiags; i++) {
		const struct dotenv_diag *d = &f->res.diags[i];
		static const struct {
			const char *id;
			enum status st;
			const char *hint;
		} kinds[] = {
			[DOTENV_SKIPPED] = { "skipped-line", ST_WARNING,
					     "the loader ignores this line: write it as KEY=value or remove it" },
			[DOTENV_NOT_RUN] = { "command-not-run", ST_WARNING,
					     "env files should hold data, not commands: put the literal value here" },
			[DOTENV_UNSET_VAR] = { "unset-variable", ST_WARNING,
					       "define the variable earlier in the file, or give a default: ${VAR:-default}" },
			[DOTENV_FATAL] = { "loader-refuses", ST_CRITICAL,
					   "fix this line: the loader stops here and the service starts without the file" },
		};
		struct check *c = ec_report(r, kinds[d->kind].id, kinds[d->kind].st, f->path, "%s:%d: %s",
					       f->path, d->line, d->message);
		ec_location(c, f->path, d->line, d->column);
		check_hint(c, "%s", kinds[d->kind].hint);
	}
}

/* ---- line model ---- */

/* Whether q closes a quote in s[from, to): a backslash escapes the next byte in "..." */
static bool closes_quote(const char *s, size_t from, size_t to, char q)
{
	for (size_t i = from; i < to; i++) {
		if (q == '"' && s[i] == '\\')
			i++;
		else if (s[i] == q)
			return true;
	}
	return false;
}

/* A quote opened after = and not closed on its line, where the loader did not load a
 * multi-line value (it refused or skipped the line): the lines up to the closing quote
 * are the rest of the value, often a private key. They are not statements: linting them
 * would quote their text (the secret) as a "key", and a loader that reads them as bare
 * keys (python) would show them in any output: they are marked unclosed, and mask.c
 * masks them. The region ends at the closing quote or at the next line the loader
 * loads a value from. */
static void mark_unclosed_quotes(const struct env_file *f, struct lint_line *lines, size_t n)
{
	const char *s = f->buf;
	bool *loaded = xcalloc(n + 2, sizeof(bool)), *in_value = xcalloc(n + 2, sizeof(bool));
	for (size_t i = 0; i < f->res.n; i++) {
		const struct dotenv_entry *e = &f->res.entries[i];
		if (e->value && e->line >= 1 && (size_t)e->line <= n)
			loaded[e->line] = true;
		/* a key read across lines (node --env-file) is no value: its lines may open one */
		for (int k = e->line + 1; e->value && k >= 2 && k <= e->end_line && (size_t)k <= n; k++)
			in_value[k] = lines[k - 1].start >= e->value_start;
	}
	for (size_t i = 0; i < n; i++) {
		const struct lint_line *l = &lines[i];
		size_t v = l->start;
		while (v < l->end && (s[v] == ' ' || s[v] == '\t'))
			v++;
		const char *eq = memchr(s + v, '=', l->end - v);
		/* the loader read a multi-line value from here: its lines are marked already */
		if (in_value[l->no] || l->unclosed || v == l->end || s[v] == '#' || !eq ||
		    (i + 1 < n && in_value[lines[i + 1].no]))
			continue;
		v = (size_t)(eq - s) + 1;
		while (v < l->end && (s[v] == ' ' || s[v] == '\t'))
			v++;
		if (v >= l->end || (s[v] != '"' && s[v] != '\'' && s[v] != '`') || closes_quote(s, v + 1, l->end, s[v]))
			continue;
		for (size_t k = i + 1; k < n && !loaded[k + 1]; k++) {
			lines[k].continuation = true;
			lines[k].unclosed = true;
			if (closes_quote(s, lines[k].start, lines[k].end, s[v])) {
				i = k;
				break;
			}
		}
	}
	free(loaded);
	free(in_value);
}

static void split_lines(const struct env_file *f, struct lint_line **out, size_t *n)
{
	size_t alloc = 64, cnt = 0;
	struct lint_line *lines = xmalloc(alloc * sizeof(*lines));
	for (size_t off = 0; off < f->len || (off == f->len && cnt == 0 && f->len);) {
		const char *nl = memchr(f->buf + off, '\n', f->len - off);
		size_t end = nl ? (size_t)(nl - f->buf) : f->len;
		if (cnt == alloc)
			lines = xrealloc(lines, (alloc *= 2) * sizeof(*lines));
		struct lint_line *l = &lines[cnt++];
		memset(l, 0, sizeof(*l));
		l->start = off;
		l->end = end;
		l->crlf = end > off && f->buf[end - 1] == '\r';
		if (l->crlf)
			l->end--;
		l->no = (int)cnt;
		if (!nl)
			break;
		off = end + 1;
	}
	/* lines inside a multi-line value are not statements */
	for (size_t i = 0; i < f->res.n; i++)
		for (int k = f->res.entries[i].line + 1; k <= f->res.entries[i].end_line && k <= (int)cnt; k++)
			lines[k - 1].continuation = true;
	mark_unclosed_quotes(f, lines, cnt);
	*out = lines;
	*n = cnt;
}

/* Parses one physical line as dotenv-linter sees it. */
static void parse_line(const char *s, struct lint_line *l)
{
	size_t i = l->start;
	if (l->no == 1 && l->end - i >= 3 && !memcmp(s + i, "\xef\xbb\xbf", 3)) {
		l->bom = true;
		i += 3;
	}
	while (i < l->end && (s[i] == ' ' || s[i] == '\t'))
		i++;
	l->indent = i - l->start;
	if (i == l->end) {
		l->blank = true;
		return;
	}
	if (s[i] == '#') {
		l->comment = true;
		return;
	}
	/* "export" and a blank (a tab too: bash and compose read export<TAB>KEY=v) */
	if (l->end - i > 7 && !memcmp(s + i, "export", 6) && (s[i + 6] == ' ' || s[i + 6] == '\t')) {
		i += 7;
		while (i < l->end && (s[i] == ' ' || s[i] == '\t'))
			i++;
	}
	l->key = i;
	const char *eq = memchr(s + i, '=', l->end - i);
	l->has_eq = eq != NULL;
	size_t key_end = eq ? (size_t)(eq - s) : l->end;
	/* without =, the key is the first word: the rest may be a value written without
	 * = (DB_PASSWORD hunter2), which findings must not quote */
	if (!eq)
		for (size_t k = i; k < key_end; k++)
			if (s[k] == ' ' || s[k] == '\t' || s[k] == '\0') {
				key_end = k;
				break;
			}
	l->key_len = key_end - i;
	while (l->key_len && (s[i + l->key_len - 1] == ' ' || s[i + l->key_len - 1] == '\t'))
		l->key_len--;
	l->space_before_eq = eq && l->key_len < key_end - i;
	if (!eq)
		return;
	l->value = key_end + 1;
	l->space_after_eq = l->value < l->end && (s[l->value] == ' ' || s[l->value] == '\t');
}

void lint_lines(const struct env_file *f, struct lint_line **out, size_t *n)
{
	split_lines(f, out, n);
	for (size_t i = 0; i < *n; i++)
		if (!(*out)[i].continuation)
			parse_line(f->buf, &(*out)[i]);
}

static struct check *finding(struct report *r, const struct env_file *f, const struct lint_line *l,
			     size_t at, const char *id, const char *hint, const char *fmt, ...)
	PRINTF_LIKE(7, 8);

static struct check *finding(struct report *r, const struct env_file *f, const struct lint_line *l,
			     size_t at, const char *id, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	struct check *c = ec_report(r, id, ST_WARNING, f->path, "%s:%d: %s", f->path, l->no, msg);
	free(msg);
	ec_location(c, f->path, l->no, (int)(at >= l->start ? at - l->start : 0) + 1);
	if (hint)
		check_hint(c, "%s", hint);
	return c;
}

static bool value_is_quoted(const char *s, const struct lint_line *l, size_t *v)
{
	*v = l->value;
	while (*v < l->end && (s[*v] == ' ' || s[*v] == '\t'))
		(*v)++;
	return *v < l->end && (s[*v] == '"' || s[*v] == '\'');
}

/* An unquoted value without its " #" comment, and whether it holds blanks. */
static bool unquoted_has_blank(const char *s, const struct lint_line *l, size_t v)
{
	size_t end = l->end;
	for (size_t i = v; i + 1 < end; i++)
		if ((s[i] == ' ' || s[i] == '\t') && s[i + 1] == '#') {
			end = i;
			break;
		}
	while (end > v && (s[end - 1] == ' ' || s[end - 1] == '\t'))
		end--;
	for (size_t i = v; i < end; i++)
		if (s[i] == ' ' || s[i] == '\t')
			return true;
	return false;
}

/* Quotes that change nothing in any dialect: no blank, #, $, quote or backslash inside. */
static bool quotes_unneeded(const char *s, const struct lint_line *l, size_t v)
{
	char q = s[v];
	size_t close = v + 1;
	while (close < l->end && s[close] != q)
		close++;
	if (close >= l->end || close == v + 1)
		return false;
	for (size_t i = v + 1; i < close; i++)
		if (strchr(" \t#$'\"\\`=", s[i]))
			return false;
	for (size_t i = close + 1; i < l->end; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

static void check_substitutions(struct report *r, const struct env_file *f, const struct lint_line *l, size_t v)
{
	const char *s = f->buf;
	if (v < l->end && s[v] == '\'')
		return;
	for (size_t i = v; i + 1 < l->end; i++) {
		if (s[i] != '$' || s[i + 1] != '{')
			continue;
		size_t j = i + 2;
		while (j < l->end && shell_name_char(s[j]))
			j++;
		bool named = j > i + 2;
		bool closed = memchr(s + j, '}', l->end - j) != NULL;
		if (!named || !closed)
			finding(r, f, l, i, "substitution-key", "write ${NAME} with a closing brace",
				"the substitution %s", !named ? "has no variable name" : "is not closed with }");
	}
}

static void check_key(struct report *r, const struct env_file *f, const struct lint_line *l)
{
	const char *s = f->buf;
	const char *k = s + l->key;
	int klen = (int)l->key_len;
	if (!klen)
		return;
	if (!shell_name_start(k[0]))
		finding(r, f, l, l->key, "leading-character", "start the key with a letter or _",
			"key %.*s%s starts with an invalid character", KEY_SHOWN(k, klen));
	bool lower = false, bad = false;
	for (int i = 0; i < klen; i++) {
		lower |= islower((unsigned char)k[i]) != 0;
		bad |= i > 0 && !shell_name_char(k[i]);
	}
	if (lower)
		finding(r, f, l, l->key, "lowercase-key", "use upper case: most loaders and shells expect it",
			"key %.*s%s has lower-case letters", KEY_SHOWN(k, klen));
	if (bad)
		finding(r, f, l, l->key, "incorrect-delimiter", "use _ between words: - and . are not portable",
			"key %.*s%s has a character other than A-Z, 0-9 and _", KEY_SHOWN(k, klen));
}

static void check_line(struct report *r, const struct env_file *f, const struct lint_line *l)
{
	const char *s = f->buf;
	if (l->end > l->start && (s[l->end - 1] == ' ' || s[l->end - 1] == '\t'))
		finding(r, f, l, l->end - 1, "trailing-whitespace", "remove the blanks at the end of the line",
			"line has trailing whitespace");
	if (l->bom) /* invisible in a message that quoted the key */
		finding(r, f, l, l->start, "leading-character", "save the file as UTF-8 without a byte order mark",
			"the file starts with a UTF-8 byte order mark: python-dotenv and bash read it as part of "
			"the first key");
	if (l->blank || l->comment)
		return;
	check_key(r, f, l);
	if (!l->has_eq) {
		finding(r, f, l, l->key, "key-without-value",
			"write KEY= for an empty value; loaders disagree about a bare KEY",
			"key %.*s%s has no = and no value", KEY_SHOWN(s + l->key, l->key_len));
		return;
	}
	if (l->space_before_eq || l->space_after_eq)
		finding(r, f, l, l->key + l->key_len, "space-character", "remove the blanks around =",
			"blanks around = (compose and python strip them, bash runs a command)");
	size_t v;
	if (value_is_quoted(s, l, &v)) {
		if (quotes_unneeded(s, l, v))
			finding(r, f, l, v, "quote-character", "the quotes are not needed: remove them",
				"the value is quoted but needs no quotes");
	} else if (unquoted_has_blank(s, l, v)) {
		finding(r, f, l, v, "value-without-quotes", "quote the value: KEY=\"a b\"",
			"an unquoted value with blanks (bash runs the second word as a command)");
	}
	check_substitutions(r, f, l, v);
}

static void check_blank_lines(struct report *r, const struct env_file *f, struct lint_line *lines, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (lines[i].blank && lines[i - 1].blank && !lines[i].continuation && !(i + 1 == n && lines[i].start == f->len))
			finding(r, f, &lines[i], lines[i].start, "extra-blank-line", "remove the extra blank line",
				"two blank lines in a row");
	if (f->len && f->buf[f->len - 1] != '\n')
		finding(r, f, &lines[n - 1], lines[n - 1].end, "ending-blank-line",
			"end the file with a line break", "no line break at the end of the file");
}

static void check_duplicates_and_order(struct report *r, const struct env_file *f, const struct lint_line *lines,
				       size_t n)
{
	for (size_t i = 0; i < f->res.n; i++) {
		const struct dotenv_entry *e = &f->res.entries[i];
		if (e->first)
			continue;
		const struct dotenv_entry *first = e;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(f->res.entries[j].key, e->key)) {
				first = &f->res.entries[j];
				break;
			}
		struct check *c = ec_report(r, "duplicated-key", ST_WARNING, f->path,
					       "%s:%d: key %s is defined again (first on line %d)", f->path,
					       e->line, e->key, first->line);
		ec_location(c, f->path, e->line, e->column);
		check_hint(c, "keep one definition: every loader keeps the last one, line %d", e->line);
	}
	const char *prev = NULL;
	size_t prev_len = 0;
	for (size_t i = 0; i < n; i++) {
		const struct lint_line *l = &lines[i];
		if (l->continuation)
			continue;
		if (l->blank || l->comment || !l->key_len) {
			prev = NULL;
			continue;
		}
		const char *k = f->buf + l->key;
		if (prev) {
			size_t m = prev_len < l->key_len ? prev_len : l->key_len;
			int cmp = strncmp(k, prev, m);
			if (cmp < 0 || (cmp == 0 && l->key_len < prev_len))
				finding(r, f, l, l->key, "unordered-key", "sort the keys of this group alphabetically",
					"key %.*s%s should go before %.*s%s", KEY_SHOWN(k, l->key_len), KEY_SHOWN(prev, prev_len));
		}
		prev = k;
		prev_len = l->key_len;
	}
}

bool lint_encoding(struct report *r, const struct env_file *f)
{
	const unsigned char *s = (const unsigned char *)f->buf;
	size_t n = f->len, nuls = 0;
	for (size_t i = 0; i < n && i < 512; i++)
		nuls += !s[i];
	bool bom16 = n >= 2 && ((s[0] == 0xff && s[1] == 0xfe) || (s[0] == 0xfe && s[1] == 0xff));
	if (bom16 || (n >= 4 && nuls * 4 >= (n < 512 ? n : 512))) {
		struct check *c = ec_report(r, "file-encoding", ST_CRITICAL, f->path, "%s is UTF-16%s: every loader "
					    "reads it as bytes, and no key loads as written", f->path,
					    bom16 ? (s[0] == 0xff ? " (little-endian)" : " (big-endian)") : "");
		ec_location(c, f->path, 1, 1);
		check_hint(c, "save it as UTF-8: iconv -f UTF-16 -t UTF-8 %s > %s.utf8 && mv %s.utf8 %s", f->path, f->path,
			   f->path, f->path);
		return true;
	}
	int line = 1;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(s + i, n - i);
		if (!l) {
			struct check *c = ec_report(r, "file-encoding", ST_WARNING, f->path, "%s:%d: %s is not UTF-8 "
						    "(Latin-1 or Windows-1252?): loaders disagree about such bytes",
						    f->path, line, f->path);
			ec_location(c, f->path, line, 1);
			check_hint(c, "save it as UTF-8: iconv -f latin1 -t UTF-8");
			return false;
		}
		line += s[i] == '\n';
		i += l;
	}
	return false;
}

static void check_crlf(struct report *r, const struct env_file *f, const struct lint_line *lines, size_t n)
{
	size_t crlf = 0, first = 0;
	for (size_t i = 0; i < n; i++)
		if (lines[i].crlf && !crlf++)
			first = i;
	if (!crlf)
		return;
	finding(r, f, &lines[first], lines[first].end, "crlf-line-ending", "convert the file to LF line ends: "
		"ops-envcheck --fix (or dos2unix)", "%zu line%s end%s in CRLF (bash and docker keep the \\r in values)",
		crlf, crlf > 1 ? "s" : "", crlf > 1 ? "" : "s");
}

void lint_style(struct report *r, const struct env_file *f, const struct envcheck_opts *o)
{
	(void)o;
	struct lint_line *lines;
	size_t n;
	lint_lines(f, &lines, &n);
	size_t before = 0;
	for (size_t i = 0; i < n; i++)
		if (!lines[i].continuation)
			check_line(r, f, &lines[i]);
	if (n)
		check_blank_lines(r, f, lines, n);
	check_duplicates_and_order(r, f, lines, n);
	check_crlf(r, f, lines, n);
	(void)before;
	free(lines);
}
