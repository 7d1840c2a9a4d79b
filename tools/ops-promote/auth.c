/* Registry authentication: the WWW-Authenticate challenge, Bearer tokens, and where
 * credentials come from (the docker CLI's config and credential helpers). */
#define _GNU_SOURCE
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "msg.h"
#include "promote.h"

extern char **environ;

/* RFC 7235 challenge: scheme, then name=value or name="quoted, value" pairs. */
int auth_parse_challenge(const char *header, struct auth_challenge *out)
{
	memset(out, 0, sizeof(*out));
	const char *p = header;
	while (isspace((unsigned char)*p))
		p++;
	size_t n = strcspn(p, " \t");
	if (n == 6 && !strncasecmp(p, "Bearer", 6))
		out->scheme = AUTH_BEARER;
	else if (n == 5 && !strncasecmp(p, "Basic", 5))
		out->scheme = AUTH_BASIC;
	else
		return -1;
	p += n;
	while (*p) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		const char *key = p;
		while (*p && *p != '=' && *p != ',')
			p++;
		if (*p != '=')
			break;
		size_t klen = (size_t)(p - key);
		p++;
		struct strbuf val = STRBUF_INIT;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				sb_addch(&val, *p);
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && !isspace((unsigned char)*p))
				sb_addch(&val, *p++);
		}
		char **slot = NULL;
		if (klen == 5 && !strncasecmp(key, "realm", 5))
			slot = &out->realm;
		else if (klen == 7 && !strncasecmp(key, "service", 7))
			slot = &out->service;
		else if (klen == 5 && !strncasecmp(key, "scope", 5))
			slot = &out->scope;
		if (slot) {
			free(*slot);
			*slot = sb_detach(&val);
		}
		sb_release(&val);
	}
	return 0;
}

void auth_challenge_release(struct auth_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

static size_t token_body_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	struct strbuf *sb = userdata;
	size_t n = size * nitems;
	if (sb->len + n > (1u << 20))
		return 0;
	sb_add(sb, data, n);
	return n;
}

/* A 429's or 503's Retry-After from the token service, kept for the backoff. */
static size_t token_header_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	char **retry_after = userdata;
	size_t n = size * nitems;
	if (n > 12 && !strncasecmp(data, "retry-after:", 12)) {
		size_t len = n - 12;
		const char *v = data + 12;
		while (len && isspace((unsigned char)*v)) {
			v++;
			len--;
		}
		while (len && isspace((unsigned char)v[len - 1]))
			len--;
		free(*retry_after);
		*retry_after = xstrndup(v, len);
	}
	return n;
}

/* What one token fetch sends, copied under r->lock so that the fetch, its retries and
 * their sleeps run without it (a 401 on another thread may replace r->realm meanwhile). */
struct token_query {
	char *realm;
	char *url;                 /* the GET: realm?service=...&scope=... */
	char *form;                /* an identity token's OAuth2 POST body, or NULL */
};

/* Caller holds r->lock. */
static void token_query_build(const struct registry *r, struct token_query *q)
{
	struct strbuf url = STRBUF_INIT;
	sb_addf(&url, "%s%c", r->realm, strchr(r->realm, '?') ? '&' : '?');
	if (r->service) {
		char *enc = curl_easy_escape(NULL, r->service, 0);
		sb_addf(&url, "service=%s", enc);
		curl_free(enc);
	}
	if (r->scopes)
		sb_addf(&url, "&%s", r->scopes);
	q->realm = xstrdup(r->realm);
	q->url = sb_detach(&url);
	q->form = NULL;
	if (!r->identity_token)
		return;
	/* an identity token: the OAuth2 refresh-token grant, as the docker CLI does it
	 * (scopes space-separated in one field) */
	struct strbuf form = STRBUF_INIT;
	char *tok = curl_easy_escape(NULL, r->identity_token, 0);
	char *svc = curl_easy_escape(NULL, r->service ? r->service : "", 0);
	sb_addf(&form, "grant_type=refresh_token&client_id=ops-promote&service=%s&refresh_token=%s", svc, tok);
	log_secret(tok);
	curl_free(tok);
	curl_free(svc);
	if (r->scopes) {
		sb_addstr(&form, "&");
		for (const char *c = r->scopes; *c; c++) {
			if (!strncmp(c, "&scope=", 7)) {
				sb_addstr(&form, "%20");
				c += 6;
			} else {
				sb_addch(&form, *c);
			}
		}
	}
	q->form = sb_detach(&form);
}

static void token_query_release(struct token_query *q)
{
	free(q->realm);
	free(q->url);
	free(q->form);
}

/* One GET of the token URL into body (or, with a form, an OAuth2 POST of it to the
 * realm); the status, or 0 + *err on a transport failure. Runs without r->lock: what it
 * reads of r (credentials, limits, CA file, host) is settled before any worker starts. */
static long token_get_once(struct registry *r, const struct token_query *q, struct strbuf *body,
			   char **retry_after, char **err)
{
	CURL *curl = http_easy_new(r->limits, &r->ca_pem);
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(curl, CURLOPT_URL, q->form ? q->realm : q->url);
	if (q->form) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, q->form);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(q->form));
	}
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, http_request_timeout_ms(r->limits));
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, token_body_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, token_header_cb);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, retry_after);
	if (r->username && !q->form) {
		curl_easy_setopt(curl, CURLOPT_USERNAME, r->username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, r->password ? r->password : "");
	}
	log_lock();
	verbosef(1, "> %s %s (token)", q->form ? "POST" : "GET", q->form ? q->realm : q->url);
	log_unlock();
	pthread_mutex_lock(&r->lock);
	r->token_requests++;
	pthread_mutex_unlock(&r->lock);
	long status = 0;
	CURLcode cc = curl_easy_perform(curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else
		*err = xasprintf("cannot get a token for %s from %s: %s", r->host, q->realm,
				 *errbuf ? errbuf : curl_easy_strerror(cc));
	curl_easy_cleanup(curl);
	return status;
}

/* The token in a 200's JSON ("token", else OAuth2's "access_token"), or NULL. */
static char *token_from_body(const struct strbuf *body)
{
	json_t *doc = json_loadb(body->buf ? body->buf : "", body->len, 0, NULL);
	const char *tok = json_string_value(json_object_get(doc, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(doc, "access_token"));
	char *out = tok && *tok ? xstrdup(tok) : NULL;
	json_decref(doc);
	return out;
}

/* The fetch with its retries, without r->lock: retried like registry requests
 * (connection errors, 5xx, 408, 429, Retry-After honoured), within the run's deadline.
 * The token, or NULL + *err. */
static char *token_fetch_retried(struct registry *r, const struct token_query *q, char **err)
{
	struct strbuf body = STRBUF_INIT;
	long status = 0;
	int attempt;
	for (attempt = 0;; attempt++) {
		char *retry_after = NULL;
		free(*err);
		*err = NULL;
		sb_reset(&body);
		status = token_get_once(r, q, &body, &retry_after, err);
		bool retryable = status == 0 || http_status_retryable(status);
		bool again = retryable && attempt < r->limits->retries &&
			     http_retry_sleep(r->limits, attempt, status == 0 ? NULL : retry_after);
		free(retry_after);
		if (!again)
			break;
		log_lock();
		if (status)
			verbosef(1, "retrying the token request to %s after HTTP %ld", q->realm, status);
		else
			verbosef(1, "retrying the token request to %s after: %s", q->realm, *err);
		log_unlock();
	}
	char *tok = NULL;
	if (status != 200 && !*err && http_status_retryable(status)) {
		/* not the credentials: the service failing or throttling, until retries ran out */
		*err = xasprintf("the token service %s did not give a token for %s: HTTP %ld after %d attempts",
				 q->realm, r->host, status, attempt + 1);
	} else if (status != 200 && !*err) {
		*err = xasprintf("the token service %s refused a token for %s (HTTP %ld)%s", q->realm, r->host, status,
				 q->form ? ": the identity token was refused (log in again)"
				 : r->username ? ": check the credentials" : ": no credentials were given");
	} else if (status == 200 && !(tok = token_from_body(&body))) {
		*err = xasprintf("the token service %s answered without a token", q->realm);
	}
	if (tok)
		log_secret(tok);
	sb_release(&body);
	return tok;
}

/* Caller holds r->lock: the fetch in flight is over (its outcome in *err and the return),
 * or the run's deadline came, or an interrupt. */
#define TOKEN_WAIT_SLICE_MS 100
static int wait_for_token(struct registry *r, char **err)
{
	unsigned long seen = r->token_fetches;
	/* by the clock (a spurious wake-up must not shorten the wait), in slices (so that an
	 * interrupt is seen); the fetcher itself stops at the deadline, the slack is its reply */
	double until_ms = r->limits->deadline_ms + 2 * TOKEN_WAIT_SLICE_MS;
	while (r->token_fetching && r->token_fetches == seen && now_ms() < until_ms && !http_interrupted()) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += TOKEN_WAIT_SLICE_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&r->token_done, &r->lock, &until);
	}
	if (r->token_fetches == seen) {
		*err = http_interrupted()
			       ? xasprintf("no token for %s: interrupted while another request fetched it", r->host)
			       : xasprintf("no token for %s: the token request in flight did not finish in time", r->host);
		return -1;
	}
	if (r->token_rc) {
		*err = xstrdup(r->token_error ? r->token_error : "no token");
		return -1;
	}
	return 0;
}

/* Caller holds r->lock: the fetch's outcome for r and for every thread waiting on it. */
static void publish_token(struct registry *r, char *tok, const char *why)
{
	if (tok) {
		free(r->authorization);
		r->authorization = xasprintf("Authorization: Bearer %s", tok);
	}
	free(r->token_error);
	r->token_error = why ? xstrdup(why) : NULL;
	r->token_rc = tok ? 0 : -1;
	r->token_fetches++;
	r->token_fetching = false;
	pthread_cond_broadcast(&r->token_done);
}

int auth_fetch_token(struct registry *r, char **err)
{
	pthread_mutex_lock(&r->lock);
	int rc;
	if (r->token_fetching) {
		rc = wait_for_token(r, err);
	} else if (!r->realm) { /* a later challenge without one replaced it */
		*err = xasprintf("%s asks for a Bearer token without naming a realm", r->host);
		rc = -1;
	} else {
		r->token_fetching = true;
		struct token_query q;
		token_query_build(r, &q);
		pthread_mutex_unlock(&r->lock);
		char *tok = token_fetch_retried(r, &q, err);
		token_query_release(&q);
		pthread_mutex_lock(&r->lock);
		publish_token(r, tok, *err);
		rc = tok ? 0 : -1;
		free(tok);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

#define HELPER_TIMEOUT_MS 10000

/* Reads what the helper writes, at most 64 KiB, until EOF or the deadline. */
static void read_bounded(int fd, struct strbuf *sb, double deadline)
{
	char buf[4096];
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		double left = deadline - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0 || sb->len > 65536)
			return;
		sb_add(sb, buf, (size_t)n);
	}
}

/* The helper's exit status, waiting until the deadline; a helper still running then is
 * killed (status -1). */
static int reap_bounded(pid_t pid, double deadline)
{
	int status;
	while (now_ms() < deadline) {
		pid_t got = waitpid(pid, &status, WNOHANG);
		if (got == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (got < 0)
			return -1;
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Starts prog get with its stdin and stdout on pipes and its stderr on /dev/null: a
 * helper's diagnostics are not ours to print (they may quote what it stores). */
static int spawn_helper(const char *prog, pid_t *pid, int *to_child, int *from_child)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		die(3, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = { (char *)prog, (char *)"get", NULL };
	int rc = posix_spawnp(pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc) {
		close(in[1]);
		close(out[0]);
		return rc;
	}
	*to_child = in[1];
	*from_child = out[0];
	return 0;
}

/* Runs docker-credential-<helper> get with host on stdin (no shell), bounded to 10 s.
 * Like the docker CLI, "credentials not found" means anonymous, not an error. */
static int run_cred_helper(const char *helper, const char *host, char **user, char **pass, char **err)
{
	char *prog = xasprintf("docker-credential-%s", helper);
	pid_t pid;
	int to_child, from_child;
	int spawn_err = spawn_helper(prog, &pid, &to_child, &from_child);
	if (spawn_err) {
		*err = xasprintf("cannot run %s for %s: %s", prog, host, strerror(spawn_err));
		free(prog);
		return -1;
	}
	ssize_t wr = write(to_child, host, strlen(host));
	(void)wr;
	close(to_child);
	struct strbuf sb = STRBUF_INIT;
	double deadline = now_ms() + HELPER_TIMEOUT_MS;
	read_bounded(from_child, &sb, deadline);
	close(from_child);
	int exit_status = reap_bounded(pid, deadline);
	json_t *doc = exit_status == 0 ? json_loadb(sb.buf ? sb.buf : "", sb.len, 0, NULL) : NULL;
	const char *u = json_string_value(json_object_get(doc, "Username"));
	const char *s = json_string_value(json_object_get(doc, "Secret"));
	int found = 0;
	if (s && *s) {
		log_secret(s);
		*user = xstrdup(u ? u : "");
		*pass = xstrdup(s);
		found = 1;
	} else if (exit_status != 0 && sb.len && strstr(sb.buf, "credentials not found")) {
		verbosef(1, "%s has no credentials for %s", prog, host);
	} else if (exit_status != 0) {
		/* its output is not quoted: a failing helper may print anything */
		*err = exit_status < 0 ? xasprintf("%s get for %s did not finish in %d s", prog, host, HELPER_TIMEOUT_MS / 1000)
			: xasprintf("%s get for %s failed (exit status %d)", prog, host, exit_status);
		found = -1;
	} else if (!doc) {
		*err = xasprintf("%s get for %s did not answer JSON with Username and Secret", prog, host);
		found = -1;
	}
	json_decref(doc);
	sb_release(&sb);
	free(prog);
	return found;
}

/* The key `docker login` stores Docker Hub's credentials under, and asks helpers with. */
#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

static json_t *auths_entry(json_t *auths, const char *host)
{
	json_t *e = json_object_get(auths, host);
	if (e)
		return e;
	static const char *const schemes[] = { "https://", "http://" };
	for (size_t i = 0; !e && i < ARRAY_SIZE(schemes); i++) {
		char *alt = xasprintf("%s%s", schemes[i], host);
		e = json_object_get(auths, alt);
		free(alt);
	}
	if (!e && !strcmp(host, "docker.io"))
		e = json_object_get(auths, DOCKER_HUB_KEY);
	if (!e && !strcmp(host, "docker.io"))
		e = json_object_get(auths, "index.docker.io");
	return e;
}

/* The credHelpers entry for host (Docker Hub's under any of its names). */
static const char *host_helper(json_t *helpers, const char *host)
{
	const char *h = json_string_value(json_object_get(helpers, host));
	if (!h && !strcmp(host, "docker.io"))
		h = json_string_value(json_object_get(helpers, "index.docker.io"));
	if (!h && !strcmp(host, "docker.io"))
		h = json_string_value(json_object_get(helpers, DOCKER_HUB_KEY));
	return h && *h ? h : NULL;
}

/* Credentials for host in one auth file (docker's config.json or containers'
 * auth.json, which share the auths layout): 1 user/password, 2 an identity token in
 * *pass, 0 none, -1 + *err. */
static int auth_file_lookup(const char *path, const char *host, char **user, char **pass, char **err)
{
	/* read by us, bounded: jansson's own reading waits on a FIFO nobody writes to and
	 * reads an endless pipe to its end */
	struct strbuf text = STRBUF_INIT;
	if (sb_read_file(&text, path, SECRET_FILE_MAX) < 0) {
		int rc = errno == ENOENT || errno == ENOTDIR ? 0 : -1;   /* no such file: no entry */
		if (rc)
			*err = xasprintf("cannot read %s: %s", path, read_failure(errno, SECRET_FILE_MAX));
		sb_wipe(&text);
		return rc;
	}
	json_error_t jerr;
	json_t *doc = json_loadb(sb_str(&text), text.len, 0, &jerr);
	sb_wipe(&text);   /* auths: secrets */
	if (!doc) {
		/* not jerr.text: jansson quotes the token near the error, which may be an auth */
		*err = xasprintf("%s is not valid JSON (line %d, column %d)", path, jerr.line, jerr.column);
		return -1;
	}
	int found = 0;
	/* what a helper is asked with: the key docker login stored (Docker Hub's URL) */
	const char *helper_key = strcmp(host, "docker.io") ? host : DOCKER_HUB_KEY;
	/* a per-host helper wins over a stored auth, which wins over the default store */
	const char *helper = host_helper(json_object_get(doc, "credHelpers"), host);
	const char *store = json_string_value(json_object_get(doc, "credsStore"));
	json_t *entry = auths_entry(json_object_get(doc, "auths"), host);
	const char *auth = json_string_value(json_object_get(entry, "auth"));
	const char *identity = json_string_value(json_object_get(entry, "identitytoken"));
	if (helper) {
		found = run_cred_helper(helper, helper_key, user, pass, err);
	} else if (identity && *identity) {
		/* an OAuth2 refresh token (ACR, GAR, docker login to a token server):
		 * exchanged at the realm for an access token, never sent to the registry */
		log_secret(identity);
		if (auth && *auth)
			log_secret(auth);
		*user = xstrdup("<token>");
		*pass = xstrdup(identity);
		found = 2;
	} else if (auth && *auth) {
		struct strbuf decoded = STRBUF_INIT;
		int bad = base64_decode(auth, strlen(auth), &decoded);
		const char *plain = sb_str(&decoded);
		const char *colon = bad ? NULL : strchr(plain, ':');
		if (colon) {
			*user = xstrndup(plain, (size_t)(colon - plain));
			*pass = xstrdup(colon + 1);
			log_secret(*pass);
			log_secret(auth);
			found = 1;
		} else {
			*err = xasprintf("%s: auths.%s.auth is not base64 of user:password", path, host);
			found = -1;
		}
		sb_release(&decoded);
	} else if (store && *store) {
		found = run_cred_helper(store, helper_key, user, pass, err);
	}
	json_decref(doc);
	return found;
}

int auth_docker_config(const char *host, char **user, char **pass, char **err)
{
	/* as containers-auth.json(5) and the docker CLI look: $REGISTRY_AUTH_FILE, podman's
	 * $XDG_RUNTIME_DIR/containers/auth.json, then $DOCKER_CONFIG/config.json or
	 * ~/.docker/config.json; the first file with an entry for the host wins */
	const char *auth_file = getenv("REGISTRY_AUTH_FILE");
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	const char *dir = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	char *paths[3];
	size_t n = 0;
	if (auth_file && *auth_file)
		paths[n++] = xstrdup(auth_file);
	if (runtime && *runtime)
		paths[n++] = xasprintf("%s/containers/auth.json", runtime);
	paths[n++] = dir && *dir ? xasprintf("%s/config.json", dir) : xasprintf("%s/.docker/config.json", home ? home : "/");
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		if (found == 0)
			found = auth_file_lookup(paths[i], host, user, pass, err);
		free(paths[i]);
	}
	return found;
}
