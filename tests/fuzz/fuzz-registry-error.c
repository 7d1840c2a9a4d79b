/*
 * libFuzzer target for ops-promote's registry error bodies, registry_error_sentence():
 * {"errors":[{"code":"MANIFEST_UNKNOWN","message":"...","detail":...}]} or anything else
 * a registry or a proxy in front of it answers, under each status that has its own
 * wording. The first byte picks the status. Invariants besides ASan/UBSan: one line
 * (no newline unless the body's message had one), starting with what was attempted.
 * FUZZ_TOOL: ops-promote
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const long statuses[] = { 400, 401, 403, 404, 405, 409, 429, 500, 502, 503, 0, 200 };
	struct registry r;
	memset(&r, 0, sizeof(r));
	r.host = "registry.example.com";
	struct http_resp resp;
	memset(&resp, 0, sizeof(resp));
	resp.status = statuses[data[0] % (sizeof(statuses) / sizeof(*statuses))];
	if (data[0] & 0x80)
		resp.error = xstrdup("connection reset");
	sb_add(&resp.body, data + 1, size - 1);
	char *s = registry_error_sentence(&r, &resp, "GET manifest");
	if (!s || strncmp(s, "GET manifest failed", 19))
		abort();
	free(s);
	http_resp_release(&resp);
	return 0;
}
