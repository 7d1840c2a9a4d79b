/* Blobs into the target repository: a cross-repository mount within one registry, else a
 * stream from the source's GET into the target's monolithic PUT through a bounded ring
 * (never on disk, never whole in memory), hashed on the way; in chunks (chunked.c) when
 * the target refuses a blob whole (413). Each attempt at a blob has its own deadline
 * (blob_budget_ms), and its abandoned upload session is cancelled. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "progress.h"
#include "promote.h"

/* The thread that called transfer_run() draws the progress line; workers do not. */
static _Thread_local bool draws_progress;

/* Largest piece libcurl hands over or asks for at once (CURLOPT_BUFFERSIZE and
 * CURLOPT_UPLOAD_BUFFERSIZE): fewer callbacks and syscalls per blob. */
#define STREAM_CHUNK (512L * 1024)

struct ring {
	char *buf;
	size_t cap, head, len;     /* head: first byte to read */
};

struct stream {
	struct transfer *t;
	struct ring ring;
	const char *digest;
	long long size;
	long long received, sent;
	EVP_MD_CTX *md;
	bool get_done, get_ok, get_paused, put_paused;
	bool corrupt;             /* wrong size or digest: retrying cannot help */
	CURL *get;
	int get_body;             /* 0 not seen yet, 1 the blob, -1 an error document */
	long get_status;
	char *get_error;
};

/* What a failed stream calls for. */
enum stream_fault { STREAM_FATAL, STREAM_RETRY, STREAM_REAUTH_SOURCE, STREAM_REAUTH_TARGET, STREAM_TOO_LARGE };

static void ring_push(struct ring *r, const char *data, size_t n)
{
	size_t tail = (r->head + r->len) % r->cap;
	size_t first = n < r->cap - tail ? n : r->cap - tail;
	memcpy(r->buf + tail, data, first);
	memcpy(r->buf, data + first, n - first);
	r->len += n;
}

static size_t ring_pop(struct ring *r, char *out, size_t n)
{
	if (n > r->len)
		n = r->len;
	size_t first = n < r->cap - r->head ? n : r->cap - r->head;
	memcpy(out, r->buf + r->head, first);
	memcpy(out + first, r->buf, n - first);
	r->head = (r->head + n) % r->cap;
	r->len -= n;
	return n;
}

static size_t get_write_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	struct stream *s = userdata;
	size_t n = size * nitems;
	if (s->get_body == 0) {
		long status = 0;
		curl_easy_getinfo(s->get, CURLINFO_RESPONSE_CODE, &status);
		s->get_body = status == 200 ? 1 : -1;
	}
	if (s->get_body < 0)
		return n; /* a 401's or 5xx's error document is not blob data: finish_get reports the status */
	if (s->received + (long long)n > s->size) {
		s->get_error = xasprintf("the source sent more than the %lld bytes of %s", s->size, s->digest);
		s->corrupt = true;
		return 0;
	}
	if (s->ring.cap - s->ring.len < n) {
		s->get_paused = true;
		return CURL_WRITEFUNC_PAUSE; /* libcurl keeps the data and offers it again */
	}
	ring_push(&s->ring, data, n);
	EVP_DigestUpdate(s->md, data, n);
	s->received += (long long)n;
	__atomic_add_fetch(&s->t->streamed, (unsigned long long)n, __ATOMIC_RELAXED);
	return n;
}

static size_t put_read_cb(char *out, size_t size, size_t nitems, void *userdata)
{
	struct stream *s = userdata;
	if (s->get_done && !s->get_ok)
		return CURL_READFUNC_ABORT;
	size_t want = size * nitems;
	size_t avail = s->ring.len;
	/* Hold the last byte back until the source's digest is checked, so that a corrupt
	 * stream is aborted rather than completed. */
	if (!s->get_done && avail && s->sent + (long long)avail >= s->size)
		avail--;
	if (avail == 0) {
		s->put_paused = true;
		return CURL_READFUNC_PAUSE;
	}
	size_t n = ring_pop(&s->ring, out, want < avail ? want : avail);
	s->sent += (long long)n;
	return n;
}

static void finish_get(struct stream *s, CURL *get)
{
	curl_easy_getinfo(get, CURLINFO_RESPONSE_CODE, &s->get_status);
	s->get_done = true;
	if (s->get_error)
		return;
	if (s->get_status != 200) {
		s->get_error = xasprintf("GET blob %s answered HTTP %ld", s->digest, s->get_status);
		return;
	}
	s->corrupt = true; /* until proven otherwise */
	if (s->received != s->size) {
		s->get_error = xasprintf("the source sent %lld bytes of %s, the manifest says %lld",
					 s->received, s->digest, s->size);
		return;
	}
	if ((s->get_error = manifest_digest_mismatch(s->md, s->digest)))
		return;
	s->corrupt = false;
	s->get_ok = true;
}

/* The upload's answer: an error document to turn into a sentence, bounded. */
static size_t put_answer_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	struct strbuf *answer = userdata;
	size_t n = size * nitems;
	if (answer->len < 65536)
		sb_add(answer, data, n);
	return n;
}

/* Drives the GET and the PUT in one multi until both finish, or the blob's deadline. */
static int pump(CURLM *multi, CURL *get, CURL *put, struct stream *s, const struct run_limits *l,
		double deadline_ms)
{
	int running = 2;
	CURLcode get_cc = CURLE_OK, put_cc = CURLE_OK;
	bool put_done = false;
	double answer_since = 0;  /* when the upload's last byte went out */
	/* A registry may hash (or copy to object storage) the whole blob before it answers:
	 * that wait is no stall. It is bounded by its own window, not by the stall limit. */
	double answer_window = http_answer_window_ms(l);
	while (running) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			return -1;
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (msg->easy_handle == get) {
				get_cc = msg->data.result;
				if (get_cc == CURLE_OK)
					finish_get(s, get);
				else
					s->get_done = true;
			} else {
				put_cc = msg->data.result;
				put_done = true;
			}
		}
		/* an upload answered before its last byte (nginx's 413 on Content-Length): nothing
		 * drains the ring any more, so the GET would wait for the deadline */
		if (put_done && !s->get_done)
			return -1;
		bool resumed = false;
		if (s->put_paused && (s->ring.len || s->get_done)) {
			s->put_paused = false;
			curl_easy_pause(put, CURLPAUSE_CONT);
			resumed = true;
		}
		if (s->get_paused && s->ring.cap - s->ring.len >= STREAM_CHUNK) {
			s->get_paused = false;
			curl_easy_pause(get, CURLPAUSE_CONT);
			resumed = true;
		}
		if (draws_progress)
			progress_update(s->t->progress, __atomic_load_n(&s->t->streamed, __ATOMIC_RELAXED));
		if (!answer_since && s->get_ok && s->sent == s->size) {
			answer_since = now_ms();
			curl_easy_setopt(put, CURLOPT_LOW_SPEED_TIME, 0L);
		}
		if (answer_since && now_ms() - answer_since > answer_window && !s->get_error) {
			s->get_error = xasprintf("%s: no answer to the upload %.0f s after its last byte", s->digest,
						 answer_window / 1000);
			return -1;
		}
		if (http_interrupted()) {
			if (!s->get_error)
				s->get_error = xasprintf("%s: interrupted", s->digest);
			return -1;
		}
		if (now_ms() > deadline_ms) {
			if (!s->get_error)
				s->get_error = xasprintf("%s: the transfer did not finish in its time (%.0f s for "
							 "%lld bytes)", s->digest, blob_budget_ms(l, s->size) / 1000,
							 s->size);
			return -1;
		}
		/* a resumed transfer has work without any socket event: drive it at once */
		if (running && !resumed)
			curl_multi_poll(multi, NULL, 0, 50, NULL);
	}
	if (get_cc != CURLE_OK && !s->get_error)
		s->get_error = xasprintf("GET blob %s: %s", s->digest, curl_easy_strerror(get_cc));
	return put_cc == CURLE_OK && s->get_ok ? 0 : -1;
}

static enum stream_fault classify(const struct stream *s, long put_status)
{
	if (s->corrupt || http_interrupted())
		return STREAM_FATAL;
	if (s->get_status == 401)
		return STREAM_REAUTH_SOURCE; /* a token that expired during a long run */
	if (put_status == 401)
		return STREAM_REAUTH_TARGET;
	if (put_status == 413)
		return STREAM_TOO_LARGE; /* a body limit (a proxy's, or the registry's) */
	if ((s->get_status >= 400 && !http_status_retryable(s->get_status)) ||
	    (put_status >= 400 && !http_status_retryable(put_status)))
		return STREAM_FATAL;
	return STREAM_RETRY;         /* connection errors, timeouts, 5xx, 408, 429 */
}

/* The GET writes into the ring, the PUT reads from it (the blob's size known up front:
 * a monolithic upload); the PUT's answer is kept for its error document. */
static void wire_stream(CURL *get, struct curl_slist **get_headers, CURL *put, struct curl_slist **put_headers,
			struct stream *s, struct strbuf *put_answer)
{
	curl_easy_setopt(get, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(get, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(get, CURLOPT_WRITEFUNCTION, get_write_cb);
	curl_easy_setopt(get, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(get, CURLOPT_BUFFERSIZE, STREAM_CHUNK);
	curl_easy_setopt(get, CURLOPT_HTTPHEADER, *get_headers);
	*put_headers = curl_slist_append(*put_headers, "Content-Type: application/octet-stream");
	*put_headers = curl_slist_append(*put_headers, "Expect:");
	curl_easy_setopt(put, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(put, CURLOPT_UPLOAD_BUFFERSIZE, STREAM_CHUNK);
	curl_easy_setopt(put, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->size);
	curl_easy_setopt(put, CURLOPT_READFUNCTION, put_read_cb);
	curl_easy_setopt(put, CURLOPT_READDATA, s);
	curl_easy_setopt(put, CURLOPT_WRITEFUNCTION, put_answer_cb);
	curl_easy_setopt(put, CURLOPT_WRITEDATA, put_answer);
	curl_easy_setopt(put, CURLOPT_HTTPHEADER, *put_headers);
}

/* One blob from src to an open upload session (location) in dst. */
static int stream_blob(struct transfer *t, struct blob_job *job, const char *location, enum stream_fault *fault)
{
	struct stream s = { .t = t, .digest = job->digest, .size = job->size };
	s.ring.cap = t->ring_bytes;
	s.ring.buf = xmalloc(s.ring.cap);
	s.md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
	char get_err[CURL_ERROR_SIZE] = "", put_err[CURL_ERROR_SIZE] = "";
	struct curl_slist *get_headers = NULL, *put_headers = NULL;
	char *path = xasprintf("/v2/%s/blobs/%s", t->src_repo, job->digest);
	char *get_url = registry_url(t->src, path);
	char *loc = registry_url(t->dst, location);
	char *put_url = upload_url(loc, job->digest);
	CURL *get = registry_stream_handle(t->src, get_url, &get_headers, get_err, job->deadline_ms);
	s.get = get;
	CURL *put = registry_stream_handle(t->dst, put_url, &put_headers, put_err, job->deadline_ms);
	struct http_resp put_answer = { 0 };
	wire_stream(get, &get_headers, put, &put_headers, &s, &put_answer.body);
	log_lock();
	verbosef(1, "> GET %s | PUT %.*s (stream, %lld bytes)", get_url, registry_trace_url_len(location, loc), loc,
		 job->size);
	log_unlock();
	CURLM *multi = curl_multi_init();
	curl_multi_add_handle(multi, get);
	curl_multi_add_handle(multi, put);
	int rc = pump(multi, get, put, &s, t->src->limits, job->deadline_ms);
	long put_status = 0;
	curl_easy_getinfo(put, CURLINFO_RESPONSE_CODE, &put_status);
	bool stored = put_status == 201 || put_status == 204; /* 204: some registries, no body */
	/* the registry's refusal (even before the last byte) says more than the stream's end */
	if (!stored && !s.corrupt && (rc == 0 || put_status >= 400)) {
		rc = -1;
		put_answer.status = put_status;
		char *what = xasprintf("PUT blob %s to %s/%s", job->digest, t->dst->host, t->dst_repo);
		job->error = registry_error_sentence(t->dst, &put_answer, what);
		free(what);
	} else if (rc != 0) {
		job->error = s.get_error ? xstrdup(s.get_error)
			: xasprintf("streaming %s to %s failed: %s", job->digest, t->dst->host,
				    *put_err ? put_err : (*get_err ? get_err : "timed out"));
	}
	*fault = classify(&s, rc == 0 || stored ? 0 : put_status);
	if (rc == 0)
		job->bytes = s.sent;
	curl_multi_remove_handle(multi, get);
	curl_multi_remove_handle(multi, put);
	curl_multi_cleanup(multi);
	curl_easy_cleanup(get);
	curl_easy_cleanup(put);
	curl_slist_free_all(get_headers);
	curl_slist_free_all(put_headers);
	EVP_MD_CTX_free(s.md);
	http_resp_release(&put_answer);
	free(s.ring.buf);
	free(s.get_error);
	free(path);
	free(get_url);
	free(loc);
	free(put_url);
	return rc;
}

/* Opens an upload in dst: a mount attempt within one registry. Returns 201 (mounted),
 * 202 (*location set, and *min_length to the session's OCI-Chunk-Min-Length or 0), or -1
 * with job->error. */
static int open_upload(struct transfer *t, struct blob_job *job, char **location, long long *min_length)
{
	char *path;
	if (t->src == t->dst)
		path = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", t->dst_repo, job->digest, t->src_repo);
	else
		path = xasprintf("/v2/%s/blobs/uploads/", t->dst_repo);
	struct http_req req = { .method = "POST", .path = path };
	struct http_resp resp = { 0 };
	int rc = -1;
	int sent = registry_request(t->dst, &req, &resp);
	if (sent == 0 && t->src == t->dst && resp.status >= 400 && resp.status != 429 && resp.status < 500) {
		/* a mount refused (Harbor's 401 for a project the account cannot read, 403,
		 * 404 where mounts are off): a plain upload session instead, counted as a copy */
		log_lock();
		verbosef(1, "mount of %s from %s answered HTTP %ld: uploading it instead", job->digest, t->src_repo,
			 resp.status);
		log_unlock();
		free(path);
		path = xasprintf("/v2/%s/blobs/uploads/", t->dst_repo);
		req.path = path;
		sent = registry_request(t->dst, &req, &resp);
	}
	if (sent == 0 && resp.status == 201 && t->src == t->dst) {
		rc = 201;
	} else if (sent == 0 && resp.status == 202 && resp.location) {
		*location = xstrdup(resp.location);
		*min_length = resp.chunk_min_length ? strtoll(resp.chunk_min_length, NULL, 10) : 0;
		rc = 202;
	} else {
		char *what = xasprintf("POST %s/%s blob upload", t->dst->host, t->dst_repo);
		job->error = registry_error_sentence(t->dst, &resp, what);
		free(what);
	}
	http_resp_release(&resp);
	free(path);
	return rc;
}

/* An upload abandoned (failed, or given up for chunks) is cancelled (DELETE of its
 * session), so that the registry does not keep its partial data until its own purge;
 * best effort, CANCEL_TIMEOUT_MS at most, its answer (204 by the spec) ignored. */
#define CANCEL_TIMEOUT_MS 5000L
static void cancel_upload(struct transfer *t, const char *location)
{
	long ms = t->dst->limits->request_timeout_ms < CANCEL_TIMEOUT_MS ? t->dst->limits->request_timeout_ms
									  : CANCEL_TIMEOUT_MS;
	struct http_req req = { .method = "DELETE", .path = location, .max_body = 65536, .timeout_ms = ms };
	struct http_resp resp = { 0 };
	(void)registry_request(t->dst, &req, &resp);
	http_resp_release(&resp);
}

static int blob_exists(struct transfer *t, struct blob_job *job)
{
	char *path = xasprintf("/v2/%s/blobs/%s", t->dst_repo, job->digest);
	struct http_req req = { .method = "HEAD", .path = path };
	struct http_resp resp = { 0 };
	int rc = registry_request(t->dst, &req, &resp) == 0 && resp.status == 200;
	http_resp_release(&resp);
	free(path);
	return rc;
}

/* Whether a body limit already refused a blob this large whole: then chunks at once. */
static bool refused_whole(struct transfer *t, long long size)
{
	pthread_mutex_lock(&t->lock);
	bool refused = t->refused_size && size >= t->refused_size;
	pthread_mutex_unlock(&t->lock);
	return refused;
}

static void note_refused(struct transfer *t, long long size)
{
	pthread_mutex_lock(&t->lock);
	if (!t->refused_size || size < t->refused_size)
		t->refused_size = size;
	pthread_mutex_unlock(&t->lock);
}

/* One attempt at a blob: 201 mounted, 0 copied, -1 failed (*fault says what next). A
 * monolithic upload refused as too large (413) is cancelled and done again in chunks. */
static int attempt_blob(struct transfer *t, struct blob_job *job, enum stream_fault *fault)
{
	char *location = NULL;
	long long min_length = 0;
	*fault = STREAM_FATAL;
	int opened = open_upload(t, job, &location, &min_length);
	if (opened != 202)
		return opened == 201 ? 201 : -1;
	if (!job->chunked && !refused_whole(t, job->size)) {
		int rc = stream_blob(t, job, location, fault);
		if (rc == 0) {
			free(location);
			return 0;
		}
		cancel_upload(t, location);
		free(location);
		location = NULL;
		if (*fault != STREAM_TOO_LARGE)
			return -1;
		note_refused(t, job->size);
		log_lock();
		verbosef(1, "%s refused %s whole: %s; uploading it in chunks", t->dst->host, job->digest, job->error);
		log_unlock();
		free(job->error);
		job->error = NULL;
		*fault = STREAM_FATAL;
		opened = open_upload(t, job, &location, &min_length);
		if (opened != 202)
			return opened == 201 ? 201 : -1;
	}
	job->chunked = true;
	bool retryable = false;
	int rc = chunked_upload(t, job, &location, min_length, &retryable);
	if (rc)
		cancel_upload(t, location);
	free(location);
	*fault = rc == 0 || !retryable ? STREAM_FATAL : STREAM_RETRY;
	return rc;
}

static void do_job(struct transfer *t, struct blob_job *job)
{
	if (t->src != t->dst && blob_exists(t, job)) {
		job->result = BLOB_SKIPPED;
		return;
	}
	const struct run_limits *l = t->src->limits;
	for (int attempt = 0;; attempt++) {
		/* each attempt has its own time, sized by the blob, within the run's */
		double own = now_ms() + blob_budget_ms(l, job->size);
		job->deadline_ms = own < l->deadline_ms ? own : l->deadline_ms;
		enum stream_fault fault = STREAM_FATAL;
		unsigned long src_token_fetches = registry_token_fetches(t->src);
		unsigned long dst_token_fetches = registry_token_fetches(t->dst);
		int rc = attempt_blob(t, job, &fault);
		if (rc == 201 || rc == 0) {
			job->result = rc == 201 ? BLOB_MOUNTED : BLOB_COPIED;
			return;
		}
		if (fault == STREAM_REAUTH_SOURCE || fault == STREAM_REAUTH_TARGET)
			registry_renew_token(fault == STREAM_REAUTH_SOURCE ? t->src : t->dst,
					     fault == STREAM_REAUTH_SOURCE ? src_token_fetches : dst_token_fetches, &job->error);
		if (fault == STREAM_FATAL || fault == STREAM_TOO_LARGE || attempt >= l->retries ||
		    !http_retry_sleep(l, attempt, NULL)) {
			job->result = BLOB_FAILED;
			return;
		}
		log_lock();
		verbosef(1, "retrying blob %s: %s", job->digest, job->error);
		log_unlock();
		free(job->error);
		job->error = NULL;
	}
}

static void *worker(void *arg)
{
	struct transfer *t = arg;
	for (;;) {
		pthread_mutex_lock(&t->lock);
		size_t i = t->failed ? t->n : t->next++; /* one failure fails the image: stop */
		pthread_mutex_unlock(&t->lock);
		if (i >= t->n)
			return NULL;
		do_job(t, &t->blobs[i]);
		if (t->blobs[i].result == BLOB_FAILED) {
			pthread_mutex_lock(&t->lock);
			t->failed = true;
			pthread_mutex_unlock(&t->lock);
		}
	}
}

int transfer_run(struct transfer *t)
{
	if (t->n == 0)
		return 0;
	if (!t->ring_bytes)
		t->ring_bytes = 4u << 20;
	pthread_mutex_init(&t->lock, NULL);
	t->next = 0;
	t->failed = false;
	t->refused_size = 0;
	t->chunk_bytes = 0;
	int workers = t->jobs < 1 ? 1 : t->jobs;
	if ((size_t)workers > t->n)
		workers = (int)t->n;
	if (t->src != t->dst) {
		unsigned long long total = 0;
		for (size_t i = 0; i < t->n; i++)
			total += (unsigned long long)t->blobs[i].size;
		t->progress = progress_new("copying", total, "bytes");
	}
	pthread_t *tids = xcalloc((size_t)workers, sizeof(*tids));
	int started = 0;
	for (int i = 1; i < workers; i++)
		if (pthread_create(&tids[started], NULL, worker, t) == 0)
			started++;
	draws_progress = true;
	worker(t); /* the calling thread works too */
	draws_progress = false;
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	progress_done(t->progress);
	t->progress = NULL;
	free(tids);
	pthread_mutex_destroy(&t->lock);
	for (size_t i = 0; i < t->n; i++)
		if (t->blobs[i].result == BLOB_FAILED)
			return -1;
	return 0;
}
