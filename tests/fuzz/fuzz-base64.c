/*
 * libFuzzer target for lib/base64 (docker config.json "auth" values, Basic credentials).
 * Invariants besides ASan/UBSan: whatever decodes re-encodes to a string that decodes to
 * the same bytes; encoding then decoding random bytes (at least one) is the identity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf out = STRBUF_INIT;
	if (base64_decode((const char *)data, size, &out) == 0) {
		char *again = base64_encode(out.buf, out.len);
		struct strbuf back = STRBUF_INIT;
		if (base64_decode(again, strlen(again), &back) || back.len != out.len ||
		    (out.len && memcmp(back.buf, out.buf, out.len)))
			abort();
		sb_release(&back);
		free(again);
	}
	sb_release(&out);

	if (!size)
		return 0;   /* "" is refused by design (an empty "auth" is no credential) */
	char *enc = base64_encode(data, size);
	struct strbuf dec = STRBUF_INIT;
	if (base64_decode(enc, strlen(enc), &dec) || dec.len != size || (size && memcmp(dec.buf, data, size)))
		abort();
	sb_release(&dec);
	free(enc);
	return 0;
}
