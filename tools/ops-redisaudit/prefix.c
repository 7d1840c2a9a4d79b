/* Key names: prefix folding, glob matching and safe display. All binary safe. */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

/* A prefix longer than this is cut: memory per prefix stays bounded. */
#define PREFIX_MAX_LEN 128
#define DISPLAY_MAX_LEN 200
/* Segments longer than this are not tried against redis.id_patterns. */
#define SEGMENT_REGEX_MAX 256

/* redis.id_patterns, compiled once before the scan; only read while threads scan (glibc's
 * regexec locks the pattern itself). */
static regex_t *id_regexes;
static size_t n_id_regexes;

int prefix_set_id_patterns(const char *const *patterns, size_t n, size_t *bad, char **why)
{
	prefix_free_id_patterns();
	id_regexes = xcalloc(n + 1, sizeof(*id_regexes));
	for (size_t i = 0; i < n; i++) {
		/* the whole segment must match: user:42abc is not an id because 42 is */
		char *anchored = xasprintf("^(%s)$", patterns[i]);
		int rc = regcomp(&id_regexes[i], anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (rc) {
			char msg[256];
			regerror(rc, &id_regexes[i], msg, sizeof(msg));
			*bad = i;
			*why = xasprintf("not a regular expression: %s", msg);
			n_id_regexes = i;
			prefix_free_id_patterns();
			return -1;
		}
		n_id_regexes = i + 1;
	}
	return 0;
}

void prefix_free_id_patterns(void)
{
	for (size_t i = 0; i < n_id_regexes; i++)
		regfree(&id_regexes[i]);
	free(id_regexes);
	id_regexes = NULL;
	n_id_regexes = 0;
}

static bool segment_matches_id_pattern(const char *s, size_t n)
{
	if (!n_id_regexes || n > SEGMENT_REGEX_MAX || memchr(s, '\0', n))
		return false;
	char buf[SEGMENT_REGEX_MAX + 1];
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n_id_regexes; i++)
		if (!regexec(&id_regexes[i], buf, 0, NULL, 0))
			return true;
	return false;
}

static bool is_hex(unsigned char c)
{
	return isxdigit(c) != 0;
}

static bool is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash_pos ? s[i] != '-' : !is_hex((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* Identifiers, not names: numbers, UUIDs, hex strings of 8+ digits (hashes, ids), and
 * whatever redis.id_patterns matches. */
static bool segment_is_id(const char *s, size_t n)
{
	if (!n)
		return false;
	if (segment_matches_id_pattern(s, n))
		return true;
	size_t digits = 0, hex = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		digits += isdigit(c) != 0;
		hex += is_hex(c);
	}
	if (digits == n)
		return true;
	if (is_uuid(s, n))
		return true;
	return n >= 8 && hex == n && digits > 0;
}

static size_t next_delim(const char *key, size_t len, size_t from, const char *delimiters)
{
	for (size_t i = from; i < len; i++)
		if (key[i] && strchr(delimiters, key[i]))
			return i;
	return len;
}

/* A short word, no digits: a field of a record (profile, cart, state), not a slug or a
 * token; there are few of them, so keeping one cannot flood the prefix table. */
static bool segment_is_field(const char *s, size_t n)
{
	if (!n || n > 24)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/*
 * A segment that opens with a Redis Cluster hash tag ("{user:42}" of "{user:42}:cart") runs
 * to the first delimiter after the tag's "}", delimiters inside the tag included: the tag
 * names one record, so it is an id. Returns the segment's end, or 0 when there is no tag
 * (no "}", or "{}", which Redis does not take as a tag either).
 */
static size_t hash_tag_end(const char *key, size_t len, size_t pos, const char *delimiters)
{
	if (pos >= len || key[pos] != '{')
		return 0;
	const char *close = memchr(key + pos + 1, '}', len - pos - 1);
	if (!close || close == key + pos + 1)
		return 0;
	return next_delim(key, len, (size_t)(close - key) + 1, delimiters);
}

/* Depth counts named segments only: an id says nothing about the namespace, so
 * user:42:profile is user:*:profile at depth 2, not user:*:*. */
void prefix_of(const char *key, size_t len, const char *delimiters, int depth, struct strbuf *out)
{
	sb_reset(out);
	size_t pos = 0;
	bool folded = false;
	for (int named = 0; named < depth && out->len <= PREFIX_MAX_LEN;) {
		size_t tag_end = hash_tag_end(key, len, pos, delimiters);
		size_t end = tag_end ? tag_end : next_delim(key, len, pos, delimiters);
		if (end >= len) {
			/* the last segment names the key and is not part of the prefix, except
			 * a field after an id: it tells the id's records apart */
			if (folded && segment_is_field(key + pos, len - pos) && out->len + len - pos <= PREFIX_MAX_LEN) {
				sb_add(out, key + pos, len - pos);
				return;
			}
			break;
		}
		if (tag_end) {
			sb_addstr(out, "{*}");
			folded = true;
		} else if (segment_is_id(key + pos, end - pos)) {
			sb_addch(out, '*');
			folded = true;
		} else {
			sb_add(out, key + pos, end - pos);
			named++;
			folded = false;  /* a field is kept only right after an id */
		}
		sb_addch(out, key[end]);
		pos = end + 1;
	}
	if (out->len) {
		if (out->len > PREFIX_MAX_LEN)
			out->len = PREFIX_MAX_LEN;
		sb_addch(out, '*');
	}
}

static bool class_match(const char **pp, const char *pend, unsigned char c)
{
	const char *p = *pp + 1;
	bool negate = p < pend && *p == '^';
	bool hit = false;
	if (negate)
		p++;
	while (p < pend && *p != ']') {
		if (*p == '\\' && p + 1 < pend) {
			p++;
			hit |= (unsigned char)*p == c;
		} else if (p + 2 < pend && p[1] == '-' && p[2] != ']') {
			unsigned char lo = (unsigned char)p[0], hi = (unsigned char)p[2];
			if (lo > hi) {
				unsigned char t = lo;
				lo = hi;
				hi = t;
			}
			hit |= c >= lo && c <= hi;
			p += 2;
		} else {
			hit |= (unsigned char)*p == c;
		}
		p++;
	}
	*pp = p < pend ? p : pend - 1;  /* on the ']' */
	return negate ? !hit : hit;
}

/* Iterative with one backtrack point for '*': linear in practice, never recursive. */
bool prefix_glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	const char *p = pat, *pend = pat + plen, *str = s, *send = s + slen;
	const char *star_p = NULL, *star_s = NULL;
	while (str < send) {
		if (p < pend && *p == '*') {
			star_p = ++p;
			star_s = str;
			continue;
		}
		if (p < pend) {
			bool ok;
			const char *q = p;
			if (*q == '?') {
				ok = true;
			} else if (*q == '[') {
				ok = class_match(&q, pend, (unsigned char)*str);
			} else if (*q == '\\' && q + 1 < pend) {
				q++;
				ok = *q == *str;
			} else {
				ok = *q == *str;
			}
			if (ok) {
				p = q + 1;
				str++;
				continue;
			}
		}
		if (!star_p)
			return false;
		p = star_p;
		str = ++star_s;
	}
	while (p < pend && *p == '*')
		p++;
	return p == pend;
}

/* The report escapes invalid UTF-8 in every format itself, but a newline in a message
 * starts a continuation line and NUL cannot travel in a C string: control bytes become
 * their Unicode control pictures (U+2400 + byte: "\n" -> U+240A, NUL -> U+2400). */
char *prefix_key_display(const char *key, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < len; i++) {
		if (sb.len >= DISPLAY_MAX_LEN) {
			sb_addstr(&sb, "...");
			break;
		}
		unsigned char c = (unsigned char)key[i];
		if (c < 0x20) {
			sb_addstr(&sb, "\xe2\x90");
			sb_addch(&sb, (char)(0x80 + c));
		} else if (c == 0x7f) {
			sb_addstr(&sb, "\xe2\x90\xa1");
		} else {
			sb_addch(&sb, (char)c);
		}
	}
	return sb_detach(&sb);
}
