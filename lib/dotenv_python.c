/*
 * dotenv dialect "python": python-dotenv 0.21's parser.py and variables.py, as
 * dotenv_values() runs them (interpolation on, the file's values over os.environ).
 * The text has universal newlines already, so '\n' is the only line break here.
 */
#include <stdlib.h>
#include <string.h>

#include "dotenv_impl.h"

struct py {
	struct dotenv_parser *p;
	size_t pos;
};

static bool at(const struct py *x, size_t off, char c)
{
	return off < x->p->n && x->p->s[off] == c;
}

/* [^\S\r\n]* : blanks, not line breaks */
static size_t skip_blank(const struct py *x, size_t off)
{
	return dp_skip_ws(x->p, off, WS_PY, false);
}

/* [^=\#\s]+ */
static size_t unquoted_key_end(const struct py *x, size_t off)
{
	const char *s = x->p->s, *end = s + x->p->n;
	while (off < x->p->n && s[off] != '=' && s[off] != '#' && !dp_ws_len(s + off, end, WS_PY))
		off++;
	return off;
}

/*
 * '((?:\\'|[^'])*)' with the regex engine's backtracking: the value closes at the
 * first quote not preceded by a backslash; when there is none, at the last escaped
 * quote. Returns the offset of the closing quote or (size_t)-1.
 */
static size_t quoted_close(const struct py *x, size_t open)
{
	const char *s = x->p->s;
	char q = s[open];
	size_t last_escaped = (size_t)-1;
	for (size_t i = open + 1; i < x->p->n; i++) {
		if (s[i] == '\\' && i + 1 < x->p->n && s[i + 1] == q) {
			last_escaped = i + 1;
			i++;
		} else if (s[i] == q) {
			return i;
		}
	}
	return last_escaped;
}

/* decode_escapes(): \\ \' (single) or \\ \' \" \a \b \f \n \r \t \v (double). */
static void decode_escapes(struct strbuf *out, const char *v, size_t len, char quote)
{
	static const char from[] = "\\'\"abfnrtv", to[] = "\\'\"\a\b\f\n\r\t\v";
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len) {
			const char *hit = v[i + 1] ? strchr(from, v[i + 1]) : NULL;
			if (hit && (quote == '"' || hit - from < 2)) {
				sb_addch(out, to[hit - from]);
				i++;
				continue;
			}
		}
		sb_addch(out, v[i]);
	}
}

/* Unquoted: the rest of the line, cut at the first "\s+#", right-stripped. */
static void unquoted_value(struct py *x, struct strbuf *out, size_t *vend)
{
	const char *s = x->p->s, *end = s + x->p->n;
	size_t eol = x->pos;
	while (eol < x->p->n && s[eol] != '\n')
		eol++;
	size_t cut = eol;
	for (size_t i = x->pos; i < eol;) {
		size_t w = dp_ws_len(s + i, end, WS_PY);
		if (!w) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < eol && (w = dp_ws_len(s + j, end, WS_PY)))
			j += w;
		if (j < eol && s[j] == '#') {
			cut = i;
			break;
		}
		i = j;
	}
	/* rstrip(): trailing whitespace code points */
	size_t keep = x->pos;
	for (size_t i = x->pos; i < cut;) {
		size_t w = dp_ws_len(s + i, end, WS_PY);
		i += w ? w : 1;
		if (!w)
			keep = i;
	}
	sb_add(out, s + x->pos, keep - x->pos);
	*vend = eol;
	x->pos = eol;
}

/* Returns 0, or -1 when the regex would not match (a skipped statement). */
static int parse_value(struct py *x, struct strbuf *out, struct dp_span *sp)
{
	const char *s = x->p->s;
	sp->vstart = x->pos;
	if (at(x, x->pos, '\'') || at(x, x->pos, '"')) {
		size_t close = quoted_close(x, x->pos);
		if (close == (size_t)-1)
			return -1;
		sp->quote = s[x->pos];
		decode_escapes(out, s + x->pos + 1, close - x->pos - 1, sp->quote);
		x->pos = close + 1;
		sp->vend = x->pos;
		return 0;
	}
	if (x->pos >= x->p->n || s[x->pos] == '\n') {
		sp->vend = x->pos;
		return 0;
	}
	unquoted_value(x, out, &sp->vend);
	return 0;
}

/* ${name} and ${name:-default}: name [^}:]*, default [^}]*; everything else literal. */
static void interpolate(struct dotenv_parser *p, struct strbuf *v)
{
	if (!v->buf || !memchr(v->buf, '$', v->len))
		return;
	struct strbuf out = STRBUF_INIT;
	const char *s = v->buf;
	for (size_t i = 0; i < v->len;) {
		if (s[i] == '$' && i + 1 < v->len && s[i + 1] == '{') {
			size_t name = i + 2, j = name;
			while (j < v->len && s[j] != '}' && s[j] != ':')
				j++;
			size_t name_len = j - name, def = 0, def_len = 0;
			bool has_def = false;
			if (j + 1 < v->len && s[j] == ':' && s[j + 1] == '-') {
				def = j + 2;
				for (j = def; j < v->len && s[j] != '}'; j++)
					;
				def_len = j - def;
				has_def = true;
			}
			if (j < v->len && s[j] == '}') {
				bool found;
				const char *val = dp_var(p, s + name, name_len, true, &found);
				if (found)
					sb_addstr(&out, val);
				else if (has_def)
					sb_add(&out, s + def, def_len);
				i = j + 1;
				continue;
			}
		}
		sb_addch(&out, s[i++]);
	}
	sb_release(v);
	*v = out;
}

/* One parse_binding(). Returns false at the end of the text. */
static bool parse_binding(struct py *x)
{
	struct dotenv_parser *p = x->p;
	const char *s = p->s;
	x->pos = dp_skip_ws(p, x->pos, WS_PY, true);
	if (x->pos >= p->n)
		return false;
	struct dp_span sp = { .start = x->pos };
	size_t stmt = x->pos;
	if (p->n - x->pos > 6 && !memcmp(s + x->pos, "export", 6)) {
		size_t after = skip_blank(x, x->pos + 6);
		if (after > x->pos + 6) {
			x->pos = after;
			sp.exported = true;
		}
	}
	size_t key = x->pos, key_len = 0;
	bool comment = at(x, x->pos, '#');
	if (comment) {
		key_len = 0;
	} else if (at(x, x->pos, '\'')) {
		const char *close = memchr(s + x->pos + 1, '\'', p->n - x->pos - 1);
		if (!close || close == s + x->pos + 1)
			goto error;
		key = x->pos + 1;
		key_len = (size_t)(close - s) - key;
		x->pos = (size_t)(close - s) + 1;
	} else {
		size_t e = unquoted_key_end(x, x->pos);
		if (e == x->pos)
			goto error;
		key_len = e - x->pos;
		x->pos = e;
	}
	sp.key = key;
	size_t key_end = x->pos;
	x->pos = skip_blank(x, x->pos);
	struct strbuf value = STRBUF_INIT;
	bool has_value = at(x, x->pos, '=');
	sp.vstart = sp.vend = x->pos;
	if (has_value) {
		x->pos = skip_blank(x, x->pos + 1);
		if (parse_value(x, &value, &sp) < 0) {
			sb_release(&value);
			goto error;
		}
	}
	sp.end = has_value ? sp.vend : key_end;
	/* (?:[^\S\r\n]*#[^\r\n]*)? then [^\S\r\n]*(?:\n|$) */
	size_t c = skip_blank(x, x->pos);
	if (at(x, c, '#'))
		while (c < p->n && s[c] != '\n')
			c++;
	else
		c = skip_blank(x, x->pos);
	if (c < p->n && s[c] != '\n') {
		x->pos = c;
		sb_release(&value);
		goto error;
	}
	x->pos = c < p->n ? c + 1 : c;
	if (!comment) {
		if (has_value && p->o->expand)
			interpolate(p, &value);
		dp_add(p, s + key, key_len, has_value ? &value : NULL, &sp);
	}
	sb_release(&value);
	return true;
error:
	dp_diag(p, DOTENV_SKIPPED, stmt, "python-dotenv could not parse this statement");
	while (x->pos < p->n && s[x->pos] != '\n')
		x->pos++;
	if (x->pos < p->n)
		x->pos++;
	return true;
}

void dotenv_parse_python(struct dotenv_parser *p)
{
	struct py x = { .p = p, .pos = 0 };
	while (parse_binding(&x))
		;
}
