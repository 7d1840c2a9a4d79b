/* types.h — value types of the schema (types.c) and the credential checks (creds.c). */
#ifndef OPSKIT_ENVCHECK_TYPES_H
#define OPSKIT_ENVCHECK_TYPES_H

#include <stdbool.h>

#include "util.h"

/* Returns 0 when value is of the type, else -1 with why filled ("is not an integer"):
 * never the value itself. NULL check: anything goes (string, enum) or a check elsewhere. */
typedef int (*env_type_fn)(const char *value, struct strbuf *why);

struct env_type {
	const char *name;
	env_type_fn check;
	bool numeric;   /* min/max compare numbers */
};

const struct env_type *types_find(const char *name);

/* Google service account JSON checks, step by step. Returns 0 when good, filling ok with
 * a summary (project, key bits); -1 with why naming the failed step; creds_gcp_b64 also
 * 1: good, but its base64 is wrapped, URL-safe or unpadded (why says which). Registers the
 * private key and its id as secrets. */
int creds_gcp_b64(const char *value, struct strbuf *ok, struct strbuf *why);
int creds_gcp_file(const char *path, struct strbuf *ok, struct strbuf *why);
int creds_gcp_json(const char *value, struct strbuf *ok, struct strbuf *why);
/* The service account's JSON text, from a value of schema type type (-b64, -file, -json),
 * appended to json: 0, or -1 when it cannot be read or decoded (the checks above say why). */
int creds_gcp_text(const char *type, const char *value, struct strbuf *json);

/* uri's scheme and host (allocated; an IPv6 host in brackets): 0, or -1 when uri does not
 * parse as a URL. */
int creds_uri_parts(const char *uri, char **scheme, char **host);
/* host is a loopback address literal (127.0.0.0/8, [::1]); a name never is. */
bool creds_host_is_loopback(const char *host);

#endif
