/* One registry's client: every request bounded in time, retried on connection errors,
 * 5xx, 408 and 429 (never on other 4xx), re-authenticated once on 401 (through auth.c), and
 * the registry's error documents turned into sentences. Handles come from http.c. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base64.h"
#include "msg.h"
#include "promote.h"

#define DEFAULT_MAX_BODY (16u << 20)

/* Whether host[:port] is a loopback address: "localhost" itself, 127.0.0.0/8 or ::1,
 * checked on the address, never on a prefix of the name ("localhost.corp" and
 * "127.example.com" are names that resolve anywhere). */
bool registry_host_is_loopback(const char *host)
{
	char name[256];
	size_t n;
	if (*host == '[') {
		n = strcspn(host + 1, "]");
		if (host[1 + n] != ']' || n >= sizeof(name))
			return false;
		memcpy(name, host + 1, n);
	} else {
		n = strcspn(host, ":");
		if (n >= sizeof(name))
			return false;
		memcpy(name, host, n);
	}
	name[n] = '\0';
	if (!strcasecmp(name, "localhost"))
		return true;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

struct registry *registry_new(const char *host, const struct run_limits *limits)
{
	struct registry *r = xcalloc(1, sizeof(*r));
	r->host = xstrdup(host);
	r->api_host = xstrdup(strcmp(host, "docker.io") ? host : "registry-1.docker.io");
	r->probe_scheme = registry_host_is_loopback(host);
	r->plain_http = r->probe_scheme;
	r->base_url = xasprintf("%s://%s", r->plain_http ? "http" : "https", r->api_host);
	r->limits = limits;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->token_done, &attr);
	pthread_condattr_destroy(&attr);
	return r;
}

/* A PEM file read whole, bounded and without blocking: libcurl's own reading of a CA,
 * certificate or key file follows /dev/zero for ever and waits on an idle FIFO. Exits 3
 * naming the file (never its content) when it cannot be read or holds no PEM. */
static void read_pem(struct strbuf *pem, const char *path, const char *what, const char *host)
{
	if (sb_read_file(pem, path, PEM_FILE_MAX) < 0)
		die(3, "cannot read the %s %s for %s: %s", what, path, host, read_failure(errno, PEM_FILE_MAX));
	if (!memmem(sb_str(pem), pem->len, "-----BEGIN ", 11))
		die(3, "cannot read the %s %s for %s: no PEM in it", what, path, host);
}

void registry_set_tls(struct registry *r, const char *ca_file, const char *cert, const char *key)
{
	if (ca_file)
		read_pem(&r->ca_pem, ca_file, "CA file", r->host);
	if (cert)
		read_pem(&r->cert_pem, cert, "client certificate", r->host);
	if (cert && key)
		read_pem(&r->key_pem, key, "client key", r->host);
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	free(r->host);
	free(r->api_host);
	free(r->base_url);
	sb_release(&r->ca_pem);
	sb_release(&r->cert_pem);
	sb_wipe(&r->key_pem);
	free(r->username);
	free(r->password);
	free(r->static_token);
	free(r->identity_token);
	free(r->realm);
	free(r->service);
	free(r->scopes);
	free(r->authorization);
	free(r->token_error);
	pthread_cond_destroy(&r->token_done);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void registry_add_scope(struct registry *r, const char *repo, const char *actions)
{
	char *scope = xasprintf("repository:%s:%s", repo, actions);
	char *enc = curl_easy_escape(NULL, scope, 0);
	char *item = xasprintf("scope=%s", enc);
	curl_free(enc);
	free(scope);
	if (r->scopes && strstr(r->scopes, item)) {
		free(item);
		return;
	}
	char *all = r->scopes ? xasprintf("%s&%s", r->scopes, item) : xstrdup(item);
	free(r->scopes);
	free(item);
	r->scopes = all;
}

char *registry_url(const struct registry *r, const char *path)
{
	if (str_starts_with(path, "http://") || str_starts_with(path, "https://"))
		return xstrdup(path);
	return xasprintf("%s%s", r->base_url, path);
}

char *upload_url(const char *location, const char *digest)
{
	return xasprintf("%s%cdigest=%s", location, strchr(location, '?') ? '&' : '?', digest);
}

/* "scheme://host:port" of an absolute URL, with the scheme's default port made explicit. */
static char *url_origin(const char *url)
{
	const char *hostp = strstr(url, "://");
	if (!hostp)
		return NULL;
	hostp += 3;
	size_t n = strcspn(hostp, "/?#");
	const char *at = memchr(hostp, '@', n);
	if (at) { /* userinfo is not part of the origin */
		n -= (size_t)(at + 1 - hostp);
		hostp = at + 1;
	}
	bool tls = !strncasecmp(url, "https://", 8);
	const char *end = hostp + n;
	const char *colon = NULL;
	for (const char *c = end; c > hostp; c--)
		if (c[-1] == ':') {
			colon = c - 1;
			break;
		} else if (c[-1] == ']') {
			break;
		}
	struct strbuf sb = STRBUF_INIT;
	sb_addstr(&sb, tls ? "https://" : "http://");
	for (const char *c = hostp; c < (colon ? colon : end); c++)
		sb_addch(&sb, (char)tolower((unsigned char)*c));
	if (colon)
		sb_add(&sb, colon, (size_t)(end - colon));
	else
		sb_addstr(&sb, tls ? ":443" : ":80");
	return sb_detach(&sb);
}

bool registry_same_origin(const struct registry *r, const char *url)
{
	if (!str_starts_with(url, "http://") && !str_starts_with(url, "https://"))
		return true;
	char *a = url_origin(url), *b = url_origin(r->base_url);
	bool same = a && b && !strcmp(a, b);
	free(a);
	free(b);
	return same;
}

void registry_count_request(struct registry *r)
{
	pthread_mutex_lock(&r->lock);
	r->requests++;
	pthread_mutex_unlock(&r->lock);
}

static void set_header(char **slot, const char *value, size_t n)
{
	while (n && isspace((unsigned char)value[n - 1]))
		n--;
	while (n && isspace((unsigned char)*value)) {
		value++;
		n--;
	}
	free(*slot);
	*slot = xstrndup(value, n);
}

static size_t header_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	struct http_resp *resp = userdata;
	size_t n = size * nitems;
	if (n > 5 && !strncmp(data, "HTTP/", 5)) {
		/* a new response (redirect, 100-continue) */
		resp->content_length = -1;
		return n;
	}
	static const struct { const char *name; size_t off; } wanted[] = {
		{ "content-type:", offsetof(struct http_resp, content_type) },
		{ "docker-content-digest:", offsetof(struct http_resp, digest) },
		{ "location:", offsetof(struct http_resp, location) },
		{ "www-authenticate:", offsetof(struct http_resp, www_auth) },
		{ "retry-after:", offsetof(struct http_resp, retry_after) },
		{ "range:", offsetof(struct http_resp, range) },
		{ "link:", offsetof(struct http_resp, link) },
		{ "oci-subject:", offsetof(struct http_resp, oci_subject) },
		{ "oci-chunk-min-length:", offsetof(struct http_resp, chunk_min_length) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
		size_t len = strlen(wanted[i].name);
		if (n >= len && !strncasecmp(data, wanted[i].name, len)) {
			set_header((char **)((char *)resp + wanted[i].off), data + len, n - len);
			return n;
		}
	}
	if (n > 15 && !strncasecmp(data, "content-length:", 15)) {
		char *v = xstrndup(data + 15, n - 15);   /* curl's data is not NUL-terminated */
		resp->content_length = strtoll(v, NULL, 10);
		free(v);
	}
	return n;
}

struct body_sink {
	struct strbuf *sb;
	size_t max;
};

static size_t body_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	struct body_sink *sink = userdata;
	size_t n = size * nitems;
	if (sink->sb->len + n > sink->max)
		return 0; /* more than any manifest or error may be: abort */
	sb_add(sink->sb, data, n);
	return n;
}

/* A handle to this registry: the run's defaults (http_easy_new) and its Authorization. */
CURL *registry_easy(struct registry *r, struct curl_slist **headers)
{
	CURL *curl = http_easy_new(r->limits, &r->ca_pem);
	if (r->cert_pem.len) {
		struct curl_blob cert = { r->cert_pem.buf, r->cert_pem.len, CURL_BLOB_COPY };
		const struct strbuf *k = r->key_pem.len ? &r->key_pem : &r->cert_pem;
		struct curl_blob key = { k->buf, k->len, CURL_BLOB_COPY };
		curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
	}
	pthread_mutex_lock(&r->lock);
	if (r->authorization)
		*headers = curl_slist_append(*headers, r->authorization);
	pthread_mutex_unlock(&r->lock);
	return curl;
}

CURL *registry_easy_anonymous(struct registry *r)
{
	return http_easy_new(r->limits, &r->ca_pem);
}

CURL *registry_stream_handle(struct registry *r, const char *url, struct curl_slist **headers, char *errbuf,
			     double deadline_ms)
{
	CURL *h = registry_same_origin(r, url) ? registry_easy(r, headers) : registry_easy_anonymous(r);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	long left = (long)(deadline_ms - now_ms());
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
	registry_count_request(r);
	return h;
}

int registry_trace_url_len(const char *path, const char *url)
{
	const char *uploads = strstr(path, "/blobs/uploads/");
	bool session = uploads && uploads[strlen("/blobs/uploads/")] && uploads[strlen("/blobs/uploads/")] != '?';
	bool from_location = session || str_starts_with(path, "http://") || str_starts_with(path, "https://");
	return (int)(from_location ? strcspn(url, "?") : strlen(url));
}

/* What came of one attempt besides the answer. */
struct attempt {
	CURLcode cc;
	bool handshake;                 /* a TLS handshake was completed */
	char errbuf[CURL_ERROR_SIZE];
};

/* One attempt of req at url; own_origin: the registry itself, which gets our Authorization
 * (an upload session on another origin, object storage, never does). */
static void perform_once(struct registry *r, const struct http_req *req, const char *url, bool own_origin,
			 struct http_resp *resp, struct attempt *a)
{
	struct curl_slist *headers = NULL;
	char *errbuf = a->errbuf;
	CURL *curl = own_origin ? registry_easy(r, &headers) : registry_easy_anonymous(r);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	if (req->timeout_ms > 0) {
		/* a blob chunk: bounded by its size, and no stall check, which would also run
		 * while the registry stores the chunk before it answers */
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 0L);
	} else {
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, http_request_timeout_ms(r->limits));
	}
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	struct body_sink sink = { &resp->body, req->max_body ? req->max_body : DEFAULT_MAX_BODY };
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	if (req->accept) {
		char *h = xasprintf("Accept: %s", req->accept);
		headers = curl_slist_append(headers, h);
		free(h);
	}
	if (req->content_type) {
		char *h = xasprintf("Content-Type: %s", req->content_type);
		headers = curl_slist_append(headers, h);
		free(h);
	}
	if (req->header)
		headers = curl_slist_append(headers, req->header);
	if (!strcmp(req->method, "HEAD") || !strcmp(req->method, "GET")) {
		/* blobs may redirect to storage (a HEAD too); libcurl drops our Authorization
		 * on other hosts */
		if (!strcmp(req->method, "HEAD"))
			curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
	} else {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		headers = curl_slist_append(headers, "Expect:");
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (opskit_verbose) {
		log_lock();
		verbosef(1, "> %s %.*s", req->method, registry_trace_url_len(req->path, url), url);
		log_unlock();
	}
	resp->content_length = -1;
	registry_count_request(r);
	CURLcode cc = curl_easy_perform(curl);
	/* a body cut at max_body still came with its status (a 200 to a ranged GET) */
	if (cc == CURLE_OK || cc == CURLE_WRITE_ERROR)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_off_t handshake_us = 0;
	a->handshake = curl_easy_getinfo(curl, CURLINFO_APPCONNECT_TIME_T, &handshake_us) == CURLE_OK &&
		       handshake_us > 0;
	if (opskit_verbose) {
		log_lock();
		if (cc == CURLE_OK)
			verbosef(1, "< %ld %s (%zu bytes)", resp->status, req->method, resp->body.len);
		else
			verbosef(1, "< %s: %s", req->method, *errbuf ? errbuf : curl_easy_strerror(cc));
		log_unlock();
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	a->cc = cc;
}

/* A 401: learn the scheme from the challenge and get credentials for it. Returns true
 * when the request is worth repeating. A token is fetched after the lock is let go: the
 * other threads' requests go on meanwhile. */
static bool handle_unauthorized(struct registry *r, const struct http_resp *resp,
				const char *sent_authorization, char **err)
{
	bool retry = false, fetch = false;
	pthread_mutex_lock(&r->lock);
	if (r->authorization && (!sent_authorization || strcmp(r->authorization, sent_authorization))) {
		/* another thread already renewed it */
		pthread_mutex_unlock(&r->lock);
		return true;
	}
	struct auth_challenge ch;
	if (!resp->www_auth || auth_parse_challenge(resp->www_auth, &ch) != 0) {
		pthread_mutex_unlock(&r->lock);
		return false;
	}
	if (ch.scheme == AUTH_BEARER) {
		free(r->realm);
		free(r->service);
		r->realm = ch.realm ? xstrdup(ch.realm) : NULL;
		r->service = ch.service ? xstrdup(ch.service) : NULL;
		r->scheme = AUTH_BEARER;
		if (r->static_token && !sent_authorization) {
			free(r->authorization);
			r->authorization = xasprintf("Authorization: Bearer %s", r->static_token);
			retry = true;
		} else {
			fetch = r->realm != NULL;
		}
	} else if (ch.scheme == AUTH_BASIC && r->username && !sent_authorization) {
		char *plain = xasprintf("%s:%s", r->username, r->password ? r->password : "");
		char *b64 = base64_encode(plain, strlen(plain));
		log_secret(b64);
		free(r->authorization);
		r->authorization = xasprintf("Authorization: Basic %s", b64);
		r->scheme = AUTH_BASIC;
		free(b64);
		free(plain);
		retry = true;
	}
	auth_challenge_release(&ch);
	pthread_mutex_unlock(&r->lock);
	if (fetch)
		retry = auth_fetch_token(r, err) == 0;
	return retry;
}

unsigned long registry_token_fetches(struct registry *r)
{
	pthread_mutex_lock(&r->lock);
	unsigned long fetches = r->token_fetches;
	pthread_mutex_unlock(&r->lock);
	return fetches;
}

void registry_renew_token(struct registry *r, unsigned long fetches, char **err)
{
	pthread_mutex_lock(&r->lock);
	bool wanted = r->scheme == AUTH_BEARER && r->realm;
	char *why = NULL;
	if (wanted && r->token_fetches != fetches) {
		/* a fetch finished since the attempt began: its outcome is the renewal, so that
		 * parallel streams that failed on the old token do not each ask again */
		wanted = false;
		if (r->token_rc)
			why = xstrdup(r->token_error ? r->token_error : "no token");
	}
	pthread_mutex_unlock(&r->lock);
	if (wanted && auth_fetch_token(r, &why) == 0)
		return;
	if (why) {
		free(*err);
		*err = why;
	}
}

/* A loopback registry is tried in plain HTTP first (no TLS handshake to wait for, and
 * nothing leaves the machine), and is TLS from then on, with full certificate
 * verification, when it answers like a TLS server: Go's "Client sent an HTTP request to
 * an HTTPS server", or a dropped connection that HTTPS then gets through. A drop alone
 * decides nothing: a plain-HTTP registry drops connections too (a fault, a restart). */
static bool answers_https_server(CURLcode cc, const struct http_resp *resp)
{
	return cc == CURLE_OK && resp->status == 400 && resp->body.len && strstr(resp->body.buf, "HTTPS server");
}

static bool dropped(CURLcode cc)
{
	return cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR;
}

enum scheme_verdict { SCHEME_UNDECIDED, SCHEME_PLAIN, SCHEME_TLS };

/* What an HTTPS attempt says of the server: a completed handshake, a certificate (that
 * did not verify) or a TLS alert is TLS; OpenSSL reading a plaintext answer ("HTTP/1.1
 * 400 ...") as a TLS record is plain HTTP; another drop, a refusal or a timeout says
 * nothing. */
static enum scheme_verdict https_verdict(const struct attempt *a)
{
	if (a->cc == CURLE_OK || a->handshake || a->cc == CURLE_PEER_FAILED_VERIFICATION)
		return SCHEME_TLS;
	if (a->cc != CURLE_SSL_CONNECT_ERROR)
		return SCHEME_UNDECIDED;
	if (strstr(a->errbuf, "wrong version number") || strstr(a->errbuf, "packet length too long"))
		return SCHEME_PLAIN;
	return strstr(a->errbuf, "alert") ? SCHEME_TLS : SCHEME_UNDECIDED;
}

/* The scheme is settled: HTTPS from now on (with the plain attempt uncounted: it never
 * reached the registry's API), or plain HTTP. Returns whether this call settled it. */
static bool settle_scheme(struct registry *r, bool https)
{
	pthread_mutex_lock(&r->lock);
	bool settled = r->probe_scheme;
	if (settled && https && r->plain_http) {
		r->plain_http = false;
		free(r->base_url);
		r->base_url = xasprintf("https://%s", r->api_host);
		r->requests--;
	}
	r->probe_scheme = false;
	pthread_mutex_unlock(&r->lock);
	if (settled && https) {
		log_lock();
		verbosef(1, "%s speaks TLS; using HTTPS", r->host);
		log_unlock();
	}
	return settled;
}

static void uncount_request(struct registry *r)
{
	pthread_mutex_lock(&r->lock);
	r->requests--;
	pthread_mutex_unlock(&r->lock);
}

/* A loopback registry dropped a plain-HTTP attempt: the same request once over HTTPS.
 * When the registry speaks TLS, HTTPS is used for good and *resp and *a become the HTTPS
 * attempt's (its answer is the request's). Otherwise they stay the plain attempt's, a
 * drop that the retry policy retries; the HTTPS attempt, which never reached the API, is
 * not counted. more: whether the retry policy has attempts left. */
static void probe_https_after_drop(struct registry *r, const struct http_req *req, struct http_resp *resp,
				   struct attempt *a, bool more)
{
	if (str_starts_with(req->path, "http://") || str_starts_with(req->path, "https://"))
		return; /* an upload session's Location: the registry told us its scheme */
	char *url = xasprintf("https://%s%s", r->api_host, req->path);
	struct http_resp tls_resp = { 0 };
	struct attempt tls = { 0 };
	perform_once(r, req, url, true, &tls_resp, &tls);
	free(url);
	enum scheme_verdict v = https_verdict(&tls);
	if (v == SCHEME_TLS) {
		settle_scheme(r, true);
		http_resp_release(resp);
		*resp = tls_resp;
		*a = tls;
		return;
	}
	http_resp_release(&tls_resp);
	uncount_request(r);
	if (v == SCHEME_PLAIN)
		settle_scheme(r, false);
	log_lock();
	verbosef(1, "%s dropped the connection; %s%s", r->host,
		 v == SCHEME_PLAIN ? "it speaks plain HTTP" : "HTTPS did not answer either", more ? ", retrying" : "");
	log_unlock();
}

/* Learns a loopback registry's scheme from an attempt while it is not known. Returns true
 * when the request is to be sent again at once, over HTTPS. */
static bool probe_scheme(struct registry *r, const struct http_req *req, struct http_resp *resp,
			 struct attempt *a, bool more)
{
	if (!r->probe_scheme)
		return false;
	if (answers_https_server(a->cc, resp))
		return settle_scheme(r, true);
	if (dropped(a->cc))
		probe_https_after_drop(r, req, resp, a, more);
	else if (a->cc == CURLE_OK)
		settle_scheme(r, false);
	return false;
}

/* Why an attempt failed, for the caller's sentence. */
static char *attempt_failure(const struct registry *r, const struct attempt *a, int attempt)
{
	const char *why = *a->errbuf ? a->errbuf : curl_easy_strerror(a->cc);
	char *text = dropped(a->cc) ? xasprintf("%s dropped the connection (%s)", r->host, why) : xstrdup(why);
	if (!attempt)
		return text;
	char *counted = xasprintf("%s (after %d attempts)", text, attempt + 1);
	free(text);
	return counted;
}

int registry_request(struct registry *r, const struct http_req *req, struct http_resp *resp)
{
	bool reauthed = false;
	for (int attempt = 0;; attempt++) {
		http_resp_release(resp);
		struct attempt a = { 0 };
		bool more = attempt < r->limits->retries;
		pthread_mutex_lock(&r->lock);
		char *sent = r->authorization ? xstrdup(r->authorization) : NULL;
		pthread_mutex_unlock(&r->lock);
		char *url = registry_url(r, req->path);
		perform_once(r, req, url, registry_same_origin(r, url), resp, &a);
		free(url);
		if (probe_scheme(r, req, resp, &a, more)) {
			free(sent);
			attempt--; /* a scheme probe, not an attempt */
			continue;
		}
		if (a.cc == CURLE_OK && resp->status == 401 && !reauthed) {
			char *err = NULL;
			bool again = handle_unauthorized(r, resp, sent, &err);
			free(sent);
			if (err) {
				resp->error = err;
				return -1;
			}
			if (again) {
				reauthed = true;
				attempt--;
				continue;
			}
			return 0;
		}
		free(sent);
		if (a.cc != CURLE_OK) {
			/* the caller's sentence names the request; this says what went wrong */
			resp->error = attempt_failure(r, &a, attempt);
			if (!http_curl_retryable(a.cc) || !more || !http_retry_sleep(r->limits, attempt, NULL))
				return -1;
			log_lock();
			verbosef(1, "retrying %s %.*s after: %s", req->method, registry_trace_url_len(req->path, req->path),
				 req->path, resp->error);
			log_unlock();
			continue;
		}
		if (http_status_retryable(resp->status) && more) {
			char *after = resp->retry_after ? xstrdup(resp->retry_after) : NULL;
			bool slept = http_retry_sleep(r->limits, attempt, after);
			free(after);
			if (!slept)
				return 0;
			log_lock();
			verbosef(1, "retrying %s %.*s after HTTP %ld", req->method, registry_trace_url_len(req->path, req->path),
				 req->path, resp->status);
			log_unlock();
			continue;
		}
		return 0;
	}
}

static const char *code_sentence(const char *code)
{
	static const struct { const char *code, *text; } known[] = {
		{ "MANIFEST_UNKNOWN", "the manifest does not exist" },
		{ "BLOB_UNKNOWN", "the blob does not exist" },
		{ "NAME_UNKNOWN", "the repository does not exist" },
		{ "DENIED", "access was denied (the credentials lack the permission)" },
		{ "UNAUTHORIZED", "authentication is required or was refused (check the credentials)" },
		{ "TOOMANYREQUESTS", "the registry is rate limiting this client" },
		{ "MANIFEST_INVALID", "the registry rejected the manifest as invalid" },
		{ "MANIFEST_BLOB_UNKNOWN", "the manifest references a blob the registry does not have" },
		{ "DIGEST_INVALID", "the uploaded content does not match its digest" },
		{ "SIZE_INVALID", "the uploaded content does not match its size" },
		{ "BLOB_UPLOAD_UNKNOWN", "the upload session expired or does not exist" },
		{ "UNSUPPORTED", "the registry does not support this operation" },
		{ "TAG_INVALID", "the registry rejected the tag" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (!strcmp(code, known[i].code))
			return known[i].text;
	return NULL;
}

char *registry_error_sentence(const struct registry *r, const struct http_resp *resp, const char *what)
{
	if (resp->status == 0 || resp->error)
		return xasprintf("%s failed: %s", what, resp->error ? resp->error : "no response");
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "%s failed with HTTP %ld", what, resp->status);
	json_t *doc = resp->body.len ? json_loadb(resp->body.buf, resp->body.len, 0, NULL) : NULL;
	json_t *errors = json_object_get(doc, "errors");
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e) {
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		const char *nice = code ? code_sentence(code) : NULL;
		/* the registry's own words first (ECR's "cannot be overwritten because the
		 * repository is immutable" says more than any sentence for TAG_INVALID) */
		if (msg && *msg && nice)
			sb_addf(&sb, "%s %s: %s", i ? ";" : ":", nice, msg);
		else
			sb_addf(&sb, "%s %s", i ? ";" : ":", msg && *msg ? msg : nice ? nice : "error");
		if (code)
			sb_addf(&sb, " (%s)", code);
		if (i == 3)
			break;
	}
	if (!json_array_size(errors)) {
		if (resp->status == 401)
			sb_addf(&sb, ": authentication is required or was refused by %s (check the credentials)", r->host);
		else if (resp->status == 403)
			sb_addstr(&sb, ": access was denied");
		else if (resp->status == 404)
			sb_addstr(&sb, ": not found");
		else if (resp->status == 429)
			sb_addstr(&sb, ": the registry is rate limiting this client");
	}
	json_decref(doc);
	return sb_detach(&sb);
}
