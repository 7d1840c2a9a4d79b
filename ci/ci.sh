#!/bin/sh
# What CI runs on a clean clone: the README's test command, then the same suite under
# ASan + UBSan, then the threaded tests under ThreadSanitizer (make check-threads).
# Installs what it needs through ci/install-deps.sh (called by make check and
# make check-threads) and the version matrix's servers (PostgreSQL 12-18, PgBouncer 1.21/1.25) through
# ci/install-peers.sh into a cache reused across runs; here a missing version fails its
# test instead of being skipped (OPSKIT_REQUIRE_PEERS=1).
set -eu
cd "$(dirname "$0")/.."
echo "== ci/install-peers.sh"
start=$(date +%s)
ci/install-deps.sh peers
ci/install-peers.sh
echo "== peers ready in $(( $(date +%s) - start ))s"
export OPSKIT_REQUIRE_PEERS=1
echo "== make check"
make check
echo "== make check SANITIZE=1"
make check SANITIZE=1
echo "== make check-threads"
make check-threads
