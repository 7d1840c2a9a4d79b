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

#endif
