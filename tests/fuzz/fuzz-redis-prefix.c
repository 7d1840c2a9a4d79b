/*
 * libFuzzer target for ops-redisaudit's prefix folding, prefix_of(), over key names as
 * the server returns them (any bytes): hash-tag segments ({user:42}:cart), ids (numbers,
 * UUIDs, hex, and one redis.id_patterns regex), fields after an id. The first byte picks
 * the depth (1..8) and whether the delimiters are ":" or ":/.".
 * Invariants besides ASan/UBSan: the prefix is at most 128 bytes plus the closing
 * "*"/field it may end in (bounded memory per prefix), a key without a delimiter has
 * none, and the same key always gives the same prefix.
 * FUZZ_TOOL: ops-redisaudit
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* PREFIX_MAX_LEN (prefix.c) plus the "*" or field the prefix may end with. */
#define PREFIX_BOUND (128 + 1 + 24)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool patterns_set;
	if (!patterns_set) {
		static const char *const pats[] = { "[a-z]{2}-[0-9]+" };
		size_t bad;
		char *why = NULL;
		if (prefix_set_id_patterns(pats, 1, &bad, &why))
			abort();
		patterns_set = true;
	}
	if (size < 1 || size > 4096)
		return 0;
	int depth = 1 + (data[0] & 7);
	const char *delims = data[0] & 8 ? ":/." : ":";
	const char *key = (const char *)data + 1;
	size_t len = size - 1;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	prefix_of(key, len, delims, depth, &a);
	prefix_of(key, len, delims, depth, &b);
	if (a.len != b.len || (a.len && memcmp(a.buf, b.buf, a.len)))
		abort();
	if (a.len > PREFIX_BOUND)
		abort();
	if (!memchr(key, ':', len) && (!strchr(delims, '/') || (!memchr(key, '/', len) && !memchr(key, '.', len))) &&
	    a.len)
		abort();   /* no delimiter: one segment, no prefix */
	sb_release(&a);
	sb_release(&b);
	return 0;
}
