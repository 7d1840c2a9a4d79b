/*
 * portability: a key whose loaded value differs between dialects (R=x#y is "x" to
 * node and compose, "x#y" to python and bash). No other linter has this; it is the
 * bug where the same .env means one thing to the API and another to the worker.
 */
#include <stdlib.h>
#include <string.h>

#include "envcheck.h"
#include "redact.h"
#include "secret_rules.h"
#include "util.h"

/* A short, printable rendering of a value (C escapes, at most 40 bytes). */
static void describe(struct strbuf *sb, const char *key, const struct dotenv_entry *e,
		     const struct envcheck_opts *o)
{
	if (!e) {
		sb_addstr(sb, "not loaded");
		return;
	}
	if (!e->value) {
		sb_addstr(sb, "no value");
		return;
	}
	if (e->from_env || is_secret_value(key, e->value, o) || credential_format(key, e->value, o)) {
		sb_addstr(sb, REDACTED);
		return;
	}
	/* Masked before it is escaped and cut: the report masks registered secrets (every
	 * dialect's, mask_source()), but a secret interpolated into another key would no
	 * longer match once cut at 40 bytes
	 * or once its newlines are written as \n. NULs split the pieces. */
	struct strbuf safe = STRBUF_INIT;
	redact_bytes(&safe, e->value, e->value_len);
	sb_addch(sb, '\'');
	for (size_t i = 0; i < safe.len && i < 40; i++) {
		unsigned char c = (unsigned char)safe.buf[i];
		if (c == '\n')
			sb_addstr(sb, "\\n");
		else if (c == '\r')
			sb_addstr(sb, "\\r");
		else if (c == '\t')
			sb_addstr(sb, "\\t");
		else if (c == '\\') /* the text report keeps it as is: a\\nb is not a\nb */
			sb_addstr(sb, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			sb_addf(sb, "\\x%02x", c);
		else
			sb_addch(sb, (char)c);
	}
	sb_addstr(sb, safe.len > 40 ? "'..." : "'");
	sb_release(&safe);
}

/* Only ENV_PORTABLE_DIALECTS are compared: docker and node --env-file are checked when
 * chosen (docker reads every quoted value differently: the comparison would flag every
 * line). */

static bool same(const struct dotenv_entry *a, const struct dotenv_entry *b)
{
	if (!a || !b)
		return a == b;
	if (!a->value || !b->value)
		return a->value == b->value;
	return a->value_len == b->value_len && !memcmp(a->value, b->value, a->value_len);
}

void portability_check(struct report *r, const struct env_file *f, const struct envcheck_opts *o)
{
	if ((int)o->dialect >= ENV_PORTABLE_DIALECTS)
		return;
	struct dotenv_result other[ENV_PORTABLE_DIALECTS];
	for (int d = 0; d < ENV_PORTABLE_DIALECTS; d++) {
		struct dotenv_options dopts;
		dotenv_options_init(&dopts, (enum dotenv_dialect)d);
		dopts.expand = o->expand;
		dotenv_parse(f->buf, f->len, &dopts, &other[d]);
	}
	size_t flagged = 0;
	for (size_t i = 0; i < f->res.n; i++) {
		const struct dotenv_entry *mine = &f->res.entries[i];
		if (!mine->first)
			continue;
		const struct dotenv_entry *last = dotenv_lookup(&f->res, mine->key);
		bool differs = false;
		const struct dotenv_entry *vals[ENV_PORTABLE_DIALECTS];
		for (int d = 0; d < ENV_PORTABLE_DIALECTS; d++) {
			vals[d] = dotenv_lookup(&other[d], mine->key); /* masked by mask_source() */
			differs |= !same(vals[d], last);
		}
		if (!differs)
			continue;
		struct strbuf sb = STRBUF_INIT;
		for (int d = 0; d < ENV_PORTABLE_DIALECTS; d++) {
			sb_addf(&sb, "%s%s ", d ? ", " : "", dotenv_dialect_name((enum dotenv_dialect)d));
			describe(&sb, mine->key, vals[d], o);
		}
		struct check *c = ec_report(r, "portability", ST_WARNING, f->path,
					       "%s:%d: %.*s%s loads differently per dialect: %s", f->path, last->line,
					       KEY_SHOWN(last->key, strlen(last->key)), sb_str(&sb));
		ec_location(c, f->path, last->line, last->column);
		check_hint(c, "quote the value (KEY=\"...\") and avoid #, blanks, $ and escapes outside quotes, "
			      "so every loader reads the same");
		sb_release(&sb);
		if (++flagged > 1000)
			break;
	}
	for (int d = 0; d < ENV_PORTABLE_DIALECTS; d++)
		dotenv_result_free(&other[d]);
}
