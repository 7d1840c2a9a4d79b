/* Config keys of ops-redisaudit (section "redisaudit" of opskit.yaml(5)). */
#include "config.h"

const struct cfg_key opskit_schema_redisaudit[] = {
	{ NULL, 0, NULL },
};
