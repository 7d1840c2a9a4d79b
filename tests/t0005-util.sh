#!/bin/sh
# util: durations as config values and options read them (parse_duration_ms); whole
# files (sb_read_file), shell variable names; base64.
. "$(dirname "$0")/test-lib.sh"

# input expected-milliseconds ("error" when malformed)
cat >durations <<'CASES'
250ms 250
30s 30000
5m 300000
1.5h 5400000
2d 172800000
45 45000
0 0
0.5 500
1e3 1000000
-1s error
5x error
5S error
0x10 error
nan error
inf error
30sec error
ms error
CASES

test_expect_success 'durations parse with units ms s m h d, bare number = seconds' '
	opskit-test-helper duration $(cut -d" " -f1 durations) >actual &&
	cut -d" " -f2 durations >expect &&
	test_cmp expect actual
'

test_expect_success 'an empty duration is malformed' '
	opskit-test-helper duration "" " 5s" >actual &&
	printf "error\nerror\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'base64 encodes with padding and decodes strictly' '
	opskit-test-helper base64-encode "" f fo foo foob "user:pa ss" >actual &&
	printf "%s\n" "" Zg== Zm8= Zm9v Zm9vYg== dXNlcjpwYSBzcw== >expect &&
	test_cmp expect actual &&
	opskit-test-helper base64-decode Zm9vYg== dXNlcjpwYSBzcw== Zm9vYg Zm9v=Yg== "Zm9*" "" >actual &&
	printf "%s\n" foob "user:pa ss" error error error error >expect &&
	test_cmp expect actual
'

test_expect_success 'sb_read_file reads a whole file, empty or binary, and honours its bound' '
	printf "a\0b\nc" >bin && : >empty &&
	opskit-test-helper read-file bin 0 >actual && cmp bin actual &&
	opskit-test-helper read-file empty 0 >actual && cmp empty actual &&
	opskit-test-helper read-file bin 5 >actual && cmp bin actual &&
	! opskit-test-helper read-file bin 4 2>err && test_grep "too large" err &&
	! opskit-test-helper read-file missing 0 2>err && test_grep "No such file" err
'

test_expect_success 'a bound also holds for what is not a regular file' '
	! (printf "123456789" | opskit-test-helper read-file /dev/stdin 4) 2>err &&
	test_grep "too large" err
'

test_expect_success 'unsafe_file_reason: what a library must not open itself' '
	printf "abcd" >four && mkfifo idle.fifo && truncate -s $(((1 << 20) + 1)) big &&
	for f in four missing idle.fifo /dev/zero big; do opskit-test-helper unsafe-file $f 1048576; done >actual &&
	opskit-test-helper unsafe-file four 3 >>actual &&
	printf "%s\n" ok ok "not a regular file" "not a regular file" "larger than 1 MiB" "larger than 3 bytes" >expect &&
	test_cmp expect actual
'

test_expect_success 'shell variable names: a letter or _, then letters, digits and _' '
	opskit-test-helper shell-name A _ a1 A_B_9 1A A-B "" "A B" "É" >actual &&
	printf "%s\n" "A yes" "_ yes" "a1 yes" "A_B_9 yes" "1A no" "A-B no" " no" "A B no" "É no" >expect &&
	test_cmp expect actual
'

# A cut that keeps whole UTF-8 characters: each counts one, as does a byte that is no
# valid character (\377, a lone continuation byte).
test_expect_success 'utf8_prefix_len: the first N characters, never half of one' '
	opskit-test-helper utf8-prefix 3 abcd "$(printf "a\303\251b\342\202\254")" "$(printf "\377\251xy")" ab "" >actual &&
	printf "%s\n" abc "$(printf "a\303\251b")" "$(printf "\377\251x")" ab "" >expect &&
	test_cmp expect actual &&
	opskit-test-helper utf8-prefix 0 abc >actual && printf "\n" >expect && test_cmp expect actual
'

test_done
