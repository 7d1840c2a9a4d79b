/*
 * libFuzzer target for lib/config: the YAML configuration and its ${VAR} / ${VAR:-default}
 * expansion (config_load_string), with the test schema of tests/helper (every key type,
 * named targets, a secret key) on top of the tools' keys. Invariants besides ASan/UBSan:
 * a load either returns a config or an error message, never both nor neither; every
 * error is located "name:line:column: ..."; every schema key reads back without crashing.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "redact.h"
#include "../helper/test-schema.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("FUZZ_SET", "value", 1);
	setenv("FUZZ_EMPTY", "", 1);
	setenv("FUZZ_SECRET", "s3cr3t-p4ss", 1);
	config_schema_set_extra(test_schema);
	return 0;
}

static void read_back(const struct config *c)
{
	for (size_t i = 0; config_schema_key(i); i++) {
		const struct cfg_key *k = config_schema_key(i);
		const char *path = k->path;
		if (strchr(path, '*'))
			continue;
		const char *s;
		long long ll;
		double d;
		bool b, pct;
		const char *const *list;
		size_t n;
		(void)cfg_str(c, path, &s);
		(void)cfg_int(c, path, &ll);
		(void)cfg_double(c, path, &d);
		(void)cfg_bool(c, path, &b);
		(void)cfg_duration_ms(c, path, &d);
		(void)cfg_threshold(c, path, &d, &pct);
		(void)cfg_list(c, path, &list, &n);
		(void)cfg_where(c, path);
	}
	const char *const *names;
	size_t n;
	if (cfg_children(c, "test.targets", &names, &n) > 0)
		for (size_t i = 0; i < n && i < 16; i++) {
			char path[512];
			const char *s;
			long long port;
			snprintf(path, sizeof(path), "test.targets.%s.url", names[i]);
			(void)cfg_str(c, path, &s);
			snprintf(path, sizeof(path), "test.targets.%s.port", names[i]);
			(void)cfg_int(c, path, &port);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *yaml = malloc(size + 1);
	memcpy(yaml, data, size);
	yaml[size] = '\0';
	char *err = NULL;
	struct config *c = config_load_string("fuzz.yaml", yaml, &err);
	if (!c == !err)
		abort();
	if (err && strncmp(err, "fuzz.yaml", 9))
		abort();
	if (c)
		read_back(c);
	config_free(c);
	free(err);
	free(yaml);
	redact_reset();
	return 0;
}
