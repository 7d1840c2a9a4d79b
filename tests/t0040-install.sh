#!/bin/sh
# make install PREFIX=/usr DESTDIR=...: the four binaries, every man page and the shell
# completions, nothing else.
# Builds in its own BUILD/BIN under $TRASH so it does not disturb other builds.
. "$(dirname "$0")/test-lib.sh"

TOOLS="ops-promote ops-pgprobe ops-redisaudit ops-envcheck"
ROOT=$TRASH/root

# make from the project, without the calling make's variables (BUILD=, BIN=, SANITIZE=).
run_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
		make -C "$OPSKIT_ROOT" -j2 BUILD="$TRASH/build" BIN="$TRASH/bin" "$@"
}

test_expect_success 'make install PREFIX=/usr DESTDIR=... succeeds' '
	run_make PREFIX=/usr DESTDIR="$ROOT" install >install.log 2>&1 ||
	{ tail -n 30 install.log; exit 1; }
'

for tool in $TOOLS; do
	test_expect_success "$tool is installed in /usr/bin and runs" "
		test -x '$ROOT/usr/bin/$tool' &&
		'$ROOT/usr/bin/$tool' --version >out && test_grep '^$tool [0-9]' out
	"
	test_expect_success "man1/$tool.1 is installed" "
		test -f '$ROOT/usr/share/man/man1/$tool.1' ||
		{ echo 'missing: usr/share/man/man1/$tool.1 (man/$tool.1 not written yet?)'; exit 1; }
	"
done

test_expect_success 'man5/opskit.yaml.5 and man7/opskit.7 are installed' '
	test -f "$ROOT/usr/share/man/man5/opskit.yaml.5" &&
	test -f "$ROOT/usr/share/man/man7/opskit.7"
'

test_expect_success 'installed pages render' '
	for page in "$ROOT"/usr/share/man/man*/*; do
		mandoc -T utf8 "$page" >/dev/null || exit 1
	done
'

test_expect_success 'installed pages are not executable; binaries are' '
	! find "$ROOT/usr/share/man" -type f -perm /111 | grep . &&
	for tool in $TOOLS; do test -x "$ROOT/usr/bin/$tool" || exit 1; done
'

test_expect_success 'bash and zsh completions are installed where bash-completion and zsh look' '
	for tool in $TOOLS; do
		test_grep "^complete -F _.* $tool$" "$ROOT/usr/share/bash-completion/completions/$tool" &&
		test_grep "^#compdef $tool$" "$ROOT/usr/share/zsh/site-functions/_$tool" || exit 1
	done
'

test_expect_success 'nothing is installed but the binaries, man pages and completions' '
	(cd "$ROOT" && find . -type f | sort) >installed &&
	{
		for tool in $TOOLS; do
			echo "./usr/bin/$tool"
			echo "./usr/share/bash-completion/completions/$tool"
			echo "./usr/share/zsh/site-functions/_$tool"
		done
		(cd "$OPSKIT_ROOT/man" && for p in *.[157]; do echo "./usr/share/man/man${p##*.}/$p"; done)
	} | sort >expect &&
	test_cmp expect installed
'

test_expect_success 'the build stayed in $TRASH (no bin/ or build/ written for it)' '
	test -x "$TRASH/bin/ops-envcheck" && test -d "$TRASH/build/lib"
'

test_done
