/* A blob uploaded in chunks, for a target behind a body limit (a 413 to the monolithic
 * PUT): each chunk read from the source with a ranged GET, sent with PATCH and
 * Content-Range, the last one in the closing PUT ?digest=. A chunk refused as too large
 * is halved, never below the session's OCI-Chunk-Min-Length; a 416 (the registry has
 * other bytes than we think) resumes from the offset a GET of the session reports. One
 * chunk is in memory at a time; the source's bytes are hashed once, in order. A chunk
 * size learnt from 413s is where the transfer's next chunked blob starts. A source that
 * ignores Range (a 200 with the whole blob to a ranged GET) is read by one GET instead,
 * in order, paused between chunks; a 413 or 416 that sends the upload back within the
 * chunk in memory takes it from there. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "promote.h"

#define CHUNK_DEFAULT (8LL << 20)  /* what a body limit usually allows (nginx: 1 MiB to 100s) */
#define CHUNK_FLOOR (4LL << 10)    /* halving stops here: a limit this low is no upload */
#define CHUNK_MAX (64LL << 20)     /* larger OCI-Chunk-Min-Length values are refused */
#define MAX_RESUMES 5              /* 416s answered by a status GET, per blob */

/* The source read by one GET, in order, for a source that ignores Range: the bytes before
 * the wanted offset are dropped, the wanted ones copied to dst, and the GET is paused
 * (libcurl offers the rest again on resume) until the next chunk is wanted. */
struct whole_get {
	CURLM *multi;              /* NULL: not open */
	CURL *get;
	struct curl_slist *headers;
	long long pos;             /* bytes of the body consumed */
	char *dst;                 /* the wanted bytes [from, from + n) go here */
	long long from, n;
	long long got;             /* dst holds [from, from + got) (more than n when kept
				    * from an earlier, longer read) */
	bool paused, done, checked;
	long status;               /* not 200: the GET failed */
	CURLcode cc;
	char errbuf[CURL_ERROR_SIZE];
};

struct chunked {
	struct transfer *t;
	struct blob_job *job;
	char *location;
	long long offset;          /* the registry has [0, offset) */
	long long hashed;          /* the source's bytes hashed, [0, hashed) */
	long long chunk, min_length;
	char *buf;
	EVP_MD_CTX *md;
	bool retryable;            /* the failure is worth another attempt at the blob */
	bool shrunk;               /* a 413 taught the chunk size */
	bool verified;             /* the digest matched: a closing PUT sent again (416, 413)
				      must not finalise c->md a second time */
	bool ignores_range;        /* the source answered a ranged GET 200: read by whole */
	struct whole_get whole;
};

/* What a request may take: its bytes' share of the rule, within the blob's deadline. */
static long chunk_timeout_ms(const struct chunked *c, long long bytes)
{
	double left = c->job->deadline_ms - now_ms();
	double budget = blob_budget_ms(c->t->dst->limits, bytes);
	double ms = budget < left ? budget : left;
	return ms < 1 ? 1 : (long)ms;
}

static void fail(struct chunked *c, bool retryable, char *sentence)
{
	free(c->job->error);
	c->job->error = sentence;
	c->retryable = retryable;
}

static void fail_status(struct chunked *c, struct registry *r, const struct http_resp *resp, const char *what)
{
	char *ctx = xasprintf("%s blob %s (in chunks)", what, c->job->digest);
	fail(c, resp->status == 0 || http_status_retryable(resp->status), registry_error_sentence(r, resp, ctx));
	free(ctx);
}

static size_t whole_write_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	struct whole_get *w = userdata;
	size_t len = size * nitems;
	if (!w->checked) {
		w->checked = true;
		curl_easy_getinfo(w->get, CURLINFO_RESPONSE_CODE, &w->status);
	}
	if (w->status != 200)
		return 0; /* an error document is no blob: the read fails with the status */
	long long start = w->pos, end = w->pos + (long long)len, want_end = w->from + w->n;
	long long lo = start > w->from ? start : w->from, hi = end < want_end ? end : want_end;
	if (hi > lo) {
		memcpy(w->dst + (lo - w->from), data + (lo - start), (size_t)(hi - lo));
		w->got = hi - w->from;
	}
	if (end > want_end) {
		w->paused = true;
		return CURL_WRITEFUNC_PAUSE; /* nothing of it consumed: offered again on resume */
	}
	w->pos = end;
	return len;
}

static void whole_close(struct whole_get *w)
{
	if (!w->multi)
		return;
	curl_multi_remove_handle(w->multi, w->get);
	curl_multi_cleanup(w->multi);
	curl_easy_cleanup(w->get);
	curl_slist_free_all(w->headers);
	memset(w, 0, sizeof(*w));
}

static void whole_open(struct chunked *c)
{
	struct whole_get *w = &c->whole;
	char *path = xasprintf("/v2/%s/blobs/%s", c->t->src_repo, c->job->digest);
	char *url = registry_url(c->t->src, path);
	memset(w, 0, sizeof(*w));
	w->get = registry_stream_handle(c->t->src, url, &w->headers, w->errbuf, c->job->deadline_ms);
	curl_easy_setopt(w->get, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(w->get, CURLOPT_MAXREDIRS, 5L);
	/* paused while a chunk goes up: bounded by the blob's deadline, not by a stall check */
	curl_easy_setopt(w->get, CURLOPT_LOW_SPEED_TIME, 0L);
	curl_easy_setopt(w->get, CURLOPT_WRITEFUNCTION, whole_write_cb);
	curl_easy_setopt(w->get, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->get, CURLOPT_HTTPHEADER, w->headers);
	w->multi = curl_multi_init();
	curl_multi_add_handle(w->multi, w->get);
	log_lock();
	verbosef(1, "> GET %s (whole, read in order)", url);
	log_unlock();
	free(url);
	free(path);
}

/* Why the whole GET gave fewer bytes than wanted; whether another attempt may do better. */
static void whole_failed(struct chunked *c)
{
	struct whole_get *w = &c->whole;
	const char *digest = c->job->digest;
	if (http_interrupted())
		fail(c, false, xasprintf("the chunked upload of %s was interrupted", digest));
	else if (w->checked && w->status != 200)
		fail(c, http_status_retryable(w->status), xasprintf("GET blob %s (whole: the source ignores Range) "
								    "answered HTTP %ld", digest, w->status));
	else if (w->done && w->cc == CURLE_OK)
		fail(c, true, xasprintf("the source sent %lld bytes of %s, the manifest says %lld", w->pos, digest,
					c->job->size));
	else
		fail(c, true, xasprintf("GET blob %s (whole: the source ignores Range): %s", digest,
					!w->done ? "timed out" : *w->errbuf ? w->errbuf : curl_easy_strerror(w->cc)));
}

/* Bytes [offset, offset + n) from the whole GET into c->buf. What c->buf still holds of
 * the last read ([from, from + got): a 413 halved the chunk, a 416 resumed within it) is
 * kept; a read behind that starts the GET again. Bounded by the chunk's time. */
static int whole_read(struct chunked *c, long long n)
{
	struct whole_get *w = &c->whole;
	long long kept = 0;
	if (w->multi && c->offset >= w->from && c->offset < w->from + w->got) {
		kept = w->from + w->got - c->offset;
		memmove(c->buf, c->buf + (c->offset - w->from), (size_t)kept);
	} else if (w->multi && c->offset < w->pos) {
		whole_close(w);
	}
	if (!w->multi)
		whole_open(c);
	w->dst = c->buf;
	w->from = c->offset;
	w->n = n;
	w->got = kept; /* the GET's position is at most from + kept: it goes on from there */
	if (kept >= n)
		return 0;
	if (w->paused) {
		w->paused = false;
		curl_easy_pause(w->get, CURLPAUSE_CONT); /* may deliver at once */
	}
	double deadline = now_ms() + (double)chunk_timeout_ms(c, n);
	while (w->got < n && !w->done && !http_interrupted() && now_ms() < deadline) {
		int running = 0, left;
		if (curl_multi_perform(w->multi, &running) != CURLM_OK)
			break;
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(w->multi, &left)))
			if (msg->msg == CURLMSG_DONE) {
				w->done = true;
				w->cc = msg->data.result;
			}
		if (w->got < n && !w->done)
			curl_multi_poll(w->multi, NULL, 0, 50, NULL);
	}
	if (w->got == n)
		return 0;
	whole_failed(c);
	whole_close(w);
	return -1;
}

/* A ranged GET of [offset, offset + n) into c->buf. A 200 to it (the source ignores Range
 * and sends the whole blob, cut at n bytes here) switches to the whole GET. */
static int ranged_read(struct chunked *c, long long n)
{
	char *path = xasprintf("/v2/%s/blobs/%s", c->t->src_repo, c->job->digest);
	char *range = xasprintf("Range: bytes=%lld-%lld", c->offset, c->offset + n - 1);
	struct http_req req = { .method = "GET", .path = path, .header = range, .max_body = (size_t)n,
				.timeout_ms = chunk_timeout_ms(c, n) };
	struct http_resp resp = { 0 };
	int rc = -1;
	bool whole = c->offset == 0 && n == c->job->size;
	int sent = registry_request(c->t->src, &req, &resp);
	if (resp.status == 200 && !whole) {
		log_lock();
		verbosef(1, "%s ignores Range (HTTP 200 to a ranged GET of %s): reading the blob by one GET, "
			 "in order", c->t->src->host, c->job->digest);
		log_unlock();
		c->ignores_range = true;
		rc = whole_read(c, n);
	} else if (sent || (resp.status != 206 && !(resp.status == 200 && whole))) {
		fail_status(c, c->t->src, &resp, "ranged GET of");
	} else if ((long long)resp.body.len != n) {
		fail(c, true, xasprintf("the source sent %zu bytes of %s for a range of %lld", resp.body.len,
					c->job->digest, n));
	} else {
		memcpy(c->buf, resp.body.buf, (size_t)n);
		rc = 0;
	}
	http_resp_release(&resp);
	free(range);
	free(path);
	return rc;
}

/* Bytes [offset, offset + n) of the blob from the source into c->buf, hashed when new. */
static int read_source(struct chunked *c, long long n)
{
	if (c->ignores_range ? whole_read(c, n) : ranged_read(c, n))
		return -1;
	if (c->offset + n > c->hashed) {
		long long from = c->hashed - c->offset;
		EVP_DigestUpdate(c->md, c->buf + from, (size_t)(n - from));
		c->hashed = c->offset + n;
	}
	return 0;
}

static bool digest_matches(struct chunked *c)
{
	if (c->verified)
		return true;
	char *mismatch = manifest_digest_mismatch(c->md, c->job->digest);
	if (mismatch) {
		fail(c, false, mismatch);
		return false;
	}
	c->verified = true;
	return true;
}

static void follow_location(struct chunked *c, const struct http_resp *resp)
{
	if (resp->location && *resp->location) {
		free(c->location);
		c->location = xstrdup(resp->location);
	}
}

/* "0-<end>" of a Range header: the offset after it. "0-0" is an empty session, as the
 * reference registry reports one. -1 when it is no such range. */
static long long range_next(const char *range)
{
	long long start = -1, end = -1;
	int used = 0;
	if (!range || sscanf(range, "%lld-%lld%n", &start, &end, &used) != 2 || range[used] || start != 0 || end < 0)
		return -1;
	return end == 0 ? 0 : end + 1;
}

/* After a 416: where the session really is (a GET of it, 204 by the spec). */
static int resume(struct chunked *c)
{
	struct http_req req = { .method = "GET", .path = c->location, .max_body = 65536 };
	struct http_resp resp = { 0 };
	int rc = -1;
	long long next = -1;
	if (registry_request(c->t->dst, &req, &resp) || (resp.status != 204 && resp.status != 200)) {
		fail_status(c, c->t->dst, &resp, "GET of the upload session of");
		c->retryable = true; /* the session is lost (a stale Location): a new one may do */
	} else if ((next = range_next(resp.range)) < 0 || next > c->hashed) {
		fail(c, false, xasprintf("the upload session of %s reports the range \"%s\", which this upload "
					 "never sent", c->job->digest, resp.range ? resp.range : ""));
	} else {
		follow_location(c, &resp);
		log_lock();
		verbosef(1, "upload of %s: the registry has %lld bytes, resuming there", c->job->digest, next);
		log_unlock();
		c->offset = next;
		rc = 0;
	}
	http_resp_release(&resp);
	return rc;
}

/* A 413: halve the chunk, not below the session's minimum. */
static int shrink(struct chunked *c, long long refused)
{
	long long half = refused / 2;
	if (half < c->min_length)
		half = c->min_length;
	if (half >= refused || half < CHUNK_FLOOR) {
		fail(c, false, xasprintf("%s/%s refuses chunks of %lld bytes as too large (HTTP 413), and the "
					 "registry asks for at least %lld (OCI-Chunk-Min-Length)",
					 c->t->dst->host, c->t->dst_repo, refused, c->min_length));
		return -1;
	}
	c->chunk = half;
	c->shrunk = true;
	return 0;
}

/* One chunk: PATCH, or the closing PUT with what is left. 1 done, 0 go on, -1 failed. */
static int send_chunk(struct chunked *c, int *resumes)
{
	long long left = c->job->size - c->offset;
	bool last = left <= c->chunk;
	long long n = last ? left : c->chunk;
	if (n > 0 && read_source(c, n))
		return -1;
	if (last && !digest_matches(c))
		return -1;
	char *range = n > 0 ? xasprintf("Content-Range: %lld-%lld", c->offset, c->offset + n - 1) : NULL;
	char *url = last ? upload_url(c->location, c->job->digest) : xstrdup(c->location);
	struct http_req req = { .method = last ? "PUT" : "PATCH", .path = url, .header = range,
				.content_type = "application/octet-stream", .body = c->buf, .body_len = (size_t)n,
				.max_body = 65536, .timeout_ms = chunk_timeout_ms(c, n) };
	struct http_resp resp = { 0 };
	int rc = -1;
	int sent = registry_request(c->t->dst, &req, &resp);
	/* the spec answers a PATCH 202 and the closing PUT 201; some answer 204 (no body) */
	if (sent == 0 && last && (resp.status == 201 || resp.status == 204)) {
		rc = 1;
	} else if (sent == 0 && !last && (resp.status == 202 || resp.status == 204)) {
		follow_location(c, &resp);
		long long next = range_next(resp.range);
		c->offset = next > c->offset && next <= c->hashed ? next : c->offset + n;
		rc = 0;
	} else if (sent == 0 && resp.status == 413) {
		rc = shrink(c, n < c->chunk ? n : c->chunk);
	} else if (sent == 0 && resp.status == 416 && (*resumes)++ < MAX_RESUMES) {
		rc = resume(c);
	} else {
		fail_status(c, c->t->dst, &resp, last ? "closing PUT of" : "PATCH of");
	}
	http_resp_release(&resp);
	free(url);
	free(range);
	return rc;
}

int chunked_upload(struct transfer *t, struct blob_job *job, char **location, long long min_length,
		   bool *retryable)
{
	if (min_length > CHUNK_MAX) {
		job->error = xasprintf("%s/%s asks for chunks of at least %lld bytes (OCI-Chunk-Min-Length): more "
				       "than the %lld this tool holds in memory", t->dst->host, t->dst_repo,
				       min_length, CHUNK_MAX);
		*retryable = false;
		return -1;
	}
	struct chunked c = { .t = t, .job = job, .location = *location, .min_length = min_length > 0 ? min_length : 0 };
	pthread_mutex_lock(&t->lock);
	long long learnt = t->chunk_bytes;
	pthread_mutex_unlock(&t->lock);
	c.chunk = learnt ? learnt : CHUNK_DEFAULT;
	if (c.chunk < c.min_length)
		c.chunk = c.min_length;
	/* a blob refused whole is at most its size: start below it so that the first chunk
	 * is not the refused body again */
	if (!learnt && job->size > 1 && c.chunk >= job->size)
		c.chunk = job->size / 2 > c.min_length ? job->size / 2 : c.min_length;
	c.buf = xmalloc((size_t)(c.chunk > 0 ? c.chunk : 1));
	c.md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(c.md, EVP_sha256(), NULL);
	log_lock();
	verbosef(1, "uploading %s in chunks of %lld bytes", job->digest, c.chunk);
	log_unlock();
	int resumes = 0, rc = 0;
	/* each round moves a chunk, halves the chunk or resumes: bounded by the blob's size */
	long long rounds = job->size / CHUNK_FLOOR + 64;
	while (rc == 0 && rounds-- > 0) {
		if (http_interrupted()) {
			fail(&c, false, xasprintf("the chunked upload of %s was interrupted", job->digest));
			rc = -1;
			break;
		}
		if (now_ms() > job->deadline_ms) {
			fail(&c, true, xasprintf("the chunked upload of %s did not finish within its deadline "
						  "(--timeout, plus 1 s per 100 KiB and the answer window, at most --total-timeout): "
						  "raise --timeout for a slow link", job->digest));
			rc = -1;
			break;
		}
		rc = send_chunk(&c, &resumes);
	}
	if (rc == 0)
		fail(&c, false, xasprintf("the chunked upload of %s took more rounds than its size needs", job->digest));
	*location = c.location;
	*retryable = c.retryable;
	if (rc > 0)
		job->bytes = job->size;
	if (rc > 0 && c.shrunk) {
		pthread_mutex_lock(&t->lock); /* what passed a body limit: where the next blob starts */
		if (!t->chunk_bytes || c.chunk < t->chunk_bytes)
			t->chunk_bytes = c.chunk;
		pthread_mutex_unlock(&t->lock);
	}
	whole_close(&c.whole);
	EVP_MD_CTX_free(c.md);
	free(c.buf);
	return rc > 0 ? 0 : -1;
}
