/*
 * libFuzzer target for lib/redact's masking of registered secrets (redact_add_secret,
 * redact_text), against a reference: one search-and-replace pass per secret, longest
 * first, equal lengths in the order registered (what redact_text() did before its
 * index). The input: a first byte (how many times the text is repeated, so that long
 * texts and secrets that nest reach the search path of claim_by_search()), then lines:
 * each a secret but the last, the text. ':', '=', '*' and NUL are replaced, so that the
 * URL and password= masking do nothing and no "***" can be matched.
 * Invariants besides ASan/UBSan: redact_text() equals the reference byte for byte,
 * and no registered secret of 4 bytes or more is left in its output.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "util.h"

#define MAX_SECRETS 64

struct reference {
	char *secret[MAX_SECRETS];
	size_t n;
};

/* Registered as redact_add_secret() does: 4 bytes or more, once, longest first. */
static void reference_add(struct reference *ref, char *secret)
{
	size_t len = strlen(secret), at = ref->n;
	if (len < 4 || ref->n == MAX_SECRETS)
		return;
	for (size_t i = 0; i < ref->n; i++)
		if (!strcmp(ref->secret[i], secret))
			return;
	while (at > 0 && strlen(ref->secret[at - 1]) < len)
		at--;
	memmove(ref->secret + at + 1, ref->secret + at, sizeof(*ref->secret) * (ref->n - at));
	ref->secret[at] = secret;
	ref->n++;
}

static char *reference_redact(const struct reference *ref, const char *text)
{
	char *cur = xstrdup(text);
	for (size_t i = 0; i < ref->n; i++) {
		struct strbuf next = STRBUF_INIT;
		size_t len = strlen(ref->secret[i]);
		const char *p = cur;
		for (const char *hit; (hit = strstr(p, ref->secret[i])); p = hit + len) {
			sb_add(&next, p, (size_t)(hit - p));
			sb_addstr(&next, REDACTED);
		}
		sb_addstr(&next, p);
		free(cur);
		cur = sb_detach(&next);
	}
	return cur;
}

static char *plain_copy(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	for (size_t i = 0; i < size; i++) {
		char c = (char)data[i];
		s[i] = c == ':' ? ';' : c == '=' ? '-' : c == '*' ? '+' : c == '\0' ? '0' : c;
	}
	s[size] = '\0';
	return s;
}

static char *repeated(const char *s, size_t times)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < times; i++)
		sb_addstr(&sb, s);
	return sb_detach(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	char *input = plain_copy(data + 1, size - 1);
	struct reference ref = { .n = 0 };
	char *line = input, *nl;
	for (; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		redact_add_secret(line);
		reference_add(&ref, line);
	}
	char *text = repeated(line, 1 + data[0] % 64);
	char *got = redact_text(text), *want = reference_redact(&ref, text);
	if (strcmp(got, want))
		abort();
	for (size_t i = 0; i < ref.n; i++)
		if (strstr(got, ref.secret[i]))
			abort();
	free(got);
	free(want);
	free(text);
	free(input);
	redact_reset();
	return 0;
}
