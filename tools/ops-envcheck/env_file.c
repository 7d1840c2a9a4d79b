/*
 * env_file — loading .env files, looking keys up in them, the rules that make a key or
 * a value secret, and which names are env files (discovery and the git history share
 * them). Every check module leans on this file; it calls none of them, only mask.c
 * right after parsing (the one owner of masking).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envcheck.h"
#include "redact.h"
#include "util.h"

/* Keys a schema marks secret; a run has a handful, so a list is enough. */
static char **schema_secret_keys;
static size_t nschema_secret_keys;

void env_file_mark_secret(const char *key)
{
	for (size_t i = 0; i < nschema_secret_keys; i++)
		if (!strcmp(schema_secret_keys[i], key))
			return;
	schema_secret_keys = xrealloc(schema_secret_keys, (nschema_secret_keys + 1) * sizeof(char *));
	schema_secret_keys[nschema_secret_keys++] = xstrdup(key);
}

void env_file_forget_secrets(void)
{
	for (size_t i = 0; i < nschema_secret_keys; i++)
		free(schema_secret_keys[i]);
	free(schema_secret_keys);
	schema_secret_keys = NULL;
	nschema_secret_keys = 0;
}

/* Secret because the schema or the config says so, not by its name alone. */
static bool declared_secret(const char *key, const struct envcheck_opts *o)
{
	for (size_t i = 0; i < nschema_secret_keys; i++)
		if (!strcmp(schema_secret_keys[i], key))
			return true;
	for (size_t i = 0; i < o->nsecret_patterns; i++)
		if (!fnmatch(o->secret_patterns[i], key, 0))
			return true;
	return false;
}

bool env_file_key_is_secret(const char *key, const struct envcheck_opts *o)
{
	return redact_key_is_secret(key) || declared_secret(key, o);
}

/* By its text, never by the key's name, and without parsing it: the JSON may be broken
 * (that is what the credentials check then says), and it is secret all the same. */
bool env_file_value_is_service_account(const char *value)
{
	if (!value)
		return false;
	value += strspn(value, " \t\r\n");
	if (*value != '{')
		return false;
	for (const char *p = strstr(value, "\"type\""); p; p = strstr(p + 1, "\"type\"")) {
		const char *v = p + 6;
		v += strspn(v, " \t\r\n");
		if (*v != ':')
			continue;
		v += 1 + strspn(v + 1, " \t\r\n");
		if (str_starts_with(v, "\"service_account\""))
			return true;
	}
	return false;
}

bool env_file_value_is_secret(const char *key, const char *value, const struct envcheck_opts *o)
{
	if (declared_secret(key, o) || env_file_value_is_service_account(value))
		return true;
	return redact_key_is_secret(key) && !redact_value_is_path(key, value);
}

bool env_file_named(const char *name)
{
	size_t n = strlen(name);
	return !strcmp(name, ".env") || !strncmp(name, ".env.", 5) || (n > 4 && !strcmp(name + n - 4, ".env"));
}

bool env_file_excluded(const char *name, const char *path, const struct envcheck_opts *o)
{
	for (size_t i = 0; i < o->exclude.n; i++)
		if (!fnmatch(o->exclude.items[i], name, 0) || !fnmatch(o->exclude.items[i], path, 0) ||
		    !fnmatch(o->exclude.items[i], path, FNM_LEADING_DIR))
			return true;
	return false;
}

bool env_file_skipped_dir(const char *name)
{
	static const char *const names[] = { "node_modules", ".git", "vendor", "third_party", "bower_components",
					     ".venv", "venv", "__pycache__", ".hg", ".svn" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

char *env_file_path_in(const char *dir, const char *name)
{
	return !strcmp(dir, ".") ? xstrdup(name) : xasprintf("%s/%s", dir, name);
}

const char *env_file_shown(const char *key, const char *value, const struct envcheck_opts *o)
{
	if (!value)
		return "(no value)";
	return env_file_value_is_secret(key, value, o) ? REDACTED : value;
}

/* Beyond any real env or compose file; bounds /dev/zero or a runaway generator named as one. */
#define MAX_ENV_FILE_BYTES (64u << 20)

int env_file_read(struct strbuf *sb, const char *path)
{
	return sb_read_file(sb, path, MAX_ENV_FILE_BYTES);
}

int env_file_load(struct env_file *f, const char *path, const struct envcheck_opts *o)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	struct strbuf sb = STRBUF_INIT;
	if (env_file_read(&sb, path) < 0) {
		int err = errno;
		sb_release(&sb);
		errno = err;
		return -1;
	}
	f->len = sb.len;
	f->buf = sb_detach(&sb);
	struct dotenv_options dopts;
	dotenv_options_init(&dopts, o->dialect);
	dopts.expand = o->expand;
	if (o->lookup) {
		dopts.lookup = o->lookup;
		dopts.lookup_ctx = o->lookup_ctx;
	}
	dotenv_parse(f->buf, f->len, &dopts, &f->res);
	mask_source(f, o);
	return 0;
}

void env_file_free(struct env_file *f)
{
	dotenv_result_free(&f->res);
	free(f->buf);
	f->buf = NULL;
}

const struct dotenv_entry *env_file_find(struct env_file *files, size_t nfiles, const char *key,
					 const struct env_file **where)
{
	for (size_t i = nfiles; i-- > 0;) {
		const struct dotenv_entry *e = dotenv_lookup(&files[i].res, key);
		if (e) {
			if (where)
				*where = &files[i];
			return e;
		}
	}
	return NULL;
}
