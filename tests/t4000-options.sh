#!/bin/sh
# ops-pgprobe's options, thresholds and config errors without a server
# (data-driven cases in tests/data/pgprobe/<case>/, laid out as tests/README says).
. "$(dirname "$0")/test-lib.sh"

test_data_cases "$TEST_DATA/pgprobe"

test_expect_success 'the password of a refused DSN never shows' '
	ops-pgprobe --format json "host=127.0.0.1 port=1 password=NotShown1234" >out 2>err; test $? -eq 2 &&
	test_grep_not NotShown1234 out && test_grep_not NotShown1234 err
'

# Accepted here (no usage error: the run reaches the connection); that each level takes
# effect on its check is tested against live servers in t4003 (and t4004 for
# replication-lag).
test_expect_success 'every check id with thresholds is accepted by -w and -c' '
	for id in connections application-share idle-in-transaction idle-in-transaction-count \
		long-queries lock-waits oldest-transaction idle-connections connect query \
		replication-lag pgbouncer-waiting pgbouncer-maxwait pgbouncer-saturation pgbouncer-clients \
		role-connection-limit database-connection-limit prepared-transactions oldest-xmin; do
		case $id in
		idle-in-transaction|long-queries|oldest-transaction|connect|query|replication-lag|pgbouncer-maxwait|prepared-transactions) v=2s ;;
		oldest-xmin) v=1000 ;;
		*) v=50% ;;
		esac
		ops-pgprobe --format json --timeout 200ms -w $id=$v -c $id=$v "host=127.0.0.1 port=1" >out 2>err
		test $? -eq 2 && ! test -s err && test_grep "\"id\": \"connect\"" out ||
			{ echo "$id=$v"; cat err; return 1; }
	done &&
	{ ops-pgprobe --timeout 200ms -w nosuch-check=1 "host=127.0.0.1 port=1" >out 2>err; test $? -eq 3; } &&
	test_grep "nosuch-check" err && ! test -s out
'

test_expect_success 'every check id is documented in the man page' '
	for id in connect query connections application-share idle-in-transaction \
		idle-in-transaction-count long-queries lock-waits oldest-transaction idle-connections \
		replication-lag pool-sizing pgbouncer-connect pgbouncer-waiting pgbouncer-maxwait \
		pgbouncer-saturation pgbouncer-clients visibility role-connection-limit \
		database-connection-limit prepared-transactions oldest-xmin; do
		grep -q "^\.It Cm $id\$" "$OPSKIT_ROOT/man/ops-pgprobe.1" || { echo "$id"; return 1; }
	done
'

test_expect_success 'a short password in a target that is no DSN is masked where the name is echoed' '
	{ ops-pgprobe "app:pw1@db:5432/app" >out 2>err; test $? -eq 3; } &&
	test_grep "\"app:\*\*\*@db:5432/app\" is neither a DSN" err &&
	! grep -e pw1 out err
'

test_done
