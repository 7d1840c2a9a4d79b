#!/bin/sh
# bench/run.sh [NAME...] — run the benchmarks (bench/NAME.sh), each side by side with its
# peer tool, and print the ratios. Every bench targets only loopback servers it starts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
	set -- $(cd "$here" && ls [a-z]*.sh 2>/dev/null | grep -v '^run\.sh$' | sed 's/\.sh$//')
fi
rc=0
for b in "$@"; do
	echo "=== bench: $b"
	sh "$here/$b.sh" || rc=1
done
exit $rc
