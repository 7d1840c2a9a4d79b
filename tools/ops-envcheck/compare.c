/*
 * compare: drift between an env file and its example (.env.example): keys missing
 * from the file, keys the example does not document, and an example that holds a
 * real-looking secret (examples are committed).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "envcheck.h"
#include "secret_rules.h"
#include "util.h"

/* Whether the line [a, b) has a comment (a # at its start or after a blank) whose first
 * word is "optional" ("# optional", "# Optional: only for the worker", "# (optional)");
 * "# not optional" and "# optionally ..." do not count. */
static bool says_optional(const char *s, size_t a, size_t b)
{
	for (size_t h = a; h < b; h++) {
		if (s[h] != '#' || (h > a && s[h - 1] != ' ' && s[h - 1] != '\t'))
			continue;
		size_t p = h;
		while (p < b && (s[p] == '#' || s[p] == ' ' || s[p] == '\t' || s[p] == '(' || s[p] == '['))
			p++;
		return p + 8 <= b && !strncasecmp(s + p, "optional", 8) &&
		       (p + 8 == b || !isalnum((unsigned char)s[p + 8]));
	}
	return false;
}

/* The example marks the key optional: "KEY= # optional", or a comment line saying so
 * right above it. */
static bool example_optional(const struct env_file *ex, const struct dotenv_entry *e)
{
	const char *s = ex->buf;
	size_t bol = e->start, eol = e->start;
	while (bol > 0 && s[bol - 1] != '\n')
		bol--;
	while (eol < ex->len && s[eol] != '\n')
		eol++;
	if (says_optional(s, e->start, eol))
		return true;
	if (!bol)
		return false;
	size_t prev = bol - 1;
	while (prev > 0 && s[prev - 1] != '\n')
		prev--;
	while (prev < bol && (s[prev] == ' ' || s[prev] == '\t'))
		prev++;
	return prev < bol && s[prev] == '#' && says_optional(s, prev, bol - 1);
}

/* Missing keys: CRITICAL for the required ones (every key the example does not mark
 * "# optional"), and required means non-empty: API_TOKEN= is missing too. */
static size_t missing_and_extra(struct report *r, const struct env_file *env, const struct env_file *ex)
{
	size_t optional = 0;
	for (size_t i = 0; i < ex->res.n; i++) {
		const struct dotenv_entry *e = &ex->res.entries[i];
		if (!e->first)
			continue;
		const struct dotenv_entry *have = dotenv_lookup(&env->res, e->key);
		if (have && have->value && *have->value)
			continue;
		if (example_optional(ex, e)) {
			optional++;
			continue;
		}
		struct check *c;
		if (have) {
			c = ec_report(r, "drift-missing", ST_CRITICAL, e->key, "%s is required by %s but empty in %s",
					 e->key, ex->path, env->path);
			ec_location(c, env->path, have->line, have->column);
			check_hint(c, "give %s a value, or mark it \"# optional\" in %s", e->key, ex->path);
			continue;
		}
		c = ec_report(r, "drift-missing", ST_CRITICAL, e->key,
				 "%s is in %s but missing from %s", e->key, ex->path, env->path);
		ec_location(c, ex->path, e->line, e->column);
		check_hint(c, "add %s to %s (see %s:%d), or mark it \"# optional\" there", e->key, env->path, ex->path,
			   e->line);
	}
	for (size_t i = 0; i < env->res.n; i++) {
		const struct dotenv_entry *e = &env->res.entries[i];
		if (!e->first || dotenv_lookup(&ex->res, e->key))
			continue;
		struct check *c = ec_report(r, "drift-extra", ST_WARNING, e->key,
					       "%s is in %s but not documented in %s", e->key, env->path, ex->path);
		ec_location(c, env->path, e->line, e->column);
		check_hint(c, "add %s= with a placeholder to %s, or remove it", e->key, ex->path);
	}
	return optional;
}

static void example_secrets(struct report *r, const struct env_file *ex, const struct envcheck_opts *o)
{
	for (size_t i = 0; i < ex->res.n; i++) {
		const struct dotenv_entry *e = &ex->res.entries[i];
		if (!e->value || is_placeholder_value(e->value))
			continue;
		const char *what = credential_format(e->key, e->value, o);
		if (!what)
			continue;
		struct check *c = ec_report(r, "example-secret", ST_CRITICAL, e->key,
					       "%s in %s holds what looks like %s: examples are committed", e->key,
					       ex->path, what);
		ec_location(c, ex->path, e->line, e->column);
		check_hint(c, "replace it with a placeholder (%s=changeme) and rotate the credential", e->key);
	}
}

int compare_files(struct report *r, const char *env_path, const char *example_path, const struct envcheck_opts *o)
{
	struct env_file env, ex;
	if (env_file_load(&env, env_path, o) < 0) {
		ec_report_unreadable(r, "file-unreadable", env_path);
		return -1;
	}
	if (env_file_load(&ex, example_path, o) < 0) {
		ec_report_unreadable(r, "file-unreadable", example_path);
		env_file_free(&env);
		return -1;
	}
	suppress_scan(&env);
	suppress_scan(&ex);
	size_t optional = missing_and_extra(r, &env, &ex);
	example_secrets(r, &ex, o);
	ec_report(r, "drift", ST_OK, env_path, "%zu keys in %s, %zu in %s (%zu optional ones absent or empty)",
		     env.res.nkeys, env_path, ex.res.nkeys, example_path, optional);
	env_file_free(&env);
	env_file_free(&ex);
	return 0;
}
