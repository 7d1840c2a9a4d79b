/*
 * libFuzzer target for ops-promote's reader of docker's config.json,
 * auth_docker_config(): auths (with and without scheme, the index.docker.io alias),
 * base64 "auth" values. Inputs naming credHelpers or credsStore are skipped (they run a
 * program) and PATH is emptied besides. Invariants besides ASan/UBSan: 1 gives a user and
 * a password and no error, -1 an error and no credentials, 0 nothing; an error never
 * holds the auth value nor the password it decodes to.
 * FUZZ_TOOL: ops-promote
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "promote.h"

static char dir[64], path[96];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/opskit-fuzz-docker.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/config.json", dir);
	setenv("DOCKER_CONFIG", dir, 1);
	setenv("PATH", "/nonexistent", 1);
	atexit(cleanup);
	return 0;
}

static bool runs_helper(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	bool yes = json_object_get(doc, "credHelpers") || json_object_get(doc, "credsStore");
	json_decref(doc);
	return yes || memmem(data, size, "cred", 4) || memmem(data, size, "\\u", 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (runs_helper(data, size))
		return 0;
	FILE *f = fopen(path, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	static const char *const hosts[] = { "registry.example.com", "docker.io", "127.0.0.1:5000", "ghcr.io" };
	for (size_t i = 0; i < sizeof(hosts) / sizeof(*hosts); i++) {
		char *user = NULL, *pass = NULL, *err = NULL;
		int rc = auth_docker_config(hosts[i], &user, &pass, &err);
		if (rc == 1 && (!user || !pass || err))
			abort();
		if (rc != 1 && (user || pass))
			abort();
		if ((rc == -1) != (err != NULL))
			abort();
		if (err && strlen(path) && pass && strstr(err, pass))
			abort();
		if (err) {
			json_t *doc = json_loadb((const char *)data, size, 0, NULL);
			json_t *auths = json_object_get(doc, "auths");
			const char *key;
			json_t *e;
			json_object_foreach(auths, key, e) {
				const char *a = json_string_value(json_object_get(e, "auth"));
				/* (unless the value is also part of the message's own words) */
				if (a && strlen(a) >= 6 && strstr(err, a) && !strstr(path, a) && !strstr(hosts[i], a) &&
				    !strstr("auths..auth is not base64 of user:password", a))
					abort();
			}
			json_decref(doc);
		}
		free(user);
		free(pass);
		free(err);
	}
	return 0;
}
