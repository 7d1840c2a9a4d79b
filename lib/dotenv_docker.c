/*
 * dotenv dialect "docker": `docker run --env-file` (docker/cli's kvfile parser, once
 * moby's opts/envfile.go). Line by line (bufio.ScanLines: a line ends at \n, a \r
 * before it is dropped): a UTF-8 byte order mark is dropped from line 1, leading
 * Unicode space from every line; an empty line or one starting with # is skipped.
 * KEY=VALUE splits at the first =: the key loses its leading blanks, the value is
 * taken as it is (no quotes processing, no escapes, no interpolation, no comments, its
 * blanks kept). A KEY alone takes the caller's value, and is left out when the caller
 * has none. A key with a blank, an empty key or a line that is not valid UTF-8 makes
 * docker refuse the whole file: nothing is passed.
 */
#include <stdlib.h>
#include <string.h>

#include "dotenv_impl.h"

/* Valid UTF-8 as Go's utf8.Valid. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0, len; i < n; i += len)
		if (!(len = utf8_seq_len(s + i, n - i)))
			return false;
	return true;
}

void dotenv_parse_docker(struct dotenv_parser *p)
{
	const char *s = p->s;
	for (size_t off = 0, no = 0; off < p->n; no++) {
		const char *nl = memchr(s + off, '\n', p->n - off);
		size_t eol = nl ? (size_t)(nl - s) : p->n, next = nl ? eol + 1 : p->n;
		size_t end = eol > off && s[eol - 1] == '\r' ? eol - 1 : eol;
		size_t i = off;
		if (!utf8_valid((const unsigned char *)s + off, end - off)) {
			dp_diag(p, DOTENV_FATAL, off, "docker refuses the file: the line is not valid UTF-8");
			dp_forget_entries(p);
			return;
		}
		if (!no && end - i >= 3 && !memcmp(s + i, "\xef\xbb\xbf", 3))
			i += 3;
		i = dp_skip_ws(p, i, WS_GO, false);
		if (i < end && s[i] == '\r') /* unicode.IsSpace; dp_skip_ws stops at nothing else */
			i++;
		if (i >= end || s[i] == '#') {
			off = next;
			continue;
		}
		const char *eq = memchr(s + i, '=', end - i);
		size_t kend = eq ? (size_t)(eq - s) : end;
		bool blank = memchr(s + i, ' ', kend - i) || memchr(s + i, '\t', kend - i);
		if (blank || kend == i) {
			dp_diag(p, DOTENV_FATAL, i, "docker refuses the file: %s", blank ? "the variable name contains "
				"whitespace" : "no variable name on the line");
			dp_forget_entries(p);
			return;
		}
		struct dp_span sp = { .key = i, .start = i, .end = end, .vstart = eq ? kend + 1 : kend, .vend = end };
		if (eq) {
			struct strbuf v = STRBUF_INIT;
			sb_add(&v, s + kend + 1, end - kend - 1);
			dp_add(p, s + i, kend - i, &v, &sp);
			sb_release(&v);
		} else {
			char *name = xstrndup(s + i, kend - i);
			const char *env = p->o->lookup ? p->o->lookup(name, p->o->lookup_ctx) : NULL;
			free(name);
			if (env) {
				p->used_env = true;
				struct strbuf v = STRBUF_INIT;
				sb_addstr(&v, env);
				dp_add(p, s + i, kend - i, &v, &sp);
				sb_release(&v);
			} else {
				dp_diag(p, DOTENV_SKIPPED, i, "docker passes %.*s only when it is set in the caller's "
					"environment, and it is not", (int)(kend - i), s + i);
			}
		}
		off = next;
	}
}
