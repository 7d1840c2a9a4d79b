#!/bin/sh
# ops-envcheck for the GitHub action (action.yml): GitHub annotations (--format github) on
# OPSKIT_FILES. Fails on any finding, or with OPSKIT_FAIL_ON=critical only on critical ones
# (exit 2) and on a check that could not run (exit 3).
set -eu

: "${OPSKIT_FILES:?set the .env files to check (input files)}"
case ${OPSKIT_FAIL_ON:-warning} in
warning | critical) ;;
*) echo "::error title=ops-envcheck::fail-on must be warning or critical"; exit 3 ;;
esac

rc=0
# Options and file names split on blanks on purpose.
# shellcheck disable=SC2086
ops-envcheck --format github ${OPSKIT_ARGS:-} $OPSKIT_FILES || rc=$?

case $rc in
0) status=ok ;; 1) status=warning ;; 2) status=critical ;; *) status=unknown ;;
esac
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	echo "status=$status" >>"$GITHUB_OUTPUT"
fi
if [ "$rc" -eq 1 ] && [ "${OPSKIT_FAIL_ON:-warning}" = critical ]; then
	exit 0
fi
exit "$rc"
