/*
 * dotenv dialect "node": npm dotenv 16's parse(), which is one global multi-line
 * regular expression (LINE in lib/main.js) plus trim/unquote/unescape steps. The
 * regex is emulated here with the backtracking that matters for its result; its \s
 * crosses line breaks, so a value may start on a later line ("A=\n'x'") and "KEY:\n"
 * takes the next line as its value, exactly as node does. No interpolation.
 */
#include <stdlib.h>
#include <string.h>

#include "dotenv_impl.h"

#define NONE ((size_t)-1)

struct nd {
	struct dotenv_parser *p;
	/* cache of the first unescaped quote after an offset, per quote character */
	size_t cache_from[3], cache_at[3];
};

struct nd_match {
	size_t key, key_end;
	size_t vstart, vend;    /* group 2, NONE when absent */
	size_t end;             /* where the match ends (lastIndex) */
	bool exported;
};

static size_t lt_len(const struct nd *x, size_t off)
{
	const char *s = x->p->s;
	if (off >= x->p->n)
		return 0;
	if (s[off] == '\n')
		return 1;
	if (x->p->n - off >= 3 && (unsigned char)s[off] == 0xe2 && (unsigned char)s[off + 1] == 0x80 &&
	    ((unsigned char)s[off + 2] == 0xa8 || (unsigned char)s[off + 2] == 0xa9))
		return 3;
	return 0;
}

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '.' || c == '-';
}

/* \s*(?:#.*)?$ from off: the end of the match or NONE. */
static size_t tail(const struct nd *x, size_t off)
{
	const char *s = x->p->s, *end = s + x->p->n;
	size_t last_lt = NONE, i = off;
	while (i < x->p->n) {
		size_t w = dp_ws_len(s + i, end, WS_JS);
		if (!w)
			break;
		if (lt_len(x, i))
			last_lt = i;
		i += w;
	}
	if (i >= x->p->n)
		return x->p->n;
	if (s[i] == '#') {
		while (i < x->p->n && !lt_len(x, i))
			i++;
		return i;
	}
	return last_lt;
}

/* The first quote after open that is not preceded by a backslash. */
static size_t first_bare_quote(struct nd *x, size_t open)
{
	const char *s = x->p->s;
	char q = s[open];
	int c = q == '\'' ? 0 : q == '"' ? 1 : 2;
	if (x->cache_from[c] != NONE && x->cache_from[c] <= open &&
	    (x->cache_at[c] == NONE || x->cache_at[c] > open + 1))
		return x->cache_at[c];
	size_t found = NONE;
	for (size_t i = open + 1; i < x->p->n; i++) {
		const char *hit = memchr(s + i, q, x->p->n - i);
		if (!hit)
			break;
		i = (size_t)(hit - s);
		if (s[i - 1] != '\\' || i - 1 == open) {
			found = i;
			break;
		}
	}
	x->cache_from[c] = open;
	x->cache_at[c] = found;
	return found;
}

/* \s*Q(?:\\Q|[^Q])*Q followed by a tail: closing candidates in backtracking order. */
static bool quoted_value(struct nd *x, size_t v, struct nd_match *m)
{
	const char *s = x->p->s;
	size_t w = dp_skip_ws(x->p, v, WS_JS, true);
	if (w >= x->p->n || (s[w] != '\'' && s[w] != '"' && s[w] != '`'))
		return false;
	char q = s[w];
	size_t close = first_bare_quote(x, w);
	size_t limit = close == NONE ? x->p->n : close;
	for (size_t c = close == NONE ? limit : close;;) {
		if (c != NONE && c < x->p->n && s[c] == q && c > w) {
			size_t t = tail(x, c + 1);
			if (t != NONE) {
				m->vstart = v;
				m->vend = c + 1;
				m->end = t;
				return true;
			}
		}
		/* next candidate: the quote of the previous \Q pair */
		size_t i = c == NONE ? limit : c;
		while (i > w + 2 && !(s[i - 1] == q && s[i - 2] == '\\'))
			i--;
		if (i <= w + 2)
			return false;
		c = i - 1;
	}
}

static bool value_and_tail(struct nd *x, size_t v, struct nd_match *m)
{
	const char *s = x->p->s;
	if (quoted_value(x, v, m))
		return true;
	size_t e = v;
	while (e < x->p->n && s[e] != '#' && s[e] != '\n')
		e++;
	if (e > v) {
		m->vstart = v;
		m->vend = e;
		m->end = tail(x, e);
		return m->end != NONE;
	}
	m->vstart = m->vend = NONE;
	m->end = tail(x, v);
	return m->end != NONE;
}

static bool key_and_rest(struct nd *x, size_t k, struct nd_match *m)
{
	const char *s = x->p->s, *end = s + x->p->n;
	size_t ke = k;
	while (ke < x->p->n && is_word(s[ke]))
		ke++;
	if (ke == k)
		return false;
	m->key = k;
	m->key_end = ke;
	size_t eq = dp_skip_ws(x->p, ke, WS_JS, true);
	if (eq < x->p->n && s[eq] == '=' && value_and_tail(x, eq + 1, m))
		return true;
	size_t w = ke < x->p->n && s[ke] == ':' ? dp_ws_len(s + ke + 1, end, WS_JS) : 0;
	return w && value_and_tail(x, ke + 1 + w, m);
}

static bool match_at(struct nd *x, size_t start, struct nd_match *m, size_t *key_pos)
{
	const char *s = x->p->s, *end = s + x->p->n;
	size_t q = dp_skip_ws(x->p, start, WS_JS, true);
	*key_pos = q;
	m->exported = false;
	if (x->p->n - q > 6 && !memcmp(s + q, "export", 6) && dp_ws_len(s + q + 6, end, WS_JS)) {
		m->exported = true;
		if (key_and_rest(x, dp_skip_ws(x->p, q + 6, WS_JS, true), m))
			return true;
		m->exported = false;
	}
	return key_and_rest(x, q, m);
}

/* value.trim(), then /^(['"`])([\s\S]*)\1$/mg -> '$2', then \n and \r if it began with ". */
static void node_value(struct nd *x, size_t vs, size_t ve, struct strbuf *out)
{
	const char *s = x->p->s;
	while (vs < ve && dp_ws_len(s + vs, s + ve, WS_JS))
		vs += dp_ws_len(s + vs, s + ve, WS_JS);
	size_t keep = vs;
	for (size_t i = vs; i < ve;) {
		size_t w = dp_ws_len(s + i, s + ve, WS_JS);
		i += w ? w : 1;
		if (!w)
			keep = i;
	}
	ve = keep;
	struct strbuf un = STRBUF_INIT;
	for (size_t i = vs; i < ve;) {
		bool line_start = i == vs || s[i - 1] == '\n' ||
				  (i - vs >= 3 && lt_len(x, i - 3) == 3);
		char c = s[i];
		if (line_start && (c == '\'' || c == '"' || c == '`')) {
			size_t j = ve;
			while (j-- > i + 1)
				if (s[j] == c && (j + 1 == ve || lt_len(x, j + 1)))
					break;
			if (j > i && j < ve) {
				sb_add(&un, s + i + 1, j - i - 1);
				i = j + 1;
				continue;
			}
		}
		sb_addch(&un, c);
		i++;
	}
	if (vs < ve && s[vs] == '"') {
		for (size_t i = 0; i < un.len; i++) {
			if (un.buf[i] == '\\' && i + 1 < un.len && (un.buf[i + 1] == 'n' || un.buf[i + 1] == 'r')) {
				sb_addch(out, un.buf[i + 1] == 'n' ? '\n' : '\r');
				i++;
			} else {
				sb_addch(out, un.buf[i]);
			}
		}
		sb_release(&un);
	} else {
		sb_release(out);
		*out = un;
	}
}

static size_t next_line_start(const struct nd *x, size_t off)
{
	while (off < x->p->n) {
		size_t l = lt_len(x, off);
		if (l)
			return off + l;
		off++;
	}
	return x->p->n;
}

void dotenv_parse_node(struct dotenv_parser *p)
{
	struct nd x = { .p = p };
	for (int i = 0; i < 3; i++)
		x.cache_from[i] = x.cache_at[i] = NONE;
	size_t pos = 0;
	while (pos < p->n) {
		bool line_start = pos == 0 || p->s[pos - 1] == '\n' || (pos >= 3 && lt_len(&x, pos - 3) == 3);
		if (!line_start) {
			pos = next_line_start(&x, pos);
			continue;
		}
		struct nd_match m;
		size_t key_pos;
		if (!match_at(&x, pos, &m, &key_pos)) {
			size_t stmt_end = next_line_start(&x, key_pos);
			if (key_pos < p->n && p->s[key_pos] != '#')
				dp_diag(p, DOTENV_SKIPPED, key_pos, "node dotenv does not match this line");
			pos = stmt_end;
			continue;
		}
		struct strbuf value = STRBUF_INIT;
		if (m.vstart != NONE)
			node_value(&x, m.vstart, m.vend, &value);
		struct dp_span sp = {
			.key = m.key, .start = m.exported ? key_pos : m.key,
			.end = m.vstart != NONE ? m.vend : m.key_end,
			.vstart = m.vstart != NONE ? m.vstart : m.key_end,
			.vend = m.vstart != NONE ? m.vend : m.key_end,
		};
		if (m.vstart != NONE) {
			size_t w = dp_skip_ws(p, m.vstart, WS_JS, true);
			char c = w < p->n ? p->s[w] : 0;
			sp.quote = (c == '\'' || c == '"' || c == '`') ? c : 0;
			sp.vstart = w;
		}
		sp.exported = m.exported;
		dp_add(p, p->s + m.key, m.key_end - m.key, &value, &sp);
		sb_release(&value);
		pos = m.end > pos ? m.end : pos + 1;
	}
}
