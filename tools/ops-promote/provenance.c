/* Git provenance with libgit2: only code merged into a branch is promoted, and each
 * promotion can be recorded as an annotated tag on the commit it was built from. */
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "promote.h"

static char *git_error_text(const char *what)
{
	const git_error *e = git_error_last();
	return xasprintf("%s: %s", what, e && e->message ? e->message : "unknown libgit2 error");
}

static int open_repo(const char *path, git_repository **repo, char **err)
{
	git_libgit2_init();
	if (git_repository_open_ext(repo, path, 0, NULL) == 0)
		return 0;
	char *what = xasprintf("cannot open the git repository %s", path);
	*err = git_error_text(what);
	free(what);
	git_libgit2_shutdown();
	return -1;
}

static void close_repo(git_repository *repo)
{
	git_repository_free(repo);
	git_libgit2_shutdown();
}

/* A commit by name: refs/heads/NAME, then origin/NAME, then any revision. */
static int find_commit(git_repository *repo, const char *name, git_oid *oid)
{
	static const char *const prefixes[] = { "refs/heads/", "refs/remotes/origin/", "" };
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		char *spec = xasprintf("%s%s", prefixes[i], name);
		git_object *obj = NULL;
		int rc = git_revparse_single(&obj, repo, spec);
		free(spec);
		if (rc == 0) {
			git_object *commit = NULL;
			rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
			git_object_free(obj);
			if (rc == 0) {
				git_oid_cpy(oid, git_object_id(commit));
				git_object_free(commit);
				return 0;
			}
		}
	}
	return -1;
}

/* The image's revision must be a commit id: it comes from whoever built the image, and
 * a label "main" would otherwise resolve to the branch tip and pass any ancestry check. */
static bool revision_is_commit_id(const char *revision)
{
	size_t n = strspn(revision, "0123456789abcdef");
	return revision[n] == '\0' && n >= 7 && n <= 64;
}

static int find_revision(git_repository *repo, const char *revision, git_oid *oid)
{
	git_object *obj = NULL;
	if (!revision_is_commit_id(revision) || git_revparse_single(&obj, repo, revision))
		return -1;
	git_object *commit = NULL;
	int rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc == 0)
		git_oid_cpy(oid, git_object_id(commit));
	git_object_free(commit);
	return rc ? -1 : 0;
}

int provenance_check(const struct provenance_opts *o, const char *revision, char **err)
{
	if (!revision) {
		*err = xasprintf("the image has no org.opencontainers.image.revision annotation or label, "
				 "so its commit cannot be checked against %s", o->require_ancestor);
		return -1;
	}
	git_repository *repo;
	if (open_repo(o->repo_path, &repo, err))
		return -1;
	git_oid rev, branch;
	int rc = -1;
	if (!revision_is_commit_id(revision)) {
		*err = xasprintf("refusing: the image's revision \"%s\" is not a commit id (7 to 64 lowercase hex "
				 "digits), so it cannot prove where the image came from", revision);
	} else if (find_revision(repo, revision, &rev)) {
		*err = xasprintf("the image's revision %s is not a commit in %s (fetch first?)", revision, o->repo_path);
	} else if (find_commit(repo, o->require_ancestor, &branch)) {
		*err = xasprintf("%s has no branch or revision \"%s\"", o->repo_path, o->require_ancestor);
	} else if (git_oid_equal(&rev, &branch) || git_graph_descendant_of(repo, &branch, &rev) == 1) {
		rc = 0;
	} else {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &rev);
		*err = xasprintf("refusing: the image's revision %s is not reachable from %s in %s (not merged)",
				 hex, o->require_ancestor, o->repo_path);
	}
	close_repo(repo);
	return rc;
}

int provenance_has_commit(const char *repo_path, const char *revision, char **err)
{
	git_repository *repo;
	if (open_repo(repo_path, &repo, err))
		return -1;
	git_oid oid;
	int rc = find_revision(repo, revision, &oid);
	if (rc)
		*err = xasprintf("cannot record a git tag: %s is not a commit in %s (fetch first?)", revision, repo_path);
	close_repo(repo);
	return rc ? -1 : 0;
}

/* The pattern with <env> replaced and <n> the next number after the highest in use. */
static char *next_tag_name(git_repository *repo, const char *pattern, const char *env)
{
	struct strbuf base = STRBUF_INIT;
	for (const char *p = pattern; *p; p++) {
		if (!strncmp(p, "<env>", 5)) {
			sb_addstr(&base, env ? env : "default");
			p += 4;
		} else {
			sb_addch(&base, *p);
		}
	}
	char *n_at = strstr(base.buf, "<n>");
	if (!n_at)
		return sb_detach(&base);
	size_t prefix_len = (size_t)(n_at - base.buf);
	const char *suffix = n_at + 3;
	char *glob = xasprintf("%.*s*%s", (int)prefix_len, base.buf, suffix);
	git_strarray names = { 0 };
	long max = 0;
	if (git_tag_list_match(&names, glob, repo) == 0) {
		for (size_t i = 0; i < names.count; i++) {
			char *end;
			long v = strtol(names.strings[i] + prefix_len, &end, 10);
			if (end != names.strings[i] + prefix_len && !strcmp(end, suffix) && v > max)
				max = v;
		}
		git_strarray_dispose(&names);
	}
	char *name = xasprintf("%.*s%ld%s", (int)prefix_len, base.buf, max + 1, suffix);
	free(glob);
	sb_release(&base);
	return name;
}

int provenance_record(const struct provenance_opts *o, const char *revision, const char *env,
		      const char *message, char **name, char **err)
{
	if (!revision) {
		*err = xstrdup("cannot record a git tag: the image has no org.opencontainers.image.revision");
		return -1;
	}
	git_repository *repo;
	if (open_repo(o->repo_path, &repo, err))
		return -1;
	int rc = -1;
	git_oid rev, tag_oid;
	git_object *target = NULL;
	git_signature *who = NULL;
	*name = NULL;
	if (find_revision(repo, revision, &rev) || git_object_lookup(&target, repo, &rev, GIT_OBJECT_COMMIT)) {
		*err = xasprintf("cannot record a git tag: %s is not a commit in %s", revision, o->repo_path);
		goto out;
	}
	if (git_signature_default(&who, repo) && git_signature_now(&who, "ops-promote", "ops-promote@localhost")) {
		*err = git_error_text("cannot make a tagger signature");
		goto out;
	}
	*name = next_tag_name(repo, o->record_tag, env);
	if (git_tag_create(&tag_oid, repo, *name, target, who, message, 0)) {
		char *what = xasprintf("cannot create the git tag %s", *name);
		*err = git_error_text(what);
		free(what);
		free(*name);
		*name = NULL;
		goto out;
	}
	rc = 0;
out:
	git_signature_free(who);
	git_object_free(target);
	close_repo(repo);
	return rc;
}
