/* The promotion: resolve, then retag (same repository), mount (same registry) or copy
 * (another registry); children before parents, the tag last, then verify. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
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
		if (rc == 0 && ref_digest_valid(ref) && strcmp(ref, out->digest)) {
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

/* PUT m under ref. *stored_digest gets the Docker-Content-Digest answered (NULL when
 * none); *subject_ack (when not NULL) whether the answer had OCI-Subject, i.e. the
 * registry indexed the manifest's subject for its referrers API itself. */
static int put_manifest_ack(struct registry *reg, const char *repo, const char *ref, const struct manifest *m,
			    char **stored_digest, bool *subject_ack, char **err);

static int put_manifest(struct registry *reg, const char *repo, const char *ref,
			const struct manifest *m, char **stored_digest, char **err)
{
	return put_manifest_ack(reg, repo, ref, m, stored_digest, NULL, err);
}

static int put_manifest_ack(struct registry *reg, const char *repo, const char *ref, const struct manifest *m,
			    char **stored_digest, bool *subject_ack, char **err)
{
	char *path = xasprintf("/v2/%s/manifests/%s", repo, ref);
	struct http_req req = { .method = "PUT", .path = path, .content_type = m->media_type,
				.body = m->bytes.buf, .body_len = m->bytes.len };
	struct http_resp resp = { 0 };
	int rc = -1;
	/* 201 by the spec; 204 (stored, no body) from some registries */
	if (registry_request(reg, &req, &resp) == 0 && (resp.status == 201 || resp.status == 204)) {
		rc = 0;
		if (stored_digest)
			*stored_digest = resp.digest ? xstrdup(resp.digest) : NULL;
		if (subject_ack)
			*subject_ack = resp.oci_subject != NULL;
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
		free(p->source_digest);
		p->source_digest = xstrdup(p->pin);
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

/* --platform: the child of the index p->top for os/arch[/variant] replaces it, fetched
 * by digest, so that exactly the tested platform manifest is promoted (never an index
 * re-assembled from it, whose digest would differ). 0, or -1 + p->error. */
static int select_platform(struct promotion *p)
{
	if (!p->top.is_index) {
		p->error = xasprintf("--platform %s needs an index, and the source %s is a single image manifest",
				     p->platform, p->top.digest);
		return -1;
	}
	json_t *doc = json_loadb(p->top.bytes.buf ? p->top.bytes.buf : "", p->top.bytes.len, 0, NULL);
	struct strbuf seen = STRBUF_INIT;
	const char *chosen = NULL;
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(doc, "manifests"), i, d) {
		json_t *pl = json_object_get(d, "platform");
		const char *os = json_string_value(json_object_get(pl, "os"));
		const char *arch = json_string_value(json_object_get(pl, "architecture"));
		const char *variant = json_string_value(json_object_get(pl, "variant"));
		if (!os || !arch)
			continue;
		char *full = variant ? xasprintf("%s/%s/%s", os, arch, variant) : xasprintf("%s/%s", os, arch);
		char *bare = xasprintf("%s/%s", os, arch);
		sb_addf(&seen, "%s%s", seen.len ? ", " : "", full);
		if (!chosen && (!strcmp(p->platform, full) || !strcmp(p->platform, bare)))
			chosen = json_string_value(json_object_get(d, "digest"));
		free(full);
		free(bare);
	}
	int rc = -1;
	if (!chosen || !ref_digest_valid(chosen)) {
		p->error = xasprintf("the index %s has no %s manifest (it has: %s)", p->top.digest, p->platform,
				     seen.len ? seen.buf : "no platforms");
	} else {
		struct manifest child;
		char *err = NULL;
		int got = fetch_manifest(p->sreg, p->src.repo, chosen, &child, &err);
		if (got == 1)
			err = xasprintf("the index %s lists %s, which %s/%s does not have", p->top.digest, chosen,
					p->sreg->host, p->src.repo);
		if (got) {
			p->error = err;
		} else {
			manifest_release(&p->top);
			p->top = child;
			rc = 0;
		}
	}
	sb_release(&seen);
	json_decref(doc);
	return rc;
}

int promote_resolve(struct promotion *p)
{
	char *src = ref_string(&p->src);
	if (p->pin && !p->platform) {
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
	free(p->source_digest);
	p->source_digest = xstrdup(p->top.digest);
	if (p->platform && select_platform(p))
		return -1;
	if (p->pin && !p->platform) /* resolve_pinned_noop HEADed the target already */
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

/* A non-distributable layer (Windows base layers): its bytes live at its urls, and
 * registries neither serve nor want them. */
static bool layer_is_foreign(const char *media_type)
{
	return media_type && (strstr(media_type, ".foreign.") || strstr(media_type, ".nondistributable."));
}

/* Every blob of m and its children, each once; foreign layers are counted, not copied. */
static void collect_blobs(const struct manifest *m, const struct manifest *kids, size_t nkids,
			  struct blob_job **jobs, size_t *n, int *foreign)
{
	size_t cap = m->nblobs;
	for (size_t k = 0; k < nkids; k++)
		cap += kids[k].nblobs;
	*jobs = xcalloc(cap + 1, sizeof(**jobs));
	*n = 0;
	for (size_t k = 0; k <= nkids; k++) {
		const struct manifest *cur = k == 0 ? m : &kids[k - 1];
		for (size_t b = 0; b < cur->nblobs; b++) {
			if (layer_is_foreign(cur->blobs[b].media_type)) {
				(*foreign)++;
				continue;
			}
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
		p->chunked += jobs[i].result == BLOB_COPIED && jobs[i].chunked;
		p->skipped += jobs[i].result == BLOB_SKIPPED;
		p->bytes_copied += jobs[i].bytes;
		if (jobs[i].error && !p->error)
			p->error = xstrdup(jobs[i].error);
		free(jobs[i].error);
	}
	return rc;
}

/* One image (manifest, children, blobs) into the target repository under put_ref;
 * *subject_ack (when not NULL) as put_manifest_ack() says for m. */
static int copy_image(struct promotion *p, const struct manifest *m, const struct manifest *kids,
		      size_t nkids, const char *put_ref, bool *subject_ack)
{
	struct blob_job *jobs;
	size_t n;
	collect_blobs(m, kids, nkids, &jobs, &n, &p->foreign_layers);
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
		rc = put_manifest_ack(p->dreg, p->dst.repo, put_ref, m, NULL, subject_ack, &p->error);
	return rc;
}

#define MAX_REFERRER_PAGES 16   /* Link-paginated referrers lists: pages followed */
#define MAX_REFERRERS 256       /* referrers of one digest copied at most */
#define MAX_REFERRER_DEPTH 3    /* referrers of referrers (a signature's attestation) */

static int copy_referrers_depth(struct promotion *p, const char *digest, int depth);

/* The descriptor of referrer m for a referrers index: mediaType, digest, size,
 * artifactType (the manifest's, else its config's media type) and annotations. */
static json_t *referrer_descriptor(const struct manifest *m)
{
	json_t *doc = json_loadb(m->bytes.buf ? m->bytes.buf : "", m->bytes.len, 0, NULL);
	const char *at = json_string_value(json_object_get(doc, "artifactType"));
	if (!at)
		at = json_string_value(json_object_get(json_object_get(doc, "config"), "mediaType"));
	json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", m->media_type, "digest", m->digest, "size",
			      (json_int_t)m->bytes.len);
	if (at)
		json_object_set_new(d, "artifactType", json_string(at));
	if (m->annotations)
		json_object_set(d, "annotations", m->annotations);
	json_decref(doc);
	return d;
}

/* A manifest that refers to an image, with its children, copied by digest or tag, then
 * its own referrers (depth bounded). With subject, only a manifest whose subject is that
 * digest is copied (a fallback index or a registry's listing is not trusted blindly). A
 * tag or digest the target already has is not PUT again (immutable tags refuse that).
 * When the target's answer to the PUT has no OCI-Subject, or it was there already, its
 * descriptor goes to *unindexed, for the fallback index. */
static int copy_referrer(struct promotion *p, const char *ref, const char *subject, json_t *unindexed, int depth)
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
	if (subject && (!m.subject || strcmp(m.subject, subject))) {
		verbosef(1, "%s lists %s, whose subject is %s, not %s: skipped", p->sreg->host, m.digest,
			 m.subject ? m.subject : "none", subject);
		manifest_release(&m);
		return 0;
	}
	/* already in the target (a tag that points at it, or the digest): not copied again,
	 * but still indexed and followed */
	bool present = false;
	if (!p->dry_run) {
		char *there = NULL;
		if (head_manifest(p->dreg, p->dst.repo, ref, &there, &err)) {
			p->error = err;
			manifest_release(&m);
			return -1;
		}
		present = there && !strcmp(there, m.digest);
		free(there);
	}
	struct manifest_list kids = { 0 };
	bool ack = false;
	if (present) {
		if (m.subject && unindexed)
			json_array_append_new(unindexed, referrer_descriptor(&m));
		rc = depth < MAX_REFERRER_DEPTH ? copy_referrers_depth(p, m.digest, depth + 1) : 0;
	} else if (fetch_descendants(p, &m, &kids, 1, &err)) {
		p->error = err;
		rc = -1;
	} else {
		rc = copy_image(p, &m, kids.items, kids.n, ref, &ack);
		if (rc == 0)
			p->referrers++;
		if (rc == 0 && m.subject && !ack && unindexed)
			json_array_append_new(unindexed, referrer_descriptor(&m));
		if (rc == 0 && depth < MAX_REFERRER_DEPTH)
			rc = copy_referrers_depth(p, m.digest, depth + 1);
	}
	list_release(&kids);
	manifest_release(&m);
	return rc;
}

/* The source repository's tags, one request; NULL when the list is paginated or
 * unavailable (then each candidate tag is probed instead). Listed once a run. */
static json_t *list_tags(struct promotion *p)
{
	if (p->tags_listed)
		return p->src_tags;
	p->tags_listed = true;
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
	p->src_tags = tags;
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

/* The URL of a Link header's rel="next", when it stays on reg; NULL otherwise. */
static char *link_next(const struct registry *reg, const char *link)
{
	const char *lt = link ? strchr(link, '<') : NULL;
	const char *gt = lt ? strchr(lt, '>') : NULL;
	if (!gt || !strstr(gt, "rel=\"next\"") || gt - lt < 2)
		return NULL;
	char *url = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	if ((url[0] == '/' && str_starts_with(url, "/v2/")) ||
	    ((str_starts_with(url, "http://") || str_starts_with(url, "https://")) && registry_same_origin(reg, url)))
		return url;
	free(url);
	return NULL;
}

/* Whether the fallback tag's manifest m can be the referrers index of subject: an OCI
 * index other than the subject itself (GitLab answers the tag sha256-<hex> with the
 * image <hex>). Its entries are each checked for that subject when they are copied. */
static bool fallback_index_valid(const struct manifest *m, const char *subject)
{
	return m->is_index && !strcmp(m->media_type, MT_OCI_INDEX) && strcmp(m->digest, subject);
}

/* The referrers tag schema on the target (OCI distribution spec, "Pushing Manifests with
 * Subject"): the index under sha256-<hex> gains the referrers the registry did not index
 * itself. A tag that is not such an index is left alone; nothing new, no PUT. */
static int update_fallback(struct promotion *p, const char *subject, json_t *unindexed)
{
	char *tag = xasprintf("sha256-%s", subject + 7);
	struct manifest cur;
	char *err = NULL;
	int got = fetch_manifest(p->dreg, p->dst.repo, tag, &cur, &err);
	int rc = 0;
	if (got < 0) {
		p->error = err;
		free(tag);
		return -1;
	}
	json_t *entries = json_array();
	if (got == 0 && !fallback_index_valid(&cur, subject)) {
		verbosef(1, "%s/%s:%s is not a referrers index (%s): left alone", p->dreg->host, p->dst.repo, tag,
			 strcmp(cur.digest, subject) ? cur.media_type : "it resolves to the image itself");
		goto out;
	}
	if (got == 0) {
		json_t *doc = json_loadb(cur.bytes.buf ? cur.bytes.buf : "", cur.bytes.len, 0, NULL);
		json_array_extend(entries, json_object_get(doc, "manifests"));
		json_decref(doc);
	}
	bool changed = false;
	size_t i, j;
	json_t *d, *e;
	json_array_foreach(unindexed, i, d) {
		bool present = false;
		json_array_foreach(entries, j, e)
			present |= json_equal(json_object_get(e, "digest"), json_object_get(d, "digest"));
		if (!present) {
			json_array_append(entries, d);
			changed = true;
		}
	}
	if (!changed)
		goto out;
	if (p->dry_run) {
		plan_line(p, "put referrers index %s/%s:%s", p->dreg->host, p->dst.repo, tag);
		p->requests_planned += 2;
		goto out;
	}
	json_t *doc = json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests", entries);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	struct manifest idx = { .media_type = (char *)MT_OCI_INDEX };
	sb_addstr(&idx.bytes, text);
	free(text);
	rc = put_manifest(p->dreg, p->dst.repo, tag, &idx, NULL, &p->error);
	sb_release(&idx.bytes);
	if (rc == 0)
		p->fallback_updates++;
out:
	if (got == 0)
		manifest_release(&cur);
	json_decref(entries);
	free(tag);
	return rc;
}

/* Called for each referrer a listing names (its digest as listed: NULL or malformed
 * included, for a count); returns 0 to go on, -1 to stop. */
typedef int (*referrer_visit)(struct promotion *p, const char *ref, void *ctx);

/* The referrers of digest, from the OCI referrers API (following Link pages), else from
 * its tag schema fallback (sha256-<hex>), each handed to visit: 1 when the API answered,
 * 0 when not, -1 when visit stopped or the fallback index could not be read (p->error). */
static int walk_listed_referrers(struct promotion *p, const char *digest, referrer_visit visit, void *ctx)
{
	char *path = xasprintf("/v2/%s/referrers/%s", p->src.repo, digest);
	int api = 0;
	for (int page = 0; path && page < MAX_REFERRER_PAGES; page++) {
		struct http_req req = { .method = "GET", .path = path, .accept = MT_OCI_INDEX };
		struct http_resp resp = { 0 };
		char *next = NULL;
		if (registry_request(p->sreg, &req, &resp) == 0 && resp.status == 200 && resp.content_type &&
		    str_starts_with(resp.content_type, MT_OCI_INDEX)) {
			api = 1;
			json_t *doc = json_loadb(resp.body.buf ? resp.body.buf : "", resp.body.len, 0, NULL);
			size_t i;
			json_t *d;
			json_array_foreach(json_object_get(doc, "manifests"), i, d) {
				if (visit(p, json_string_value(json_object_get(d, "digest")), ctx)) {
					api = -1;
					break;
				}
			}
			json_decref(doc);
			if (api > 0)
				next = link_next(p->sreg, resp.link);
		}
		http_resp_release(&resp);
		free(path);
		path = next;
	}
	free(path);
	if (api)
		return api;
	char *tag = xasprintf("sha256-%s", digest + 7);
	int rc = 0;
	if (has_tag(list_tags(p), tag)) {
		struct manifest idx;
		char *err = NULL;
		int got = fetch_manifest(p->sreg, p->src.repo, tag, &idx, &err);
		if (got < 0) {
			p->error = err;
			rc = -1;
		} else if (got == 0 && !fallback_index_valid(&idx, digest)) {
			verbosef(1, "%s/%s:%s is not a referrers index: ignored", p->sreg->host, p->src.repo, tag);
		} else if (got == 0) {
			for (size_t i = 0; rc == 0 && i < idx.nchildren && i < MAX_REFERRERS; i++)
				rc = visit(p, idx.children[i].digest, ctx);
		}
		if (got == 0)
			manifest_release(&idx);
	}
	free(tag);
	return rc;
}

struct referrer_copy {
	const char *subject;
	json_t *unindexed;
	int depth;
	int listed;
};

static int copy_visit(struct promotion *p, const char *ref, void *ctx)
{
	struct referrer_copy *c = ctx;
	if (!ref_digest_valid(ref) || c->listed++ >= MAX_REFERRERS)
		return 0;
	return copy_referrer(p, ref, c->subject, c->unindexed, c->depth) ? -1 : 0;
}

static int count_visit(struct promotion *p, const char *ref, void *ctx)
{
	(void)p;
	(void)ref;
	++*(int *)ctx;
	return 0;
}

/* cosign's sha256-<hex>.sig/.att/.sbom tags, then the OCI referrers of digest (API or
 * fallback tag). Referrers the target did not index itself go into its fallback index.
 * One tag listing tells which tags exist, so absent ones cost nothing. */
static int copy_referrers(struct promotion *p, const char *digest)
{
	return copy_referrers_depth(p, digest, 1);
}

static int copy_referrers_depth(struct promotion *p, const char *digest, int depth)
{
	static const char *const suffixes[] = { ".sig", ".att", ".sbom" };
	json_t *tags = list_tags(p);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(suffixes); i++) {
		char *tag = xasprintf("sha256-%s%s", digest + 7, suffixes[i]);
		if (has_tag(tags, tag))
			rc = copy_referrer(p, tag, NULL, NULL, depth);
		free(tag);
	}
	json_t *unindexed = json_array();
	struct referrer_copy listed = { .subject = digest, .unindexed = unindexed, .depth = depth };
	if (rc == 0 && walk_listed_referrers(p, digest, copy_visit, &listed) < 0)
		rc = -1;
	if (rc == 0 && json_array_size(unindexed))
		rc = update_fallback(p, digest, unindexed);
	json_decref(unindexed);
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
		/* another repository: signatures added since the last promotion come along
		 * (the image's own; a pinned no-op does not GET the manifest for its children) */
		if (same_repo || p->no_referrers)
			return 0;
		if (copy_referrers(p, p->top.digest))
			return -1;
		if (!p->top_lazy && promote_fetch_children(p))
			return -1;
		for (size_t i = 0; !p->top_lazy && i < p->nchildren; i++)
			if (copy_referrers(p, p->children[i].digest))
				return -1;
		return 0;
	}
	if (same_repo)
		return retag(p);
	if (promote_fetch_children(p))
		return -1;
	/* The image by digest, then what refers to it (so a registry that checks a
	 * referrer's subject finds it, and a fallback tag that resolves to the image is
	 * seen for what it is), then the tag: the tag never points at an image whose
	 * signatures are still on their way. */
	bool referrers = !p->no_referrers;
	if (copy_image(p, &p->top, p->children, p->nchildren, referrers ? p->top.digest : p->dst.tag, NULL))
		return -1;
	if (referrers && copy_referrers(p, p->top.digest))
		return -1;
	for (size_t i = 0; referrers && i < p->nchildren; i++)
		if (copy_referrers(p, p->children[i].digest)) /* each platform's signatures */
			return -1;
	if (referrers && p->dry_run) {
		plan_line(p, "put manifest %s as %s/%s:%s", p->top.digest, p->dreg->host, p->dst.repo, p->dst.tag);
		p->requests_planned++;
	} else if (referrers && put_manifest(p->dreg, p->dst.repo, p->dst.tag, &p->top, NULL, &p->error)) {
		return -1;
	}
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

static long requests_now(const struct promotion *p)
{
	long n = p->sreg->requests;
	if (p->dreg != p->sreg)
		n += p->dreg->requests;
	return n;
}

static long token_requests_now(const struct promotion *p)
{
	long n = p->sreg->token_requests;
	if (p->dreg != p->sreg)
		n += p->dreg->token_requests;
	return n;
}

void promote_count_from_here(struct promotion *p)
{
	p->requests_base = requests_now(p);
	p->token_requests_base = token_requests_now(p);
}

void promote_count_until_here(struct promotion *p)
{
	p->requests_made = promote_requests(p);
	p->token_requests_made = promote_token_requests(p);
	p->counted = true;
}

int promote_inspect(struct promotion *p)
{
	char *src = ref_string(&p->src);
	int rc = fetch_manifest(p->sreg, p->src.repo, ref_of(&p->src), &p->top, &p->error);
	if (rc == 1)
		p->error = xasprintf("%s does not exist (MANIFEST_UNKNOWN)", src);
	free(src);
	if (rc == 0) {
		free(p->source_digest);
		p->source_digest = xstrdup(p->top.digest);
	}
	return rc ? -1 : 0;
}

char *promote_created(struct promotion *p)
{
	const char *key = "org.opencontainers.image.created";
	if (manifest_annotation(&p->top, key))
		return xstrdup(manifest_annotation(&p->top, key));
	const struct manifest *m = &p->top;
	if (m->is_index) {
		if (promote_fetch_children(p) || !p->nchildren) {
			free(p->error);
			p->error = NULL;
			return NULL;
		}
		m = &p->children[0];
	}
	json_t *cfg = fetch_config(p, m);
	const char *v = json_string_value(json_object_get(cfg, "created"));
	char *out = v ? xstrdup(v) : NULL;
	json_decref(cfg);
	return out;
}

int promote_count_referrers(struct promotion *p)
{
	static const char *const suffixes[] = { ".sig", ".att", ".sbom" };
	const char *digest = p->top.digest;
	json_t *tags = list_tags(p);
	int n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		char *tag = xasprintf("sha256-%s%s", digest + 7, suffixes[i]);
		n += tags && has_tag(tags, tag);
		free(tag);
	}
	if (walk_listed_referrers(p, digest, count_visit, &n) < 0) {
		free(p->error); /* a count: an unreadable fallback index counts nothing more */
		p->error = NULL;
	}
	return n;
}

long promote_requests(const struct promotion *p)
{
	return p->counted ? p->requests_made : requests_now(p) - p->requests_base;
}

long promote_token_requests(const struct promotion *p)
{
	return p->counted ? p->token_requests_made : token_requests_now(p) - p->token_requests_base;
}

void promote_release(struct promotion *p)
{
	manifest_release(&p->top);
	for (size_t i = 0; i < p->nchildren; i++)
		manifest_release(&p->children[i]);
	free(p->children);
	free(p->previous);
	free(p->source_digest);
	json_decref(p->src_tags);
	sb_release(&p->plan);
	free(p->error);
	ref_release(&p->src);
	ref_release(&p->dst);
}
