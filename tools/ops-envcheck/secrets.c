/*
 * secrets: credential formats in values, whether a file with credentials is tracked by
 * git or at least ignored (libgit2), and whether group or others can read it.
 */
#define _GNU_SOURCE
#include <git2.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envcheck.h"
#include "redact.h"
#include "secrets.h"
#include "util.h"

/* hint: a literal every match contains, to skip the regex for ordinary values. */
static const struct {
	const char *what;
	const char *hint, *hint2;
	const char *pattern;
} formats[] = {
	{ "a private key", "PRIVATE KEY", NULL, "-----BEGIN ([A-Z]+ )?PRIVATE KEY-----" },
	{ "an AWS access key id", "AKIA", "ASIA", "(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Z0-9]|$)" },
	{ "a Google API key", "AIza", NULL, "AIza[0-9A-Za-z_-]{35}" },
	{ "a GitHub token", "gh", NULL, "gh[pousr]_[A-Za-z0-9]{36}" },
	{ "a Slack token", "xox", NULL, "xox[abprs]-[A-Za-z0-9-]{10,}" },
	{ "a Stripe secret key", "sk_live_", NULL, "sk_live_[A-Za-z0-9]{20,}" },
};

/* Compiled once, kept for the run. */
static regex_t format_re[ARRAY_SIZE(formats)];
static bool format_ok[ARRAY_SIZE(formats)], formats_compiled;

static bool matches_format(size_t i, const char *value)
{
	if (!strstr(value, formats[i].hint) && (!formats[i].hint2 || !strstr(value, formats[i].hint2)))
		return false;
	if (!formats_compiled) {
		for (size_t k = 0; k < ARRAY_SIZE(formats); k++)
			format_ok[k] = regcomp(&format_re[k], formats[k].pattern, REG_EXTENDED | REG_NOSUB) == 0;
		formats_compiled = true;
	}
	return format_ok[i] && regexec(&format_re[i], value, 0, NULL, 0) == 0;
}

static double entropy(const char *s)
{
	size_t count[256] = { 0 }, n = 0;
	for (; s[n]; n++)
		count[(unsigned char)s[n]]++;
	double h = 0;
	for (int i = 0; i < 256; i++)
		if (count[i]) {
			double p = (double)count[i] / (double)n;
			h -= p * log2(p);
		}
	return h;
}

bool secrets_placeholder(const char *v)
{
	static const char *const words[] = { "changeme", "change-me", "change_me", "example", "placeholder",
					     "your", "xxx", "todo", "secret", "password", "dummy", "test", "<" };
	if (!*v || strlen(v) < 8)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcasestr(v, words[i]))
			return true;
	return strspn(v, "x*.-_0") == strlen(v);
}

const char *secrets_format(const char *key, const char *value, const struct envcheck_opts *o)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (matches_format(i, value))
			return formats[i].what;
	if (env_file_value_is_secret(key, value, o) && strlen(value) >= 20 && entropy(value) >= 3.5 &&
	    !secrets_placeholder(value))
		return "a high-entropy secret";
	return NULL;
}

/* 1: tracked, 0: untracked and not ignored, 2: ignored, -1: not in a repository. */
static int git_state(const char *path)
{
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		return -1;
	git_libgit2_init();
	git_repository *repo = NULL;
	int rc = -1;
	if (git_repository_open_ext(&repo, abs, 0, NULL) == 0 && !git_repository_is_bare(repo)) {
		const char *wd = git_repository_workdir(repo);
		size_t wl = wd ? strlen(wd) : 0;
		if (wd && !strncmp(abs, wd, wl)) {
			const char *rel = abs + wl;
			unsigned flags = 0;
			int ignored = 0;
			if (git_ignore_path_is_ignored(&ignored, repo, rel) == 0 && ignored)
				rc = 2;
			else if (git_status_file(&flags, repo, rel) == 0)
				rc = (flags & GIT_STATUS_WT_NEW) ? 0 : 1;
			else
				rc = 0;
		}
	}
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

static void check_git(struct report *r, const struct env_file *f, const char *first_key, const char *what)
{
	int state = git_state(f->path);
	struct check *c;
	if (state == 1) {
		c = report_check(r, "secret-tracked", ST_CRITICAL, f->path,
				 "%s holds credentials (%s holds %s) and is tracked by git", f->path, first_key, what);
		check_location(c, f->path, 0, 0);
		check_hint(c, "git rm --cached %s, add it to .gitignore, and rotate the credentials", f->path);
	} else if (state == 0) {
		c = report_check(r, "secret-not-ignored", ST_WARNING, f->path,
				 "%s holds credentials and is not ignored by git: one `git add .` commits it", f->path);
		check_location(c, f->path, 0, 0);
		check_hint(c, "add %s to .gitignore", f->path);
	}
}

static void check_mode(struct report *r, const struct env_file *f)
{
	struct stat st;
	if (stat(f->path, &st) < 0 || !(st.st_mode & (S_IRGRP | S_IROTH)))
		return;
	struct check *c = report_check(r, "file-permissions", ST_WARNING, f->path,
				       "%s holds secrets and is readable by %s (mode %03o)", f->path,
				       (st.st_mode & S_IROTH) ? "everyone" : "its group", (unsigned)(st.st_mode & 0777));
	check_hint(c, "chmod 600 %s", f->path);
	check_location(c, f->path, 0, 0);
}

void secrets_check(struct report *r, const struct env_file *f, const struct envcheck_opts *o)
{
	const char *first_key = NULL, *first_what = NULL;
	bool has_secret_values = false;
	for (size_t i = 0; i < f->res.n; i++) {
		const struct dotenv_entry *e = &f->res.entries[i];
		if (!e->value || !*e->value)
			continue;
		bool secret_name = env_file_key_is_secret(e->key, o);
		/* a path to the secret (GOOGLE_APPLICATION_CREDENTIALS=/etc/...) is not one */
		has_secret_values |= env_file_value_is_secret(e->key, e->value, o) && !secrets_placeholder(e->value);
		const char *what = secrets_format(e->key, e->value, o);
		if (!what)
			continue;
		redact_add_secret(e->value);
		if (!first_key) {
			first_key = e->key;
			first_what = what;
		}
		if (!secret_name) {
			struct check *c = report_check(r, "secret-format", ST_WARNING, e->key,
						       "%s holds %s under a name that does not look secret", e->key, what);
			check_location(c, f->path, e->line, e->column);
			check_hint(c, "rename it (e.g. %s_SECRET or _TOKEN) so tools mask it", e->key);
		}
	}
	if (first_key && o->git)
		check_git(r, f, first_key, first_what);
	if (has_secret_values || first_key)
		check_mode(r, f);
}
