#!/bin/sh
# ops-redisaudit's exact pass: after the scan the keys of the top tables are measured again
# with MEMORY USAGE ... SAMPLES 0, except those with more elements than
# redis.exact_max_elements ("estimated"); tables and JSON say how each size was measured,
# on a standalone server and on each node of a cluster.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }
rcli CONFIG SET maxmemory 1gb >/dev/null

# Hashes of 300 fields with values from 1 to 3000 bytes: 5 sampled fields rarely give
# the exact size. A string, and a list of 500 elements.
rcli EVAL "
for h = 1, 2 do
  for i = 1, 300 do redis.call('HSET', 'h:' .. h, 'f' .. i, string.rep('x', (i * 37 * h) % 3000 + 1)) end
end
redis.call('SET', 's:1', string.rep('s', 20000))
for i = 1, 500 do redis.call('RPUSH', 'l:1', string.rep('e', i)) end
return 1" 0 >/dev/null

EXACT_H1=$(rcli MEMORY USAGE h:1 SAMPLES 0) EXACT_H2=$(rcli MEMORY USAGE h:2 SAMPLES 0)
SAMPLED_L=$(rcli MEMORY USAGE l:1 SAMPLES 5) STR=$(rcli MEMORY USAGE s:1)
export EXACT_H1 EXACT_H2 SAMPLED_L STR

test_expect_success 'setup: sampling misjudges the hashes' '
	test "$(rcli MEMORY USAGE h:1 SAMPLES 5)" != "$EXACT_H1"
'

test_expect_success 'top keys are measured exactly: SAMPLES 0 sizes, marked exact' '
	ops-redisaudit --format json "$REDIS_URL" >out.json &&
	json_assert out.json "
import os
top = {k[\"key\"]: k for k in d[\"top_keys\"]}
assert top[\"h:1\"][\"memory_bytes\"] == int(os.environ[\"EXACT_H1\"]), top[\"h:1\"]
assert top[\"h:2\"][\"memory_bytes\"] == int(os.environ[\"EXACT_H2\"]), top[\"h:2\"]
assert top[\"s:1\"][\"memory_bytes\"] == int(os.environ[\"STR\"]), top[\"s:1\"]
assert all(k[\"memory_method\"] == \"exact\" for k in top.values()), top
h = d[\"top_keys_by_type\"][\"hash\"]
assert [k[\"memory_method\"] for k in h] == [\"exact\", \"exact\"], h
assert {k[\"key\"]: k[\"memory_bytes\"] for k in h} == {\"h:1\": int(os.environ[\"EXACT_H1\"]), \"h:2\": int(os.environ[\"EXACT_H2\"])}, h
"
'

test_expect_success 'a key over redis.exact_max_elements keeps its sampled size: estimated' '
	printf "redis:\n  exact_max_elements: 400\n" >bound.yaml &&
	ops-redisaudit --config bound.yaml --format json "$REDIS_URL" >bound.json &&
	json_assert bound.json "
import os
top = {k[\"key\"]: k for k in d[\"top_keys\"]}
assert top[\"l:1\"][\"memory_method\"] == \"estimated\", top[\"l:1\"]
assert top[\"l:1\"][\"memory_bytes\"] == int(os.environ[\"SAMPLED_L\"]), top[\"l:1\"]
assert top[\"h:1\"][\"memory_method\"] == \"exact\", top[\"h:1\"]
"
'

test_expect_success 'text: the SIZE column of the largest keys' '
	ops-redisaudit --config bound.yaml "$REDIS_URL" >out.txt &&
	test_grep "^  KEY  *TYPE  *MEMORY  *SIZE  *TTL" out.txt &&
	test_grep "^  l:1  *list .* estimated " out.txt
'

test_expect_success '--no-exact: sampled sizes, no method column, no SAMPLES 0 sent' '
	rcli CONFIG RESETSTAT >/dev/null &&
	ops-redisaudit --no-exact --format json "$REDIS_URL" >noexact.json &&
	json_assert noexact.json "
assert all(\"memory_method\" not in k for k in d[\"top_keys\"]), d[\"top_keys\"]
" &&
	rcli INFO commandstats >stats && test_grep_not "^cmdstat_hlen" stats
'

# The default of 5 samples goes out as a bare MEMORY USAGE (the server's own default, two
# arguments fewer per key); any other count is sent. A list of one element per node is
# sampled in its order (a hash in its seed's), and its nodes differ: three of 5000 bytes,
# two tiny, five of 100 bytes, so each count gives another size.
rcli CONFIG SET list-max-listpack-size 1 >/dev/null
rcli EVAL "for i = 1, 3 do redis.call('RPUSH', KEYS[1], string.rep('b', 5000)) end
for i = 1, 2 do redis.call('RPUSH', KEYS[1], 'tiny' .. i) end
for i = 1, 5 do redis.call('RPUSH', KEYS[1], string.rep('m', 100)) end
return 1" 1 ls:1 >/dev/null
rcli CONFIG SET list-max-listpack-size -2 >/dev/null
for n in 5 3 0; do
	eval "SAMPLED_LS_$n=\$(rcli MEMORY USAGE ls:1 SAMPLES $n)"
	export "SAMPLED_LS_$n"
done
test_expect_success 'setup: the three sample counts give three sizes' '
	test "$SAMPLED_LS_5" != "$SAMPLED_LS_3" && test "$SAMPLED_LS_3" != "$SAMPLED_LS_0" &&
	test "$SAMPLED_LS_5" != "$SAMPLED_LS_0"
'
for n in default 3 0; do
	opt=; [ "$n" = default ] || opt="--memory-samples $n"
	want=$n; [ "$n" = default ] && want=5
	test_expect_success "--memory-samples $n: the scan's sizes are MEMORY USAGE ... SAMPLES $want" "
		ops-redisaudit --no-exact $opt --format json \"\$REDIS_URL\" >samples-$n.json &&
		json_assert samples-$n.json \"
import os
top = {k[\\\"key\\\"]: k[\\\"memory_bytes\\\"] for k in d[\\\"top_keys\\\"]}
assert top[\\\"ls:1\\\"] == int(os.environ[\\\"SAMPLED_LS_$want\\\"]), top
\"
	"
done

# On a cluster each key is measured on the node that holds it.
start_redis_cluster || { echo "Bail out! the cluster did not come up"; exit 1; }
set -- $REDIS_CLUSTER_PORTS
CP1=$1
for h in a b c d e f; do
	redis-cli -c -p "$CP1" EVAL "for i = 1, 300 do redis.call('HSET', KEYS[1], 'f' .. i, string.rep('x', (i * 41) % 2000 + 1)) end return 1" 1 "hc:$h" >/dev/null
done

test_expect_success 'cluster: the listed keys of every node are exact' '
	{ ops-redisaudit --format json "$REDIS_CLUSTER_URL" >cluster.json; test $? -le 1; } &&
	python3 -c "
import json
for k in json.load(open(\"cluster.json\"))[\"top_keys\"]:
    print(k[\"key\"], k[\"memory_bytes\"], k[\"memory_method\"])" | sort >got &&
	for h in a b c d e f; do
		echo "hc:$h $(redis-cli -c -p "$CP1" MEMORY USAGE "hc:$h" SAMPLES 0) exact"
	done | sort >expect &&
	test_cmp expect got &&
	json_assert cluster.json "assert len({k[\"node\"] for k in d[\"top_keys\"]}) > 1, d[\"top_keys\"]"
'

test_done
