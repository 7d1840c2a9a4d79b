/* dotenv: the shared part — results, the key index, lines, whitespace, dispatch. */
#define _GNU_SOURCE
#include "dotenv.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv_impl.h"
#include "redact.h"

static const char *const dialect_names[DOTENV_NDIALECTS] = { "compose", "python", "node", "shell", "docker",
								      "node-env-file" };

const char *dotenv_dialect_name(enum dotenv_dialect d)
{
	return (unsigned)d < DOTENV_NDIALECTS ? dialect_names[d] : "?";
}

int dotenv_dialect_parse(const char *name, enum dotenv_dialect *out)
{
	for (int i = 0; i < DOTENV_NDIALECTS; i++)
		if (!strcmp(name, dialect_names[i])) {
			*out = (enum dotenv_dialect)i;
			return 0;
		}
	return -1;
}

static const char *lookup_getenv(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

void dotenv_options_init(struct dotenv_options *o, enum dotenv_dialect d)
{
	memset(o, 0, sizeof(*o));
	o->dialect = d;
	o->expand = true;
	o->lookup = lookup_getenv;
}

/* ---- whitespace ---- */

/* Multi-byte UTF-8 spaces and the flavours that count them as space. */
static const struct {
	unsigned char b[3];
	unsigned char len;
	unsigned flavours;
} wide_spaces[] = {
	{ { 0xc2, 0x85 }, 2, WS_PY | WS_GO | WS_COMPOSE },
	{ { 0xc2, 0xa0 }, 2, WS_PY | WS_JS | WS_GO | WS_COMPOSE },
	{ { 0xe1, 0x9a, 0x80 }, 3, WS_PY | WS_JS | WS_GO },
	{ { 0xe2, 0x80, 0xa8 }, 3, WS_PY | WS_JS | WS_GO },
	{ { 0xe2, 0x80, 0xa9 }, 3, WS_PY | WS_JS | WS_GO },
	{ { 0xe2, 0x80, 0xaf }, 3, WS_PY | WS_JS | WS_GO },
	{ { 0xe2, 0x81, 0x9f }, 3, WS_PY | WS_JS | WS_GO },
	{ { 0xe3, 0x80, 0x80 }, 3, WS_PY | WS_JS | WS_GO },
	{ { 0xef, 0xbb, 0xbf }, 3, WS_JS },
};

size_t dp_ws_len(const char *p, const char *end, unsigned flavour)
{
	if (p >= end)
		return 0;
	unsigned char c = (unsigned char)*p;
	if (c < 0x80) {
		if (c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r')
			return 1;
		if (c == '\n')
			return (flavour & WS_COMPOSE) ? 0 : 1;
		return (c >= 0x1c && c <= 0x1f && (flavour & WS_PY)) ? 1 : 0;
	}
	size_t avail = (size_t)(end - p);
	/* U+2000..U+200A: E2 80 80..8A */
	if (avail >= 3 && c == 0xe2 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] >= 0x80 &&
	    (unsigned char)p[2] <= 0x8a)
		return (flavour & (WS_PY | WS_JS | WS_GO)) ? 3 : 0;
	for (size_t i = 0; i < ARRAY_SIZE(wide_spaces); i++)
		if (avail >= wide_spaces[i].len && !memcmp(p, wide_spaces[i].b, wide_spaces[i].len))
			return (wide_spaces[i].flavours & flavour) ? wide_spaces[i].len : 0;
	return 0;
}

size_t dp_skip_ws(const struct dotenv_parser *p, size_t off, unsigned flavour, bool newlines)
{
	const char *end = p->s + p->n;
	while (off < p->n) {
		if (!newlines && p->s[off] == '\n')
			break;
		size_t l = dp_ws_len(p->s + off, end, flavour);
		if (!l)
			break;
		off += l;
	}
	return off;
}

/* ---- lines ---- */

static void index_lines(struct dotenv_parser *p)
{
	size_t alloc = 64;
	p->line_starts = xmalloc(alloc * sizeof(size_t));
	p->line_starts[0] = 0;
	p->nlines = 1;
	for (const char *q = p->s, *end = p->s + p->n; (q = memchr(q, '\n', (size_t)(end - q))); q++) {
		if (p->nlines == alloc) {
			alloc *= 2;
			p->line_starts = xrealloc(p->line_starts, alloc * sizeof(size_t));
		}
		p->line_starts[p->nlines++] = (size_t)(q - p->s) + 1;
	}
}

static size_t line_index(const struct dotenv_parser *p, size_t off)
{
	size_t lo = 0, hi = p->nlines;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->line_starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int dp_line(const struct dotenv_parser *p, size_t off)
{
	return (int)line_index(p, off) + 1;
}

int dp_column(const struct dotenv_parser *p, size_t off)
{
	return (int)(off - p->line_starts[line_index(p, off)]) + 1;
}

/* ---- the key index: open addressing, key -> index of its last entry ---- */

static size_t *find_slot(const struct dotenv_result *r, const char *key, size_t len)
{
	if (!r->nslots)
		return NULL;
	size_t mask = r->nslots - 1;
	for (size_t i = fnv1a(key, len) & mask;; i = (i + 1) & mask) {
		size_t *slot = &r->slots[i];
		if (!*slot)
			return slot;
		const char *k = r->entries[*slot - 1].key;
		if (strnlen(k, len + 1) == len && !memcmp(k, key, len))
			return slot;
	}
}

static void grow_index(struct dotenv_result *r)
{
	size_t old_n = r->nslots;
	size_t *old = r->slots;
	r->nslots = old_n ? old_n * 2 : 64;
	r->slots = xcalloc(r->nslots, sizeof(size_t));
	for (size_t i = 0; i < old_n; i++)
		if (old[i]) {
			const char *k = r->entries[old[i] - 1].key;
			*find_slot(r, k, strlen(k)) = old[i];
		}
	free(old);
}

const struct dotenv_entry *dotenv_lookup(const struct dotenv_result *r, const char *key)
{
	size_t *slot = find_slot(r, key, strlen(key));
	return slot && *slot ? &r->entries[*slot - 1] : NULL;
}

static const struct dotenv_entry *lookup_len(const struct dotenv_result *r, const char *key, size_t len)
{
	size_t *slot = find_slot(r, key, len);
	return slot && *slot ? &r->entries[*slot - 1] : NULL;
}

/* ---- building the result ---- */

static size_t map_off(const struct dotenv_parser *p, size_t off)
{
	if (!p->map)
		return off;
	return off >= p->n ? p->map[p->n] : p->map[off];
}

/* A zeroed entry for key at the end of r, indexed: a later one wins the lookups. */
static struct dotenv_entry *append_entry(struct dotenv_result *r, const char *key, size_t key_len)
{
	key_len = strnlen(key, key_len); /* a NUL cannot be part of a variable name */
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 64;
		r->entries = xrealloc(r->entries, r->alloc * sizeof(*r->entries));
	}
	if ((r->nkeys + 1) * 2 > r->nslots)
		grow_index(r);
	struct dotenv_entry *e = &r->entries[r->n];
	memset(e, 0, sizeof(*e));
	e->key = xstrndup(key, key_len);
	size_t *slot = find_slot(r, e->key, key_len);
	e->first = !*slot;
	if (!*slot)
		r->nkeys++;
	*slot = ++r->n;
	return e;
}

struct dotenv_entry *dotenv_result_add(struct dotenv_result *r, const char *key, const char *value, int line,
				       int column)
{
	struct dotenv_entry *e = append_entry(r, key, strlen(key));
	if (value) {
		e->value = xstrdup(value);
		e->value_len = strlen(value);
	}
	e->line = e->end_line = line;
	e->column = column;
	return e;
}

struct dotenv_entry *dp_add(struct dotenv_parser *p, const char *key, size_t key_len,
			    struct strbuf *value, const struct dp_span *span)
{
	struct dotenv_entry *e = append_entry(p->r, key, key_len);
	if (value) {
		e->value_len = value->len;
		e->value = value->buf ? sb_detach(value) : xstrdup("");
	}
	e->line = dp_line(p, span->key);
	e->column = dp_column(p, span->key);
	e->end_line = dp_line(p, span->end > span->start ? span->end - 1 : span->end);
	e->start = map_off(p, span->start);
	e->end = map_off(p, span->end);
	e->value_start = map_off(p, span->vstart);
	e->value_end = map_off(p, span->vend);
	e->quote = span->quote;
	e->exported = span->exported;
	e->from_env = p->used_env;
	p->used_env = false;
	if (p->over_budget && !p->over_reported) {
		p->over_reported = true;
		dp_diag(p, DOTENV_FATAL, span->key, "interpolation expands to more than %zu MiB: values are cut "
			"from here on (the loader would exhaust its memory)", DOTENV_MAX_EXPANSION >> 20);
	}
	if (e->value && redact_key_is_secret(e->key) && !redact_value_is_path(e->key, e->value))
		redact_add_secret(e->value);
	return e;
}

void dp_forget_entries(struct dotenv_parser *p)
{
	struct dotenv_result *r = p->r;
	for (size_t i = 0; i < r->n; i++) {
		free(r->entries[i].key);
		free(r->entries[i].value);
	}
	r->n = 0;
	r->nkeys = 0;
	if (r->slots)
		memset(r->slots, 0, r->nslots * sizeof(size_t));
}

void dp_diag(struct dotenv_parser *p, enum dotenv_diag_kind kind, size_t off, const char *fmt, ...)
{
	struct dotenv_result *r = p->r;
	if (r->ndiags == r->diags_alloc) {
		r->diags_alloc = r->diags_alloc ? r->diags_alloc * 2 : 16;
		r->diags = xrealloc(r->diags, r->diags_alloc * sizeof(*r->diags));
	}
	struct dotenv_diag *d = &r->diags[r->ndiags++];
	va_list ap;
	va_start(ap, fmt);
	d->message = xvasprintf(fmt, ap);
	va_end(ap);
	d->kind = kind;
	d->line = dp_line(p, off);
	d->column = dp_column(p, off);
	if (kind == DOTENV_FATAL)
		r->fatal = true;
}

static const char *dp_var_value(struct dotenv_parser *p, const char *name, size_t len, bool file_first,
				bool *found);

const char *dp_var(struct dotenv_parser *p, const char *name, size_t len, bool file_first, bool *found)
{
	const char *v = dp_var_value(p, name, len, file_first, found);
	size_t vlen = strlen(v);
	if (p->over_budget || vlen > DOTENV_MAX_EXPANSION - p->expanded) {
		p->over_budget = true;
		return "";
	}
	p->expanded += vlen;
	return v;
}

static const char *dp_var_value(struct dotenv_parser *p, const char *name, size_t len, bool file_first,
				bool *found)
{
	const char *env = NULL;
	if (!file_first && p->o->lookup) {
		char *n = xstrndup(name, len);
		env = p->o->lookup(n, p->o->lookup_ctx);
		free(n);
		if (env) {
			*found = true;
			p->used_env = true;
			return env;
		}
	}
	const struct dotenv_entry *e = lookup_len(p->r, name, len);
	if (e) {
		*found = true;
		return e->value ? e->value : "";
	}
	if (file_first && p->o->lookup) {
		char *n = xstrndup(name, len);
		env = p->o->lookup(n, p->o->lookup_ctx);
		free(n);
	}
	*found = env != NULL;
	p->used_env |= env != NULL;
	return env ? env : "";
}

/* python and node read text with universal newlines: \r\n and \r become \n; node
 * --env-file drops every \r (drop_cr). */
static char *normalise_newlines(const char *buf, size_t len, bool drop_cr, size_t *out_len, size_t **map)
{
	if (!memchr(buf, '\r', len)) {
		*map = NULL;
		*out_len = len;
		return NULL;
	}
	char *s = xmalloc(len + 1);
	size_t *m = xmalloc((len + 1) * sizeof(size_t));
	size_t j = 0;
	for (size_t i = 0; i < len; i++) {
		m[j] = i;
		if (buf[i] == '\r' && drop_cr) {
			continue;
		} else if (buf[i] == '\r') {
			s[j++] = '\n';
			if (i + 1 < len && buf[i + 1] == '\n')
				i++;
		} else {
			s[j++] = buf[i];
		}
	}
	m[j] = len;
	s[j] = '\0';
	*out_len = j;
	*map = m;
	return s;
}

void dotenv_parse(const char *buf, size_t len, const struct dotenv_options *opts,
		  struct dotenv_result *out)
{
	memset(out, 0, sizeof(*out));
	struct dotenv_parser p = { .s = buf, .n = len, .o = opts, .r = out };
	size_t *map = NULL;
	char *norm = NULL;
	if (opts->dialect == DOTENV_PYTHON || opts->dialect == DOTENV_NODE || opts->dialect == DOTENV_NODE_ENV_FILE) {
		norm = normalise_newlines(buf, len, opts->dialect == DOTENV_NODE_ENV_FILE, &p.n, &map);
		if (norm)
			p.s = norm;
		p.map = map;
	}
	index_lines(&p);
	switch (opts->dialect) {
	case DOTENV_PYTHON:
		dotenv_parse_python(&p);
		break;
	case DOTENV_NODE:
		dotenv_parse_node(&p);
		break;
	case DOTENV_SHELL:
		dotenv_parse_shell(&p);
		break;
	case DOTENV_DOCKER:
		dotenv_parse_docker(&p);
		break;
	case DOTENV_NODE_ENV_FILE:
		dotenv_parse_node_env_file(&p);
		break;
	case DOTENV_COMPOSE:
	default:
		dotenv_parse_compose(&p);
		break;
	}
	if (p.over_budget && !p.over_reported)
		dp_diag(&p, DOTENV_FATAL, p.n, "interpolation expands to more than %zu MiB: values were cut "
			"(the loader would exhaust its memory)", DOTENV_MAX_EXPANSION >> 20);
	free(p.line_starts);
	free(norm);
	free(map);
}

void dotenv_result_free(struct dotenv_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->entries[i].key);
		free(r->entries[i].value);
	}
	for (size_t i = 0; i < r->ndiags; i++)
		free(r->diags[i].message);
	free(r->entries);
	free(r->diags);
	free(r->slots);
	memset(r, 0, sizeof(*r));
}
