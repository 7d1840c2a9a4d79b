/*
 * dotenv — parse .env files exactly as a given loader does.
 *
 * Contract:
 *  - dotenv_parse() reads a buffer (not NUL-terminated, any bytes) in one dialect and
 *    fills a result with every assignment in file order (duplicates kept) and one
 *    diagnostic per statement the dialect skips or refuses. It never executes anything
 *    and never fails: bad input gives diagnostics, never a crash.
 *  - Dialects and their references:
 *      compose  Compose v2 env_file rules (compose-go dotenv + template): export, quotes,
 *               "KEY: value", " #" comments, ${VAR:-def} ${VAR-def} ${VAR:?err}
 *               ${VAR:+alt}, $$; a hard error (unterminated quote, bad key, bad
 *               ${...}) stops the file, as Compose refuses it.
 *      python   python-dotenv 0.21 dotenv_values(): ${VAR} and ${VAR:-def} only.
 *      node     npm dotenv 16 parse(): no expansion; "KEY: value"; backticks.
 *      shell    what `set -a; . FILE` exports in bash; $(...) and `...` are reported,
 *               never run; commands other than assignments/export are reported.
 *      docker   `docker run --env-file`: KEY=VALUE taken as written (no quotes, no
 *               interpolation, no comments after a value); KEY alone takes the
 *               caller's value (the lookup); a bad key refuses the whole file.
 *      node-env-file  Node's built-in `node --env-file` (Node 20): quotes, \n in
 *               double quotes, # comments; no interpolation.
 *  - Expansion looks up, per dialect, the file's earlier values and the lookup
 *    callback (normally getenv); opts.expand = false keeps values as written.
 *  - An entry's value is NULL when the dialect loads the key without a value (python
 *    "KEY", compose "KEY" absent from the environment). Values are NUL-terminated and
 *    value_len counts bytes (a value may contain NUL through an escape).
 *  - Lines and columns are 1-based; columns count bytes. Spans are byte offsets into
 *    the caller's buffer: [start, end) of the whole statement and of the raw value.
 *  - Diagnostic messages never contain values (they may be secrets): only line,
 *    column, key names and a description.
 *  - The "loaded" view (what a program sees) is: keys in order of first appearance,
 *    each with its last value; dotenv_lookup() gives that last entry.
 */
#ifndef OPSKIT_DOTENV_H
#define OPSKIT_DOTENV_H

#include <stdbool.h>
#include <stddef.h>

enum dotenv_dialect { DOTENV_COMPOSE, DOTENV_PYTHON, DOTENV_NODE, DOTENV_SHELL, DOTENV_DOCKER,
		     DOTENV_NODE_ENV_FILE };
#define DOTENV_NDIALECTS 6

struct dotenv_entry {
	char *key;
	char *value;          /* NULL: loaded without a value */
	size_t value_len;
	int line, column;     /* of the key */
	int end_line;         /* last line of the statement (multi-line values) */
	size_t start, end;    /* statement span (from the key or "export", to end of value) */
	size_t value_start, value_end; /* raw value text as written (quotes included) */
	char quote;           /* '\'', '"', '`' or 0 when the value is unquoted */
	bool exported;        /* written with "export " */
	bool first;           /* first occurrence of this key in the file */
	bool from_env;        /* its value took something from the lookup (the process
				 environment): in CI that holds secrets, never print it */
};

enum dotenv_diag_kind {
	DOTENV_SKIPPED,       /* the dialect ignores this statement */
	DOTENV_NOT_RUN,       /* shell: a command or substitution we refuse to execute */
	DOTENV_UNSET_VAR,     /* an interpolated variable is not set (value uses "") */
	DOTENV_FATAL,         /* the loader refuses the whole file from here on */
};

struct dotenv_diag {
	enum dotenv_diag_kind kind;
	int line, column;
	char *message;
};

struct dotenv_result {
	struct dotenv_entry *entries;
	size_t n, alloc;
	struct dotenv_diag *diags;
	size_t ndiags, diags_alloc;
	bool fatal;           /* a DOTENV_FATAL diagnostic was emitted */
	/* private: key -> index of the last entry */
	size_t *slots;
	size_t nslots;
	size_t nkeys;
};

/* Returns the value of an environment variable or NULL (ctx is opts.lookup_ctx). */
typedef const char *(*dotenv_lookup_fn)(const char *name, void *ctx);

struct dotenv_options {
	enum dotenv_dialect dialect;
	bool expand;                 /* interpolate variables (dialects that do) */
	dotenv_lookup_fn lookup;     /* NULL: no environment */
	void *lookup_ctx;
};

void dotenv_options_init(struct dotenv_options *o, enum dotenv_dialect d); /* expand, getenv */
void dotenv_parse(const char *buf, size_t len, const struct dotenv_options *opts,
		  struct dotenv_result *out);
void dotenv_result_free(struct dotenv_result *r);

/* Appends key=value (value NULL: without one) to a result built by hand, not parsed
 * (Compose's environment: entries); a later entry of key wins, as in a file. */
struct dotenv_entry *dotenv_result_add(struct dotenv_result *r, const char *key, const char *value, int line,
				       int column);

/* The last entry for key, or NULL. */
const struct dotenv_entry *dotenv_lookup(const struct dotenv_result *r, const char *key);

const char *dotenv_dialect_name(enum dotenv_dialect d);
int dotenv_dialect_parse(const char *name, enum dotenv_dialect *out); /* 0 or -1 */

/* The } that closes the ${ at s[open], counting nested ${...} (compose's nesting);
 * (size_t)-1 when there is none. */
size_t dotenv_closing_brace(const char *s, size_t len, size_t open);

#endif
