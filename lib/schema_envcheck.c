/* Config keys of ops-envcheck (section "envcheck" of opskit.yaml(5)). */
#include "config.h"

const struct cfg_key opskit_schema_envcheck[] = {
	CFG_KEY("envcheck.dialect", CFG_STRING, "dialect of env files: compose, python, node, shell, docker or node-env-file",
		.def = "compose"),
	CFG_KEY("envcheck.expand", CFG_BOOL, "interpolate ${VAR} in values",
		.def = "true"),
	CFG_KEY("envcheck.schema", CFG_STRING, "schema file used when --schema is not given"),
	CFG_KEY("envcheck.git", CFG_BOOL, "check whether env files with secrets are tracked by git",
		.def = "true"),
	CFG_KEY("envcheck.ignore", CFG_STRLIST, "check ids never reported"),
	CFG_KEY("envcheck.baseline", CFG_STRING, "baseline file used when --baseline is not given"),
	CFG_KEY("envcheck.environment", CFG_STRING, "deployment environment named by required_in: in schemas"),
	CFG_KEY("envcheck.secret_patterns", CFG_STRLIST, "extra key name globs whose values are secret"),
	CFG_END,
};
