#!/bin/sh
# The end of a query text the server cut is no place for the head of a secret: masking
# the whole secrets before it shortens the text and must not bring an unrecognised head
# (the --query-length margin's cut inside the probe's own password) within the shown
# characters; a URL password that track_activity_query_size cut before its '@' is
# masked on the server like one that kept it.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/postgres.sh"
test_require_cmd psql

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
SECRET=S3cr3t-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
URLPW=U7lpw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
head10=$(printf "%s" "$SECRET" | cut -c1-10)
test ${#SECRET} -eq 23 && test ${#URLPW} -eq 22 || { echo "Bail out! odd secret lengths"; exit 1; }

# probe NAME: every query text of the probe, as shown (JSON and text)
probe() {
	_n=$1; shift
	ops-pgprobe --session-age 500ms --idle-tx-age 500ms "$@" --format json "$PG_DSN password=$SECRET" \
		>"$_n.json" 2>"$_n.err"
	ops-pgprobe --session-age 500ms --idle-tx-age 500ms "$@" "$PG_DSN password=$SECRET" >"$_n.txt" 2>>"$_n.err"
	test -s "$_n.json" && test -s "$_n.txt"
}

# hold NAME STATEMENT: a second session left idle in a transaction after STATEMENT.
hold() {
	pg_session_in "$1" "$PG_DSN" &&
	pg_send "$1" "BEGIN; $2" &&
	pg_wait_for "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 1 &&
	sleep 1
}

# shown_nowhere NAME TEXT: TEXT (the head of a cut secret) is in none of the probe's outputs.
shown_nowhere() {
	if grep -F "$2" "$1.json" "$1.txt" "$1.err"; then
		echo "the head of a cut secret was shown"
		return 1
	fi
}

# The server keeps 1023 bytes of a statement (track_activity_query_size 1024).
kept_bytes() {
	pg_sql "SELECT octet_length(query) FROM pg_stat_activity WHERE state = 'idle in transaction'"
}

# "SELECT $q$" (10) + 14 secrets (322) + 14 fillers: a 15th secret begins at character
# 346, and the server cuts at 100 + 256 = 356, inside it. Masked, the 14 whole ones
# shrink by 20 each, and the cut head would sit at character 66 of the 100 shown.
REPEAT=$(for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do printf '%s' "$SECRET"; done)
test_expect_success 'a secret cut by the fetch margin, after whole secrets that masking shortens' '
	hold many "SELECT \$q\$${REPEAT}xxxxxxxxxxxxxx${SECRET}\$q\$ AS t;" &&
	probe many --query-length 100 &&
	pg_end_sessions &&
	test_grep "SELECT .q.\*\*\*\*\*\*" many.json &&
	shown_nowhere many "$head10"
'

# "SELECT '\''" (8) + 988 + "postgresql://app:" (17): the password begins at byte 1013
# and the server keeps 1023 bytes of the statement (track_activity_query_size 1024).
PAD=$(printf "%0988d" 0)
test_expect_success 'a URL password cut by track_activity_query_size before its @' '
	hold url "SELECT '\''${PAD}postgresql://app:${URLPW}@db/app'\'' AS dsn;" &&
	test "$(kept_bytes)" = 1023 &&
	probe url --query-length 2000 &&
	pg_end_sessions &&
	test_grep "postgresql://app:" url.json &&
	shown_nowhere url "U7lpw-"
'

# The same cut inside the probe's own password (registered: no statement needs it): it
# begins at byte 1013 of "SELECT '\''" (8) + 1005, and no --query-length margin is cut.
PAD=$(printf "%01005d" 0)
test_expect_success 'a secret cut by track_activity_query_size, --query-length past the cut' '
	hold own "SELECT '\''${PAD}${SECRET}'\'' AS pasted;" &&
	test "$(kept_bytes)" = 1023 &&
	probe own --query-length 2000 &&
	pg_end_sessions &&
	test_grep "SELECT .00000" own.json &&
	shown_nowhere own "$head10"
'

test_done
