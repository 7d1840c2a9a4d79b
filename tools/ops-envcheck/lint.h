/* lint.h — the physical-line model lint.c and fix.c share. */
#ifndef OPSKIT_ENVCHECK_LINT_H
#define OPSKIT_ENVCHECK_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "envcheck.h"

struct lint_line {
	int no;                 /* 1-based */
	size_t start, end;      /* without the line break (and without a CR before it) */
	bool crlf, blank, comment, continuation, has_eq;
	bool unclosed;           /* after a quote the loader did not close: the rest of a value
	                           (continuation too); mask.c masks its text */
	bool bom;               /* line 1 starts with a UTF-8 byte order mark (not in the key) */
	bool space_before_eq, space_after_eq;
	size_t indent;
	size_t key, key_len;    /* the key as written (after "export ") */
	size_t value;           /* first byte after '=' */
};

/* The lines of f, parsed as dotenv-linter sees them; caller frees *out. */
void lint_lines(const struct env_file *f, struct lint_line **out, size_t *n);

#endif
