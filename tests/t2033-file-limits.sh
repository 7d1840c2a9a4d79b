#!/bin/sh
# ops-redisaudit on files it is named that no PEM or report should be: --ca-file, --cert,
# --key (1 MiB each) and --compare (a JSON report, 64 MiB) are read bounded and without
# blocking, then parsed from memory. /dev/zero, an endless pipe and a FIFO nobody writes
# to end at once with one clear error and exit 3 (a FIFO reads as an empty file); the key
# never appears in any message. Each run under timeout 20.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
. "$TEST_LIB/faults.sh"
test_require_cmd python3 openssl

start_redis_tls || { echo "Bail out! redis-server with TLS did not start"; exit 1; }
rcli SET k v >/dev/null
mkfifo idle.fifo

# audit NAME ARGS...: a JSON run into NAME.json (stderr NAME.err, exit code NAME.rc) that
# must end within 20 s, with no sanitizer report and a whole report.
audit() {
	_name=$1
	shift
	run_with_timeout 20 ops-redisaudit --format json -o "$_name.json" "$@" 2>"$_name.err"
	echo $? >"$_name.rc"
	no_crash "$_name.err" && whole_or_absent "$_name.json" && test "$(cat "$_name.rc")" -ne 124
}
rc_of() { cat "$1.rc"; }
message_of() { json_get "$1.json" "\"\\n\".join(c[\"message\"] for c in d[\"checks\"] if c[\"id\"] == \"$2\")"; }

test_expect_success '--ca-file /dev/zero, an endless pipe, one byte over 1 MiB: refused at the cap, exit 3' '
	audit zero --ca-file /dev/zero "$REDIS_TLS_URL" && test "$(rc_of zero)" -eq 3 &&
	message_of zero connect >msg && test_grep "^cannot read the CA file /dev/zero: larger than 1 MiB$" msg &&
	{ yes "# not PEM" | audit pipe --ca-file /dev/stdin "$REDIS_TLS_URL"; } && test "$(rc_of pipe)" -eq 3 &&
	message_of pipe connect >msg && test_grep "^cannot read the CA file /dev/stdin: larger than 1 MiB$" msg &&
	truncate -s $(((1 << 20) + 1)) big.pem &&
	audit big --ca-file big.pem "$REDIS_TLS_URL" && test "$(rc_of big)" -eq 3 &&
	message_of big connect >msg && test_grep "^cannot read the CA file big.pem: larger than 1 MiB$" msg
'

test_expect_success '--ca-file on a FIFO nobody writes to: empty, no certificate, exit 3' '
	audit fifo --ca-file idle.fifo "$REDIS_TLS_URL" && test "$(rc_of fifo)" -eq 3 &&
	message_of fifo connect >msg && test_grep "^cannot read the CA file idle.fifo: no PEM certificate in it$" msg
'

test_expect_success 'a CA file of the right size still verifies the server' '
	audit ok --ca-file "$REDIS_TLS_CA" "$REDIS_TLS_URL" && test "$(rc_of ok)" -le 2 &&
	test "$(json_get ok.json "d[\"totals\"][\"keys\"]")" = 1
'

test_expect_success '--key /dev/zero or an idle FIFO, --cert /dev/zero: exit 3, the key path only' '
	audit kzero --ca-file "$REDIS_TLS_CA" --cert "$REDIS_TLS_CLIENT_CERT" --key /dev/zero "$REDIS_TLS_URL" &&
	test "$(rc_of kzero)" -eq 3 &&
	message_of kzero connect >msg && test_grep "^cannot read the private key /dev/zero: larger than 1 MiB$" msg &&
	audit kfifo --ca-file "$REDIS_TLS_CA" --cert "$REDIS_TLS_CLIENT_CERT" --key idle.fifo "$REDIS_TLS_URL" &&
	test "$(rc_of kfifo)" -eq 3 &&
	message_of kfifo connect >msg && test_grep "^cannot use the client certificate .* with its key: " msg &&
	audit czero --ca-file "$REDIS_TLS_CA" --cert /dev/zero --key "$REDIS_TLS_CLIENT_KEY" "$REDIS_TLS_URL" &&
	test "$(rc_of czero)" -eq 3 &&
	message_of czero connect >msg && test_grep "^cannot read the client certificate /dev/zero: larger than 1 MiB$" msg
'

test_expect_success 'a key that does not load: no byte of it in any output' '
	sed -n "/BEGIN/,/END/p" "$REDIS_TLS_CLIENT_KEY" | sed "3s/^..../AAAA/" >bad.key &&
	audit bad --ca-file "$REDIS_TLS_CA" --cert "$REDIS_TLS_CLIENT_CERT" --key bad.key "$REDIS_TLS_URL" &&
	test "$(rc_of bad)" -eq 3 &&
	sed -n "4p" bad.key | cut -c1-16 >secret && test -s secret &&
	! grep -F -f secret bad.json bad.err
'

# The PEM files are parsed from memory (tls.c), as OpenSSL's file loaders did: a chain
# after the client certificate is used, and an encrypted key fails at once, never asking
# for a passphrase (stdin is /dev/null, so a prompt could only hang or fail).
test_expect_success 'a client certificate followed by its chain is used; an encrypted key is refused at once' '
	cat "$REDIS_TLS_CLIENT_CERT" "$REDIS_TLS_CA" >chain.pem &&
	audit chain --ca-file "$REDIS_TLS_CA" --cert chain.pem --key "$REDIS_TLS_CLIENT_KEY" "$REDIS_TLS_URL" &&
	test "$(rc_of chain)" -le 2 && test "$(json_get chain.json "d[\"totals\"][\"keys\"]")" = 1 &&
	openssl pkey -in "$REDIS_TLS_CLIENT_KEY" -aes256 -passout pass:pem-Pass9 -out encrypted.key 2>/dev/null &&
	test_grep "ENCRYPTED" encrypted.key &&
	audit enc --ca-file "$REDIS_TLS_CA" --cert "$REDIS_TLS_CLIENT_CERT" --key encrypted.key "$REDIS_TLS_URL" \
		</dev/null && test "$(rc_of enc)" -eq 3 &&
	message_of enc connect >msg && test_grep "^cannot use the client certificate .* with its key: " msg
'

test_expect_success '--compare /dev/zero, an endless pipe, an idle FIFO: the compare check UNKNOWN, exit 3' '
	audit czero2 --compare /dev/zero "$REDIS_URL" && test "$(rc_of czero2)" -eq 3 &&
	message_of czero2 key-leak >msg && test_grep "^--compare: cannot read /dev/zero: larger than 64 MiB$" msg &&
	{ yes "{}" | audit cpipe --compare /dev/stdin "$REDIS_URL"; } && test "$(rc_of cpipe)" -eq 3 &&
	message_of cpipe key-leak >msg && test_grep "^--compare: cannot read /dev/stdin: larger than 64 MiB$" msg &&
	audit cfifo --compare idle.fifo "$REDIS_URL" && test "$(rc_of cfifo)" -eq 3 &&
	message_of cfifo key-leak >msg && test_grep "^--compare: cannot read idle.fifo: " msg
'

test_done
