/* print: what the dialect loads, as one JSON object in file order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envcheck.h"
#include "secret_rules.h"
#include "redact.h"
#include "util.h"

/* JSON string: valid UTF-8 passes, other bytes become \u00XX (Latin-1). */
static void json_string(struct strbuf *sb, const char *s, size_t n)
{
	sb_addch(sb, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			sb_addch(sb, '\\');
			sb_addch(sb, (char)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
			if (esc)
				sb_addstr(sb, esc);
			else
				sb_addf(sb, "\\u%04x", c);
			i++;
		} else {
			size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);
			if (l) {
				sb_add(sb, s + i, l);
				i += l;
			} else {
				sb_addf(sb, "\\u%04x", c);
				i++;
			}
		}
	}
	sb_addch(sb, '"');
}

/* JSON string of data after redaction. Each string is redacted on its own, never the
 * document: a secret that spans JSON syntax would break it. NULs split the pieces. */
static void json_safe_string(struct strbuf *sb, const char *data, size_t len)
{
	struct strbuf safe = STRBUF_INIT;
	redact_bytes(&safe, data, len);
	json_string(sb, safe.buf ? safe.buf : "", safe.len);
	sb_release(&safe);
}

int print_file(const char *path, const struct envcheck_opts *o)
{
	struct env_file f;
	if (env_file_load(&f, path, o) < 0) /* masks its secrets */
		return 3;
	for (size_t i = 0; i < f.res.ndiags; i++) {
		char *msg = redact_text(f.res.diags[i].message);
		fprintf(stderr, "%s:%d: %s\n", path, f.res.diags[i].line, msg);
		free(msg);
	}
	struct strbuf sb = STRBUF_INIT;
	sb_addch(&sb, '{');
	bool any = false;
	for (size_t i = 0; i < f.res.n; i++) {
		const struct dotenv_entry *first = &f.res.entries[i];
		if (!first->first)
			continue;
		const struct dotenv_entry *e = dotenv_lookup(&f.res, first->key);
		sb_addstr(&sb, any ? ", " : "");
		any = true;
		json_safe_string(&sb, e->key, strlen(e->key));
		sb_addstr(&sb, ": ");
		if (!e->value)
			sb_addstr(&sb, "null");
		else if (is_secret_value(e->key, e->value, o))
			sb_addstr(&sb, "\"" REDACTED "\"");
		else
			json_safe_string(&sb, e->value, e->value_len);
	}
	sb_addstr(&sb, "}\n");
	fwrite(sb.buf, 1, sb.len, stdout);
	sb_release(&sb);
	env_file_free(&f);
	return 0;
}
