/*
 * creds: cloud text-to-speech credentials. A Google service account (base64 in
 * GOOGLE_CLOUD_CREDENTIALS_B64, a file named by GOOGLE_APPLICATION_CREDENTIALS, or its
 * JSON pasted into a value) is checked step by step so the message says which step
 * failed; the key is parsed by OpenSSL and never printed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base64.h"
#include "envcheck.h"
#include "secret_rules.h"
#include "types.h"
#include "util.h"

#define MIN_RSA_BITS 2048

static const char *string_field(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

static int check_private_key(const char *pem, struct strbuf *ok, struct strbuf *why);

int creds_uri_parts(const char *uri, char **scheme, char **host)
{
	*scheme = *host = NULL;
	CURLU *u = curl_url();
	char *s = NULL, *h = NULL;
	int rc = u && curl_url_set(u, CURLUPART_URL, uri, 0) == CURLUE_OK &&
			 curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
			 curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK ? 0 : -1;
	if (rc == 0) {
		*scheme = xstrdup(s);
		*host = xstrdup(h);
	}
	curl_free(s);
	curl_free(h);
	curl_url_cleanup(u);
	return rc;
}

/* By address, never by name: "localhost" may resolve anywhere /etc/hosts says. */
bool creds_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char bare[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(bare)) {
		memcpy(bare, host + 1, n - 2);
		bare[n - 2] = 0;
		return inet_pton(AF_INET6, bare, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* https://, or http:// to a loopback address (a local token endpoint, as in tests) */
static bool token_uri_usable(const char *uri)
{
	char *scheme, *host;
	if (creds_uri_parts(uri, &scheme, &host) < 0)
		return false;
	bool ok = !strcmp(scheme, "https") || (!strcmp(scheme, "http") && creds_host_is_loopback(host));
	free(scheme);
	free(host);
	return ok;
}

/* A private_key whose line breaks are the two characters \ and n: the JSON text held
 * \\n (escaped twice, by a tool that stored the JSON inside another string). Google's
 * libraries do not load it; the key itself may be fine. */
static int check_double_escaped(const char *pem, struct strbuf *why)
{
	if (strchr(pem, '\n') || !strstr(pem, "\\n"))
		return 0;
	struct strbuf fixed = STRBUF_INIT, ignore = STRBUF_INIT, bad = STRBUF_INIT;
	for (const char *p = pem; *p; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			sb_addch(&fixed, '\n');
			p++;
		} else {
			sb_addch(&fixed, *p);
		}
	}
	mask_derived(sb_str(&fixed));
	bool parses = check_private_key(sb_str(&fixed), &ignore, &bad) == 0;
	sb_addf(why, "step 5 (private key): private_key holds \\n escapes instead of line breaks "
		"(the JSON was escaped twice)%s", parses ? "; unescaped, the key parses" : "");
	sb_release(&fixed);
	sb_release(&ignore);
	sb_release(&bad);
	return -1;
}

static int check_private_key(const char *pem, struct strbuf *ok, struct strbuf *why)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
	BIO_free(bio);
	ERR_clear_error();
	if (!key) {
		sb_addstr(why, "step 5 (private key): private_key does not parse as a PEM private key");
		return -1;
	}
	int type = EVP_PKEY_base_id(key), bits = EVP_PKEY_bits(key);
	EVP_PKEY_free(key);
	if (type != EVP_PKEY_RSA) {
		sb_addstr(why, "step 5 (private key): private_key is not an RSA key");
		return -1;
	}
	if (bits < MIN_RSA_BITS) {
		sb_addf(why, "step 5 (private key): the RSA key has %d bits, fewer than %d", bits, MIN_RSA_BITS);
		return -1;
	}
	sb_addf(ok, "RSA %d bits", bits);
	return 0;
}

static int check_json(const char *text, size_t len, struct strbuf *ok, struct strbuf *why)
{
	json_error_t err;
	json_t *j = json_loadb(text, len, 0, &err);
	if (!j || !json_is_object(j)) {
		if (j)
			sb_addstr(why, "step 2 (JSON): the content is JSON but not an object");
		else /* err.text may quote the input: only the position */
			sb_addf(why, "step 2 (JSON): the content is not JSON (error at line %d, column %d)",
				err.line, err.column);
		json_decref(j);
		return -1;
	}
	int rc = -1;
	const char *pk = string_field(j, "private_key"), *pkid = string_field(j, "private_key_id");
	if (pk)
		mask_derived(pk);
	if (pkid)
		mask_derived(pkid);
	const char *type = string_field(j, "type");
	static const char *const fields[] = { "project_id", "private_key_id", "private_key", "client_email",
					      "token_uri" };
	if (!type || strcmp(type, "service_account")) {
		sb_addstr(why, "step 3 (type): \"type\" is not \"service_account\"");
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (!string_field(j, fields[i])) {
			sb_addf(why, "step 4 (fields): field \"%s\" is missing or empty", fields[i]);
			goto out;
		}
	const char *email = string_field(j, "client_email");
	const char *at = strchr(email, '@');
	if (!at || at == email || !str_ends_with(at + 1, ".iam.gserviceaccount.com")) {
		sb_addstr(why, "step 4 (fields): client_email is not ...@...iam.gserviceaccount.com");
		goto out;
	}
	if (!token_uri_usable(string_field(j, "token_uri"))) {
		sb_addstr(why, "step 4 (fields): token_uri is not an https:// URL");
		goto out;
	}
	sb_addf(ok, "service account %s of project %s, ", email, string_field(j, "project_id"));
	rc = check_double_escaped(pk, why);
	if (rc == 0)
		rc = check_private_key(pk, ok, why);
out:
	json_decref(j);
	return rc;
}

/* Standard base64 from a value wrapped on several lines, URL-safe (- and _) or without
 * its = padding, as lenient decoders (Python's b64decode after urlsafe translation,
 * Node's Buffer.from(v, "base64")) read it; what was unusual goes in how. */
static int lenient_base64(const char *value, struct strbuf *raw, struct strbuf *how)
{
	struct strbuf sb = STRBUF_INIT;
	bool wrapped = false, urlsafe = false, unpadded = false;
	for (const char *p = value; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			wrapped = true;
		else if (*p == '-' || *p == '_') {
			urlsafe = true;
			sb_addch(&sb, *p == '-' ? '+' : '/');
		} else
			sb_addch(&sb, *p);
	}
	while (sb.len % 4) {
		sb_addch(&sb, '=');
		unpadded = true;
	}
	int rc = base64_decode(sb.buf ? sb.buf : "", sb.len, raw);
	sb_release(&sb);
	if (rc < 0)
		return -1;
	sb_addf(how, "%s%s%s", wrapped ? "wrapped on several lines" : "", wrapped && (urlsafe || unpadded) ? ", " : "",
		urlsafe ? (unpadded ? "URL-safe (- and _), without = padding" : "URL-safe (- and _)")
			: unpadded ? "without = padding" : "");
	return 0;
}

int creds_gcp_b64(const char *value, struct strbuf *ok, struct strbuf *why)
{
	struct strbuf raw = STRBUF_INIT, how = STRBUF_INIT;
	if (is_service_account_value(value)) {
		sb_addstr(why, "step 1 (base64): the value is the service account JSON itself, not its base64");
		return -1;
	}
	if (base64_decode(value, strlen(value), &raw) < 0) {
		sb_release(&raw);
		if (lenient_base64(value, &raw, &how) < 0) {
			sb_release(&raw);
			sb_release(&how);
			sb_addstr(why, "step 1 (base64): the value is not valid base64");
			return -1;
		}
	}
	mask_derived(sb_str(&raw));
	int rc = check_json(sb_str(&raw), raw.len, ok, why);
	sb_release(&raw);
	if (rc == 0 && how.len) {
		sb_addf(why, "the base64 is %s: Google's and most libraries decode it, strict decoders "
			"(base64 -d, Go's StdEncoding) do not", sb_str(&how));
		rc = 1;
	}
	sb_release(&how);
	return rc;
}

int creds_gcp_file(const char *path, struct strbuf *ok, struct strbuf *why)
{
	struct stat st;
	/* Google's libraries read this variable as a path only */
	if (is_service_account_value(path)) {
		sb_addstr(why, "step 1 (file): the value is the service account JSON itself, not the path of a "
			       "file holding it");
		return -1;
	}
	/* a FIFO (or /dev/zero) named here would block or never end: stat before open */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		sb_addf(why, "step 1 (file): cannot read %s: not a regular file", path);
		return -1;
	}
	struct strbuf buf = STRBUF_INIT;
	if (sb_read_file(&buf, path, SECRET_FILE_MAX) < 0) {
		sb_addf(why, "step 1 (file): cannot read %s: %s", path, read_failure(errno, SECRET_FILE_MAX));
		sb_wipe(&buf);
		return -1;
	}
	int rc = check_json(sb_str(&buf), buf.len, ok, why);
	sb_wipe(&buf); /* it holds a private key */
	return rc;
}

int creds_gcp_json(const char *value, struct strbuf *ok, struct strbuf *why)
{
	return check_json(value, strlen(value), ok, why);
}

int creds_gcp_text(const char *type, const char *value, struct strbuf *json)
{
	if (!strcmp(type, "gcp-service-account-file"))
		return sb_read_file(json, value, SECRET_FILE_MAX);
	if (!strcmp(type, "gcp-service-account-json")) {
		sb_addstr(json, value);
		return 0;
	}
	struct strbuf how = STRBUF_INIT;
	int rc = base64_decode(value, strlen(value), json);
	if (rc < 0) {
		sb_reset(json);
		rc = lenient_base64(value, json, &how);
	}
	sb_release(&how);
	if (rc == 0)
		mask_derived(sb_str(json));
	return rc;
}
