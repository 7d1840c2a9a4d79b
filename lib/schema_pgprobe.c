/* Config keys of ops-pgprobe (section "pgprobe" of opskit.yaml(5)). */
#include "config.h"

const struct cfg_key opskit_schema_pgprobe[] = {
	{ NULL, 0, NULL },
};
