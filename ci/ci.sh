#!/bin/sh
# What CI runs on a clean clone: the README's test command, then the same suite under
# ASan + UBSan. Installs what it needs through ci/install-deps.sh (called by make check).
set -eu
cd "$(dirname "$0")/.."
echo "== make check"
make check
echo "== make check SANITIZE=1"
make check SANITIZE=1
