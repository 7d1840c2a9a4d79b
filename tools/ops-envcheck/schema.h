/* schema.h — an envcheck schema (schema_load.c reads it, schema.c applies it). */
#ifndef OPSKIT_ENVCHECK_SCHEMA_H
#define OPSKIT_ENVCHECK_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

/* Strings point into the YAML document, which lives as long as the schema. */
struct schema_key {
	const char *name, *type, *deprecated, *description, *example, *pattern;
	bool required, secret, has_min, has_max;
	bool allow_empty;             /* required is met by KEY= (default: it is not) */
	const char **required_in;     /* required only in these environments (--environment) */
	size_t nrequired_in;
	double min, max;              /* durations in milliseconds */
	long min_length, max_length;  /* -1 = not set */
	const char **values;          /* enum */
	size_t nvalues;
	const char **requires;
	size_t nrequires;
	int line;
};

struct schema_feature {
	const char *name, *description;
	const char **keys;
	size_t nkeys;
	bool all;                     /* all_of: every key; any_of: one is enough */
	enum status when_absent;
};

enum rule_kind { RULE_LTE, RULE_POOL };
struct schema_rule {
	enum rule_kind kind;
	const char *a, *b;            /* lte: a <= b; pool: a = pool_max, b = max_connections */
	const char *workers, *headroom;
	int line;
};

struct schema {
	const char *path;
	struct schema_key *keys;
	size_t nkeys;
	struct schema_feature *features;
	size_t nfeatures;
	struct schema_rule *rules;
	size_t nrules;
	enum status unknown_keys;     /* severity of keys the schema does not know */
	void *doc;                    /* yaml_document_t */
};

struct schema *schema_load(const char *path, char **err);
void schema_free(struct schema *s);
const struct schema_key *schema_find_key(const struct schema *s, const char *name);

#endif
