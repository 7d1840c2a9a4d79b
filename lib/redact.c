#define _GNU_SOURCE
#include "redact.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Registered literal secrets, longest first (a secret that contains another is masked
 * whole; equal lengths in the order registered), with their lengths. A run registers a
 * handful (DSN passwords, tokens) or, for a large env file, one a line: a set of the
 * strings (open addressing) keeps registering linear, and the list stays sorted as it
 * grows, so that redact_text() only reads it (threads may call it at once). */
static char **secrets;
static size_t *secret_lens;
static size_t nsecrets, secrets_cap;
static const char **known;  /* the same strings, hashed; a power of two of slots */
static size_t known_cap;

#define MIN_LITERAL_SECRET 4

static size_t hash_string(const char *s)
{
	size_t h = 1469598103934665603u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* The slot of value in known: where it is, or the empty one where it would go. */
static size_t known_slot(const char *value)
{
	size_t i = hash_string(value) & (known_cap - 1);
	while (known[i] && strcmp(known[i], value))
		i = (i + 1) & (known_cap - 1);
	return i;
}

static void grow_known(void)
{
	const char **old = known;
	size_t old_cap = known_cap;
	known_cap = known_cap ? 2 * known_cap : 64;
	known = xcalloc(known_cap, sizeof(*known));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			known[known_slot(old[i])] = old[i];
	free(old);
}

void redact_add_secret(const char *value)
{
	size_t len = value ? strlen(value) : 0;
	if (len < MIN_LITERAL_SECRET)
		return;
	if (2 * (nsecrets + 1) > known_cap)
		grow_known();
	size_t slot = known_slot(value);
	if (known[slot])
		return;
	if (nsecrets == secrets_cap) {
		secrets_cap = secrets_cap ? 2 * secrets_cap : 16;
		secrets = xrealloc(secrets, sizeof(*secrets) * secrets_cap);
		secret_lens = xrealloc(secret_lens, sizeof(*secret_lens) * secrets_cap);
	}
	/* after every secret at least as long: binary search, the list is sorted */
	size_t lo = 0, hi = nsecrets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (secret_lens[mid] >= len)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(secrets + lo + 1, secrets + lo, sizeof(*secrets) * (nsecrets - lo));
	memmove(secret_lens + lo + 1, secret_lens + lo, sizeof(*secret_lens) * (nsecrets - lo));
	secrets[lo] = xstrdup(value);
	secret_lens[lo] = len;
	known[slot] = secrets[lo];
	nsecrets++;
}

void redact_reset(void)
{
	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	free(secret_lens);
	free(known);
	secrets = NULL;
	secret_lens = NULL;
	known = NULL;
	nsecrets = secrets_cap = known_cap = 0;
}

/* Masks "scheme://user:PASSWORD@" in place in sb, from position start. */
static void mask_url_passwords(struct strbuf *out, const char *in)
{
	const char *p = in;
	for (;;) {
		const char *scheme_end = strstr(p, "://");
		if (!scheme_end) {
			sb_addstr(out, p);
			return;
		}
		const char *auth = scheme_end + 3;
		size_t authority_len = strcspn(auth, "/?# \t\n\"'");
		const char *at = memrchr(auth, '@', authority_len);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (!colon) {
			sb_add(out, p, (size_t)(auth - p));
			p = auth;
			continue;
		}
		sb_add(out, p, (size_t)(colon + 1 - p));
		sb_addstr(out, REDACTED);
		p = at;
	}
}

/* Masks libpq-style "password=VALUE" (quoted or bare) wherever it appears, also as the
 * end of a longer name (PGPASSWORD=, db_password=). "pass=" needs a word boundary, or
 * "bypass=" would match. */
static void mask_keyword_passwords(struct strbuf *out, const char *in)
{
	static const struct { const char *key; bool boundary; } keys[] = {
		{ "password=", false }, { "password =", false }, { "passwd=", false }, { "pass=", true },
	};
	const char *p = in;
	while (*p) {
		size_t klen = 0;
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			size_t l = strlen(keys[i].key);
			if (!strncasecmp(p, keys[i].key, l) &&
			    (!keys[i].boundary || p == in || !isalnum((unsigned char)p[-1]))) {
				klen = l;
				break;
			}
		}
		if (!klen) {
			sb_addch(out, *p++);
			continue;
		}
		sb_add(out, p, klen);
		p += klen;
		while (*p == ' ')
			sb_addch(out, *p++);
		if (*p == '\'') {
			p++;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p)
				p++;
		} else {
			/* libpq's '\ ' keeps a space inside a bare value */
			while (*p && !strchr(" \t\n&;,\"", *p))
				p += *p == '\\' && p[1] ? 2 : 1;
		}
		sb_addstr(out, REDACTED);
	}
}

char *redact_text(const char *in)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	if (!in)
		return xstrdup("");
	sb_addstr(&a, in);
	for (size_t i = 0; i < nsecrets; i++) {
		const char *s = secrets[i];
		size_t sl = secret_lens[i];
		if (!strstr(sb_str(&a), s))
			continue;
		sb_reset(&b);
		for (const char *p = sb_str(&a), *hit; (hit = strstr(p, s)); p = hit + sl) {
			sb_add(&b, p, (size_t)(hit - p));
			sb_addstr(&b, REDACTED);
			if (!strstr(hit + sl, s)) {
				sb_addstr(&b, hit + sl);
				break;
			}
		}
		struct strbuf t = a;
		a = b;
		b = t;
	}
	sb_reset(&b);
	mask_url_passwords(&b, sb_str(&a));
	sb_reset(&a);
	mask_keyword_passwords(&a, sb_str(&b));
	sb_release(&b);
	return sb_detach(&a);
}

/* The userinfo ends at the last '@' and starts after the last '/' before it, so a
 * scheme, broken or not, is skipped; its password is what follows its first ':'. */
void redact_add_userinfo(const char *spec)
{
	const char *at = spec ? strrchr(spec, '@') : NULL;
	if (!at)
		return;
	const char *userinfo = spec;
	for (const char *p = spec; p < at; p++)
		if (*p == '/')
			userinfo = p + 1;
	const char *colon = memchr(userinfo, ':', (size_t)(at - userinfo));
	if (!colon || colon + 1 == at)
		return;
	char *password = xstrndup(colon + 1, (size_t)(at - colon - 1));
	redact_add_secret(password);
	free(password);
}

/* "scheme://" at the very start: a URL. A libpq key=value string may hold "://" in a
 * value (options='...'), and its password= must still be found. */
static const char *url_scheme_end(const char *dsn)
{
	size_t n = 0;
	if (!isalpha((unsigned char)dsn[0]))
		return NULL;
	while (isalnum((unsigned char)dsn[n]) || dsn[n] == '+' || dsn[n] == '-' || dsn[n] == '.')
		n++;
	return strncmp(dsn + n, "://", 3) ? NULL : dsn + n;
}

/* Registers one libpq key=value value starting at p, read as conninfo_parse() reads it
 * ('...' ends at its unescaped quote, a bare value at whitespace; '\' escapes the next
 * character in both), and returns where it ends. Both the value libpq hands the server
 * and the text as written are registered: a message may quote either, and registering
 * only a piece would leave the rest to print. */
static const char *register_conninfo_value(const char *p)
{
	struct strbuf decoded = STRBUF_INIT;
	bool quoted = *p == '\'';
	const char *raw = p + quoted;
	for (p = raw; *p && !(quoted ? *p == '\'' : isspace((unsigned char)*p)); p++) {
		if (*p == '\\' && !*++p)
			break;
		sb_addch(&decoded, *p);
	}
	char *written = xstrndup(raw, (size_t)(p - raw));
	redact_add_secret(written);
	redact_add_secret(sb_str(&decoded));
	free(written);
	sb_release(&decoded);
	return *p ? p + 1 : p;
}

/* Registers the password of a URL or key=value DSN, then masks it. */
static void register_dsn_password(const char *dsn)
{
	const char *scheme_end = url_scheme_end(dsn + strspn(dsn, " \t"));
	if (scheme_end) {
		const char *auth = scheme_end + 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = memrchr(auth, '@', alen);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			char *pw = xstrndup(colon + 1, (size_t)(at - colon - 1));
			redact_add_secret(pw);
			free(pw);
		}
		const char *q = strcasestr(auth, "password=");
		if (q) {
			char *pw = xstrndup(q + 9, strcspn(q + 9, "&#"));
			redact_add_secret(pw);
			free(pw);
		}
		return;
	}
	/* libpq key=value: every "password = value" (also sslpassword=) */
	for (const char *q = dsn; (q = strcasestr(q, "password")) != NULL;) {
		q += 8;
		q += strspn(q, " \t\n\r\f\v");
		if (*q != '=')
			continue;
		q++;
		q += strspn(q, " \t\n\r\f\v");
		q = register_conninfo_value(q);
	}
}

char *redact_dsn(const char *dsn)
{
	if (!dsn)
		return xstrdup("");
	register_dsn_password(dsn);
	return redact_text(dsn);
}

/* Secret-looking: a name segment (split on _ - .) is a secret word, or the name ends in
 * KEY (STRIPE_KEY, SPEECH_KEY) without being a mere key *name* (KEY_PREFIX, MONKEY). */
bool redact_key_is_secret(const char *name)
{
	static const char *const segments[] = {
		"PASSWORD", "PASSWD", "PASS", "PWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN",
		"TOKENS", "APIKEY", "CREDENTIALS", "CREDENTIAL", "CREDS", "AUTH", "DSN", "COOKIE",
		"SALT", "PRIVATE", "SIGNATURE", "WEBHOOK",
	};
	static const char *const whole[] = { "DATABASE_URL", "CONNECTION_STRING", "KEY" };
	char up[256];
	size_t n = 0;
	for (; name[n] && n < sizeof(up) - 1; n++) {
		unsigned char ch = (unsigned char)name[n];
		up[n] = (char)(ch == '-' || ch == '.' ? '_' : toupper(ch));
	}
	up[n] = '\0';
	if (name[n]) /* longer than up: a secret word past the cut would go unseen */
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(whole); i++)
		if (!strcmp(up, whole[i]))
			return true;
	if (str_ends_with(up, "_KEY") || str_ends_with(up, "APIKEY"))
		return true;
	/* PGPASSWORD, GITHUBTOKEN, CLIENTSECRET: a secret word glued to a prefix */
	static const char *const suffixes[] = { "PASSWORD", "PASSWD", "TOKEN", "SECRET" };
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (str_ends_with(up, suffixes[i]))
			return true;
	char *save = NULL;
	for (char *seg = strtok_r(up, "_", &save); seg; seg = strtok_r(NULL, "_", &save))
		for (size_t i = 0; i < ARRAY_SIZE(segments); i++)
			if (!strcmp(seg, segments[i]))
				return true;
	return false;
}

bool redact_value_is_path(const char *name, const char *value)
{
	char up[256];
	size_t n = 0;
	for (; name[n] && n < sizeof(up) - 1; n++)
		up[n] = (char)toupper((unsigned char)name[n]);
	up[n] = '\0';
	if (name[n]) /* longer than up: its end (_FILE, _PATH) was not seen; stays secret */
		return false;
	if (strcmp(up, "GOOGLE_APPLICATION_CREDENTIALS") != 0 && !str_ends_with(up, "_FILE") &&
	    !str_ends_with(up, "_PATH"))
		return false;
	/* a path: absolute or relative, one line, no JSON pasted in; a bare word may be the
	 * secret itself, written under the wrong name */
	if (!value || !*value || strlen(value) > 4096 || strpbrk(value, "{}\"'"))
		return false;
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20)
			return false;
	return value[0] == '/' || !strncmp(value, "./", 2) || !strncmp(value, "../", 3) ||
	       !strncmp(value, "~/", 2);
}

void redact_bytes(struct strbuf *out, const char *data, size_t len)
{
	for (const char *p = data, *end = data + len; p <= end;) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		char *piece = xstrndup(p, nul ? (size_t)(nul - p) : (size_t)(end - p));
		char *masked = redact_text(piece);
		sb_addstr(out, masked);
		free(masked);
		free(piece);
		if (!nul)
			break;
		sb_addch(out, '\0');
		p = nul + 1;
	}
}
