/* Config keys of ops-envcheck (section "envcheck" of opskit.yaml(5)). */
#include "config.h"

const struct cfg_key opskit_schema_envcheck[] = {
	{ "envcheck.dialect", CFG_STRING, "dialect of env files: compose, python, node or shell" },
	{ "envcheck.expand", CFG_BOOL, "interpolate ${VAR} in values (default true)" },
	{ "envcheck.schema", CFG_STRING, "schema file used when --schema is not given" },
	{ "envcheck.git", CFG_BOOL, "check whether env files with secrets are tracked by git" },
	{ "envcheck.secret_patterns", CFG_STRLIST, "extra key name globs whose values are secret" },
	{ NULL, 0, NULL },
};
