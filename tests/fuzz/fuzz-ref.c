/*
 * libFuzzer target for ops-promote's image reference parser, ref_parse():
 * [host[:port]/]repo[:tag][@sha256:<hex>]. Invariants besides ASan/UBSan: success and
 * *err are exclusive; a parsed reference has a registry and a repo, a tag or a digest;
 * ref_string() of it parses again to the same reference (a fixed point).
 * FUZZ_TOOL: ops-promote
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promote.h"

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct image_ref r;
	memset(&r, 0, sizeof(r));
	char *err = NULL;
	int rc = ref_parse(s, &r, &err);
	if ((rc == 0) == (err != NULL))
		abort();
	if (rc == 0) {
		if (!r.registry || !r.repo || (!r.tag && !r.digest))
			abort();
		if (r.digest && !ref_digest_valid(r.digest))
			abort();
		char *text = ref_string(&r);
		struct image_ref again;
		memset(&again, 0, sizeof(again));
		char *err2 = NULL;
		if (ref_parse(text, &again, &err2) || !same(again.registry, r.registry) || !same(again.repo, r.repo) ||
		    !same(again.tag, r.tag ? r.tag : NULL) || (!r.tag && !same(again.digest, r.digest)))
			abort();
		ref_release(&again);
		free(text);
		free(err2);
		ref_release(&r);
	}
	free(err);
	free(s);
	return 0;
}
