/*
 * libFuzzer target for ops-promote's WWW-Authenticate challenge parser,
 * auth_parse_challenge() (RFC 7235: Bearer realm="...",service="...",scope="...", Basic).
 * Invariants besides ASan/UBSan: -1 leaves nothing allocated; 0 gives Basic or Bearer;
 * the parsed realm/service/scope are no longer than the header.
 * FUZZ_TOOL: ops-promote
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 1);
	memcpy(h, data, size);
	h[size] = '\0';
	struct auth_challenge c;
	int rc = auth_parse_challenge(h, &c);
	if (rc == -1 && (c.realm || c.service || c.scope))
		abort();
	if (rc == 0 && c.scheme != AUTH_BASIC && c.scheme != AUTH_BEARER)
		abort();
	size_t hl = strlen(h);
	if ((c.realm && strlen(c.realm) > hl) || (c.service && strlen(c.service) > hl) ||
	    (c.scope && strlen(c.scope) > hl))
		abort();
	auth_challenge_release(&c);
	free(h);
	return 0;
}
