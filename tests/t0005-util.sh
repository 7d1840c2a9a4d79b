#!/bin/sh
# util: durations as config values and options read them (parse_duration_ms).
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

test_done
