/*
 * secrets: credential formats in values, whether a file with credentials is tracked by
 * git or at least ignored (libgit2), whether HEAD's history holds it with credentials
 * (also the env files under a directory operand that are deleted since), and whether
 * group or others can read it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "envcheck.h"
#include "secrets.h"
#include "util.h"

/* The credential formats, as data: one row each. literal: a string every match holds
 * (checked before the regex, so ordinary values cost a strstr); placeholder_suffix: a
 * match ending so is documentation's fake (AWS's ...EXAMPLE keys); needs: a key that
 * must be set beside it (a temporary AWS key is useless without its session token). */
static const struct rule {
	const char *id, *what;
	const char *literal[5];
	const char *pattern;
	const char *placeholder_suffix;
	const char *needs;
} rules[] = {
	{ "private-key", "a private key", { "PRIVATE KEY" }, "-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----", NULL, NULL },
	{ "aws-access-key-id", "an AWS access key id", { "AKIA", "A3T", "ABIA", "ACCA" },
	  "(^|[^A-Z0-9])(AKIA|A3T[A-Z0-9]|ABIA|ACCA)[A-Z0-9]{16}([^A-Z0-9]|$)", "EXAMPLE", NULL },
	{ "aws-temporary-key-id", "an AWS temporary access key id", { "ASIA" },
	  "(^|[^A-Z0-9])ASIA[A-Z0-9]{16}([^A-Z0-9]|$)", "EXAMPLE", "AWS_SESSION_TOKEN" },
	{ "github-token", "a GitHub token", { "ghp_", "gho_", "ghu_", "ghs_", "ghr_" }, "gh[pousr]_[A-Za-z0-9]{36}", NULL, NULL },
	{ "github-fine-grained-token", "a GitHub token", { "github_pat_" }, "github_pat_[A-Za-z0-9_]{60,}", NULL, NULL },
	{ "gitlab-token", "a GitLab token", { "glpat-" }, "glpat-[A-Za-z0-9_-]{20,}", NULL, NULL },
	{ "slack-token", "a Slack token", { "xox" }, "xox[abprs]-[A-Za-z0-9-]{10,}", NULL, NULL },
	{ "slack-webhook", "a Slack webhook URL", { "hooks.slack.com/services/" },
	  "hooks\\.slack\\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}", NULL, NULL },
	{ "stripe-secret-key", "a Stripe secret key", { "sk_live_", "rk_live_" }, "(sk|rk)_live_[A-Za-z0-9]{20,}", NULL, NULL },
	{ "twilio-api-key", "a Twilio API key", { "SK" }, "(^|[^A-Za-z0-9])SK[0-9a-f]{32}([^A-Za-z0-9]|$)", NULL, NULL },
	{ "anthropic-api-key", "an Anthropic API key", { "sk-ant-" }, "sk-ant-(api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,}", NULL, NULL },
	{ "openai-api-key", "an OpenAI API key", { "sk-proj-", "sk-svcacct-", "sk-admin-", "T3BlbkFJ" },
	  "sk-(proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", NULL, NULL },
	{ "google-api-key", "a Google API key", { "AIza" }, "AIza[0-9A-Za-z_-]{35}", NULL, NULL },
};

/* Compiled once, kept for the run. */
static regex_t rule_re[ARRAY_SIZE(rules)];
static bool rule_ok[ARRAY_SIZE(rules)], rules_compiled;

/* The first match of rule i in value: 1 when it is a real-looking one, 0 when none or
 * only a placeholder (AKIAIOSFODNN7EXAMPLE). */
static int matches_rule(size_t i, const char *value)
{
	bool literal = false;
	for (size_t k = 0; k < ARRAY_SIZE(rules[i].literal) && rules[i].literal[k] && !literal; k++)
		literal = strstr(value, rules[i].literal[k]) != NULL;
	if (!literal)
		return 0;
	if (!rules_compiled) {
		for (size_t k = 0; k < ARRAY_SIZE(rules); k++)
			rule_ok[k] = regcomp(&rule_re[k], rules[k].pattern, REG_EXTENDED) == 0;
		rules_compiled = true;
	}
	regmatch_t m;
	if (!rule_ok[i] || regexec(&rule_re[i], value, 1, &m, 0) != 0)
		return 0;
	if (rules[i].placeholder_suffix) {
		size_t sl = strlen(rules[i].placeholder_suffix), end = (size_t)m.rm_eo;
		while (end > (size_t)m.rm_so && !isalnum((unsigned char)value[end - 1]))
			end--;
		if (end - (size_t)m.rm_so >= sl && !memcmp(value + end - sl, rules[i].placeholder_suffix, sl))
			return 0;
	}
	return 1;
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

/* A word of a placeholder, alone or followed by digits (changeme123). */
static bool placeholder_word(const char *w, size_t n)
{
	static const char *const words[] = { "changeme", "change", "me", "example", "examples", "placeholder",
					     "your", "yours", "my", "here", "todo", "tbd", "fixme", "secret", "password",
					     "passwd", "pass", "dummy", "test", "testing", "fake", "sample", "replace",
					     "insert", "put", "enter", "value", "token", "key", "api", "apikey", "foo",
					     "bar", "baz", "none", "null", "empty", "redacted", "xxx", "the", "a", "an",
					     "with", "this", "some", "set", "default", "user", "username", "id",
					     "access", "private", "client", "app", "s3cr3t", "letmein", "hunter" };
	size_t alpha = n;
	while (alpha && isdigit((unsigned char)w[alpha - 1]))
		alpha--;
	if (!alpha)
		return n <= 1; /* "0", "1" glue words together; a number is not a placeholder */
	if (strspn(w, "xX*") >= alpha)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strlen(words[i]) == alpha && !strncasecmp(w, words[i], alpha))
			return true;
	return false;
}

/* Empty, short, or written as a placeholder: <your-token>, ${TOKEN}, xxxx, changeme,
 * your_api_key_here, AKIA...EXAMPLE. A real value that merely contains such a word
 * (a DSN to db.latest.internal, a password "attestation-Q9v...") is not one: every word
 * of the value must be a placeholder word. */
bool secrets_placeholder(const char *v)
{
	size_t len = strlen(v);
	if (!*v || len < 8)
		return true;
	if (strchr(v, '<') || strstr(v, "${") || strspn(v, "x*.-_0") == len)
		return true;
	if (len >= 7 && !strcmp(v + len - 7, "EXAMPLE"))
		return true;
	for (const char *p = v; *p;) {
		if (!isalnum((unsigned char)*p)) {
			p++;
			continue;
		}
		size_t n = 0;
		while (isalnum((unsigned char)p[n]))
			n++;
		if (!placeholder_word(p, n))
			return false;
		p += n;
	}
	return true;
}

/* The rule a value matches, or -1. */
static int rule_of(const char *value)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (matches_rule(i, value))
			return (int)i;
	return -1;
}

const char *secrets_format(const char *key, const char *value, const struct envcheck_opts *o)
{
	int i = rule_of(value);
	if (i >= 0)
		return rules[i].what;
	if (env_file_value_is_secret(key, value, o) && strlen(value) >= 20 && entropy(value) >= 3.5 &&
	    !secrets_placeholder(value))
		return "a high-entropy secret";
	return NULL;
}

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

const char *secrets_credential_kind(const struct dotenv_entry *e, const struct envcheck_opts *o)
{
	if (!e->value || !*e->value || str_starts_with(e->value, "encrypted:") ||
	    str_starts_with(e->key, "DOTENV_PUBLIC_KEY"))
		return NULL;
	const char *w = secrets_format(e->key, e->value, o);
	if (!w && env_file_value_is_secret(e->key, e->value, o) && !secrets_placeholder(e->value))
		w = "a secret value";
	return w;
}

/* The first credential among the loaded values (NULL when none). */
static const char *first_secret(const struct dotenv_result *res, const struct envcheck_opts *o, const char **what)
{
	for (size_t i = 0; i < res->n; i++)
		if ((*what = secrets_credential_kind(&res->entries[i], o)))
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
		bool secret_name = env_file_key_is_secret(e->key, o);
		/* a path to the secret (GOOGLE_APPLICATION_CREDENTIALS=/etc/...) is not one */
		bool secret_value = env_file_value_is_secret(e->key, e->value, o) && !secrets_placeholder(e->value);
		int rule = rule_of(e->value);
		const char *what = rule >= 0 ? rules[rule].what : secrets_format(e->key, e->value, o);
		/* a value interpolated from the environment is not in the file: it makes the
		 * file neither tracked with a credential nor one to hide */
		if (!first_key && (what || secret_value) && !e->from_env) {
			first_key = e->key;
			first_what = what ? what : "a secret value";
		}
		if (rule >= 0 && rules[rule].needs && !dotenv_lookup(&f->res, rules[rule].needs)) {
			struct check *c = ec_report(r, "secret-format", ST_WARNING, e->key,
						       "%s holds %s, but %s is not set: the key works only with its "
						       "session token", e->key, what, rules[rule].needs);
			ec_location(c, f->path, e->line, e->column);
			check_hint(c, "set %s beside it, or use a long-term key (AKIA...)", rules[rule].needs);
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
