/*
 * The config keys every tool shares. Each tool declares its own section in
 * lib/schema_<tool>.c; opskit.yaml(5) and configs/opskit.example.yaml must document every
 * key listed in these tables (tests/t0030-docs.sh fails otherwise).
 */
#include "config.h"

const struct cfg_key opskit_schema_common[] = {
	CFG_KEY("defaults.format", CFG_STRING, "output format when --format is not given"),
	CFG_KEY("defaults.timeout", CFG_DURATION, "default bound on network work, per tool"),
	CFG_KEY("defaults.color", CFG_BOOL, "false turns off colour in text output even on a TTY"),
	CFG_END,
};
