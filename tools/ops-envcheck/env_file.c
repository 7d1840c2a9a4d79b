/*
 * env_file — loading .env files, looking keys up in them, and which names are env files
 * (discovery and the git history share them). Every check module leans on this file; it
 * calls none of them, only mask.c right after parsing (the one owner of masking) and the
 * bounded read in suppress.c. Which keys and values are secret: secret_rules.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envcheck.h"
#include "redact.h"
#include "secret_rules.h"
#include "util.h"

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
	return is_secret_value(key, value, o) ? REDACTED : value;
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
