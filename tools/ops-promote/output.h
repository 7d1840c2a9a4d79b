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

/* Runs n promotions (set up by main) of one source to its targets, in order, and writes
 * one report (checks per target; the top-level keys are the first target's, "targets"
 * lists all); returns the exit code. */
int output_run_many(struct promotion *ps, size_t n, struct run_result *res);
/* ops-promote status: each tag's digest, revision, created time and referrers, and a
 * same-digest check (CRITICAL, exit 2, naming both digests, when they differ). */
int output_status(struct promotion *ps, size_t n, struct run_result *res);

#endif
