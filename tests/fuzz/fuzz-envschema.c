/*
 * libFuzzer target for ops-envcheck's env schema loader, schema_load(): keys with type,
 * required, secret, min/max, lengths, enum values, pattern, requires, deprecated;
 * features (all_of/any_of) and rules (lte, pool). The input is written to a file, as the
 * loader reads one. Invariants besides ASan/UBSan: success and *err are exclusive; every
 * key has a name and is found again by schema_find_key(); every rule and feature names
 * its keys.
 * FUZZ_TOOL: ops-envcheck
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redact.h"
#include "schema.h"

static char path[64];

static void cleanup(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/tmp/opskit-fuzz-schema.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	char *err = NULL;
	struct schema *s = schema_load(path, &err);
	if (!s == !err)
		abort();
	if (s) {
		for (size_t i = 0; i < s->nkeys; i++)
			if (!s->keys[i].name || !schema_find_key(s, s->keys[i].name))
				abort();
		for (size_t i = 0; i < s->nrules; i++)
			if (!s->rules[i].a || !s->rules[i].b)
				abort();
		for (size_t i = 0; i < s->nfeatures; i++)
			for (size_t j = 0; j < s->features[i].nkeys; j++)
				if (!s->features[i].keys[j])
					abort();
		schema_free(s);
	}
	free(err);
	redact_reset();
	return 0;
}
