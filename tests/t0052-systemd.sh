#!/bin/sh
# The example systemd units in configs/systemd/: systemd-analyze verify accepts them, and
# the textfile-collector service's commands publish the report by an atomic rename.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd systemd-analyze

UNITS=$OPSKIT_ROOT/configs/systemd
TEXTFILE=$UNITS/opskit-pgprobe-textfile.service

# unit_value FILE KEY: the values of KEY= in FILE, one a line.
unit_value() { sed -n "s/^$2=//p" "$1"; }

test_expect_success 'there are a textfile service + timer and two exporter services' '
	for u in opskit-pgprobe-textfile.service opskit-pgprobe-textfile.timer \
		opskit-pgprobe-exporter.service opskit-redisaudit-exporter.service; do
		test -f "$UNITS/$u" || { echo "missing $u"; exit 1; }
	done
'

# verify checks that ExecStart's binary exists: point /usr/bin/ops-* at the built ones.
test_expect_success 'systemd-analyze verify accepts every unit' '
	mkdir units &&
	for u in "$UNITS"/*; do
		sed "s,/usr/bin/ops-,$OPSKIT_BIN/ops-," "$u" >"units/${u##*/}" || exit 1
	done &&
	systemd-analyze verify --man=no units/* >verify.out 2>&1 ||
	{ cat verify.out; exit 1; }
'

test_expect_success 'verify output is clean (no warnings)' '
	! grep . verify.out
'

test_expect_success 'exporter units listen on loopback only, run unprivileged' '
	for u in "$UNITS"/*-exporter.service; do
		unit_value "$u" ExecStart | grep -q -- "--listen 127\\.0\\.0\\.1:[0-9]" &&
		unit_value "$u" DynamicUser | grep -qx yes || { echo "$u"; exit 1; }
	done
'

test_expect_success 'the textfile service writes the .prom in the directory it may write' '
	out=$(unit_value "$TEXTFILE" ExecStart | sed -n "s/.* -o \\([^ ]*\\).*/\\1/p") &&
	case $out in *.prom) ;; *) exit 1 ;; esac &&
	test "$(dirname "$out")" = "$(unit_value "$TEXTFILE" ReadWritePaths)"
'

# The service's own command lines, with the textfile directory moved to $TRASH and a
# config whose only target refuses connections: CRITICAL (exit 2), still published.
cat >config.yaml <<'YAML'
postgres:
  targets:
    primary:
      dsn: "host=127.0.0.1 port=1 dbname=x user=y connect_timeout=2"
YAML
test_expect_success 'its commands publish a complete report even when the probe is CRITICAL' '
	mkdir textfile &&
	start=$(unit_value "$TEXTFILE" ExecStart | sed "s,/var/lib/prometheus/node-exporter,$TRASH/textfile,g; s,^/usr/bin/,,") &&
	ok=" 0 $(unit_value "$TEXTFILE" SuccessExitStatus) " &&
	{ OPSKIT_CONFIG=$TRASH/config.yaml $start; rc=$?; } &&
	case $ok in *" $rc "*) ;; *) echo "exit $rc is a failure for systemd"; exit 1 ;; esac &&
	ls textfile >after && echo opskit-pgprobe.prom >want && test_cmp want after &&
	test_grep "^opskit_status{tool=\"ops-pgprobe\"} 2\$" textfile/opskit-pgprobe.prom
'

test_expect_success 'the timer starts the service every minute and is enabled from timers.target' '
	test "$(unit_value "$UNITS/opskit-pgprobe-textfile.timer" OnUnitActiveSec)" = 1min &&
	test "$(unit_value "$UNITS/opskit-pgprobe-textfile.timer" WantedBy)" = timers.target
'

test_done
