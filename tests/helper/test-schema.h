/*
 * test-schema — the config keys of every type (with bounds, a default and a fallback key)
 * that the test helper (t0001, t0020) and the config fuzz target load through
 * config_schema_set_extra(). One table, so the tests and the fuzzer see the same schema.
 */
#ifndef OPSKIT_TEST_SCHEMA_H
#define OPSKIT_TEST_SCHEMA_H

#include "config.h"

static const struct cfg_key test_schema[] = {
	CFG_KEY("test.string", CFG_STRING, "a string"),
	CFG_KEY("test.int", CFG_INT, "an int"),
	CFG_KEY("test.number", CFG_NUMBER, "a number"),
	CFG_KEY("test.bool", CFG_BOOL, "a bool"),
	CFG_KEY("test.duration", CFG_DURATION, "a duration"),
	CFG_KEY("test.threshold", CFG_THRESHOLD, "a threshold"),
	CFG_KEY("test.list", CFG_STRLIST, "a list"),
	CFG_KEY("test.targets.*.url", CFG_STRING, "a target's URL"),
	CFG_KEY("test.targets.*.password", CFG_STRING, "a target's password"),
	CFG_KEY("test.targets.*.port", CFG_INT, "a target's port"),
	CFG_KEY("test.bounded", CFG_INT, "an int from 1 to 10", CFG_RANGE(1, 10)),
	CFG_KEY("test.wait", CFG_DURATION, "a duration of at least 1s", CFG_RANGE(1000, CFG_NO_MAX)),
	CFG_KEY("test.defaulted", CFG_INT, "an int with a default", .def = "42"),
	CFG_KEY("test.fallback", CFG_DURATION, "test.duration when absent, else 5s", .def = "5s",
		.fallback = "test.duration"),
	CFG_END,
};

#endif
