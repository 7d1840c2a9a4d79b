/*
 * libFuzzer target for ops-redisaudit's target parser, conn_target_parse():
 * "redis[s]://[user:pass@]host[:port][/db]", "[v6]:port", unix socket paths.
 * Invariants besides ASan/UBSan: success and *err are exclusive; a parsed target has a
 * port in 1..65535 or a socket path, a db >= 0, and its password is registered with
 * lib/redact (redact_text masks it).
 * FUZZ_TOOL: ops-redisaudit
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "redisaudit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct target t;
	memset(&t, 0, sizeof(t));
	char *err = NULL;
	int rc = conn_target_parse(s, &t, &err);
	if ((rc == 0) == (err != NULL))
		abort();
	if (rc == 0) {
		if (!t.path && (!t.host || t.port < 1 || t.port > 65535))
			abort();
		if (t.db < 0)
			abort();
		/* the password is registered: every message masks it */
		if (t.password && strlen(t.password) >= 8) {
			char *masked = redact_text(t.password);
			if (strstr(masked, t.password))
				abort();
			free(masked);
		}
		conn_target_free(&t);
	}
	free(err);
	free(s);
	redact_reset();
	return 0;
}
