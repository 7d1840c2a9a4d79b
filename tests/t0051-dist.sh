#!/bin/sh
# make dist: opskit-VERSION.tar.gz holds every tracked file under opskit-VERSION/, nothing
# else, is reproducible, and the unpacked tree builds and passes t0001 (the whole of
# make check from it is CI's job, too slow here).
. "$(dirname "$0")/test-lib.sh"
test_require_cmd git tar gzip prove
# It builds its own (unsanitized) binaries: once is enough for make check SANITIZE=1 too.
[ "${SANITIZE:-}" = 1 ] && skip_all "the tarball does not depend on the sanitizer build (run without SANITIZE=1)"
git -C "$OPSKIT_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	skip_all "$OPSKIT_ROOT is not a git work tree (make dist packs the tracked files)"

VERSION=$(sed -n 's/^VERSION := //p' "$OPSKIT_ROOT/Makefile")
NAME=opskit-$VERSION

# make from the project, without the calling make's variables (BUILD=, BIN=, SANITIZE=).
run_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE make "$@"
}

test_expect_success 'make dist DIST_TARBALL=... writes the tarball there, nothing in the tree' '
	run_make -C "$OPSKIT_ROOT" dist DIST_TARBALL="$TRASH/$NAME.tar.gz" >dist.log 2>&1 &&
	test -s "$NAME.tar.gz" && gzip -t "$NAME.tar.gz" &&
	ls -a "$OPSKIT_ROOT" >after && ! grep "opskit-.*tar" after
'

test_expect_success 'it holds exactly the tracked files, under opskit-VERSION/' '
	(cd "$OPSKIT_ROOT" && git ls-files) | sed "s,^,$NAME/," | LC_ALL=C sort >expect &&
	tar tzf "$NAME.tar.gz" | grep -v "/\$" | LC_ALL=C sort >actual &&
	test_cmp expect actual
'

test_expect_success 'everything make check needs is in it; no build products' '
	for f in Makefile README.md ci/install-deps.sh ci/gen-completion.sh tests/test-lib.sh \
		tests/lib/registry.sh tests/t0001-cli.sh configs/opskit.example.yaml \
		man/opskit.7 lib/cli.c tools/ops-promote/tool.mk \
		debian/control debian/rules; do
		grep -qx "$NAME/$f" actual || { echo "missing: $f"; exit 1; }
	done &&
	! grep -E "/(bin|build|node_modules)/|\\.o\$|\\.d\$|\\.deb\$|\\.tar\\.gz\$" actual
'

test_expect_success 'files keep their modes; owner is root; no absolute or .. paths' '
	tar tzvf "$NAME.tar.gz" >long &&
	grep -q "^-rwx.* $NAME/ci/install-deps.sh\$" long &&
	grep -q "^-rw-r--r-- .* $NAME/Makefile\$" long &&
	! grep -v " 0/0 " long &&
	! grep -E " /| \\.\\./" actual
'

test_expect_success 'the tarball is reproducible (same bytes twice)' '
	run_make -C "$OPSKIT_ROOT" dist DIST_TARBALL="$TRASH/again.tar.gz" >/dev/null 2>&1 &&
	cmp "$NAME.tar.gz" again.tar.gz
'

test_expect_success 'make builds from the unpacked tarball' '
	mkdir unpacked && tar xzf "$NAME.tar.gz" -C unpacked &&
	run_make -C "unpacked/$NAME" -j2 >build.log 2>&1 ||
	{ tail -n 30 build.log; exit 1; }
'

test_expect_success 't0001 passes from the unpacked tree, with its binaries' '
	cd "unpacked/$NAME" &&
	OPSKIT_ROOT=$PWD OPSKIT_BIN=$PWD/bin prove tests/t0001-cli.sh >prove.log 2>&1 ||
	{ cat prove.log; exit 1; }
'

test_expect_success 'make dist outside a git work tree fails and says why' '
	cd "unpacked/$NAME" &&
	{ GIT_CEILING_DIRECTORIES=$TRASH run_make dist >out 2>&1; test $? -eq 2; } &&
	test_grep "needs the git work tree" out
'

test_done
