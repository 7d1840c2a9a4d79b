#!/bin/sh
# The README's first commands on a bare machine: `make demo`, `make check` and
# `make bench` install the dependencies (ci/install-deps.sh) before anything is
# compiled, with or without -j. The machine running this test has the packages already, so the order is
# recorded with stand-ins: INSTALL_DEPS= a script that logs "deps LEVEL start" and, a
# second later, "deps LEVEL done"; CC= a compiler that logs "cc" and, as on a bare Debian,
# fails while the dependencies are not installed (no curl/curl.h). Builds go to $TRASH.
. "$(dirname "$0")/test-lib.sh"

LOG=$TRASH/order.log

cat >fake-deps <<EOF
#!/bin/sh
echo "deps \$1 start" >>'$LOG'
sleep 1
echo "deps \$1 done" >>'$LOG'
: >'$TRASH/installed'
EOF
# The failing stand-in: what a bare machine does when the deps step did not happen.
cat >fake-deps-fails <<EOF
#!/bin/sh
echo "deps \$1 refused" >>'$LOG'
echo 'opskit needs these Debian packages: libcurl4-openssl-dev (stand-in)' >&2
exit 3
EOF
# cc: logs; without the deps, fails as gcc does; with them, writes its -o file (empty: the
# stand-in ar and the link accept it) unless FAKE_CC_FAIL=1 stops the build there.
cat >fake-cc <<EOF
#!/bin/sh
echo cc >>'$LOG'
if ! test -e '$TRASH/installed'; then
	echo 'lib/http.c:1:10: fatal error: curl/curl.h: No such file or directory' >&2
	exit 1
fi
test "\${FAKE_CC_FAIL:-}" = 1 && { echo 'fake-cc: stopping the build here' >&2; exit 1; }
while test \$# -gt 0; do
	if test "\$1" = -o; then : >"\$2"; fi
	shift
done
exit 0
EOF
cat >fake-prove <<EOF
#!/bin/sh
echo prove >>'$LOG'
EOF
chmod +x fake-deps fake-deps-fails fake-cc fake-prove

# bare_make [VAR=VALUE...] TARGET...: make in the project with the stand-ins, a fresh
# build tree and none of the calling make's variables.
bare_make() {
	rm -rf "$TRASH/build" "$TRASH/bin" "$TRASH/installed" && : >"$LOG" &&
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
		make -C "$OPSKIT_ROOT" BUILD="$TRASH/build" BIN="$TRASH/bin" \
		INSTALL_DEPS="$TRASH/fake-deps" CC="$TRASH/fake-cc" AR=ar "$@"
}

# deps_first LEVEL: the log begins with the whole deps step, and something was compiled
# by a sub-make that shared the jobs (make warns when a recursive make is hidden from it).
deps_first() {
	printf 'deps %s start\ndeps %s done\n' "$1" "$1" >expect &&
	head -n 2 "$LOG" >actual && test_cmp expect actual &&
	test_grep '^cc$' "$LOG" && test_grep_not 'jobserver unavailable' out
}

test_expect_success 'the stand-in compiler fails like a bare machine without the deps step' '
	: >"$LOG" && rm -f installed &&
	! ./fake-cc -c -o x.o x.c 2>err && test_grep "curl/curl.h: No such file" err
'

for j in -j1 -j4; do
	test_expect_success "make $j demo: the deps step is done before the first compile" "
		FAKE_CC_FAIL=1 bare_make $j demo >out 2>&1; test \$? -ne 0 &&
		deps_first test && test_grep 'fake-cc: stopping the build here' out &&
		test_grep_not 'curl/curl.h' out
	"
	test_expect_success "make $j bench: the deps step (bench) is done before the first compile" "
		FAKE_CC_FAIL=1 bare_make $j bench >out 2>&1; test \$? -ne 0 &&
		deps_first bench && test_grep_not 'curl/curl.h' out
	"
	test_expect_success "make $j check: deps, then the build, then the tests" "
		bare_make $j PROVE='$TRASH/fake-prove' MANPAGES= check >out 2>&1 ||
		{ cat out; exit 1; }
		deps_first test && test_grep_not 'curl/curl.h' out &&
		test \"\$(tail -n 1 '$LOG')\" = prove &&
		test -e '$TRASH/bin/ops-promote' && test -e '$TRASH/bin/opskit-test-helper'
	"
done

test_expect_success 'make -j4 check SANITIZE=1: the same order' '
	bare_make -j4 PROVE="$TRASH/fake-prove" MANPAGES= SANITIZE=1 check >out 2>&1 ||
	{ cat out; exit 1; }
	deps_first test && test "$(tail -n 1 "$LOG")" = prove
'

for target in demo check bench; do
	test_expect_success "make -j4 $target: a failed deps step stops it before any compile" "
		bare_make -j4 INSTALL_DEPS='$TRASH/fake-deps-fails' PROVE=false $target >out 2>&1
		test \$? -ne 0 && test_grep 'opskit needs these Debian packages' out &&
		test_grep_not '^cc$' '$LOG' && test_grep '^deps .* refused$' '$LOG'
	"
done

test_expect_success 'make -n -j4 demo and check: the real ci/install-deps.sh, then compiles' '
	for target in demo check; do
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
			make -C "$OPSKIT_ROOT" -n -j4 BUILD="$TRASH/build-n" BIN="$TRASH/bin-n" $target >n.out 2>&1 ||
			{ cat n.out; exit 1; }
		grep -v "^make" n.out | grep . >lines &&
		head -n 1 lines >first && test_grep "^ci/install-deps.sh test$" first &&
		sed 1d lines >rest && test_grep " -c -o " rest || exit 1
	done
'

test_expect_success 'the README says make demo and make check first, and both install the deps' '
	sed -n "/^## Quick start/,/^## /p" "$OPSKIT_ROOT/README.md" >quick &&
	test_grep "^    make demo " quick && test_grep "^    make check " quick &&
	test_grep "ci/install-deps.sh" quick
'

test_done
