/*
 * libFuzzer target for connection strings: lib/redact's redact_dsn (URLs and libpq
 * key=value DSNs) and ops-pgprobe's conn_describe (libpq's parser, then the tool's
 * description of the target). Invariants besides ASan/UBSan: a password given as
 * "password=<marker>" or "user:<marker>@" never survives redact_dsn or conn_describe.
 * FUZZ_TOOL: ops-pgprobe
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "redact.h"

#define MARK "Zq9MarkerPw"

static void check_masked(const char *out)
{
	if (out && strstr(out, MARK))
		abort();
}

static void one(const char *dsn)
{
	char *r = redact_dsn(dsn);
	free(r);
	char *why = NULL;
	char *d = conn_describe(dsn, true, &why);
	free(d);
	free(why);
	redact_reset();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	one(s);
	/* the same text with a known password in each form redaction must find */
	if (!memchr(data, '\0', size) && !strstr(s, MARK)) {
		static const char *const forms[] = {
			"postgresql://u:" MARK "@%s", "password='" MARK "' %s",
			"redis://:" MARK "@%s", "rediss://user:" MARK "@h/%s",
		};
		for (size_t i = 0; i < sizeof(forms) / sizeof(*forms); i++) {
			size_t n = size + strlen(forms[i]) + 1;
			char *t = malloc(n);
			snprintf(t, n, forms[i], s);
			char *r = redact_dsn(t);
			check_masked(r);
			free(r);
			free(t);
			redact_reset();
		}
	}
	free(s);
	return 0;
}
