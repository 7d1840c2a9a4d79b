/*
 * ops-promote's modules and the one run context they share.
 *
 * Each module leans only on the ones listed below it (and on lib/):
 *   main.c       options, config, registries and their credentials
 *   output.c     the run's report: checks, plan, JSON data
 *   policy.c     promotion policy from the config
 *   promote.c    the plan and its execution: resolve, retag, mount, copy, referrers, verify
 *   provenance.c git provenance with libgit2
 *   transfer.c   blob mount, and streamed copy GET -> PUT through a bounded ring, in
 *                parallel workers
 *   chunked.c    a blob in chunks (PATCH) when the target refuses it whole (413)
 *   manifest.c   manifests with jansson: media types, children, blobs, revision
 *   registry.c   one registry's client: requests with auth retry, retries, error JSON
 *                turned into sentences
 *   auth.c       WWW-Authenticate, Bearer tokens, credentials (flags, env, docker config,
 *                credential helpers)
 *   http.c       libcurl for the run: shared caches, handles (timeouts, TLS, User-Agent),
 *                retry and backoff
 *   ref.c        image references: [host[:port]/]repo[:tag][@sha256:hex]
 *   log.c        thread-safe message lock and secret registration
 *
 * Threads: the main thread authenticates against both registries before any worker starts;
 * workers share a registry through its mutex (token cache, counters), which no request or
 * sleep holds: a token fetch runs outside it, one at a time per registry (auth_fetch_token).
 */
#ifndef OPS_PROMOTE_H
#define OPS_PROMOTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct config;
struct json_t;
struct progress;

/* ---- ref.c ---- */
struct image_ref {
	char *registry;  /* as written, "127.0.0.1:5000"; "docker.io" by default */
	char *repo;      /* "library/alpine", "team/app" */
	char *tag;       /* NULL when only a digest was given */
	char *digest;    /* "sha256:<64 hex>" or NULL */
};
/* Returns 0, or -1 with a sentence in *err (caller frees). */
int ref_parse(const char *text, struct image_ref *out, char **err);
void ref_release(struct image_ref *ref);
/* "host/repo:tag" or "host/repo@digest" (tag wins when both); caller frees. */
char *ref_string(const struct image_ref *ref);
bool ref_digest_valid(const char *digest);

/* ---- http.c and registry.c: the run's limits, a registry, one request ---- */
struct run_limits {
	long connect_timeout_ms;
	long request_timeout_ms;  /* one request that is not a blob stream */
	double deadline_ms;       /* now_ms() bound for the whole run */
	int retries;              /* extra attempts on connection errors, 5xx, 408, 429 */
	long backoff_ms;          /* first backoff; doubles, plus jitter */
	long low_speed_bytes;     /* a stream slower than this ... */
	long low_speed_secs;      /* ... for this long is stalled */
};

enum auth_scheme { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct registry {
	char *host;               /* "127.0.0.1:5000" as in references */
	char *api_host;           /* host used on the wire (docker.io -> registry-1.docker.io) */
	char *base_url;           /* "https://host" or "http://host" */
	bool plain_http;
	bool probe_scheme;        /* loopback: plain HTTP first, HTTPS when it answers as TLS */
	/* TLS: the CA bundle, and the client certificate and key of mTLS, read once by
	 * registry_set_tls() and given to libcurl as blobs; empty when not set */
	struct strbuf ca_pem, cert_pem, key_pem;
	char *username, *password;   /* NULL when anonymous */
	char *static_token;          /* a configured registry token, used as Bearer */
	char *identity_token;        /* an OAuth2 refresh token, exchanged at the realm */
	enum auth_scheme scheme;     /* learnt from the first 401 */
	char *realm, *service;
	char *scopes;                /* "scope=...&scope=..." for the token request */
	char *authorization;         /* "Authorization: ..." header, or NULL */
	const struct run_limits *limits;
	pthread_mutex_t lock;
	long requests;               /* HTTP requests to this registry, auth included */
	long token_requests;
	/* Bearer token fetches (auth_fetch_token), under lock: one in flight at a time, run
	 * without the lock; other threads that need a token wait on token_done for its
	 * outcome instead of asking the token service again. */
	pthread_cond_t token_done;   /* on CLOCK_MONOTONIC */
	bool token_fetching;
	unsigned long token_fetches; /* fetches finished, either way */
	int token_rc;                /* the last one's outcome: 0, or -1 and token_error */
	char *token_error;
};

struct http_resp {
	long status;                 /* 0 when no HTTP response (one whose body went past
				      * max_body keeps its status, with error set) */
	struct strbuf body;
	char *content_type, *digest, *location, *www_auth, *retry_after, *range, *link;
	char *oci_subject;           /* OCI-Subject: the registry indexed the manifest's subject */
	char *chunk_min_length;      /* OCI-Chunk-Min-Length of an upload session's POST answer */
	long long content_length;    /* -1 unknown */
	char *error;                 /* transport failure sentence (status 0) */
};

struct http_req {
	const char *method;          /* GET HEAD PUT POST PATCH DELETE */
	const char *path;            /* "/v2/..." or an absolute URL (upload Location) */
	const char *accept;          /* Accept header value or NULL */
	const char *content_type;
	const void *body;
	size_t body_len;
	size_t max_body;             /* bound on the response body kept (0 = 16 MiB) */
	const char *header;          /* one more request header ("Content-Range: 0-99"), or NULL */
	long timeout_ms;             /* 0: the run's per-request limit and stall check; else this
				      * bound alone (a blob chunk, sized by blob_budget_ms) */
};

/* libcurl's global state and the run's shared connection cache; SIGINT and SIGTERM
 * handlers (http_interrupted). */
void http_global_init(void);
/* A SIGINT or SIGTERM came: streams stop, their sessions are cancelled, retries end,
 * and every request after gets no time (http_request_timeout_ms is 1 ms). */
bool http_interrupted(void);
void http_global_cleanup(void);
/* A new easy handle with the run's connect timeout, stall limit, TLS verification (and
 * the CA bundle ca_pem when not empty), User-Agent and shared caches; never NULL. */
typedef void CURL;
CURL *http_easy_new(const struct run_limits *l, const struct strbuf *ca_pem);
/* The timeout for one request: the per-request limit, or what is left of the run. */
long http_request_timeout_ms(const struct run_limits *l);
/* What one attempt at moving bytes of a blob may take: --timeout, plus one second per
 * BLOB_MIN_RATE bytes, plus the window the registry gets to answer after the last byte
 * (it may hash or store the blob first): 60 s, or --timeout when longer. */
#define BLOB_MIN_RATE (100L * 1024)
double blob_budget_ms(const struct run_limits *l, long long bytes);
/* The registry's answer window after the last byte of an upload. */
double http_answer_window_ms(const struct run_limits *l);
/* Sleeps before retry number attempt (0-based), honouring Retry-After; false when the
 * deadline would pass. */
bool http_retry_sleep(const struct run_limits *l, int attempt, const char *retry_after);
bool http_status_retryable(long status);
/* An HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT") in ms since the epoch; 0 if not one. */
double http_date_ms(const char *text);
bool http_curl_retryable(int curl_code); /* a CURLcode worth another attempt */
void http_resp_release(struct http_resp *resp);

/* ---- registry.c ---- */
/* host[:port] is a loopback address (localhost, 127.0.0.0/8, [::1]), not a name prefix. */
bool registry_host_is_loopback(const char *host);
/* Whether the absolute url is on r's scheme, host and port (relative paths are). */
bool registry_same_origin(const struct registry *r, const char *url);
struct registry *registry_new(const char *host, const struct run_limits *limits);
/* Reads the TLS files of r (each may be NULL; key NULL: the key is in cert), at most
 * PEM_FILE_MAX each; exits 3 naming the file when one cannot be read. */
void registry_set_tls(struct registry *r, const char *ca_file, const char *cert, const char *key);
void registry_free(struct registry *r);
/* Adds a token scope ("repository:team/app:pull,push") asked for when a Bearer challenge
 * comes; the broadest set for the run is asked for once. */
void registry_add_scope(struct registry *r, const char *repo, const char *actions);
/* One request with the registry's auth, retries and timeouts. Returns 0 when an HTTP
 * response arrived (any status; 401 after a fresh token is returned as is), -1 on a
 * transport failure after retries (resp->error says why). */
int registry_request(struct registry *r, const struct http_req *req, struct http_resp *resp);
/* One sentence for a failed response: the registry's error codes and messages, or the
 * status. what = "GET 127.0.0.1:5000/app manifest v1". Caller frees. */
char *registry_error_sentence(const struct registry *r, const struct http_resp *resp, const char *what);
/* A handle for a stream: http_easy_new() plus r's Authorization in *headers. */
struct curl_slist;
CURL *registry_easy(struct registry *r, struct curl_slist **headers);
/* A handle for r without its Authorization (an upload session on another origin, where
 * the client certificate is not sent either). */
CURL *registry_easy_anonymous(struct registry *r);
/* A handle for a blob stream to url, bounded by deadline_ms (now_ms() time), counted as a
 * request; the caller sets its callbacks and *headers. An upload Location on another
 * origin (storage the registry hands uploads to) is pre-authorized by its URL: it never
 * gets the registry's Authorization. */
CURL *registry_stream_handle(struct registry *r, const char *url, struct curl_slist **headers, char *errbuf,
			     double deadline_ms);
char *registry_url(const struct registry *r, const char *path);
/* The closing PUT's URL of the upload session at location: ?digest= or &digest=. */
char *upload_url(const char *location, const char *digest);
void registry_count_request(struct registry *r);
/* How much of url a -v trace shows: an upload session URL the registry handed out
 * loses its query, which may carry signed state or a presigned signature. */
int registry_trace_url_len(const char *path, const char *url);
/* The number of token fetches r finished so far: taken before an attempt, it lets
 * registry_renew_token tell whether one finished since. */
unsigned long registry_token_fetches(struct registry *r);
/* A fresh Bearer token (one expired during a long stream), unless a fetch finished since
 * the failed attempt began (fetches, from registry_token_fetches then): its outcome
 * stands. On failure *err says why. */
void registry_renew_token(struct registry *r, unsigned long fetches, char **err);

/* ---- log.c ---- */
/* Thread-safe wrappers for messages and secrets (redact's list is not locked). */
void log_lock(void);
void log_unlock(void);
void log_secret(const char *value);

/* ---- auth.c ---- */
struct auth_challenge {
	enum auth_scheme scheme;
	char *realm, *service, *scope;
};
int auth_parse_challenge(const char *header, struct auth_challenge *out);
void auth_challenge_release(struct auth_challenge *c);
/* Fetches a Bearer token for r's scopes into r->authorization (r->lock NOT held by the
 * caller: the fetch and its retry sleeps run without it). One fetch is in flight per
 * registry: a thread that comes while one is shares its outcome. 0 or -1 + *err. */
int auth_fetch_token(struct registry *r, char **err);
/* Credentials for host from $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
 * then $DOCKER_CONFIG/config.json or ~/.docker/config.json (auths, identitytoken,
 * credHelpers, credsStore; helpers are asked for Docker Hub with the key docker login
 * uses, https://index.docker.io/v1/). Returns 1 and sets *user and *pass (caller frees),
 * 2 with an identity token (OAuth2 refresh token) in *pass, 0 when none, -1 + *err. */
int auth_docker_config(const char *host, char **user, char **pass, char **err);

/* ---- manifest.c ---- */
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_V2 "application/vnd.docker.distribution.manifest.v2+json"
#define MANIFEST_ACCEPT MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_V2

struct descriptor {
	char *media_type;
	char *digest;
	long long size;
};

struct manifest {
	char *digest;              /* sha256 of the bytes */
	char *media_type;          /* the Content-Type the registry served */
	struct strbuf bytes;       /* exactly as fetched */
	bool is_index;
	struct descriptor *children;  /* index: child manifests */
	size_t nchildren;
	struct descriptor *blobs;     /* image: config first, then layers */
	size_t nblobs;
	char *revision;            /* org.opencontainers.image.revision annotation */
	char *subject;             /* OCI subject digest, when present */
	struct json_t *annotations;   /* the manifest's annotations object, or NULL */
};

bool manifest_type_is_index(const char *mt);
bool manifest_type_is_image(const char *mt);
/* "sha256:<hex>" of data; caller frees. */
char *manifest_sha256(const void *data, size_t len);
/* The sentence saying that the source's bytes, hashed into md (a sha256 context,
 * finalised here), are not the blob digest ("sha256:<hex>"); NULL when they are. */
struct evp_md_ctx_st;
char *manifest_digest_mismatch(struct evp_md_ctx_st *md, const char *digest);
/* Parses bytes served with content_type (may be empty: then mediaType decides). Takes
 * the bytes. 0, or -1 + *err (schema 1 and unknown types are refused). */
int manifest_parse(struct strbuf *bytes, const char *content_type, struct manifest *m, char **err);
void manifest_release(struct manifest *m);
/* An annotation of the manifest (string, or NULL). */
const char *manifest_annotation(const struct manifest *m, const char *key);

/* ---- transfer.c ---- */
enum blob_result { BLOB_PENDING, BLOB_MOUNTED, BLOB_COPIED, BLOB_SKIPPED, BLOB_FAILED };

struct blob_job {
	const char *digest;        /* points into a manifest */
	long long size;
	enum blob_result result;
	long long bytes;           /* bytes streamed */
	bool chunked;              /* uploaded in chunks (PATCH), after a body limit */
	double deadline_ms;        /* this attempt's own bound (blob_budget_ms), within the run's */
	char *error;
};

struct transfer {
	struct registry *src, *dst;  /* the same pointer within one registry */
	const char *src_repo, *dst_repo;
	int jobs;                  /* parallel workers */
	size_t ring_bytes;         /* per stream buffer between GET and PUT */
	struct blob_job *blobs;
	size_t n;
	size_t next;               /* next job for a worker, under lock */
	bool failed;               /* a job failed: take no more, under lock */
	pthread_mutex_t lock;
	unsigned long long streamed;  /* bytes received so far, all streams (atomic) */
	long long refused_size;    /* smallest blob a body limit refused whole (0 none), under
				    * lock: blobs as large go in chunks at once */
	long long chunk_bytes;     /* the chunk size a body limit let through (0 none yet),
				    * under lock: the next chunked blob starts there */
	struct progress *progress;    /* drawn by the calling thread only */
};

/* Same registry: mount each blob from src_repo, copying on 202. Another registry: HEAD,
 * then stream what is missing. Returns 0 when every blob is in dst_repo. */
int transfer_run(struct transfer *t);


/* ---- chunked.c ---- */
/* Uploads job's blob into t->dst's open session *location in chunks, each read from the
 * source with a ranged GET; min_length is the session's OCI-Chunk-Min-Length (0 none).
 * *location follows the registry's answers (the caller cancels it on failure). 0, or -1
 * + job->error, *retryable saying whether another attempt may do better. */
int chunked_upload(struct transfer *t, struct blob_job *job, char **location, long long min_length,
		   bool *retryable);

/* ---- promote.c ---- */
struct promotion {
	/* what to do */
	struct image_ref src, dst;
	struct registry *sreg, *dreg;  /* the same pointer within one registry */
	const char *pin;               /* --digest, or the source's @digest */
	const char *platform;          /* --platform: os/arch[/variant] of an index's child */
	char *source_digest;           /* what SOURCE resolved to (the index with --platform) */
	bool dry_run, no_referrers;
	int jobs;
	/* what was found and done */
	struct manifest top;
	bool top_lazy;                 /* a pinned no-op: top has the digest and type of a HEAD */
	struct manifest *children;     /* an index's child manifests, fetched */
	size_t nchildren;
	char *previous;                /* the target tag's digest before, or NULL */
	const char *action;            /* retagged mounted copied noop dry-run */
	long long bytes_copied, bytes_planned;
	long requests_planned;         /* dry-run: requests the promotion would make, at most */
	int mounted, copied, skipped;
	int chunked;                   /* of the copied: uploaded in chunks */
	int foreign_layers;            /* non-distributable layers, left where their urls say */
	int referrers;                 /* signature/attestation/referrer manifests copied */
	int fallback_updates;          /* sha256-<hex> referrers indexes written on the target */
	long requests_base, token_requests_base;
	long requests_made, token_requests_made;
	bool counted;
	struct json_t *src_tags;       /* the source repository's tags, listed once */
	bool tags_listed;
	bool verified;
	/* How verified was established: "head" (a HEAD of the target tag: after a mount or
	 * copy, or before a no-op), "put" (the Docker-Content-Digest of the PUT that wrote
	 * the tag, to keep a retag at 3 requests), NULL when nothing was verified. */
	const char *verified_by;
	struct strbuf plan;            /* dry-run: one line per step */
	char *error;                   /* why it failed or was refused */
};

/* Resolves SOURCE (one GET) and the target tag (one HEAD). 0, or -1 + p->error. A moved
 * pinned tag is refused here. With a pin the target is HEADed first, and when it already
 * points at the pin the source is only HEADed too (no manifest GET for a no-op). */
int promote_resolve(struct promotion *p);
/* status: GET of SOURCE's manifest into p->top. 0, or -1 + p->error. */
int promote_inspect(struct promotion *p);
/* The image's org.opencontainers.image.created (annotation, else the config's created),
 * or NULL. Caller frees. */
char *promote_created(struct promotion *p);
/* Signatures, attestations and referrers of p->top in the source: cosign tags, the
 * referrers API or its fallback index. */
int promote_count_referrers(struct promotion *p);
/* Fetches the child manifests of an index (needed to copy, and for labels). */
int promote_fetch_children(struct promotion *p);
/* Does the promotion (or plans it with dry_run). 0, or -1 + p->error. */
int promote_execute(struct promotion *p);
/* The revision label of the image: the manifest annotation, else (for an image manifest
 * or an index's first child) the config's label; NULL when none. Caller frees. */
char *promote_revision(struct promotion *p);
/* Whether the image carries annotation/label key. */
bool promote_has_label(struct promotion *p, const char *key);
void promote_release(struct promotion *p);
/* Requests made for this promotion: registries shared by several targets of one run
 * count from promote_count_from_here(), called when its turn comes. */
void promote_count_from_here(struct promotion *p);
void promote_count_until_here(struct promotion *p);  /* its turn is over: freeze the counts */
long promote_requests(const struct promotion *p);
long promote_token_requests(const struct promotion *p);

/* ---- policy.c ---- */
struct policy {
	char *environment;             /* NULL when no environment applies */
	const char *const *allowed_sources;
	size_t nallowed;
	const char **protected_tags;   /* environment's and global, merged */
	size_t nprotected;
	const char **required;         /* annotations/labels, merged */
	size_t nrequired;
	const char *require_ancestor;  /* environment's default for --require-ancestor */
	const char *record_tag;        /* tag name pattern */
};

/* The environment for target tag (forced by name when env is not NULL), and its rules.
 * 0, or -1 + *err (an unknown --environment). */
int policy_load(const struct config *cfg, const char *env, const char *target_tag,
		struct policy *out, char **err);
void policy_release(struct policy *pol);
/* Refusals: returns 0 when the promotion may go on, else -1 + *err (one sentence). */
int policy_check_source(const struct policy *pol, const char *source_tag, char **err);
int policy_check_protected(const struct policy *pol, const char *target_tag, const char *previous,
			   const char *digest, bool force, char **err);
int policy_check_required(const struct policy *pol, struct promotion *p, char **err);

/* ---- provenance.c ---- */
struct provenance_opts {
	const char *repo_path;
	const char *require_ancestor;  /* branch or ref name */
	const char *record_tag;        /* tag name pattern, NULL = do not record */
};
/* Checks that revision is reachable from opts->require_ancestor. 0 ok, -1 + *err. */
int provenance_check(const struct provenance_opts *o, const char *revision, char **err);
/* Whether revision names a commit in the repository: 0, or -1 + *err. */
int provenance_has_commit(const char *repo_path, const char *revision, char **err);
/* Writes an annotated tag; the pattern's "<n>" becomes the next free number, "<env>" the
 * environment. 0 + *name, or -1 + *err. */
int provenance_record(const struct provenance_opts *o, const char *revision, const char *env,
		      const char *message, char **name, char **err);

#endif
