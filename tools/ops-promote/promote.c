/* The promotion: resolve, then retag (same repository), mount (same registry) or copy
 * (another registry); children before parents, the tag last, then verify. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "promote.h"

static const char *ref_of(const struct image_ref *r)
{
	return r->tag ? r->tag : r->digest;
}

/* GET a manifest by tag or digest. Returns 0, 1 when it does not exist, -1 + *err. */
static int fetch_manifest(struct registry *reg, const char *repo, const char *ref,
			  struct manifest *out, char **err)
{
	char *path = xasprintf("/v2/%s/manifests/%s", repo, ref);
	struct http_req req = { .method = "GET", .path = path, .accept = MANIFEST_ACCEPT };
	struct http_resp resp = { 0 };
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (registry_request(reg, &req, &resp) == 0 && resp.status == 200) {
		rc = manifest_parse(&resp.body, resp.content_type, out, err);
		if (rc == 0 && digest_valid(ref) && strcmp(ref, out->digest)) {
			*err = xasprintf("%s/%s@%s served content that hashes to %s", reg->host, repo, ref, out->digest);
			rc = -1;
		}
		if (rc)
			manifest_release(out);
	} else if (resp.status == 404) {
		rc = 1;
	} else {
		char *what = xasprintf("GET %s/%s manifest %s", reg->host, repo, ref);
		*err = registry_error_sentence(reg, &resp, what);
		free(what);
	}
	http_resp_release(&resp);
	free(path);
	return rc;
}

/* HEAD a manifest: 0 + *digest (NULL when absent), or -1 + *err; *media_type (when not
 * NULL) gets the Content-Type served, without parameters, or NULL. */
static int head_manifest_type(struct registry *reg, const char *repo, const char *ref, char **digest,
			      char **media_type, char **err);

static int head_manifest(struct registry *reg, const char *repo, const char *ref, char **digest, char **err)
{
	return head_manifest_type(reg, repo, ref, digest, NULL, err);
}

static int head_manifest_type(struct registry *reg, const char *repo, const char *ref, char **digest,
			      char **media_type, char **err)
{
	char *path = xasprintf("/v2/%s/manifests/%s", repo, ref);
	struct http_req req = { .method = "HEAD", .path = path, .accept = MANIFEST_ACCEPT };
	struct http_resp resp = { 0 };
	int rc = 0;
	*digest = NULL;
	int sent = registry_request(reg, &req, &resp);
	if (media_type)
		*media_type = sent == 0 && resp.status == 200 && resp.content_type
			? xstrndup(resp.content_type, strcspn(resp.content_type, "; \t")) : NULL;
	if (sent == 0 && resp.status == 200 && resp.digest) {
		*digest = xstrdup(resp.digest);
	} else if (sent == 0 && resp.status == 200) {
		/* a registry that omits Docker-Content-Digest on HEAD: hash the manifest */
		struct manifest m;
		int got = fetch_manifest(reg, repo, ref, &m, err);
		if (got == 0)
			*digest = xstrdup(m.digest);
		if (got == 0)
			manifest_release(&m);
		rc = got < 0 ? -1 : 0;
	} else if (resp.status != 404) {
		char *what = xasprintf("HEAD %s/%s manifest %s", reg->host, repo, ref);
		*err = registry_error_sentence(reg, &resp, what);
		free(what);
		rc = -1;
	}
	http_resp_release(&resp);
	free(path);
	return rc;
}

static int put_manifest(struct registry *reg, const char *repo, const char *ref,
			const struct manifest *m, char **stored_digest, char **err)
{
	char *path = xasprintf("/v2/%s/manifests/%s", repo, ref);
	struct http_req req = { .method = "PUT", .path = path, .content_type = m->media_type,
				.body = m->bytes.buf, .body_len = m->bytes.len };
	struct http_resp resp = { 0 };
	int rc = -1;
	if (registry_request(reg, &req, &resp) == 0 && resp.status == 201) {
		rc = 0;
		if (stored_digest)
			*stored_digest = resp.digest ? xstrdup(resp.digest) : NULL;
	} else {
		char *what = xasprintf("PUT %s/%s manifest %s", reg->host, repo, ref);
		*err = registry_error_sentence(reg, &resp, what);
		free(what);
	}
	http_resp_release(&resp);
	free(path);
	return rc;
}

/* A pinned promotion whose target already points at the pin: two HEADs tell it all (the
 * target's digest, and that the source has not moved), and no manifest GET is spent,
 * which Docker Hub counts against the pull quota. The manifest itself is fetched later,
 * by digest, only if a policy needs its labels (ensure_top). 1 when it is such a no-op,
 * 0 when the promotion must resolve as usual, -1 + p->error. */
static int resolve_pinned_noop(struct promotion *p, const char *src)
{
	if (head_manifest(p->dreg, p->dst.repo, p->dst.tag, &p->previous, &p->error))
		return -1;
	if (!p->previous || strcmp(p->previous, p->pin))
		return 0;
	char *now = NULL, *type = NULL;
	if (head_manifest_type(p->sreg, p->src.repo, ref_of(&p->src), &now, &type, &p->error))
		return -1;
	int rc = 1;
	if (!now) {
		p->error = xasprintf("the source %s does not exist (MANIFEST_UNKNOWN): check the tag and repository", src);
		rc = -1;
	} else if (strcmp(now, p->pin)) {
		p->error = xasprintf("refusing: %s now points at %s, not at the pinned (tested) digest %s", src, now,
				     p->pin);
		rc = -1;
	} else {
		memset(&p->top, 0, sizeof(p->top));
		p->top.digest = xstrdup(p->pin);
		p->top.media_type = type ? type : xstrdup("");
		type = NULL;
		p->top_lazy = true;
	}
	free(now);
	free(type);
	return rc;
}

/* The pinned manifest's bytes when only its HEAD was seen: a GET by digest. */
static int ensure_top(struct promotion *p)
{
	if (!p->top_lazy)
		return 0;
	struct manifest m;
	char *err = NULL;
	int rc = fetch_manifest(p->sreg, p->src.repo, p->pin, &m, &err);
	if (rc) {
		free(err);
		return -1;
	}
	manifest_release(&p->top);
	p->top = m;
	p->top_lazy = false;
	return 0;
}

int promote_resolve(struct promotion *p)
{
	char *src = ref_string(&p->src);
	if (p->pin) {
		int pinned = resolve_pinned_noop(p, src);
		if (pinned) {
			free(src);
			return pinned < 0 ? -1 : 0;
		}
	}
	const char *ref = ref_of(&p->src);
	int rc = fetch_manifest(p->sreg, p->src.repo, ref, &p->top, &p->error);
	if (rc == 1)
		p->error = xasprintf("the source %s does not exist (MANIFEST_UNKNOWN): check the tag and repository", src);
	if (rc) {
		free(src);
		return -1;
	}
	if (p->pin && strcmp(p->pin, p->top.digest)) {
		p->error = xasprintf("refusing: %s now points at %s, not at the pinned (tested) digest %s", src,
				     p->top.digest, p->pin);
		free(src);
		return -1;
	}
	free(src);
	if (p->pin) /* resolve_pinned_noop HEADed the target already */
		return 0;
	return head_manifest(p->dreg, p->dst.repo, p->dst.tag, &p->previous, &p->error);
}

#define MAX_INDEX_DEPTH 4

struct manifest_list {
	struct manifest *items;
	size_t n, cap;
};

static bool list_has(const struct manifest_list *l, const char *digest)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].digest, digest))
			return true;
	return false;
}

static void list_release(struct manifest_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		manifest_release(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* Every manifest below m, children of a nested index before the index itself, each
 * once: the order they must be pushed in. 0, or -1 + *err. */
static int fetch_descendants(struct promotion *p, const struct manifest *m, struct manifest_list *out,
			     int depth, char **err)
{
	if (depth > MAX_INDEX_DEPTH) {
		*err = xasprintf("the index %s nests deeper than %d levels", m->digest, MAX_INDEX_DEPTH);
		return -1;
	}
	for (size_t i = 0; i < m->nchildren; i++) {
		const char *digest = m->children[i].digest;
		if (list_has(out, digest))
			continue;
		struct manifest child;
		int rc = fetch_manifest(p->sreg, p->src.repo, digest, &child, err);
		if (rc == 1)
			*err = xasprintf("the index %s lists %s, which %s/%s does not have", m->digest, digest,
					 p->sreg->host, p->src.repo);
		if (rc)
			return -1;
		if (child.is_index && fetch_descendants(p, &child, out, depth + 1, err)) {
			manifest_release(&child);
			return -1;
		}
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 4;
			out->items = xrealloc(out->items, out->cap * sizeof(*out->items));
		}
		out->items[out->n++] = child;
	}
	return 0;
}

int promote_fetch_children(struct promotion *p)
{
	if (ensure_top(p)) {
		p->error = xasprintf("GET %s/%s manifest %s failed", p->sreg->host, p->src.repo, p->pin);
		return -1;
	}
	if (!p->top.is_index || p->children)
		return 0;
	struct manifest_list l = { 0 };
	if (fetch_descendants(p, &p->top, &l, 1, &p->error)) {
		list_release(&l); /* all or nothing: a later call must not see a partial list */
		return -1;
	}
	p->children = l.items ? l.items : xcalloc(1, sizeof(*p->children));
	p->nchildren = l.n;
	return 0;
}

/* Every blob of m and its children, each once. */
static void collect_blobs(const struct manifest *m, const struct manifest *kids, size_t nkids,
			  struct blob_job **jobs, size_t *n)
{
	size_t cap = m->nblobs;
	for (size_t k = 0; k < nkids; k++)
		cap += kids[k].nblobs;
	*jobs = xcalloc(cap + 1, sizeof(**jobs));
	*n = 0;
	for (size_t k = 0; k <= nkids; k++) {
		const struct manifest *cur = k == 0 ? m : &kids[k - 1];
		for (size_t b = 0; b < cur->nblobs; b++) {
			bool seen = false;
			for (size_t j = 0; j < *n && !seen; j++)
				seen = !strcmp((*jobs)[j].digest, cur->blobs[b].digest);
			if (!seen) {
				(*jobs)[*n].digest = cur->blobs[b].digest;
				(*jobs)[*n].size = cur->blobs[b].size;
				(*n)++;
			}
		}
	}
}

static void plan_line(struct promotion *p, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void plan_line(struct promotion *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&p->plan, fmt, ap);
	va_end(ap);
	sb_addch(&p->plan, '\n');
}

static int transfer_blobs(struct promotion *p, struct blob_job *jobs, size_t n)
{
	bool same_registry = p->sreg == p->dreg;
	if (p->dry_run) {
		for (size_t i = 0; i < n; i++) {
			plan_line(p, "%s blob %s (%lld bytes)", same_registry ? "mount" : "copy unless present",
				  jobs[i].digest, jobs[i].size);
			p->bytes_planned += same_registry ? 0 : jobs[i].size;
			/* mount: one POST; copy: HEAD, POST, GET and PUT */
			p->requests_planned += same_registry ? 1 : 4;
		}
		return 0;
	}
	struct transfer t = { .src = p->sreg, .dst = p->dreg, .src_repo = p->src.repo,
			      .dst_repo = p->dst.repo, .jobs = p->jobs, .blobs = jobs, .n = n };
	int rc = transfer_run(&t);
	for (size_t i = 0; i < n; i++) {
		p->mounted += jobs[i].result == BLOB_MOUNTED;
		p->copied += jobs[i].result == BLOB_COPIED;
		p->skipped += jobs[i].result == BLOB_SKIPPED;
		p->bytes_copied += jobs[i].bytes;
		if (jobs[i].error && !p->error)
			p->error = xstrdup(jobs[i].error);
		free(jobs[i].error);
	}
	return rc;
}

/* One image (manifest, children, blobs) into the target repository under put_ref. */
static int copy_image(struct promotion *p, const struct manifest *m, const struct manifest *kids,
		      size_t nkids, const char *put_ref)
{
	struct blob_job *jobs;
	size_t n;
	collect_blobs(m, kids, nkids, &jobs, &n);
	int rc = transfer_blobs(p, jobs, n);
	free(jobs);
	for (size_t k = 0; rc == 0 && k < nkids; k++) {
		if (p->dry_run) {
			plan_line(p, "put manifest %s", kids[k].digest);
			p->requests_planned++;
		}
		else
			rc = put_manifest(p->dreg, p->dst.repo, kids[k].digest, &kids[k], NULL, &p->error);
	}
	if (rc == 0 && p->dry_run) {
		plan_line(p, "put manifest %s as %s/%s:%s", m->digest, p->dreg->host, p->dst.repo, put_ref);
		p->requests_planned++;
	}
	else if (rc == 0)
		rc = put_manifest(p->dreg, p->dst.repo, put_ref, m, NULL, &p->error);
	return rc;
}

/* A manifest the referrers point at, with its children, copied by digest or tag. */
static int copy_referrer(struct promotion *p, const char *ref)
{
	struct manifest m;
	char *err = NULL;
	int rc = fetch_manifest(p->sreg, p->src.repo, ref, &m, &err);
	if (rc == 1)
		return 0;
	if (rc < 0) {
		p->error = err;
		return -1;
	}
	struct manifest_list kids = { 0 };
	if (fetch_descendants(p, &m, &kids, 1, &err)) {
		p->error = err;
		rc = -1;
	} else {
		rc = copy_image(p, &m, kids.items, kids.n, ref);
		if (rc == 0)
			p->referrers++;
	}
	list_release(&kids);
	manifest_release(&m);
	return rc;
}

/* The source repository's tags, one request; NULL when the list is paginated or
 * unavailable (then each candidate tag is probed instead). */
static json_t *list_tags(struct promotion *p)
{
	char *path = xasprintf("/v2/%s/tags/list?n=10000", p->src.repo);
	struct http_req req = { .method = "GET", .path = path };
	struct http_resp resp = { 0 };
	json_t *tags = NULL;
	if (registry_request(p->sreg, &req, &resp) == 0 && resp.status == 200 && !resp.link) {
		json_t *doc = json_loadb(resp.body.buf ? resp.body.buf : "", resp.body.len, 0, NULL);
		tags = json_incref(json_object_get(doc, "tags"));
		json_decref(doc);
		if (!json_is_array(tags) && tags) {
			json_decref(tags);
			tags = NULL;
		}
		if (!tags)
			tags = json_array(); /* "tags": null is an empty repository listing */
	}
	http_resp_release(&resp);
	free(path);
	return tags;
}

static bool has_tag(json_t *tags, const char *tag)
{
	if (!tags)
		return true; /* unknown: probe it */
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t)
		if (json_string_value(t) && !strcmp(json_string_value(t), tag))
			return true;
	return false;
}

static int copy_tag_if_present(struct promotion *p, json_t *tags, const char *tag)
{
	return has_tag(tags, tag) ? copy_referrer(p, tag) : 0;
}

/* cosign's sha256-<hex>.sig/.att/.sbom tags, then the OCI referrers API, falling back to
 * its tag schema (sha256-<hex>) on registries without the API. One tag listing tells
 * which tags exist, so absent ones cost nothing. */
static int copy_referrers(struct promotion *p, const char *digest)
{
	static const char *const suffixes[] = { ".sig", ".att", ".sbom" };
	json_t *tags = list_tags(p);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(suffixes); i++) {
		char *tag = xasprintf("sha256-%s%s", digest + 7, suffixes[i]);
		rc = copy_tag_if_present(p, tags, tag);
		free(tag);
	}
	char *path = xasprintf("/v2/%s/referrers/%s", p->src.repo, digest);
	struct http_req req = { .method = "GET", .path = path, .accept = MT_OCI_INDEX };
	struct http_resp resp = { 0 };
	if (rc == 0 && registry_request(p->sreg, &req, &resp) == 0 && resp.status == 200 && resp.content_type &&
	    str_starts_with(resp.content_type, MT_OCI_INDEX)) {
		json_t *doc = json_loadb(resp.body.buf ? resp.body.buf : "", resp.body.len, 0, NULL);
		size_t i;
		json_t *d;
		json_array_foreach(json_object_get(doc, "manifests"), i, d) {
			const char *ref = json_string_value(json_object_get(d, "digest"));
			if (digest_valid(ref) && (rc = copy_referrer(p, ref)) != 0)
				break;
		}
		json_decref(doc);
	} else if (rc == 0) {
		char *tag = xasprintf("sha256-%s", digest + 7);
		rc = copy_tag_if_present(p, tags, tag);
		free(tag);
	}
	json_decref(tags);
	http_resp_release(&resp);
	free(path);
	return rc;
}

static int verify_target(struct promotion *p)
{
	char *digest = NULL;
	if (head_manifest(p->dreg, p->dst.repo, p->dst.tag, &digest, &p->error))
		return -1;
	p->verified = digest && !strcmp(digest, p->top.digest);
	p->verified_by = "head";
	if (!p->verified)
		p->error = xasprintf("after the promotion %s/%s:%s points at %s, not %s", p->dreg->host, p->dst.repo,
				     p->dst.tag, digest ? digest : "nothing", p->top.digest);
	free(digest);
	return p->verified ? 0 : -1;
}

/* Same repository: the manifest bytes as fetched, under the new tag. The HEAD before
 * (promote_resolve) cannot go: only it tells a no-op from a move, and the protected-tag
 * policy needs what the tag pointed at. So the verification is the PUT's answer, not a
 * fourth request: a 201 means the registry linked the tag, and its Docker-Content-Digest
 * is the registry's own digest of the manifest it stored under it. A registry that omits
 * the header gets the HEAD. */
static int retag(struct promotion *p)
{
	p->action = "retagged";
	if (p->dry_run) {
		plan_line(p, "put manifest %s (%zu bytes, %s) as %s/%s:%s", p->top.digest, p->top.bytes.len,
			  p->top.media_type, p->dreg->host, p->dst.repo, p->dst.tag);
		p->requests_planned = 1;
		return 0;
	}
	char *stored = NULL;
	if (put_manifest(p->dreg, p->dst.repo, p->dst.tag, &p->top, &stored, &p->error))
		return -1;
	if (!stored)
		return verify_target(p);
	p->verified = !strcmp(stored, p->top.digest);
	p->verified_by = "put";
	if (!p->verified)
		p->error = xasprintf("the registry stored %s under %s, not %s", stored, p->dst.tag, p->top.digest);
	free(stored);
	return p->verified ? 0 : -1;
}

int promote_execute(struct promotion *p)
{
	bool same_registry = p->sreg == p->dreg;
	bool same_repo = same_registry && !strcmp(p->src.repo, p->dst.repo);
	if (p->previous && !strcmp(p->previous, p->top.digest)) {
		p->action = "noop";
		p->verified = true; /* the HEAD of promote_resolve saw the digest */
		p->verified_by = "head";
		return 0;
	}
	if (same_repo)
		return retag(p);
	if (promote_fetch_children(p))
		return -1;
	if (!p->no_referrers && copy_referrers(p, p->top.digest))
		return -1;
	if (copy_image(p, &p->top, p->children, p->nchildren, p->dst.tag))
		return -1;
	if (same_registry)
		p->action = p->copied ? "copied" : "mounted";
	else
		p->action = "copied";
	if (p->dry_run) {
		plan_line(p, "verify %s/%s:%s with HEAD", p->dreg->host, p->dst.repo, p->dst.tag);
		p->requests_planned++;
		return 0;
	}
	return verify_target(p);
}

/* The config blob of an image manifest, parsed (one GET). */
static json_t *fetch_config(struct promotion *p, const struct manifest *m)
{
	if (!m->nblobs)
		return NULL;
	char *path = xasprintf("/v2/%s/blobs/%s", p->src.repo, m->blobs[0].digest);
	struct http_req req = { .method = "GET", .path = path, .max_body = 4u << 20 };
	struct http_resp resp = { 0 };
	json_t *doc = NULL;
	if (registry_request(p->sreg, &req, &resp) == 0 && resp.status == 200)
		doc = json_loadb(resp.body.buf ? resp.body.buf : "", resp.body.len, 0, NULL);
	http_resp_release(&resp);
	free(path);
	return doc;
}

static char *config_label(struct promotion *p, const char *key)
{
	if (ensure_top(p))
		return NULL;
	const struct manifest *m = &p->top;
	if (m->is_index) {
		if (promote_fetch_children(p) || !p->nchildren) {
			free(p->error); /* the caller reports the missing label; a retry comes later */
			p->error = NULL;
			return NULL;
		}
		size_t i = 0;
		while (i + 1 < p->nchildren && p->children[i].is_index)
			i++;
		m = &p->children[i];
		if (manifest_annotation(m, key))
			return xstrdup(manifest_annotation(m, key));
	}
	json_t *cfg = fetch_config(p, m);
	const char *v = json_string_value(json_object_get(json_object_get(json_object_get(cfg, "config"), "Labels"), key));
	char *out = v ? xstrdup(v) : NULL;
	json_decref(cfg);
	return out;
}

char *promote_revision(struct promotion *p)
{
	const char *key = "org.opencontainers.image.revision";
	ensure_top(p); /* a failure leaves no annotations: config_label tries again */
	if (manifest_annotation(&p->top, key))
		return xstrdup(manifest_annotation(&p->top, key));
	return config_label(p, key);
}

bool promote_has_label(struct promotion *p, const char *key)
{
	ensure_top(p);
	if (manifest_annotation(&p->top, key))
		return true;
	char *v = config_label(p, key);
	free(v);
	return v != NULL;
}

long promote_requests(const struct promotion *p)
{
	long n = p->sreg->requests;
	if (p->dreg != p->sreg)
		n += p->dreg->requests;
	return n;
}

long promote_token_requests(const struct promotion *p)
{
	long n = p->sreg->token_requests;
	if (p->dreg != p->sreg)
		n += p->dreg->token_requests;
	return n;
}

void promotion_release(struct promotion *p)
{
	manifest_release(&p->top);
	for (size_t i = 0; i < p->nchildren; i++)
		manifest_release(&p->children[i]);
	free(p->children);
	free(p->previous);
	sb_release(&p->plan);
	free(p->error);
	ref_release(&p->src);
	ref_release(&p->dst);
}
