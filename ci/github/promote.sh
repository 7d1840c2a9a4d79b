#!/bin/sh
# ops-promote for the GitHub action (action.yml): promote OPSKIT_SOURCE to OPSKIT_TARGET
# by OPSKIT_DIGEST, with the provenance check when OPSKIT_REQUIRE_ANCESTOR is set. Writes
# the step outputs (digest, action, status) and a step summary with the source, target,
# digest and referrers. Exits with ops-promote's status. Needs ops-promote and jq.
set -eu

: "${OPSKIT_SOURCE:?set the source image (input source)}"
: "${OPSKIT_TARGET:?set the target tag (input target)}"
: "${OPSKIT_DIGEST:?set the digest the build job pushed (input digest)}"
report=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/opskit-promote.json

set -- --format json -o "$report" --digest "$OPSKIT_DIGEST"
if [ -n "${OPSKIT_REQUIRE_ANCESTOR:-}" ]; then
	set -- "$@" --git-repo "${OPSKIT_GIT_REPO:-.}" --require-ancestor "$OPSKIT_REQUIRE_ANCESTOR"
fi
if [ -n "${OPSKIT_ENVIRONMENT:-}" ]; then
	set -- "$@" --environment "$OPSKIT_ENVIRONMENT"
fi
if [ "${OPSKIT_DRY_RUN:-false}" = true ]; then
	set -- "$@" --dry-run
fi
# OPSKIT_ARGS: further options, split on blanks on purpose.
# shellcheck disable=SC2086
set -- "$@" ${OPSKIT_ARGS:-}

rc=0
ops-promote "$@" -- "$OPSKIT_SOURCE" "$OPSKIT_TARGET" || rc=$?
if [ ! -s "$report" ]; then
	echo "::error title=ops-promote::ops-promote wrote no report (exit $rc)"
	exit "$rc"
fi

# Step outputs, for later steps and jobs.
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	jq -r '"digest=\(.digest // "")", "action=\(.action // "")", "status=\(.status)"' \
		"$report" >>"$GITHUB_OUTPUT"
fi

# Annotations for the checks that did not pass.
jq -r '.checks[] | select(.status != "ok")
	| "::\(if .status == "warning" then "warning" else "error" end) title=ops-promote \(.id)::\(.message)\(if .hint then " (\(.hint))" else "" end)"' \
	"$report"

# The summary: what was promoted, by which digest, with how many referrers.
summary=${GITHUB_STEP_SUMMARY:-/dev/stdout}
jq -r '
	def cell: tostring | gsub("\\|"; "\\|");
	"### ops-promote: \(.action // "failed") (\(.status))",
	"",
	"| | |",
	"|---|---|",
	"| source | `\(.source // "" | cell)` |",
	"| target | `\(.target // "" | cell)` |",
	"| digest | `\(.digest // "-" | cell)` |",
	"| previous digest | `\(.previous_digest // "-" | cell)` |",
	"| referrers | \(.referrers // 0) |",
	"| verified | \(if .verified then "yes (\(.verified_by))" else "no" end) |",
	"",
	(.checks[] | select(.status != "ok") | "- **\(.status)** \(.id): \(.message | cell)")
' "$report" >>"$summary"
exit "$rc"
