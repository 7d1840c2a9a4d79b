/*
 * libFuzzer target for the response headers ops-promote reads (registry.c's static
 * header_cb(), reached by including registry.c): Content-Type, Docker-Content-Digest,
 * Location, WWW-Authenticate, Retry-After, Range, Link and Content-Length, one header a
 * line as curl hands them over (CRLF kept). The Link and WWW-Authenticate values are then
 * used as the tool uses them (the next-page test, auth_parse_challenge()).
 * Invariants besides ASan/UBSan: a kept value has no surrounding whitespace (CR/LF
 * included) when the headers hold no NUL.
 * FUZZ_TOOL: ops-promote
 */
#include "../../tools/ops-promote/registry.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void trimmed(const char *v)
{
	if (!v || !*v)
		return;
	size_t n = strlen(v);
	if (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_resp resp;
	memset(&resp, 0, sizeof(resp));
	resp.content_length = -1;
	size_t i = 0;
	for (int lines = 0; i < size && lines < 256; lines++) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
		char *line = malloc(n ? n : 1);   /* curl's buffer is not NUL-terminated */
		memcpy(line, data + i, n);
		if (header_cb(line, 1, n, &resp) != n)
			abort();
		free(line);
		i += n;
	}
	const char *const vals[] = { resp.content_type, resp.digest, resp.location, resp.www_auth,
				     resp.retry_after, resp.range, resp.link };
	for (size_t k = 0; k < ARRAY_SIZE(vals) && !memchr(data, '\0', size); k++)
		trimmed(vals[k]);   /* (a NUL cuts a value short, whatever precedes it stays) */
	if (resp.www_auth) {
		struct auth_challenge c;
		auth_parse_challenge(resp.www_auth, &c);
		auth_challenge_release(&c);
	}
	http_resp_release(&resp);
	return 0;
}
