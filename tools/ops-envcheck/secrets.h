/* secrets.h — credential detection shared by secrets.c and compare.c. */
#ifndef OPSKIT_ENVCHECK_SECRETS_H
#define OPSKIT_ENVCHECK_SECRETS_H

#include <stdbool.h>

#include "envcheck.h"

/* What credential format value has ("an AWS access key id"), or NULL. A long,
 * high-entropy value under a secret-looking key counts too. */
const char *secrets_format(const char *key, const char *value, const struct envcheck_opts *o);
/* Empty, short, or an obvious placeholder (changeme, <your-token>, xxxx). */
bool secrets_placeholder(const char *value);
/* What credential an entry holds ("a GitHub token", "a secret value"), or NULL; dotenvx's
 * encrypted values and public keys are none. */
const char *secrets_credential_kind(const struct dotenv_entry *e, const struct envcheck_opts *o);

#endif
