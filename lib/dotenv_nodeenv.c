/*
 * dotenv dialect "node-env-file": Node's built-in `node --env-file` (src/node_dotenv.cc,
 * Node 20.x), which differs from the npm package. The text loses every \r first, then
 * is read from the top: blank lines and lines starting with # are skipped; the key is
 * what precedes the next =, across line breaks ("LONELY\nB=2" sets "LONELY\nB"), with
 * its spaces trimmed (only spaces: a tab stays) and then a leading "export " removed
 * (and nothing more: "export  B" is " B"); without a further =, or at an empty key,
 * the file ends. A value that
 * starts with ", ' or ` runs to the same quote, across lines, and what follows it on
 * the closing line is ignored; in double quotes \n becomes a line break (nothing
 * else is an escape). An unclosed quote leaves the rest of its line as the value,
 * quote included. Otherwise the value is the line up to the first #, spaces trimmed.
 * No interpolation. A key already in the environment keeps its value (the file does
 * not override it); print shows what the file sets.
 */
#include <stdlib.h>
#include <string.h>

#include "dotenv_impl.h"

struct ne {
	struct dotenv_parser *p;
	size_t pos, end;       /* content: [pos, end) */
};

static void trim_spaces(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && s[*a] == ' ')
		(*a)++;
	while (*b > *a && s[*b - 1] == ' ')
		(*b)--;
}

static size_t find(const struct ne *x, size_t from, char c)
{
	const char *hit = from < x->end ? memchr(x->p->s + from, c, x->end - from) : NULL;
	return hit ? (size_t)(hit - x->p->s) : (size_t)-1;
}

static void add(struct ne *x, size_t k, size_t kend, size_t start, const char *v, size_t vlen, size_t vs,
		size_t ve, char quote)
{
	if (k == kend)
		return;
	struct dp_span sp = { .key = k, .start = start, .end = ve, .vstart = vs, .vend = ve, .quote = quote };
	struct strbuf sb = STRBUF_INIT;
	sb_add(&sb, v, vlen);
	dp_add(x->p, x->p->s + k, kend - k, &sb, &sp);
	sb_release(&sb);
}

void dotenv_parse_node_env_file(struct dotenv_parser *p)
{
	const char *s = p->s;
	struct ne x = { .p = p, .pos = 0, .end = p->n };
	trim_spaces(s, &x.pos, &x.end);
	while (x.pos < x.end) {
		size_t nl = find(&x, x.pos, '\n');
		if (s[x.pos] == '\n' || s[x.pos] == '#') {
			x.pos = nl == (size_t)-1 ? x.end : nl + 1;
			continue;
		}
		size_t eq = find(&x, x.pos, '=');
		if (eq == (size_t)-1) {
			dp_diag(p, DOTENV_SKIPPED, x.pos, "node --env-file ignores the rest of the file: no = follows");
			break;
		}
		if (nl != (size_t)-1 && nl < eq)
			dp_diag(p, DOTENV_SKIPPED, x.pos, "node --env-file reads the key up to the next =, across "
				"this line break: the key holds a line break");
		size_t start = x.pos, k = x.pos, kend = eq;
		trim_spaces(s, &k, &kend);
		x.pos = eq + 1;
		if (x.pos >= x.end || s[x.pos] == '\n') {
			add(&x, k, kend, start, "", 0, x.pos, x.pos, 0);
			continue;
		}
		trim_spaces(s, &x.pos, &x.end);
		if (k == kend) {
			dp_diag(p, DOTENV_SKIPPED, start, "node --env-file stops reading at an empty key: the lines "
				"after it are not loaded");
			break;
		}
		if (kend - k >= 7 && !memcmp(s + k, "export ", 7))
			k += 7; /* only that: "export  B" is the key " B" */
		if (x.pos >= x.end) {
			add(&x, k, kend, start, "", 0, x.pos, x.pos, 0);
			break;
		}
		char q = s[x.pos];
		size_t close = q == '"' || q == '\'' || q == '`' ? find(&x, x.pos + 1, q) : (size_t)-1;
		if (close != (size_t)-1) {
			struct strbuf v = STRBUF_INIT;
			for (size_t i = x.pos + 1; i < close; i++) {
				if (q == '"' && s[i] == '\\' && i + 1 < close && s[i + 1] == 'n') {
					sb_addch(&v, '\n');
					i++;
				} else {
					sb_addch(&v, s[i]);
				}
			}
			add(&x, k, kend, start, v.buf ? v.buf : "", v.len, x.pos, close + 1, q);
			sb_release(&v);
			nl = find(&x, close + 1, '\n');
			x.pos = nl == (size_t)-1 ? x.end : nl + 1;
		} else if (q == '"' || q == '\'' || q == '`') {
			/* unclosed: the rest of the line, quote and all */
			nl = find(&x, x.pos, '\n');
			size_t ve = nl == (size_t)-1 ? x.end : nl;
			add(&x, k, kend, start, s + x.pos, ve - x.pos, x.pos, ve, 0);
			if (nl == (size_t)-1)
				break;
			x.pos = nl;
		} else {
			nl = find(&x, x.pos, '\n');
			size_t ve = nl == (size_t)-1 ? x.end : nl;
			const char *hash = memchr(s + x.pos, '#', ve - x.pos);
			size_t vs = x.pos, vend = hash ? (size_t)(hash - s) : ve;
			trim_spaces(s, &vs, &vend);
			add(&x, k, kend, start, s + vs, vend - vs, x.pos, ve, 0);
			x.pos = nl == (size_t)-1 ? x.end : nl + 1;
		}
		trim_spaces(s, &x.pos, &x.end);
	}
}
