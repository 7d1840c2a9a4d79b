#!/bin/sh
# Install the Debian packages opskit needs to build, test, demo and benchmark.
# Says what it installs; without root it prints the exact apt command and fails.
# Usage: ci/install-deps.sh [build|test|bench|peers|threads]   (each level includes the
# ones before; peers adds what ci/install-peers.sh needs to build PgBouncer from source,
# threads the clang and TSan runtime of make check-threads)
set -eu

level=${1:-test}

build_pkgs="build-essential pkg-config libcurl4-openssl-dev libpq-dev libyaml-dev
libhiredis-dev libgit2-dev libjansson-dev libssl-dev libmicrohttpd-dev"
test_pkgs="mandoc perl postgresql pgbouncer redis-server redis-tools docker-registry
skopeo apache2-utils openssl python3 python3-dotenv git ca-certificates procps
debhelper dpkg-dev fakeroot lintian man-db pre-commit python3-yaml shellcheck jq
systemd prometheus curl redis-redisearch"
bench_pkgs="hyperfine check-postgres clang libclang-rt-14-dev time"
peers_pkgs="autoconf automake libtool pkg-config libevent-dev libssl-dev pandoc"
threads_pkgs="clang libclang-rt-14-dev"

case $level in
build) want=$build_pkgs ;;
test) want="$build_pkgs $test_pkgs" ;;
bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
peers) want="$build_pkgs $test_pkgs $peers_pkgs" ;;
threads) want="$build_pkgs $test_pkgs $threads_pkgs" ;;
*) echo "usage: ci/install-deps.sh [build|test|bench|peers|threads]" >&2; exit 3 ;;
esac

# The machine may carry its own Node.js (with npm); Debian's npm conflicts with it.
if [ "$level" != build ] && ! command -v node >/dev/null 2>&1; then
	want="$want nodejs npm"
fi

missing=
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "opskit needs these Debian packages:$missing" >&2
		echo "run as root:  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
		exit 3
	fi
	echo "ci/install-deps.sh: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# Debian starts daemons on install where it can; we start our own on loopback. Ours is
	# removed however apt-get ends (a left-over one would stop every later package's
	# daemon from starting); an administrator's own policy-rc.d is left as it is.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		trap 'rm -f "$policy"' EXIT
		trap 'exit 3' HUP INT TERM
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
	fi
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

# Node's dotenv is the reference loader for --dialect node; it comes from npm, not Debian.
# Without it t1010 skips the node dialect (and says why); it never fails for it.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "$level" != build ] && [ ! -f "$here/tests/node_modules/dotenv/package.json" ]; then
	if command -v npm >/dev/null 2>&1; then
		echo "ci/install-deps.sh: installing dotenv from npm into tests/node_modules" >&2
		(cd "$here/tests" &&
			timeout 300 npm install --no-audit --no-fund --silent dotenv@16 >/dev/null 2>&1) ||
			echo "ci/install-deps.sh: npm install dotenv failed; node dialect tests will be skipped" >&2
	else
		echo "ci/install-deps.sh: no npm to install dotenv; node dialect tests will be skipped" >&2
	fi
fi
exit 0
