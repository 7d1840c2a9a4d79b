#!/bin/sh
# ops-pgprobe and the PEM files a DSN names, which libpq hands to OpenSSL's file loaders
# (sslrootcert, sslcert, sslkey, sslcrl, from the DSN or PGSSLROOTCERT...) and the service
# file it reads itself (PGSERVICEFILE): those wait on a FIFO nobody writes to and read
# /dev/zero for ever, beyond the probe's deadline. One that is not a regular file of at
# most 1 MiB is a bad DSN before any connection: the dsn check, exit 3, at once, the
# password never shown. A regular or a missing file is left to libpq as before. Each run
# under timeout 20.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
. "$TEST_LIB/faults.sh"
test_require_cmd psql python3

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
DSN="$PG_DSN sslmode=disable"
mkfifo idle.fifo
printf -- "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" >ca.pem
truncate -s $(((1 << 20) + 1)) big.pem

# probe NAME DSN: a JSON probe into NAME.json (stderr NAME.err, exit code NAME.rc) that
# must end within 20 s with no sanitizer report and a whole report.
probe() {
	run_with_timeout 20 ops-pgprobe --format json -o "$1.json" "$2" 2>"$1.err"
	echo $? >"$1.rc"
	no_crash "$1.err" && whole_or_absent "$1.json" && test "$(cat "$1.rc")" -ne 124
}
rc_of() { cat "$1.rc"; }
message_of() { json_get "$1.json" "\"\\n\".join(c[\"message\"] for c in d[\"checks\"] if c[\"id\"] == \"$2\")"; }

test_expect_success 'a regular sslrootcert, or a missing one, is left to libpq: the probe runs' '
	probe ok "$DSN sslrootcert=$TRASH/ca.pem" && test "$(rc_of ok)" -le 1 &&
	test "$(json_get ok.json "d[\"status\"]")" != unknown &&
	probe missing "$DSN sslcert=$TRASH/nonexistent.crt" && test "$(rc_of missing)" -le 1
'

test_expect_success 'sslrootcert=/dev/zero, sslcert on an idle FIFO: a bad DSN, exit 3, at once' '
	start=$(date +%s) &&
	probe zero "$DSN sslrootcert=/dev/zero" && test "$(rc_of zero)" -eq 3 &&
	message_of zero dsn >msg && test_grep "sslrootcert /dev/zero cannot be read: not a regular file" msg &&
	probe fifo "$DSN sslcert=$TRASH/idle.fifo" && test "$(rc_of fifo)" -eq 3 &&
	message_of fifo dsn >msg && test_grep "sslcert .*idle.fifo cannot be read: not a regular file" msg &&
	test $(( $(date +%s) - start )) -lt 15
'

test_expect_success 'PGSSLROOTCERT over 1 MiB: the same, from the environment' '
	PGSSLROOTCERT=$TRASH/big.pem probe big "$DSN" && test "$(rc_of big)" -eq 3 &&
	message_of big dsn >msg && test_grep "sslrootcert .*big.pem cannot be read: larger than 1 MiB" msg
'

test_expect_success 'sslkey=/dev/zero in a DSN with a password: refused, the password never shown' '
	probe key "host=127.0.0.1 port=$PG_PORT user=$PG_PW_USER password=Sekr1tPa55 dbname=postgres sslkey=/dev/zero" &&
	test "$(rc_of key)" -eq 3 &&
	message_of key dsn >msg && test_grep "sslkey /dev/zero cannot be read: not a regular file" msg &&
	test_grep_not Sekr1tPa55 key.json key.err
'

test_expect_success 'a service file that is an idle FIFO or /dev/zero (PGSERVICE, service=): exit 3 at once' '
	PGSERVICE=app PGSERVICEFILE=$TRASH/idle.fifo probe svc "$DSN" && test "$(rc_of svc)" -eq 3 &&
	message_of svc dsn >msg && test_grep "the service file .*idle.fifo cannot be read: not a regular file" msg &&
	PGSERVICEFILE=/dev/zero probe svz "service=app" && test "$(rc_of svz)" -eq 3 &&
	message_of svz dsn >msg && test_grep "the service file /dev/zero cannot be read: not a regular file" msg
'

test_expect_success 'a regular service file still names the server' '
	printf "[app]\nhost=127.0.0.1\nport=%s\nuser=postgres\ndbname=postgres\nsslmode=disable\n" "$PG_PORT" >svc.conf &&
	PGSERVICEFILE=$TRASH/svc.conf probe svok "service=app" && test "$(rc_of svok)" -le 1
'

test_done
