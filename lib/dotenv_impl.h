/*
 * dotenv_impl — what the dialect parsers of dotenv.c share (private to lib/dotenv*.c).
 */
#ifndef OPSKIT_DOTENV_IMPL_H
#define OPSKIT_DOTENV_IMPL_H

#include "dotenv.h"
#include "util.h"

/* Whitespace flavours: which loader's idea of "space" a scanner uses. */
#define WS_PY 1u      /* Python str.isspace / re \s */
#define WS_JS 2u      /* JavaScript \s and String.prototype.trim */
#define WS_GO 4u      /* Go unicode.IsSpace */
#define WS_COMPOSE 8u /* compose-go isSpace: blanks and \r, never \n */

struct dotenv_parser {
	const char *s;          /* text scanned (line breaks normalised for python/node) */
	size_t n;
	const size_t *map;      /* offset in s -> offset in the caller's buffer; NULL = same */
	size_t *line_starts;    /* offsets in s where each line starts */
	size_t nlines;
	const struct dotenv_options *o;
	struct dotenv_result *r;
	size_t expanded;        /* bytes of values substituted so far (see dp_var) */
	bool over_budget;       /* dp_var stopped substituting */
	bool over_reported;
	bool used_env;          /* the lookup answered since the last dp_add */
};

/* A parse substitutes at most this many bytes of values. A=${B}${B} on each line doubles
 * the value: a file of a few hundred bytes would expand to gigabytes and the checker
 * would die of it. No real .env comes near. */
#define DOTENV_MAX_EXPANSION ((size_t)16 << 20)

/* Length in bytes of the whitespace code point at p (0 when it is not one). */
size_t dp_ws_len(const char *p, const char *end, unsigned flavour);
/* Offset of the first non-whitespace byte at or after off. */
size_t dp_skip_ws(const struct dotenv_parser *p, size_t off, unsigned flavour, bool newlines);

int dp_line(const struct dotenv_parser *p, size_t off);
int dp_column(const struct dotenv_parser *p, size_t off);

/* Spans are offsets in p->s; they are mapped to the caller's buffer here. */
struct dp_span {
	size_t key, key_len;    /* key as written (offset of its first byte) */
	size_t start, end;      /* statement */
	size_t vstart, vend;    /* raw value */
	char quote;
	bool exported;
};
struct dotenv_entry *dp_add(struct dotenv_parser *p, const char *key, size_t key_len,
			    struct strbuf *value, const struct dp_span *span);
/* Drops every entry (the loader ends up exporting nothing); diagnostics stay. */
void dp_forget_entries(struct dotenv_parser *p);
void dp_diag(struct dotenv_parser *p, enum dotenv_diag_kind kind, size_t off,
	     const char *fmt, ...) PRINTF_LIKE(4, 5);

/* The value of name for interpolation: the file's last value so far (file_first) or
 * the environment first (compose). *found tells whether it is set at all; a key
 * loaded without a value is set and empty. */
const char *dp_var(struct dotenv_parser *p, const char *name, size_t len, bool file_first,
		   bool *found);

void dotenv_parse_python(struct dotenv_parser *p);
void dotenv_parse_node(struct dotenv_parser *p);
void dotenv_parse_compose(struct dotenv_parser *p);
void dotenv_parse_shell(struct dotenv_parser *p);
void dotenv_parse_docker(struct dotenv_parser *p);
void dotenv_parse_node_env_file(struct dotenv_parser *p);

#endif
