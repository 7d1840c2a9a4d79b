/* The run's steps in order (policy, resolve, provenance, promote, record) and its report. */
#ifndef OPS_PROMOTE_OUTPUT_H
#define OPS_PROMOTE_OUTPUT_H

#include "cli.h"
#include "promote.h"

struct run_result {
	const struct cli_tool *tool;
	struct cli_common *common;
	const struct config *cfg;
	bool opts_force, record_tag;
	const char *git_repo, *require_ancestor, *environment;
};

/* Runs the promotion p (set up by main) and writes the report; returns the exit code. */
int run_and_report(struct promotion *p, struct run_result *res);

#endif
