/*
 * secret_rules.h — which keys and values are secret, and which values hold a credential.
 * Decisions on text only (secret_rules.c): nothing here registers a value for masking
 * (mask.c does) or reports; every module of the tool may call it, it calls none of them.
 */
#ifndef OPSKIT_ENVCHECK_SECRET_RULES_H
#define OPSKIT_ENVCHECK_SECRET_RULES_H

#include <stdbool.h>

#include "envcheck.h"

/* A secret-looking name (lib/redact), or one the schema or config declare secret. */
bool is_secret_key(const char *key, const struct envcheck_opts *o);
/* Whether this key's value is masked: a secret key's, except where a secret-looking name
 * only holds the path to the secret (see redact_value_is_path); that exception never
 * applies to keys the schema or config declare secret. */
bool is_secret_value(const char *key, const char *value, const struct envcheck_opts *o);
/* A Google service account pasted as JSON ({..."type": "service_account"...}), whatever
 * the key's name: it holds a private key, so it is secret everywhere. */
bool is_service_account_value(const char *value);
/* The schema says key is secret (secret: true), or mask.c found its value taken from the
 * checker's environment: from now on it is treated as one. */
void mark_secret_key(const char *key);
void forget_secret_keys(void); /* the keys mark_secret_key() recorded */

/* One credential format: what it is called in messages, and the key that must be set
 * beside it (a temporary AWS key is useless without its session token), or NULL. */
struct credential_rule {
	const char *id, *what;
	const char *literal[5];          /* a string every match holds, checked before the regex */
	const char *pattern;
	const char *placeholder_suffix;  /* a match ending so is documentation's fake */
	const char *needs;
};
/* The first credential format value matches with a real-looking value, or NULL. */
const struct credential_rule *credential_rule_of(const char *value);
/* What credential format value has ("an AWS access key id"), or NULL. A long,
 * high-entropy value under a secret-looking key counts too. */
const char *credential_format(const char *key, const char *value, const struct envcheck_opts *o);
/* Empty, short, or an obvious placeholder (changeme, <your-token>, xxxx). */
bool is_placeholder_value(const char *value);
/* What credential an entry holds ("a GitHub token", "a secret value"), or NULL; dotenvx's
 * encrypted values and public keys are none. */
const char *credential_kind(const struct dotenv_entry *e, const struct envcheck_opts *o);

#endif
