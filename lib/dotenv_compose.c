/*
 * dotenv dialect "compose": Compose v2 env_file rules (compose-go's dotenv parser and
 * its template package). A statement may follow a quoted value on the same line;
 * keys may hold . - [ ] (compose-go accepts them); unquoted values end at the line
 * break and at " #"; double-quoted values take \a \b \f \n \r \t \v \" \\ \$ \0ooo;
 * single quotes are literal; expansion runs on unquoted and double-quoted values.
 * Any error makes Compose refuse the file.
 */
#include <stdlib.h>
#include <string.h>

#include "dotenv_impl.h"

struct cp {
	struct dotenv_parser *p;
	size_t pos;
	size_t stmt;
	bool failed;
};

static void fail(struct cp *x, const char *what)
{
	if (!x->failed)
		dp_diag(x->p, DOTENV_FATAL, x->stmt, "compose refuses the file: %s", what);
	x->failed = true;
}

size_t dotenv_closing_brace(const char *s, size_t len, size_t open)
{
	int depth = 0;
	for (size_t i = open; i < len; i++) {
		if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
			depth++;
			i++;
		} else if (s[i] == '}' && --depth == 0) {
			return i;
		}
	}
	return (size_t)-1;
}

static void substitute(struct cp *x, const char *s, size_t len, struct strbuf *out, int depth);

/* ${NAME}, ${NAME:-def}, ${NAME-def}, ${NAME:?err}, ${NAME?err}, ${NAME:+alt}, ${NAME+alt} */
static void braced(struct cp *x, const char *s, size_t len, struct strbuf *out, int depth)
{
	size_t n = 0;
	if (!len || !shell_name_start(s[0])) {
		fail(x, "invalid interpolation format");
		return;
	}
	while (n < len && shell_name_char(s[n]))
		n++;
	bool found;
	const char *val = dp_var(x->p, s, n, false, &found);
	if (n == len) {
		if (!found)
			dp_diag(x->p, DOTENV_UNSET_VAR, x->stmt, "variable %.*s is not set", (int)n, s);
		sb_addstr(out, val);
		return;
	}
	bool colon = s[n] == ':';
	size_t op = n + colon;
	if (op >= len || (s[op] != '-' && s[op] != '?' && s[op] != '+')) {
		fail(x, "invalid interpolation format");
		return;
	}
	const char *arg = s + op + 1;
	size_t arg_len = len - op - 1;
	bool set = found && (!colon || *val);
	if (s[op] == '-') {
		if (set)
			sb_addstr(out, val);
		else
			substitute(x, arg, arg_len, out, depth + 1);
	} else if (s[op] == '+') {
		if (set)
			substitute(x, arg, arg_len, out, depth + 1);
	} else if (set) {
		sb_addstr(out, val);
	} else {
		dp_diag(x->p, DOTENV_FATAL, x->stmt, "required variable %.*s is missing a value", (int)n, s);
		x->failed = true;
	}
}

static void substitute(struct cp *x, const char *s, size_t len, struct strbuf *out, int depth)
{
	if (depth > 32) {
		fail(x, "interpolation nested too deeply");
		return;
	}
	for (size_t i = 0; i < len && !x->failed; i++) {
		if (s[i] != '$') {
			sb_addch(out, s[i]);
			continue;
		}
		if (i + 1 < len && s[i + 1] == '$') {
			sb_addch(out, '$');
			i++;
		} else if (i + 1 < len && shell_name_start(s[i + 1])) {
			size_t j = i + 1;
			while (j < len && shell_name_char(s[j]))
				j++;
			bool found;
			const char *val = dp_var(x->p, s + i + 1, j - i - 1, false, &found);
			if (!found)
				dp_diag(x->p, DOTENV_UNSET_VAR, x->stmt, "variable %.*s is not set",
					(int)(j - i - 1), s + i + 1);
			sb_addstr(out, val);
			i = j - 1;
		} else if (i + 1 < len && s[i + 1] == '{') {
			size_t close = dotenv_closing_brace(s, len, i);
			if (close == (size_t)-1) {
				fail(x, "invalid interpolation format (unclosed ${)");
				return;
			}
			braced(x, s + i + 2, close - i - 2, out, depth);
			i = close;
		} else {
			fail(x, "invalid interpolation format (a lone $; write $$)");
		}
	}
}

static void expand(struct cp *x, struct strbuf *v)
{
	if (!x->p->o->expand || !v->len || !memchr(v->buf, '$', v->len))
		return;
	struct strbuf out = STRBUF_INIT;
	substitute(x, v->buf, v->len, &out, 0);
	sb_release(v);
	*v = out;
}

/* \a \b \c? \f \n \r \t \v \$ \" \\ and \0ooo (strconv.UnquoteChar after a regex). */
static void expand_escapes(struct strbuf *v)
{
	struct strbuf out = STRBUF_INIT;
	const char *s = v->buf ? v->buf : "";
	static const char from[] = "abfnrtv\"\\", to[] = "\a\b\f\n\r\t\v\"\\";
	for (size_t i = 0; i < v->len; i++) {
		if (s[i] != '\\' || i + 1 >= v->len) {
			sb_addch(&out, s[i]);
			continue;
		}
		char c = s[i + 1];
		const char *hit = c ? strchr(from, c) : NULL;
		if (hit) {
			sb_addch(&out, to[hit - from]);
			i++;
		} else if (c == '$') {
			sb_addstr(&out, "$$");
			i++;
		} else if (c == '0' && i + 4 < v->len && s[i + 2] >= '0' && s[i + 2] <= '3' &&
			   s[i + 3] >= '0' && s[i + 3] <= '7' && s[i + 4] >= '0' && s[i + 4] <= '7') {
			sb_addch(&out, (char)((s[i + 2] - '0') * 64 + (s[i + 3] - '0') * 8 + (s[i + 4] - '0')));
			i += 4;
		} else {
			sb_addch(&out, s[i]);
		}
	}
	sb_release(v);
	*v = out;
}

/* Skips blank space, line breaks and # comment lines. */
static void statement_start(struct cp *x)
{
	const char *s = x->p->s;
	for (;;) {
		x->pos = dp_skip_ws(x->p, x->pos, WS_GO, true);
		if (x->pos >= x->p->n || s[x->pos] != '#')
			return;
		while (x->pos < x->p->n && s[x->pos] != '\n')
			x->pos++;
	}
}

/* Returns key length (key is at x->pos on return), sets *inherited; -1 on error. */
static long key_name(struct cp *x, bool *inherited, size_t *key_at, struct dp_span *sp)
{
	const char *s = x->p->s, *end = s + x->p->n;
	size_t i = x->pos;
	if (x->p->n - i > 6 && !memcmp(s + i, "export", 6) && (s[i + 6] == ' ' || s[i + 6] == '\t' ||
	    s[i + 6] == '\n' || s[i + 6] == '\f' || s[i + 6] == '\r')) {
		i = dp_skip_ws(x->p, i + 6, WS_COMPOSE, false);
		sp->exported = true;
	}
	*key_at = i;
	for (; i < x->p->n; i++) {
		size_t w = dp_ws_len(s + i, end, WS_COMPOSE);
		if (w) {
			i += w - 1;
			continue;
		}
		char c = s[i];
		if (c == '=' || c == ':' || c == '\n') {
			*inherited = c == '\n';
			size_t klen = i - *key_at;
			while (klen && dp_ws_len(s + *key_at + klen - 1, end, WS_GO | WS_COMPOSE))
				klen--;
			x->pos = i + 1;
			return (long)klen;
		}
		if (shell_name_char(c) || c == '.' || c == '-' || c == '[' || c == ']' || (unsigned char)c >= 0x80)
			continue;
		fail(x, "unexpected character in variable name");
		return -1;
	}
	*inherited = true;
	x->pos = x->p->n;
	size_t klen = i - *key_at;
	while (klen && dp_ws_len(s + *key_at + klen - 1, end, WS_GO | WS_COMPOSE))
		klen--;
	return (long)klen;
}

static int quoted(struct cp *x, struct strbuf *v, struct dp_span *sp)
{
	const char *s = x->p->s;
	char q = s[x->pos];
	bool escape = false;
	for (size_t i = x->pos + 1; i < x->p->n; i++) {
		char c = s[i];
		if (c != q) {
			if (!escape && c == '\\') {
				escape = true;
				continue;
			}
			if (escape)
				sb_addch(v, '\\');
			escape = false;
			sb_addch(v, c);
			continue;
		}
		if (escape) {
			escape = false;
			sb_addch(v, c);
			continue;
		}
		sp->quote = q;
		sp->vend = i + 1;
		x->pos = i + 1;
		if (q == '"') {
			expand_escapes(v);
			expand(x, v);
		}
		return 0;
	}
	fail(x, "unterminated quoted value");
	return -1;
}

static void unquoted(struct cp *x, struct strbuf *v, struct dp_span *sp)
{
	const char *s = x->p->s, *end = s + x->p->n;
	const char *nl = memchr(s + x->pos, '\n', x->p->n - x->pos);
	size_t eol = nl ? (size_t)(nl - s) : x->p->n;
	size_t cut = eol;
	for (size_t i = x->pos; i + 1 < eol; i++)
		if (s[i] == ' ' && s[i + 1] == '#') {
			cut = i;
			break;
		}
	size_t keep = x->pos;
	for (size_t i = x->pos; i < cut;) {
		size_t w = dp_ws_len(s + i, end, WS_GO);
		i += w ? w : 1;
		if (!w)
			keep = i;
	}
	sb_add(v, s + x->pos, keep - x->pos);
	sp->vend = eol;
	x->pos = eol;
	expand(x, v);
}

static bool statement(struct cp *x)
{
	struct dotenv_parser *p = x->p;
	statement_start(x);
	if (x->pos >= p->n)
		return false;
	x->stmt = x->pos;
	struct dp_span sp = { .start = x->pos };
	bool inherited = false;
	size_t key_at;
	long klen = key_name(x, &inherited, &key_at, &sp);
	if (klen < 0)
		return false;
	sp.key = key_at;
	if (memchr(p->s + key_at, ' ', (size_t)klen)) {
		fail(x, "key cannot contain a space");
		return false;
	}
	struct strbuf v = STRBUF_INIT;
	if (inherited) {
		sp.end = sp.vstart = sp.vend = key_at + (size_t)klen;
		char *name = xstrndup(p->s + key_at, (size_t)klen);
		const char *env = p->o->lookup ? p->o->lookup(name, p->o->lookup_ctx) : NULL;
		free(name);
		if (env)
			sb_addstr(&v, env);
		p->used_env |= env != NULL;
		if (klen)
			dp_add(p, p->s + key_at, (size_t)klen, env ? &v : NULL, &sp);
		sb_release(&v);
		return true;
	}
	x->pos = dp_skip_ws(p, x->pos, WS_COMPOSE, false);
	sp.vstart = x->pos;
	if (x->pos < p->n && (p->s[x->pos] == '"' || p->s[x->pos] == '\'')) {
		if (quoted(x, &v, &sp) < 0) {
			sb_release(&v);
			return false;
		}
	} else {
		unquoted(x, &v, &sp);
	}
	sp.end = sp.vend;
	if (!klen)
		dp_diag(p, DOTENV_SKIPPED, x->stmt, "a value without a key");
	else if (!x->failed)
		dp_add(p, p->s + key_at, (size_t)klen, &v, &sp);
	sb_release(&v);
	return !x->failed;
}

void dotenv_parse_compose(struct dotenv_parser *p)
{
	struct cp x = { .p = p };
	if (p->n >= 3 && !memcmp(p->s, "\xef\xbb\xbf", 3))
		x.pos = 3;
	while (statement(&x))
		;
}
