#!/bin/sh
# ops-promote on files it is named that no PEM or secret should be: --ca-file and the
# client certificate and key (1 MiB each, given to libcurl from memory), --src-creds-file,
# password_file and the auth files (REGISTRY_AUTH_FILE, docker's config.json: 1 MiB each)
# are read bounded and without blocking. /dev/zero, an endless pipe and a FIFO nobody
# writes to end at once: a TLS or credentials file exits 3 with one clear line naming the
# file (never its content); an auth file that cannot be read is warned about and the run
# goes on anonymously, as for a malformed one. Each run under timeout 20.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
. "$TEST_LIB/faults.sh"
test_require_cmd docker-registry skopeo python3

start_registry p plain || { echo "Bail out! registry p did not start"; exit 1; }
P=$REG_P
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR DOCKER_CONFIG OPSKIT_SRC_CREDS OPSKIT_DEST_CREDS
HOME=$TRASH/home && mkdir -p "$HOME" && export HOME
mkfifo idle.fifo
printf -- "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" >some.pem

# promote NAME ARGS...: a run with stderr in NAME.err and exit code in NAME.rc that must
# end within 20 s with no sanitizer report.
promote() {
	_name=$1
	shift
	run_with_timeout 20 ops-promote "$@" >"$_name.out" 2>"$_name.err"
	echo $? >"$_name.rc"
	no_crash "$_name.err" && test "$(cat "$_name.rc")" -ne 124
}
rc_of() { cat "$1.rc"; }

test_expect_success 'setup: an image in the plain registry' '
	make_test_image img pr-1 1 1024 >img.digest && push_test_image img pr-1 $P/app:pr-1
'

test_expect_success '--ca-file /dev/zero, an endless pipe, an idle FIFO: exit 3 at once, no request' '
	before=$(registry_requests p) &&
	promote zero --ca-file /dev/zero $P/app:pr-1 $P/app:a && test "$(rc_of zero)" -eq 3 &&
	clear_error zero.err "cannot read the CA file /dev/zero for $P: larger than 1 MiB$" &&
	{ yes -- "-----BEGIN " | promote pipe --ca-file /dev/stdin $P/app:pr-1 $P/app:a; } && test "$(rc_of pipe)" -eq 3 &&
	clear_error pipe.err "cannot read the CA file /dev/stdin for $P: larger than 1 MiB$" &&
	promote fifo --ca-file idle.fifo $P/app:pr-1 $P/app:a && test "$(rc_of fifo)" -eq 3 &&
	clear_error fifo.err "cannot read the CA file idle.fifo for $P: no PEM in it$" &&
	test "$(registry_requests p)" -eq "$before"
'

# the config masks the values of client_key and password_file (a path then shows as ***)
test_expect_success 'client_key /dev/zero or an idle FIFO, client_cert /dev/zero: exit 3 at once' '
	printf "promote:\n  registries:\n    p:\n      host: \"%s\"\n      client_cert: %s\n      client_key: %s\n" \
		"$P" "$TRASH/some.pem" /dev/zero >kzero.yaml &&
	promote kzero --config kzero.yaml $P/app:pr-1 $P/app:a && test "$(rc_of kzero)" -eq 3 &&
	clear_error kzero.err "cannot read the client key [^ ]* for $P: larger than 1 MiB$" &&
	sed "s|/dev/zero|$TRASH/idle.fifo|" kzero.yaml >kfifo.yaml &&
	promote kfifo --config kfifo.yaml $P/app:pr-1 $P/app:a && test "$(rc_of kfifo)" -eq 3 &&
	clear_error kfifo.err "cannot read the client key [^ ]* for $P: no PEM in it$" &&
	sed -e "s|client_cert: .*|client_cert: /dev/zero|" -e "s|client_key: .*|client_key: $TRASH/some.pem|" kzero.yaml >czero.yaml &&
	promote czero --config czero.yaml $P/app:pr-1 $P/app:a && test "$(rc_of czero)" -eq 3 &&
	clear_error czero.err "cannot read the client certificate /dev/zero for $P: larger than 1 MiB$"
'

test_expect_success '--src-creds-file and password_file over 1 MiB or /dev/zero: exit 3, the secret never shown' '
	printf "promoter:Sekr1t-Pa55\n" >big.creds && truncate -s $(((1 << 20) + 1)) big.creds &&
	promote big --src-creds-file big.creds $P/app:pr-1 $P/app:a && test "$(rc_of big)" -eq 3 &&
	test_grep "src-creds-file big.creds: cannot read it: larger than 1 MiB" big.err &&
	test_grep_not Sekr1t big.err && test ! -s big.out &&
	promote dzero --dest-creds-file /dev/zero $P/app:pr-1 $P/app:a && test "$(rc_of dzero)" -eq 3 &&
	test_grep "dest-creds-file /dev/zero: cannot read it: larger than 1 MiB" dzero.err &&
	promote cfifo --src-creds-file idle.fifo $P/app:pr-1 $P/app:a && test "$(rc_of cfifo)" -eq 3 &&
	test_grep "src-creds-file idle.fifo: expected USER:PASSWORD" cfifo.err &&
	printf "promote:\n  registries:\n    p:\n      host: \"%s\"\n      username: u\n      password_file: /dev/zero\n" \
		"$P" >pw.yaml &&
	promote pw --config pw.yaml $P/app:pr-1 $P/app:a && test "$(rc_of pw)" -eq 3 &&
	clear_error pw.err "password_file [^ ]*: cannot read it: larger than 1 MiB"
'

test_expect_success 'REGISTRY_AUTH_FILE /dev/zero or an idle FIFO, a sparse DOCKER_CONFIG: a warning, then anonymous' '
	REGISTRY_AUTH_FILE=/dev/zero promote azero $P/app:pr-1 $P/app:azero && test "$(rc_of azero)" -eq 0 &&
	test_grep "retagged" azero.out &&
	test_grep "cannot read /dev/zero: larger than 1 MiB; trying $P anonymously" azero.err &&
	REGISTRY_AUTH_FILE=$TRASH/idle.fifo promote afifo $P/app:pr-1 $P/app:afifo && test "$(rc_of afifo)" -eq 0 &&
	test_grep "retagged" afifo.out && test_grep "idle.fifo is not valid JSON" afifo.err &&
	mkdir dc && printf "{\"auths\":{\"%s\":{\"auth\":\"c2VrcjF0\"}}}" "$P" >dc/config.json &&
	truncate -s $(((1 << 20) + 1)) dc/config.json &&
	DOCKER_CONFIG=$TRASH/dc promote adc $P/app:pr-1 $P/app:adc && test "$(rc_of adc)" -eq 0 &&
	test_grep "config.json: larger than 1 MiB; trying $P anonymously" adc.err && test_grep_not c2VrcjF0 adc.err
'

test_done
