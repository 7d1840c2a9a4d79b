#!/bin/sh
# debian/: dpkg-buildpackage -b builds opskit_VERSION-REV_ARCH.deb from the make dist
# tarball (in $TRASH, never in the work tree), lintian finds no error, and the package,
# installed into a scratch root with dpkg --root (nothing is installed on this machine),
# holds the four binaries, which run, the man pages, which man -l renders, the
# completions and the examples; dpkg --purge removes it all.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd dpkg-buildpackage dh lintian dpkg-deb dpkg-checkbuilddeps man git tar
# It builds its own (unsanitized) binaries: once is enough for make check SANITIZE=1 too.
[ "${SANITIZE:-}" = 1 ] && skip_all "the package does not depend on the sanitizer build (run without SANITIZE=1)"
git -C "$OPSKIT_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	skip_all "$OPSKIT_ROOT is not a git work tree (the package is built from make dist)"

TOOLS="ops-promote ops-pgprobe ops-redisaudit ops-envcheck"
VERSION=$(sed -n 's/^VERSION := //p' "$OPSKIT_ROOT/Makefile")
ARCH=$(dpkg --print-architecture)
SRC=$TRASH/opskit-$VERSION
ROOT=$TRASH/root

# Not the calling make's variables (BUILD=, BIN=, SANITIZE=, -j).
clean_env() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u BUILD -u BIN "$@"; }

clean_env make -s -C "$OPSKIT_ROOT" dist DIST_TARBALL="$TRASH/opskit_$VERSION.orig.tar.gz" >dist.log 2>&1 &&
	tar xzf "opskit_$VERSION.orig.tar.gz" || { echo "Bail out! make dist failed: $(cat dist.log)"; exit 1; }
(cd "$SRC" && dpkg-checkbuilddeps -B) >builddeps.log 2>&1 ||
	skip_all "build dependencies missing: $(sed -n 's/.*Unmet build dependencies: //p' builddeps.log) (ci/install-deps.sh build)"

# What dpkg-buildpackage would leave beside a tree it was run in (opskit_*.deb, .changes,
# .buildinfo): only those names, since the parent may be /tmp, where other tests come and go.
debs_beside() { ls "$OPSKIT_ROOT/.." 2>/dev/null | grep '^opskit_' ; }
debs_beside >parent.before

test_expect_success 'debian/changelog is at the Makefile VERSION' '
	(cd "$SRC" && dpkg-parsechangelog -S Version) >version &&
	test "${VERSION}" = "$(sed "s/-[^-]*\$//" version)"
'
DEB=opskit_$(cat version 2>/dev/null)_$ARCH.deb

test_expect_success 'dpkg-buildpackage -b -us -uc builds the package (nocheck, -j2)' '
	(cd "$SRC" && clean_env DEB_BUILD_OPTIONS="nocheck parallel=2" \
		dpkg-buildpackage -b -us -uc) >build.log 2>&1 ||
	{ tail -n 40 build.log; exit 1; }
	test -f "$DEB" || { echo "no $DEB:"; ls; exit 1; }
'

test_expect_success 'the build wrote nothing next to the work tree' '
	debs_beside >parent.after;
	test_cmp parent.before parent.after
'

test_expect_success 'compiled with the Debian hardening flags' '
	test_grep "D_FORTIFY_SOURCE=2" build.log &&
	test_grep "fstack-protector-strong" build.log &&
	test_grep "z,relro" build.log
'

test_expect_success 'lintian: no errors' '
	lintian --allow-root --fail-on error "${DEB%.deb}.changes" >lintian.out 2>&1 ||
	{ cat lintian.out; exit 1; }
	! grep "^E:" lintian.out
'

test_expect_success 'the package depends on the shared libraries it links' '
	dpkg-deb -f "$DEB" Depends >depends &&
	for lib in libc6 libpq5 libhiredis libyaml libjansson libcurl libgit2; do
		test_grep "$lib" depends || exit 1
	done
'

# dpkg --root: a dpkg database of its own in $ROOT, empty, so --force-depends (the
# libraries are this machine's). Nothing is installed on the machine itself.
# --path-include: slim container images exclude /usr/share/man and doc in dpkg.cfg.d.
scratch_dpkg() { dpkg --root="$ROOT" --log=/dev/null --force-not-root --path-include='/*' "$@"; }

test_expect_success 'dpkg --root installs it into a scratch root' '
	mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/triggers" &&
	: >"$ROOT/var/lib/dpkg/status" && : >"$ROOT/var/lib/dpkg/available" &&
	scratch_dpkg --force-depends -i "$DEB" >install.log 2>&1 || { cat install.log; exit 1; }
	scratch_dpkg -s opskit >status && test_grep "^Status: install ok installed" status &&
	test -x "$ROOT/usr/bin/ops-promote"
'

for tool in $TOOLS; do
	test_expect_success "$tool --version runs from the package" "
		'$ROOT/usr/bin/$tool' --version >out && test_grep '^$tool $VERSION' out
	"
done

test_expect_success 'man -l renders every page (sections 1, 5, 7)' '
	for page in $TOOLS; do echo "$ROOT/usr/share/man/man1/$page.1.gz"; done >pages &&
	echo "$ROOT/usr/share/man/man5/opskit.yaml.5.gz" >>pages &&
	echo "$ROOT/usr/share/man/man7/opskit.7.gz" >>pages &&
	while read -r page; do
		test -f "$page" || { echo "missing $page"; exit 1; }
		MANWIDTH=80 man -P cat -l "$page" >rendered 2>>man.err &&
		test_grep "^NAME" rendered && test_grep "^DESCRIPTION" rendered || exit 1
	done <pages &&
	! grep -v "warning.*can.t break line" man.err
'

test_expect_success 'bash and zsh completions where Debian looks for them' '
	for tool in $TOOLS; do
		test_grep "^complete -F _.* $tool\$" "$ROOT/usr/share/bash-completion/completions/$tool" &&
		test_grep "^#compdef $tool\$" "$ROOT/usr/share/zsh/vendor-completions/_$tool" || exit 1
	done
'

test_expect_success 'example config and systemd units in /usr/share/doc/opskit/examples' '
	ex=$ROOT/usr/share/doc/opskit/examples &&
	cmp "$ex/opskit.example.yaml" "$OPSKIT_ROOT/configs/opskit.example.yaml" &&
	for u in "$OPSKIT_ROOT"/configs/systemd/*; do
		cmp "$u" "$ex/systemd/${u##*/}" || exit 1
	done &&
	test -f "$ROOT/usr/share/doc/opskit/copyright"
'

test_expect_success 'no conffile, nothing in /etc, no test helper, no maintainer scripts' '
	dpkg-deb -c "$DEB" | awk "{print \$6}" >contents &&
	test_grep_not "^\\./etc" contents && test_grep_not "test-helper" contents &&
	mkdir control && dpkg-deb -e "$DEB" control &&
	! ls control | grep -E "^(conffiles|preinst|postinst|prerm|postrm)\$"
'

test_expect_success 'dpkg --purge removes every file it installed' '
	scratch_dpkg --purge opskit >purge.log 2>&1 || { cat purge.log; exit 1; }
	! find "$ROOT" -path "$ROOT/var/lib/dpkg" -prune -o ! -type d -print | grep .
'

test_done
