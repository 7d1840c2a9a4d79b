/*
 * verify: --verify asks a credential's own issuer whether it still works. One provider
 * row per kind of credential: the schema types it verifies, how the credential is read,
 * and how it is tried. The only provider today is Google's service account: a JWT signed
 * with its private key is exchanged at its token_uri (RFC 7523), which Google answers
 * with an access token, or with invalid_grant when the key was deleted or the account
 * disabled. A credential goes only to its issuer: the token_uri must be a Google host
 * (or a loopback address, or listed in envcheck.verify_allow_token_uri), because the
 * file naming it is as untrusted as the credential is valuable.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "envcheck.h"
#include "types.h"
#include "util.h"

#define GOOGLE_SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define JWT_LIFETIME_S 3600
#define MAX_ANSWER (64 * 1024)
#define MAX_SHOWN_ERROR 200

typedef enum status (*verify_fn)(const char *credential, const struct envcheck_opts *o, struct strbuf *msg,
				 struct strbuf *hint);
static enum status verify_google(const char *credential, const struct envcheck_opts *o, struct strbuf *msg,
				 struct strbuf *hint);

static const struct verify_provider {
	const char *name;
	const char *types[3];  /* the schema types whose values it verifies */
	int (*load)(const char *type, const char *value, struct strbuf *credential);
	verify_fn verify;
} providers[] = {
	{ "google-service-account", { "gcp-service-account-b64", "gcp-service-account-file", "gcp-service-account-json" },
	  creds_gcp_text, verify_google },
};

static const struct verify_provider *provider_of(const char *type)
{
	for (size_t i = 0; type && i < ARRAY_SIZE(providers); i++)
		for (size_t k = 0; k < ARRAY_SIZE(providers[i].types); k++)
			if (providers[i].types[k] && !strcmp(type, providers[i].types[k]))
				return &providers[i];
	return NULL;
}

bool verify_supported(const char *type)
{
	return provider_of(type) != NULL;
}

/* The answers of this run: a credential that several keys or compose services hold is
 * sent once, and each of them reports that answer. */
static struct verified {
	char *credential, *msg, *hint;
	enum status st;
} *verified;
static size_t nverified;

static enum status verify_once(const struct verify_provider *p, const char *credential,
			       const struct envcheck_opts *o, struct strbuf *msg, struct strbuf *hint)
{
	for (size_t i = 0; i < nverified; i++)
		if (!strcmp(verified[i].credential, credential)) {
			sb_addstr(msg, verified[i].msg);
			sb_addstr(hint, verified[i].hint);
			return verified[i].st;
		}
	enum status st = p->verify(credential, o, msg, hint);
	verified = xrealloc(verified, (nverified + 1) * sizeof(*verified));
	verified[nverified++] = (struct verified){ xstrdup(credential), xstrdup(sb_str(msg)), xstrdup(sb_str(hint)),
						   st };
	return st;
}

enum status verify_credential(const char *type, const char *value, const struct envcheck_opts *o,
			      struct strbuf *msg, struct strbuf *hint)
{
	const struct verify_provider *p = provider_of(type);
	struct strbuf credential = STRBUF_INIT;
	enum status st = ST_UNKNOWN;
	if (!p)
		sb_addf(msg, "no way to verify a %s credential", type ? type : "untyped");
	else if (p->load(type, value, &credential) < 0)
		sb_addstr(msg, "the credential cannot be read, so it was not verified");
	else
		st = verify_once(p, sb_str(&credential), o, msg, hint);
	sb_release(&credential);
	return st;
}

/* ---- a Google service account ---- */

static const char *json_str(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void add_base64url(struct strbuf *sb, const void *data, size_t n)
{
	char *b = base64_encode(data, n);
	for (char *p = b; *p && *p != '='; p++)
		sb_addch(sb, *p == '+' ? '-' : *p == '/' ? '_' : *p);
	free(b);
}

/* -1 when j could not be built (a field that is not UTF-8) */
static int add_base64url_json(struct strbuf *sb, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (text)
		add_base64url(sb, text, strlen(text));
	free(text);
	json_decref(j);
	return text ? 0 : -1;
}

/* header.claims.signature (RS256); -1 when the token cannot be built or the key does
 * not sign. */
static int google_jwt(json_t *sa, struct strbuf *jwt)
{
	time_t now = time(NULL);
	if (add_base64url_json(jwt, json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "kid",
					      json_str(sa, "private_key_id"))) < 0)
		return -1;
	sb_addch(jwt, '.');
	if (add_base64url_json(jwt, json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", json_str(sa, "client_email"),
					      "scope", GOOGLE_SCOPE, "aud", json_str(sa, "token_uri"), "iat",
					      (json_int_t)now, "exp", (json_int_t)now + JWT_LIFETIME_S)) < 0)
		return -1;
	BIO *bio = BIO_new_mem_buf(json_str(sa, "private_key"), -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
	BIO_free(bio);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	int rc = key && md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
			 EVP_DigestSign(md, sig, &siglen, (const unsigned char *)jwt->buf, jwt->len) == 1 ? 0 : -1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	ERR_clear_error();
	if (rc == 0) {
		sb_addch(jwt, '.');
		add_base64url(jwt, sig, siglen);
		mask_derived(sb_str(jwt)); /* a bearer credential for an hour */
	}
	return rc;
}

/* The issuer's own hosts, a loopback address, or a token_uri the config allows. */
static bool token_uri_trusted(const char *uri, const char *scheme, const char *host, const struct envcheck_opts *o)
{
	if (creds_host_is_loopback(host))
		return true;
	if (strcmp(scheme, "https"))
		return false;
	if (!strcmp(host, "oauth2.googleapis.com") || !strcmp(host, "accounts.google.com"))
		return true;
	for (size_t i = 0; i < o->verify_allow.n; i++)
		if (!strcmp(uri, o->verify_allow.items[i]))
			return true;
	return false;
}

static size_t answer_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct strbuf *sb = userdata;
	if (sb->len + size * n > MAX_ANSWER)
		return 0;
	sb_add(sb, data, size * n);
	return size * n;
}

/* POSTs the form to uri: the HTTP status, or -1 with errbuf filled. */
static long post_form(const char *uri, bool loopback, const char *form, const struct envcheck_opts *o,
		      struct strbuf *answer, char errbuf[CURL_ERROR_SIZE])
{
	CURL *curl = curl_easy_init();
	long code = -1;
	errbuf[0] = 0;
	if (!curl) {
		snprintf(errbuf, CURL_ERROR_SIZE, "cannot start libcurl");
		return -1;
	}
	curl_easy_setopt(curl, CURLOPT_URL, uri);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, loopback ? "http,https" : "https");
	if (loopback) /* a local endpoint is never reached through a proxy */
		curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, o->verify_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, o->verify_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "ops-envcheck/" OPSKIT_VERSION);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, answer_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	CURLcode rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	else if (!errbuf[0])
		snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(curl);
	return code;
}

/* Text from the network, fit for one line of output. */
static void add_printable(struct strbuf *sb, const char *s)
{
	for (size_t i = 0; s && s[i] && i < MAX_SHOWN_ERROR; i++)
		sb_addch(sb, s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
}

/* What the token endpoint answered, as a status. */
static enum status judge_answer(long code, const char *body, const char *host, struct strbuf *msg,
				struct strbuf *hint)
{
	json_t *j = json_loads(body, 0, NULL);
	const char *token = json_str(j, "access_token"), *err = json_str(j, "error");
	const char *desc = json_str(j, "error_description");
	enum status st = ST_UNKNOWN;
	if (token)
		mask_derived(token);
	if (code == 200 && token && *token) {
		st = ST_OK;
		sb_addf(msg, "the credential works: %s issued an access token", host);
	} else if ((code == 400 || code == 401) && err &&
		   (!strcmp(err, "invalid_grant") || !strcmp(err, "invalid_client") ||
		    !strcmp(err, "unauthorized_client"))) {
		st = ST_CRITICAL;
		sb_addf(msg, "%s refused the credential (HTTP %ld): ", host, code);
		add_printable(msg, err);
		if (desc) {
			sb_addstr(msg, ": ");
			add_printable(msg, desc);
		}
		if (desc && strstr(desc, "Invalid JWT Signature"))
			sb_addstr(hint, "the key was revoked or deleted: create a new key for the service account and "
					"store it again");
		else if (desc && strstr(desc, "disabled"))
			sb_addstr(hint, "the service account is disabled: enable it in the cloud console, or use another");
		else
			sb_addstr(hint, "check the service account and its keys in the cloud console");
	} else {
		sb_addf(msg, "%s answered HTTP %ld%s", host, code, err ? ": " : " without an OAuth answer");
		add_printable(msg, err);
		sb_addstr(hint, "try again later; the credential was neither accepted nor refused");
	}
	json_decref(j);
	return st;
}

static enum status exchange_jwt(json_t *sa, const char *uri, bool loopback, const char *host,
				const struct envcheck_opts *o, struct strbuf *msg, struct strbuf *hint)
{
	struct strbuf jwt = STRBUF_INIT, form = STRBUF_INIT, answer = STRBUF_INIT;
	enum status st = ST_UNKNOWN;
	if (google_jwt(sa, &jwt) < 0) {
		sb_addstr(msg, "no JWT could be signed with the private key, so the credential was not verified");
		goto out;
	}
	/* base64url and '.' need no escaping in a form */
	sb_addf(&form, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer&assertion=%s",
		sb_str(&jwt));
	mask_derived(sb_str(&form));
	char errbuf[CURL_ERROR_SIZE];
	long code = post_form(uri, loopback, sb_str(&form), o, &answer, errbuf);
	if (code < 0) {
		sb_addf(msg, "cannot reach the token endpoint %s: %s", host, errbuf);
		sb_addstr(hint, "check the network path to it (proxy, firewall, DNS); --verify-timeout bounds the wait");
	} else {
		st = judge_answer(code, sb_str(&answer), host, msg, hint);
	}
out:
	sb_release(&jwt);
	sb_release(&form);
	sb_release(&answer);
	return st;
}

static enum status verify_google(const char *credential, const struct envcheck_opts *o, struct strbuf *msg,
				 struct strbuf *hint)
{
	json_t *sa = json_loads(credential, 0, NULL);
	const char *uri = json_str(sa, "token_uri");
	char *scheme = NULL, *host = NULL;
	enum status st = ST_UNKNOWN;
	if (!uri || !json_str(sa, "client_email") || !json_str(sa, "private_key") ||
	    !json_str(sa, "private_key_id") || creds_uri_parts(uri, &scheme, &host) < 0) {
		sb_addstr(msg, "the service account JSON lacks what --verify needs, so it was not verified");
	} else if (!token_uri_trusted(uri, scheme, host, o)) {
		sb_addf(msg, "not verified: token_uri names %s, which is not Google's token endpoint; the "
			"credential is sent to no other host", host);
		sb_addstr(hint, "if that endpoint is truly the issuer, list the token_uri in "
				"envcheck.verify_allow_token_uri");
	} else {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		st = exchange_jwt(sa, uri, creds_host_is_loopback(host), host, o, msg, hint);
		curl_global_cleanup();
	}
	free(scheme);
	free(host);
	json_decref(sa);
	return st;
}
