/* Config keys of ops-promote (section "promote" of opskit.yaml(5)). */
#include "config.h"

const struct cfg_key opskit_schema_promote[] = {
	{ NULL, 0, NULL },
};
