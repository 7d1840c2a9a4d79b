/* The run's steps and their report: every refusal and failure becomes one check with a
 * sentence and a hint; the tool data carries the JSON keys of ops-promote(1). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "output.h"

struct steps {
	struct policy pol;
	enum status status;
	char *recorded;     /* git tag written */
	const char *planned; /* the action a dry run would take */
	double started_ms;
};

static void fail(struct report *r, struct steps *s, const char *id, const char *subject,
		 char *msg, const char *hint)
{
	struct check *c = report_check(r, id, ST_CRITICAL, subject, "%s", msg);
	if (hint)
		check_hint(c, "%s", hint);
	s->status = ST_CRITICAL;
	free(msg);
}

static int check_policy(struct promotion *p, struct run_result *res, struct report *r, struct steps *s,
			const char *target)
{
	char *err = NULL;
	if (policy_load(res->cfg, res->environment, p->dst.tag, &s->pol, &err)) {
		fail(r, s, "policy", target, err, "define it under promote.environments, see opskit.yaml(5)");
		return -1;
	}
	if (policy_check_source(&s->pol, p->src.tag, &err)) {
		fail(r, s, "policy", target, err, "promote an image built and tested under an allowed tag");
		return -1;
	}
	return 0;
}

/* --record-tag must be able to tag the revision: found out before promoting, not after. */
static int check_record_possible(struct promotion *p, struct run_result *res, struct report *r,
				 struct steps *s, const char *target)
{
	const char *repo = res->git_repo;
	if (!repo && !cfg_str(res->cfg, "promote.git_repo", &repo)) {
		fail(r, s, "record-tag", target, xstrdup("--record-tag needs --git-repo (or promote.git_repo)"), NULL);
		return -1;
	}
	char *rev = promote_revision(p);
	char *err = NULL;
	int rc = 0;
	if (!rev) {
		fail(r, s, "record-tag", target,
		     xstrdup("cannot record a git tag: the image has no org.opencontainers.image.revision"), NULL);
		rc = -1;
	} else if (provenance_has_commit(repo, rev, &err)) {
		fail(r, s, "record-tag", target, err, "fetch the repository, or promote without --record-tag");
		rc = -1;
	}
	free(rev);
	return rc;
}

static int check_resolved(struct promotion *p, struct run_result *res, struct report *r, struct steps *s,
			  const char *target)
{
	char *err = NULL;
	if (policy_check_protected(&s->pol, p->dst.tag, p->previous, p->top.digest, res->opts_force, &err)) {
		fail(r, s, "policy", target, err, "rerun with --force if moving it is intended");
		return -1;
	}
	if (s->pol.nrequired && policy_check_required(&s->pol, p, &err)) {
		fail(r, s, "policy", target, err, "build the image with the label (docker build --label, or the OCI annotation)");
		return -1;
	}
	if (s->pol.environment)
		report_check(r, "policy", ST_OK, target, "allowed by the policy of environment %s", s->pol.environment);
	if (res->record_tag && !p->dry_run && check_record_possible(p, res, r, s, target))
		return -1;
	const char *ancestor = res->require_ancestor ? res->require_ancestor : s->pol.require_ancestor;
	const char *repo = res->git_repo;
	if (!repo && !cfg_str(res->cfg, "promote.git_repo", &repo))
		repo = NULL;
	if (!ancestor)
		return 0;
	if (!repo) {
		fail(r, s, "provenance", target, xasprintf("--require-ancestor %s needs --git-repo", ancestor), NULL);
		return -1;
	}
	struct provenance_opts po = { .repo_path = repo, .require_ancestor = ancestor };
	char *rev = promote_revision(p);
	int rc = provenance_check(&po, rev, &err);
	if (rc)
		fail(r, s, "provenance", target, err, "merge the change and promote an image built from the branch");
	else
		report_check(r, "provenance", ST_OK, target, "revision %s is reachable from %s", rev, ancestor);
	free(rev);
	return rc;
}

static void record(struct promotion *p, struct run_result *res, struct report *r, struct steps *s,
		   const char *source, const char *target)
{
	const char *repo = res->git_repo;
	if (!repo && !cfg_str(res->cfg, "promote.git_repo", &repo)) {
		fail(r, s, "record-tag", target, xstrdup("--record-tag needs --git-repo (or promote.git_repo)"), NULL);
		return;
	}
	struct provenance_opts po = { .repo_path = repo,
				      .record_tag = s->pol.record_tag ? s->pol.record_tag : "deploy/<env>/<n>" };
	char *rev = promote_revision(p);
	char *msg = xasprintf("promoted %s\n\nsource: %s\ntarget: %s\ndigest: %s\naction: %s\n",
			      target, source, target, p->top.digest, p->action);
	char *err = NULL;
	if (provenance_record(&po, rev, s->pol.environment, msg, &s->recorded, &err))
		fail(r, s, "record-tag", target, err, NULL);
	else
		report_check(r, "record-tag", ST_OK, target, "recorded as git tag %s on %s", s->recorded, rev);
	free(rev);
	free(msg);
}

static void report_data(struct promotion *p, struct report *r, struct steps *s, const char *source,
			const char *target)
{
	rp_string(r, "source", "source      %s\n", source);
	rp_string(r, "target", "target      %s\n", target);
	rp_string(r, "digest", "digest      %s\n", p->top.digest);
	rp_string(r, "media_type", "media type  %s\n", p->top.media_type);
	rp_string(r, "platform", p->platform ? "platform    %s" : NULL, p->platform);
	rp_string(r, "index_digest", p->platform ? " of the index %s\n" : NULL,
		  p->platform ? p->source_digest : NULL);
	rp_string(r, "previous_digest", "previous    %s\n", p->previous);
	rp_string(r, "action", "action      %s\n", p->action);
	rp_string(r, "environment", NULL, s->pol.environment);
	long tokens = promote_token_requests(p);
	rp_int(r, "requests", tokens ? "requests    %lld" : "requests    %lld\n", promote_requests(p));
	rp_int(r, "token_requests", tokens ? " (and %lld to token services)\n" : NULL, tokens);
	rp_int(r, "bytes_copied", "copied      %lld bytes\n", p->bytes_copied);
	rp_open_object(r, "blobs");
	rp_int(r, "mounted", "blobs       %lld mounted", p->mounted);
	rp_int(r, "copied", ", %lld copied", p->copied);
	rp_int(r, "chunked", p->chunked ? " (%lld in chunks)" : NULL, p->chunked);
	rp_int(r, "skipped", ", %lld already present\n", p->skipped);
	rp_close_object(r);
	rp_int(r, "referrers", "referrers   %lld\n", p->referrers);
	rp_int(r, "foreign_layers", p->foreign_layers ? "foreign     %lld non-distributable layers not copied\n" : NULL,
	       p->foreign_layers);
	rp_bool(r, "verified", p->verified_by ? "verified    %s" : "verified    %s\n", p->verified);
	rp_string(r, "verified_by", !p->verified_by ? NULL
		  : !strcmp(p->verified_by, "put") ? " (the registry's digest in its answer to the PUT)\n"
		  : " (HEAD of the target tag)\n", p->verified_by);
	rp_string(r, "git_tag", s->recorded ? "git tag     %s\n" : NULL, s->recorded);
	rp_double(r, "duration_seconds", NULL, (now_ms() - s->started_ms) / 1000.0);
	if (p->dry_run) {
		rp_int(r, "requests_planned", "plan        %lld more requests at most", p->requests_planned);
		rp_int(r, "bytes_planned", ", up to %lld bytes to copy\n", p->bytes_planned);
		rp_open_array(r, "plan");
		char *lines = xstrdup(sb_str(&p->plan));
		for (char *save = NULL, *line = strtok_r(lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			rp_string(r, NULL, "  %s\n", line);
		free(lines);
		rp_close_array(r);
	}
}

static void report_outcome(struct promotion *p, struct report *r, struct steps *s, const char *target)
{
	if (s->status == ST_CRITICAL)
		return;
	struct check *c;
	if (!strcmp(p->action, "noop"))
		c = report_check(r, "promote", ST_OK, target, "already points at %s: nothing to do", p->top.digest);
	else if (p->dry_run)
		c = report_check(r, "promote", ST_OK, target, "dry run: would be %s to %s", s->planned, p->top.digest);
	else
		c = report_check(r, "promote", ST_OK, target, "%s to %s (verified)", p->action, p->top.digest);
	check_metric(c, "requests", (double)promote_requests(p), "c", THRESHOLDS_NONE);
	check_metric(c, "bytes_copied", (double)p->bytes_copied, "B", THRESHOLDS_NONE);
	check_metric(c, "duration_seconds", (now_ms() - s->started_ms) / 1000.0, "s", THRESHOLDS_NONE);
}

/* Where a failure sentence suggests the fix, say it. */
static const char *failure_hint(const char *msg)
{
	if (strstr(msg, "pinned (tested) digest"))
		return "the tag moved after the test: promote REPO@DIGEST to ship what was tested, or test the new build";
	if (strstr(msg, "schema 1"))
		return "push the image again with a current client (docker, buildah, skopeo) to get a v2/OCI manifest";
	if (strstr(msg, "certificate") || strstr(msg, "SSL"))
		return "trust the registry's CA with --ca-file or promote.registries.NAME.ca_file";
	if (strstr(msg, "authentication") || strstr(msg, "refused a token") || strstr(msg, "DENIED"))
		return "give credentials: --src-creds/--dest-creds, promote.registries in the config, or docker login";
	if (strstr(msg, "connect") || strstr(msg, "Timeout") || strstr(msg, "timed out") || strstr(msg, "resolve"))
		return "check that the registry is up and reachable; --timeout and --retries bound the wait";
	if (strstr(msg, "TOOMANYREQUESTS") || strstr(msg, "HTTP 5") || strstr(msg, "HTTP 429"))
		return "the registry is failing or throttling; rerun later (the promotion is idempotent)";
	return NULL;
}

static char *source_string(const struct promotion *p)
{
	if (p->src.tag && p->src.digest)
		return xasprintf("%s/%s:%s@%s", p->src.registry, p->src.repo, p->src.tag, p->src.digest);
	return ref_string(&p->src);
}

/* One target's steps: policy, resolve, checks, promote, record. */
static void run_one(struct promotion *p, struct run_result *res, struct report *r, struct steps *s)
{
	char *source = source_string(p);
	char *target = ref_string(&p->dst);
	promote_count_from_here(p);
	s->status = ST_OK;
	s->started_ms = now_ms();
	p->action = p->dry_run ? "dry-run" : "failed";
	if (check_policy(p, res, r, s, target) == 0) {
		if (promote_resolve(p)) {
			fail(r, s, "promote", target, p->error, failure_hint(p->error));
			p->error = NULL;
		} else if (check_resolved(p, res, r, s, target) == 0) {
			if (promote_execute(p)) {
				char *msg = p->error ? p->error : xstrdup("the promotion failed");
				fail(r, s, "promote", target, msg, failure_hint(msg));
				p->error = NULL;
				p->action = "failed";
			} else if (res->record_tag && !p->dry_run && strcmp(p->action, "noop")) {
				record(p, res, r, s, source, target);
			}
			s->planned = p->action;
			if (p->dry_run && s->status != ST_CRITICAL && strcmp(p->action, "noop"))
				p->action = "dry-run";
		}
	}
	promote_count_until_here(p);
	report_outcome(p, r, s, target);
	free(source);
	free(target);
}

/* Each target of a run with several, one JSON object (and one text line) each. */
static void report_targets(struct promotion *ps, size_t n, struct report *r, struct steps *steps)
{
	rp_open_array(r, "targets");
	for (size_t i = 0; i < n; i++) {
		struct promotion *p = &ps[i];
		char *target = ref_string(&p->dst);
		rp_open_object(r, NULL);
		rp_string(r, "target", i ? "            %s" : "targets     %s", target);
		rp_string(r, "action", " %s", p->action);
		rp_string(r, "digest", NULL, p->top.digest);
		rp_string(r, "previous_digest", NULL, p->previous);
		rp_bool(r, "verified", " (verified %s)\n", p->verified);
		rp_string(r, "verified_by", NULL, p->verified_by);
		rp_int(r, "requests", NULL, promote_requests(p));
		rp_int(r, "referrers", NULL, p->referrers);
		rp_string(r, "git_tag", NULL, steps[i].recorded);
		rp_close_object(r);
		free(target);
	}
	rp_close_array(r);
}

int output_run_many(struct promotion *ps, size_t n, struct run_result *res)
{
	struct report *r = cli_report_new(res->tool, res->common);
	struct steps *steps = xcalloc(n, sizeof(*steps));
	for (size_t i = 0; i < n; i++) {
		/* every target gets the digest the first one resolved, even if the source tag
		 * moves during the run */
		if (i > 0 && !ps[i].pin && ps[0].source_digest)
			ps[i].pin = ps[0].source_digest;
		run_one(&ps[i], res, r, &steps[i]);
	}
	/* the top-level keys describe the first target (as with one target); "targets"
	 * lists them all */
	char *source = source_string(&ps[0]);
	char *target = ref_string(&ps[0].dst);
	report_data(&ps[0], r, &steps[0], source, target);
	if (n > 1)
		report_targets(ps, n, r, steps);
	FILE *out = cli_open_output(res->common);
	int code = report_finish(r, out);
	cli_close_output(out, res->common);
	report_free(r);
	for (size_t i = 0; i < n; i++) {
		policy_release(&steps[i].pol);
		free(steps[i].recorded);
	}
	free(steps);
	free(source);
	free(target);
	return code;
}

/* ops-promote status TAG...: what each tag points at, and whether they agree. */
int output_status(struct promotion *ps, size_t n, struct run_result *res)
{
	struct report *r = cli_report_new(res->tool, res->common);
	const char *first = NULL, *first_ref = NULL;
	bool differ = false, all_found = true;
	char **refs = xcalloc(n, sizeof(*refs));
	rp_open_array(r, "tags");
	for (size_t i = 0; i < n; i++) {
		struct promotion *p = &ps[i];
		refs[i] = ref_string(&p->src);
		rp_open_object(r, NULL);
		rp_string(r, "tag", "%s\n", refs[i]);
		if (promote_inspect(p)) {
			all_found = false;
			report_check(r, "status", ST_CRITICAL, refs[i], "%s", p->error);
			rp_null(r, "digest", "  digest      -\n");
			rp_close_object(r);
			continue;
		}
		char *rev = promote_revision(p);
		char *created = promote_created(p);
		int referrers = promote_count_referrers(p);
		rp_string(r, "digest", "  digest      %s\n", p->top.digest);
		rp_string(r, "media_type", NULL, p->top.media_type);
		rp_string(r, "revision", "  revision    %s\n", rev);
		rp_string(r, "created", "  created     %s\n", created);
		rp_int(r, "referrers", "  referrers   %lld\n", referrers);
		rp_close_object(r);
		report_check(r, "status", ST_OK, refs[i], "points at %s (revision %s, %d signatures and referrers)",
			     p->top.digest, rev ? rev : "unknown", referrers);
		if (!first) {
			first = p->top.digest;
			first_ref = refs[i];
		} else if (strcmp(first, p->top.digest)) {
			differ = true;
			report_check(r, "same-digest", ST_CRITICAL, refs[i], "%s points at %s, but %s points at %s",
				     refs[i], p->top.digest, first_ref, first);
		}
		free(rev);
		free(created);
	}
	rp_close_array(r);
	if (n > 1 && all_found && !differ)
		report_check(r, "same-digest", ST_OK, first_ref, "all %zu tags point at %s", n, first);
	if (n > 1)
		rp_bool(r, "same_digest", "same digest %s\n", all_found && !differ);
	FILE *out = cli_open_output(res->common);
	int code = report_finish(r, out);
	cli_close_output(out, res->common);
	report_free(r);
	for (size_t i = 0; i < n; i++)
		free(refs[i]);
	free(refs);
	return code;
}
