#!/bin/sh
# bench/promote.sh — ops-promote against skopeo copy --all --preserve-digests, side by
# side on the same local docker-registry instances (loopback only):
#   retag-single   same-repository retag of a single-platform image
#   retag-index    same-repository retag of a 2-platform index
#   mount          another repository of the same registry (no blob bytes should move)
#   copy-200M      another registry, a 2-platform image of ~200 MB (random layers)
# For each: HTTP requests the registries logged ("response completed" lines) and wall
# time (median of RUNS, each into a fresh target), both tools, and skopeo/ops-promote.
# Environment: RUNS (default 3), COPY_MB (default 200), OPSKIT_BIN, OPSKIT_ROOT.
set -u
OPSKIT_ROOT=${OPSKIT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
OPSKIT_BIN=${OPSKIT_BIN:-$OPSKIT_ROOT/bin}
PATH=$OPSKIT_BIN:$PATH
RUNS=${RUNS:-3}
COPY_MB=${COPY_MB:-200}
for c in docker-registry skopeo python3 ops-promote; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench/promote.sh: $c is not installed" >&2; exit 3; }
done

# What tests/lib/registry.sh expects from test-lib.sh.
TRASH=$(mktemp -d /tmp/opskit-bench-promote.XXXXXX)
_cleanups=
test_cleanup_add() { _cleanups="$1
$_cleanups"; }
cleanup() {
	printf '%s\n' "$_cleanups" | while IFS= read -r cmd; do [ -n "$cmd" ] && eval "$cmd" >/dev/null 2>&1; done
	rm -rf "$TRASH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
. "$OPSKIT_ROOT/tests/lib/registry.sh"
cd "$TRASH" || exit 3

start_registry a plain >/dev/null || { echo "registry a did not start" >&2; exit 3; }
start_registry b plain >/dev/null || { echo "registry b did not start" >&2; exit 3; }
A=$REG_A B=$REG_B

echo "building test images (single, 2-platform, 2 x $((COPY_MB / 2)) MB)..."
make_test_image img single 1 1048576 bench >/dev/null &&
make_test_image img index 2 1048576 bench >/dev/null &&
make_test_image img big 2 $((COPY_MB * 1048576 / 2)) bench >/dev/null &&
push_test_image img single "$A/app:single" &&
push_test_image img index "$A/app:index" &&
push_test_image img big "$A/app:big" || { echo "cannot push the test images" >&2; exit 3; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
requests() { cat "$@" | grep -c 'response completed'; }
uploads() { cat "$@" | grep 'response completed' | grep -c 'method=PUT.*/blobs/uploads/'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

SKOPEO="skopeo copy -q --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false"

# run_case TOOL SRC DST: RUNS runs, each into a fresh target (@N@ in DST is replaced by
# the tool and run number; @REG@ by a registry started fresh for the run, since skopeo
# remembers where blobs live across runs and would mount from an earlier run's
# repository). Prints "requests-of-the-last-run median-ms".
run_case() {
	_tool=$1 _src=$2 _dst=$3
	: >times
	_req=0
	i=0
	while [ $i -lt "$RUNS" ]; do
		i=$((i + 1))
		_target=$(printf '%s' "$_dst" | sed "s/@N@/$_tool$i/g")
		_logs="$REG_A_LOG $REG_B_LOG"
		case $_target in
		*@REG@*)
			start_registry "c$_tool$i" plain >/dev/null || { echo "registry did not start" >&2; exit 3; }
			eval "_reg=\$REG_C$(_reg_upper "$_tool")$i _log=\$REG_C$(_reg_upper "$_tool")${i}_LOG"
			_target=$(printf '%s' "$_target" | sed "s/@REG@/$_reg/")
			_logs="$_logs $_log"
			;;
		esac
		_n=$(requests $_logs)
		_u=$(uploads $_logs)
		_t0=$(now_ms)
		if [ "$_tool" = ops ]; then
			ops-promote -q --jobs 4 "$_src" "$_target" >/dev/null || echo "ops-promote failed: $_target" >&2
		else
			$SKOPEO "docker://$_src" "docker://$_target" || echo "skopeo failed: $_target" >&2
		fi
		_t1=$(now_ms)
		echo $((_t1 - _t0)) >>times
		_req=$(( $(requests $_logs) - _n ))
		_up=$(( $(uploads $_logs) - _u ))
		# run_case runs in $(...): its test_cleanup_add never reaches the EXIT trap, so
		# the run's own registry is stopped here.
		case $_dst in
		*@REG@*) eval "kill \$(cat \"\$REG_C$(_reg_upper "$_tool")${i}_DIR/registry.pid\")" ;;
		esac
	done
	echo "$_req $(median <times) $_up"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

printf '\n%-14s %30s %30s %18s\n' "" "ops-promote" "skopeo" "skopeo/ops-promote"
printf '%-14s %10s %11s %8s %10s %11s %8s %8s %9s\n' case requests wall_ms uploads requests wall_ms uploads requests wall
bench_case() {
	set -- "$1" "$2" "$3"
	o=$(run_case ops "$2" "$3")
	s=$(run_case skopeo "$2" "$3")
	set -- "$1" $o $s
	printf '%-14s %10s %11s %8s %10s %11s %8s %8s %9s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" \
		"$(ratio "$5" "$2")" "$(ratio "$6" "$3")"
}
bench_case retag-single "$A/app:single" "$A/app:t-@N@"
bench_case retag-index "$A/app:index" "$A/app:t-@N@"
bench_case mount "$A/app:index" "$A/m-@N@/app:1"
bench_case copy-${COPY_MB}M "$A/app:big" "@REG@/c-@N@/app:1"
echo
echo "requests: registry log lines of the last run; wall_ms: median of $RUNS runs;"
echo "uploads: blob upload PUTs of the last run (0 in mount = every blob mounted, no byte moved)."
