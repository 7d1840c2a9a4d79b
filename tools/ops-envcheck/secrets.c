/*
 * secrets: credential formats found in values (the formats: secret_rules.c), whether a
 * file with credentials is tracked by git or at least ignored (libgit2), whether HEAD's
 * history holds it with credentials (also the env files under a directory operand that
 * are deleted since), and whether group or others can read it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envcheck.h"
#include "secret_rules.h"
#include "util.h"

/* Names SDKs read as they are: advising to rename them would break the application. */
static bool sdk_fixed_name(const char *key)
{
	static const char *const names[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GOOGLE_API_KEY",
		"GOOGLE_APPLICATION_CREDENTIALS", "GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "SLACK_BOT_TOKEN",
		"SLACK_TOKEN", "SLACK_WEBHOOK_URL", "STRIPE_API_KEY", "STRIPE_SECRET_KEY", "TWILIO_API_KEY",
		"TWILIO_AUTH_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(key, names[i]))
			return true;
	return false;
}

/* The first credential among the loaded values (NULL when none). */
static const char *first_secret(const struct dotenv_result *res, const struct envcheck_opts *o, const char **what)
{
	for (size_t i = 0; i < res->n; i++)
		if ((*what = credential_kind(&res->entries[i], o)))
			return res->entries[i].key;
	return NULL;
}

/* Object ids already looked at: a blob or tree unchanged since a newer commit is
 * not read again. Open addressing on the id's first bytes (ids are uniform). */
struct oid_set {
	git_oid *v;
	bool *used;
	size_t cap, n;
};

/* Adds id: false when it was there already. */
static bool oid_set_add(struct oid_set *s, const git_oid *id)
{
	if (2 * (s->n + 1) > s->cap) {
		struct oid_set bigger = { .cap = s->cap ? 2 * s->cap : 256 };
		bigger.v = xcalloc(bigger.cap, sizeof(git_oid));
		bigger.used = xcalloc(bigger.cap, sizeof(bool));
		for (size_t i = 0; i < s->cap; i++)
			if (s->used[i])
				oid_set_add(&bigger, &s->v[i]);
		free(s->v);
		free(s->used);
		*s = bigger;
	}
	size_t h;
	memcpy(&h, id->id, sizeof(h));
	for (size_t i = h % s->cap;; i = (i + 1) % s->cap) {
		if (!s->used[i]) {
			s->used[i] = true;
			git_oid_cpy(&s->v[i], id);
			s->n++;
			return true;
		}
		if (git_oid_equal(&s->v[i], id))
			return false;
	}
}

static void oid_set_free(struct oid_set *s)
{
	free(s->v);
	free(s->used);
}

/* The repository whose work tree holds path, and path relative to it (in rel, with a
 * trailing / for a directory; "" for the top); NULL when there is none. */
static git_repository *open_workdir_repo(const char *path, char rel[PATH_MAX])
{
	char abs[PATH_MAX];
	struct stat st;
	if (!realpath(path, abs) || stat(abs, &st) < 0 || strlen(abs) + 2 > PATH_MAX)
		return NULL;
	if (S_ISDIR(st.st_mode) && strcmp(abs, "/"))
		strcat(abs, "/");
	git_repository *repo = NULL;
	if (git_repository_open_ext(&repo, abs, 0, NULL) == 0 && !git_repository_is_bare(repo)) {
		const char *wd = git_repository_workdir(repo);
		size_t wl = wd ? strlen(wd) : 0;
		if (wd && !strncmp(abs, wd, wl)) {
			snprintf(rel, PATH_MAX, "%s", abs + wl);
			return repo;
		}
	}
	git_repository_free(repo);
	return NULL;
}

/* 1: tracked, 0: untracked and not ignored, 2: ignored, -1: not in a repository. */
static int git_state(const char *path)
{
	char rel[PATH_MAX];
	git_libgit2_init();
	git_repository *repo = open_workdir_repo(path, rel);
	int rc = -1;
	if (repo) {
		/* tracked first: a file committed and later added to .gitignore is still in
		 * the repository (and its history) */
		git_index *index = NULL;
		int ignored = 0;
		if (git_repository_index(&index, repo) == 0 && git_index_get_bypath(index, rel, 0))
			rc = 1;
		else if (git_ignore_path_is_ignored(&ignored, repo, rel) == 0 && ignored)
			rc = 2;
		else
			rc = 0;
		git_index_free(index);
	}
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

/* HEAD's history, newest first; NULL without one. */
static git_revwalk *newest_first(git_repository *repo)
{
	git_revwalk *walk = NULL;
	if (git_revwalk_new(&walk, repo) < 0 || git_revwalk_push_head(walk) < 0) {
		git_revwalk_free(walk);
		return NULL;
	}
	git_revwalk_sorting(walk, GIT_SORT_TIME);
	return walk;
}

/* The first credential key of a committed version of an env file (allocated), or NULL.
 * It is masked as any parsed source is, though its values are never shown. */
static char *blob_secret(git_repository *repo, const git_oid *id, const struct envcheck_opts *o, const char **what)
{
	git_blob *blob = NULL;
	if (git_blob_lookup(&blob, repo, id) != 0)
		return NULL;
	struct dotenv_options dopts;
	dotenv_options_init(&dopts, o->dialect);
	dopts.expand = false;
	dopts.lookup = NULL;
	struct dotenv_result res;
	dotenv_parse(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), &dopts, &res);
	const char *k = first_secret(&res, o, what);
	char *key = k ? xstrdup(k) : NULL;
	struct envcheck_opts as_parsed = *o;
	as_parsed.expand = false;
	as_parsed.lookup = NULL;
	mask_source(&(struct env_file){ .path = "", .buf = (char *)git_blob_rawcontent(blob),
					 .len = (size_t)git_blob_rawsize(blob), .res = res }, &as_parsed);
	dotenv_result_free(&res);
	git_blob_free(blob);
	return key;
}

/* The newest commit (of HEAD's history, at most --history-commits) where path held a
 * credential, even if the file is deleted, ignored or clean since: its id in
 * *commit_id, the key in *key. */
static bool history_secret(const char *path, const struct envcheck_opts *o, char commit_id[GIT_OID_HEXSZ + 1],
			   char **key, const char **what)
{
	char rel[PATH_MAX];
	git_libgit2_init();
	git_repository *repo = open_workdir_repo(path, rel);
	git_revwalk *walk = repo ? newest_first(repo) : NULL;
	struct oid_set seen = { 0 };
	git_oid oid;
	*key = NULL;
	for (int n = 0; walk && !*key && n < o->history_commits && git_revwalk_next(&oid, walk) == 0; n++) {
		git_commit *commit = NULL;
		git_tree *tree = NULL;
		git_tree_entry *te = NULL;
		if (git_commit_lookup(&commit, repo, &oid) == 0 && git_commit_tree(&tree, commit) == 0 &&
		    git_tree_entry_bypath(&te, tree, rel) == 0 && git_tree_entry_type(te) == GIT_OBJECT_BLOB &&
		    oid_set_add(&seen, git_tree_entry_id(te)) &&
		    (*key = blob_secret(repo, git_tree_entry_id(te), o, what)))
			git_oid_tostr(commit_id, GIT_OID_HEXSZ + 1, &oid);
		git_tree_entry_free(te);
		git_tree_free(tree);
		git_commit_free(commit);
	}
	oid_set_free(&seen);
	git_revwalk_free(walk);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return *key != NULL;
}

static void report_history(struct report *r, const char *path, const char *key, const char *what,
			   const char *commit_id, bool deleted)
{
	struct check *c = ec_report(r, "secret-in-history", ST_CRITICAL, path,
				    "%s%s was committed with credentials (%s held %s) in commit %.12s: deleting or "
				    "ignoring it since does not remove it from the history", path,
				    deleted ? " (deleted since)" : "", key, what, commit_id);
	ec_location(c, path, 0, 0);
	check_hint(c, "rotate the credentials; then rewrite the history (git filter-repo --path %s "
		   "--invert-paths) if the repository is shared", path);
}

/* secret-in-history: f's path in HEAD's history held a credential. */
static void secrets_check_history(struct report *r, const struct env_file *f, const struct envcheck_opts *o)
{
	char id[GIT_OID_HEXSZ + 1];
	char *key = NULL;
	const char *what = NULL;
	if (!history_secret(f->path, o, id, &key, &what))
		return;
	report_history(r, f->path, key, what, id, false);
	free(key);
}

/* secrets_history_sweep: env files under a directory that the history holds but the
 * work tree does not (deleted since). */
struct sweep {
	struct report *r;
	const struct envcheck_opts *o;
	git_repository *repo;
	const char *dir;          /* the operand: reported paths start with it */
	struct oid_set seen;      /* blobs and trees read already */
	struct oid_set reported;  /* hashes of the paths reported (one finding per path) */
	char commit_id[GIT_OID_HEXSZ + 1];
};

static int sweep_entry(const char *root, const git_tree_entry *te, void *payload)
{
	struct sweep *s = payload;
	const char *name = git_tree_entry_name(te);
	if (git_tree_entry_type(te) == GIT_OBJECT_TREE) /* 1: do not descend */
		return !s->o->recursive || env_file_skipped_dir(name) || !oid_set_add(&s->seen, git_tree_entry_id(te));
	if (git_tree_entry_type(te) != GIT_OBJECT_BLOB || !env_file_named(name))
		return 0;
	char *path = strcmp(s->dir, ".") ? xasprintf("%s/%s%s", s->dir, root, name) : xasprintf("%s%s", root, name);
	struct stat st;
	git_oid path_id;
	const char *what = NULL;
	char *key = NULL;
	/* a file still there is checked as a file (its own history included) */
	if (lstat(path, &st) < 0 && errno == ENOENT && !env_file_excluded(name, path, s->o) &&
	    oid_set_add(&s->seen, git_tree_entry_id(te)) &&
	    (key = blob_secret(s->repo, git_tree_entry_id(te), s->o, &what)) &&
	    git_odb_hash(&path_id, path, strlen(path), GIT_OBJECT_BLOB) == 0 && oid_set_add(&s->reported, &path_id))
		report_history(s->r, path, key, what, s->commit_id, true);
	free(key);
	free(path);
	return 0;
}

void secrets_history_sweep(struct report *r, const char *dir, const struct envcheck_opts *o)
{
	char rel[PATH_MAX];
	git_libgit2_init();
	char *trimmed = xstrdup(dir);
	for (size_t l = strlen(trimmed); l > 1 && trimmed[l - 1] == '/';)
		trimmed[--l] = '\0';
	struct sweep s = { .r = r, .o = o, .dir = trimmed, .repo = open_workdir_repo(dir, rel) };
	git_revwalk *walk = s.repo ? newest_first(s.repo) : NULL;
	git_oid oid;
	for (int n = 0; walk && n < o->history_commits && git_revwalk_next(&oid, walk) == 0; n++) {
		git_commit *commit = NULL;
		git_tree *top = NULL, *sub = NULL;
		git_tree_entry *te = NULL;
		git_tree *tree = NULL;
		if (git_commit_lookup(&commit, s.repo, &oid) == 0 && git_commit_tree(&top, commit) == 0) {
			if (!*rel)
				tree = top;
			else if (git_tree_entry_bypath(&te, top, rel) == 0 && git_tree_entry_type(te) == GIT_OBJECT_TREE &&
				 git_tree_lookup(&sub, s.repo, git_tree_entry_id(te)) == 0)
				tree = sub;
		}
		git_oid_tostr(s.commit_id, sizeof(s.commit_id), &oid);
		if (tree && oid_set_add(&s.seen, git_tree_id(tree))) /* unchanged since a newer commit: done */
			git_tree_walk(tree, GIT_TREEWALK_PRE, sweep_entry, &s);
		git_tree_entry_free(te);
		git_tree_free(sub);
		git_tree_free(top);
		git_commit_free(commit);
	}
	oid_set_free(&s.seen);
	oid_set_free(&s.reported);
	git_revwalk_free(walk);
	git_repository_free(s.repo);
	git_libgit2_shutdown();
	free(trimmed);
}

static void check_git(struct report *r, const struct env_file *f, const char *first_key, const char *what)
{
	int state = git_state(f->path);
	struct check *c;
	if (state == 1 && str_starts_with(first_key, "DOTENV_PRIVATE_KEY")) {
		c = ec_report(r, "secret-tracked", ST_CRITICAL, f->path,
			      "%s holds dotenvx private keys (%s) and is tracked by git: anyone with the repository "
			      "decrypts every encrypted .env", f->path, first_key);
		ec_location(c, f->path, 0, 0);
		check_hint(c, "git rm --cached %s, add .env.keys to .gitignore, and rotate: dotenvx rotate", f->path);
		return;
	}
	if (state == 1) {
		c = ec_report(r, "secret-tracked", ST_CRITICAL, f->path,
				 "%s holds credentials (%s holds %s) and is tracked by git", f->path, first_key, what);
		ec_location(c, f->path, 0, 0);
		check_hint(c, "git rm --cached %s, add it to .gitignore, and rotate the credentials", f->path);
	} else if (state == 0) {
		c = ec_report(r, "secret-not-ignored", ST_WARNING, f->path,
				 "%s holds credentials and is not ignored by git: one `git add .` commits it", f->path);
		ec_location(c, f->path, 0, 0);
		check_hint(c, "add %s to .gitignore", f->path);
	}
}

static void check_mode(struct report *r, const struct env_file *f)
{
	struct stat st;
	if (stat(f->path, &st) < 0 || !(st.st_mode & (S_IRGRP | S_IROTH)))
		return;
	struct check *c = ec_report(r, "file-permissions", ST_WARNING, f->path,
				       "%s holds secrets and is readable by %s (mode %03o)", f->path,
				       (st.st_mode & S_IROTH) ? "everyone" : "its group", (unsigned)(st.st_mode & 0777));
	check_hint(c, "chmod 600 %s", f->path);
	ec_location(c, f->path, 0, 0);
}

void secrets_check(struct report *r, const struct env_file *f, const struct envcheck_opts *o)
{
	const char *first_key = NULL, *first_what = NULL;
	for (size_t i = 0; i < f->res.n; i++) {
		const struct dotenv_entry *e = &f->res.entries[i];
		if (!e->value || !*e->value)
			continue;
		/* dotenvx: an encrypted value, and the public key that encrypts, are fine
		 * committed; the private keys (.env.keys: DOTENV_PRIVATE_KEY*) are not */
		if (str_starts_with(e->value, "encrypted:") || str_starts_with(e->key, "DOTENV_PUBLIC_KEY"))
			continue;
		bool secret_name = is_secret_key(e->key, o);
		/* a path to the secret (GOOGLE_APPLICATION_CREDENTIALS=/etc/...) is not one */
		bool secret_value = is_secret_value(e->key, e->value, o) && !is_placeholder_value(e->value);
		const struct credential_rule *rule = credential_rule_of(e->value);
		const char *what = rule ? rule->what : credential_format(e->key, e->value, o);
		/* a value interpolated from the environment is not in the file: it makes the
		 * file neither tracked with a credential nor one to hide */
		if (!first_key && (what || secret_value) && !e->from_env) {
			first_key = e->key;
			first_what = what ? what : "a secret value";
		}
		if (rule && rule->needs && !dotenv_lookup(&f->res, rule->needs)) {
			struct check *c = ec_report(r, "secret-format", ST_WARNING, e->key,
						       "%s holds %s, but %s is not set: the key works only with its "
						       "session token", e->key, what, rule->needs);
			ec_location(c, f->path, e->line, e->column);
			check_hint(c, "set %s beside it, or use a long-term key (AKIA...)", rule->needs);
		}
		if (what && !secret_name && !sdk_fixed_name(e->key)) {
			struct check *c = ec_report(r, "secret-format", ST_WARNING, e->key,
						       "%s holds %s under a name that does not look secret", e->key, what);
			ec_location(c, f->path, e->line, e->column);
			check_hint(c, "rename it (e.g. %s_SECRET or _TOKEN) so tools mask it, or list it in "
				   "envcheck.secret_patterns", e->key);
		}
	}
	/* the git check needs no format match: a tracked file of plain passwords fails too */
	if (first_key && o->git)
		check_git(r, f, first_key, first_what);
	/* a credential in the file's history, unless it is tracked with one now (said already) */
	if (o->git && !(first_key && git_state(f->path) == 1))
		secrets_check_history(r, f, o);
	if (first_key)
		check_mode(r, f);
}
