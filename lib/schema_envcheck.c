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
	CFG_KEY("envcheck.history_commits", CFG_INT, "commits of HEAD's history read for credentials once committed",
		.def = "20000", CFG_RANGE(0, 10000000)),
	CFG_KEY("envcheck.ignore", CFG_STRLIST, "check ids never reported"),
	CFG_KEY("envcheck.baseline", CFG_STRING, "baseline file used when --baseline is not given"),
	CFG_KEY("envcheck.environment", CFG_STRING, "deployment environment named by required_in: in schemas"),
	CFG_KEY("envcheck.secret_patterns", CFG_STRLIST, "extra key name globs whose values are secret"),
	CFG_KEY("envcheck.verify", CFG_BOOL, "ask each credential's issuer whether it works (network)",
		.def = "false"),
	CFG_KEY("envcheck.verify_timeout", CFG_DURATION, "bound on one --verify request",
		.def = "10s", .fallback = "defaults.timeout", CFG_RANGE(1, CFG_NO_MAX)),
	CFG_KEY("envcheck.verify_allow_token_uri", CFG_STRLIST,
		"https token URIs --verify may send a credential to besides its issuer's own"),
	CFG_END,
};
