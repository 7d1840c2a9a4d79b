/* Config keys of ops-envcheck (section "envcheck" of opskit.yaml(5)). */
#include "config.h"

const struct cfg_key opskit_schema_envcheck[] = {
	{ NULL, 0, NULL },
};
