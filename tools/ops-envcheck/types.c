/*
 * types: the value types a schema may require. A validator says why a value is not
 * of its type without ever quoting the value (it may be a secret).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "types.h"
#include "util.h"

static int fail(struct strbuf *why, const char *msg)
{
	sb_addstr(why, msg);
	return -1;
}

static int check_int(const char *v, struct strbuf *why)
{
	long long n;
	return parse_ll(v, &n) < 0 ? fail(why, "is not an integer") : 0;
}

static int check_number(const char *v, struct strbuf *why)
{
	double d;
	return parse_double(v, &d) < 0 ? fail(why, "is not a number") : 0;
}

static int check_bool(const char *v, struct strbuf *why)
{
	static const char *const ok[] = { "true", "false", "1", "0", "yes", "no", "on", "off" };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!strcasecmp(v, ok[i]))
			return 0;
	return fail(why, "is not a boolean (true/false, 1/0, yes/no, on/off)");
}

static int check_port(const char *v, struct strbuf *why)
{
	long long n;
	if (parse_ll(v, &n) < 0 || n < 1 || n > 65535)
		return fail(why, "is not a port (1-65535)");
	return 0;
}

static bool valid_hostname(const char *h, size_t n)
{
	if (!n || n > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == '.') {
			if (!label || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_')
			return false;
		if (c == '-' && !label)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 || h[n - 1] == '.';
}

static bool valid_host(const char *h, size_t n)
{
	char buf[256];
	if (!n || n >= sizeof(buf))
		return false;
	if (h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	memcpy(buf, h, n);
	buf[n] = '\0';
	unsigned char addr[16];
	if (inet_pton(AF_INET6, buf, addr) == 1 || inet_pton(AF_INET, buf, addr) == 1)
		return true;
	bool digits_and_dots = strspn(buf, "0123456789.") == n;
	return !digits_and_dots && valid_hostname(buf, n);
}

static int check_host(const char *v, struct strbuf *why)
{
	return valid_host(v, strlen(v)) ? 0 : fail(why, "is not a host name or IP address");
}

static bool valid_port(const char *p, size_t n)
{
	long v = 0;
	if (!n || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* One host[:port] (a bracketed IPv6 address may carry a port too). */
static int check_host_port(const char *host, size_t hlen, struct strbuf *why)
{
	const char *port = NULL;
	if (hlen && host[0] == '[') {
		const char *br = memchr(host, ']', hlen);
		if (!br)
			return fail(why, "has no valid host");
		if ((size_t)(br - host) + 1 < hlen) {
			if (br[1] != ':')
				return fail(why, "has no valid host");
			port = br + 2;
		}
	} else {
		port = memrchr(host, ':', hlen);
		port = port ? port + 1 : NULL;
	}
	if (port) {
		if (!valid_port(port, hlen - (size_t)(port - host)))
			return fail(why, "has a bad port");
		hlen = (size_t)(port - host) - 1;
	}
	return valid_host(host, hlen) ? 0 : fail(why, "has no valid host");
}

/* Schemes whose URL may name no host: a Unix socket (unix:///run/x.sock, libpq's
 * postgresql:///db?host=/run/postgresql) or a file. */
static bool hostless_scheme(const char *scheme)
{
	static const char *const ok[] = { "file", "unix", "postgres", "postgresql", "redis+unix", "redis+socket" };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!strcasecmp(scheme, ok[i]))
			return true;
	return false;
}

/* Schemes with several comma-separated hosts (libpq: postgresql://h1:5432,h2:5433/db). */
static bool multihost_scheme(const char *scheme)
{
	return !strcasecmp(scheme, "postgres") || !strcasecmp(scheme, "postgresql") ||
	       !strcasecmp(scheme, "mongodb") || !strcasecmp(scheme, "mongodb+srv");
}

/* scheme://[user[:pass]@]host[:port][,host[:port]...][/...]; fills the scheme. */
static int split_url(const char *v, char *scheme, size_t scheme_size, struct strbuf *why)
{
	const char *sep = strstr(v, "://");
	size_t sl = sep ? (size_t)(sep - v) : 0;
	if (!sep || !sl || sl >= scheme_size || !isalpha((unsigned char)v[0]) ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") != sl)
		return fail(why, "is not a URL (scheme://host...)");
	memcpy(scheme, v, sl);
	scheme[sl] = '\0';
	const char *auth = sep + 3;
	size_t alen = strcspn(auth, "/?#");
	const char *at = memrchr(auth, '@', alen);
	const char *host = at ? at + 1 : auth;
	size_t hlen = alen - (size_t)(host - auth);
	if (!hlen && hostless_scheme(scheme))
		return 0;
	if (!strcasecmp(scheme, "file"))
		return 0;
	if (multihost_scheme(scheme) && memchr(host, ',', hlen)) {
		for (const char *h = host, *end = host + hlen; h <= end;) {
			const char *comma = memchr(h, ',', (size_t)(end - h));
			size_t n = comma ? (size_t)(comma - h) : (size_t)(end - h);
			if (check_host_port(h, n, why) < 0)
				return -1;
			if (!comma)
				break;
			h = comma + 1;
		}
		return 0;
	}
	return check_host_port(host, hlen, why);
}

static int check_url(const char *v, struct strbuf *why)
{
	char scheme[32];
	return split_url(v, scheme, sizeof(scheme), why);
}

static int check_dsn(const char *v, struct strbuf *why)
{
	if (!strstr(v, "://")) {
		if (strstr(v, "host=") || strstr(v, "dbname="))
			return 0; /* libpq key=value */
		return fail(why, "is not a postgres:// or redis:// URL or a libpq key=value string");
	}
	char scheme[32];
	if (split_url(v, scheme, sizeof(scheme), why) < 0)
		return -1;
	static const char *const known[] = { "postgres", "postgresql", "redis", "rediss", "unix" };
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (!strcasecmp(scheme, known[i]))
			return 0;
	return fail(why, "has a scheme other than postgres, postgresql, redis, rediss or unix");
}

static int check_email(const char *v, struct strbuf *why)
{
	const char *at = strchr(v, '@');
	if (!at || at == v || strchr(at + 1, '@') || strpbrk(v, " \t\r\n<>") ||
	    !strchr(at + 1, '.') || !valid_hostname(at + 1, strlen(at + 1)))
		return fail(why, "is not an e-mail address");
	return 0;
}

static int check_duration(const char *v, struct strbuf *why)
{
	double ms;
	return parse_duration_ms(v, &ms) < 0 ? fail(why, "is not a duration (250ms, 30s, 5m, 1h)") : 0;
}

static int check_regex(const char *v, struct strbuf *why)
{
	regex_t re;
	int rc = regcomp(&re, v, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[128];
		regerror(rc, &re, msg, sizeof(msg));
		sb_addf(why, "is not a valid POSIX extended regex (%s)", msg);
		return -1;
	}
	regfree(&re);
	return 0;
}

static int check_base64(const char *v, struct strbuf *why)
{
	struct strbuf out = STRBUF_INIT;
	int rc = base64_decode(v, strlen(v), &out);
	sb_release(&out);
	return rc < 0 ? fail(why, "is not base64") : 0;
}

static int check_json(const char *v, struct strbuf *why)
{
	json_error_t err;
	json_t *j = json_loads(v, JSON_DECODE_ANY, &err);
	if (!j) {
		sb_addf(why, "is not JSON (error at line %d, column %d)", err.line, err.column);
		return -1;
	}
	json_decref(j);
	return 0;
}

static int check_path(const char *v, struct strbuf *why)
{
	return *v ? 0 : fail(why, "is an empty path");
}

static int check_file_exists(const char *v, struct strbuf *why)
{
	struct stat st;
	if (stat(v, &st) < 0 || !S_ISREG(st.st_mode))
		return fail(why, "names no regular file");
	if (access(v, R_OK) < 0)
		return fail(why, "names a file that is not readable");
	return 0;
}

static int check_pattern(const char *v, const char *pattern, const char *what, struct strbuf *why)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		return 0;
	int rc = regexec(&re, v, 0, NULL, 0);
	regfree(&re);
	if (rc) {
		sb_addf(why, "is not %s", what);
		return -1;
	}
	return 0;
}

static int check_azure_key(const char *v, struct strbuf *why)
{
	return check_pattern(v, "^([0-9a-fA-F]{32}|[0-9A-Za-z]{84})$", "an Azure key (32 hex digits or 84 characters)", why);
}

static int check_azure_region(const char *v, struct strbuf *why)
{
	return check_pattern(v, "^[a-z]+[a-z0-9]*$", "an Azure region name (westeurope, eastus2...)", why);
}

static int check_aws_key_id(const char *v, struct strbuf *why)
{
	return check_pattern(v, "^(AKIA|ASIA)[A-Z0-9]{16}$", "an AWS access key id (AKIA + 16 characters)", why);
}

static int check_aws_secret(const char *v, struct strbuf *why)
{
	return check_pattern(v, "^[A-Za-z0-9/+=]{40}$", "an AWS secret access key (40 characters)", why);
}

static int check_elevenlabs(const char *v, struct strbuf *why)
{
	return check_pattern(v, "^(sk_[0-9a-f]{48}|[0-9a-f]{32})$", "an ElevenLabs API key (sk_ + 48 hex digits)", why);
}

static const struct env_type types[] = {
	{ "string", NULL, false },
	{ "int", check_int, true },
	{ "number", check_number, true },
	{ "bool", check_bool, false },
	{ "port", check_port, true },
	{ "url", check_url, false },
	{ "dsn", check_dsn, false },
	{ "email", check_email, false },
	{ "host", check_host, false },
	{ "duration", check_duration, false },
	{ "enum", NULL, false },
	{ "regex", check_regex, false },
	{ "base64", check_base64, false },
	{ "json", check_json, false },
	{ "path", check_path, false },
	{ "file-exists", check_file_exists, false },
	{ "gcp-service-account-b64", NULL, false },
	{ "gcp-service-account-file", NULL, false },
	{ "gcp-service-account-json", NULL, false },
	{ "azure-speech-key", check_azure_key, false },
	{ "azure-region", check_azure_region, false },
	{ "aws-access-key-id", check_aws_key_id, false },
	{ "aws-secret-access-key", check_aws_secret, false },
	{ "elevenlabs-api-key", check_elevenlabs, false },
};

const struct env_type *types_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(types[i].name, name))
			return &types[i];
	return NULL;
}
