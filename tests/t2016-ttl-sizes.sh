#!/bin/sh
# ops-redisaudit's fixed-size key statistics: keys and memory per TTL bucket (finer under
# one hour), the mass-expiry check, and size percentiles per type from a log-scale
# histogram (within 12.5% of the true size, exact where every key has one size).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }
rcli CONFIG SET maxmemory 1gb >/dev/null

# 90 strings of 100 bytes, 9 of 5000, one of 100000; 20 lists of 3 short elements.
# TTLs: small strings 30s (<1m), mid strings 200s (1m-5m), lists 1800s (15m-1h), big none.
rcli EVAL "
for i = 1, 90 do redis.call('SET', 's:small:' .. i, string.rep('a', 100), 'EX', 30) end
for i = 1, 9 do redis.call('SET', 's:mid:' .. i, string.rep('b', 5000), 'EX', 200) end
redis.call('SET', 's:big', string.rep('c', 100000))
for i = 1, 20 do redis.call('RPUSH', 'l:' .. i, 'x', 'y', 'z'); redis.call('EXPIRE', 'l:' .. i, 1800) end
return 1" 0 >/dev/null

mem() { rcli MEMORY USAGE "$1" SAMPLES 0; }
SMALL=$(mem s:small:1) MID=$(mem s:mid:1) BIG=$(mem s:big) LIST=$(mem l:1)
export SMALL MID BIG LIST

test_expect_success 'memory and keys per TTL bucket' '
	ops-redisaudit --format json "$REDIS_URL" >out.json &&
	json_assert out.json "
import os
small, mid, big, lst = (int(os.environ[k]) for k in (\"SMALL\", \"MID\", \"BIG\", \"LIST\"))
b = d[\"ttl_buckets\"]
assert list(b) == [\"none\", \"lt_1m\", \"1m_5m\", \"5m_15m\", \"15m_1h\", \"1h_6h\", \"6h_1d\", \"1d_7d\", \"gt_7d\"], list(b)
want = {\"none\": (1, big), \"lt_1m\": (90, 90 * small), \"1m_5m\": (9, 9 * mid), \"15m_1h\": (20, 20 * lst)}
for k, v in b.items():
    assert (v[\"keys\"], v[\"memory_bytes\"]) == want.get(k, (0, 0)), (k, v, want.get(k))
"
'

test_expect_success 'size percentiles per type: within 12.5%, exact at max and for one size' '
	json_assert out.json "
import os
small, mid, big, lst = (int(os.environ[k]) for k in (\"SMALL\", \"MID\", \"BIG\", \"LIST\"))
s = d[\"key_sizes\"][\"string\"]
assert s[\"keys\"] == 100, s
assert small <= s[\"p50_bytes\"] <= small * 1.125 and s[\"p90_bytes\"] == s[\"p50_bytes\"], s
assert mid <= s[\"p99_bytes\"] <= mid * 1.125, s
assert s[\"max_bytes\"] == big, s
l = d[\"key_sizes\"][\"list\"]
assert (l[\"keys\"], l[\"p50_bytes\"], l[\"p90_bytes\"], l[\"p99_bytes\"], l[\"max_bytes\"]) == (20, lst, lst, lst, lst), l
h = d[\"key_sizes\"][\"hash\"]
assert (h[\"keys\"], h[\"max_bytes\"]) == (0, 0), h
"
'

test_expect_success 'key-sizes checks carry the percentiles as metrics (prometheus)' '
	ops-redisaudit --format prometheus "$REDIS_URL" >out.prom &&
	grep "p50_bytes" out.prom | grep -q "string" &&
	grep "max_bytes" out.prom | grep "list" | grep -q " $LIST\$"
'

test_expect_success 'text shows the TTL memory line and the size table' '
	ops-redisaudit "$REDIS_URL" >out.txt &&
	test_grep "^TTL mem  none 1 " out.txt &&
	test_grep "key sizes by type" out.txt &&
	test_grep "^  list  *20 " out.txt
'

test_expect_success 'mass-expiry: OK under the default share (50% within 10m)' '
	json_assert out.json "
c = [c for c in d[\"checks\"] if c[\"id\"] == \"mass-expiry\"][0]
assert c[\"status\"] == \"ok\", c
"
'

test_expect_success 'mass-expiry: WARNING when more than the share expires within the window' '
	printf "redis:\n  thresholds:\n    mass_expiry_share: 5%%\n    mass_expiry_window: 1m\n" >mass.yaml &&
	{ ops-redisaudit --config mass.yaml --format json "$REDIS_URL" >mass.json; test $? -eq 1; } &&
	json_assert mass.json "
import os
c = [c for c in d[\"checks\"] if c[\"id\"] == \"mass-expiry\"][0]
assert c[\"status\"] == \"warning\", c
m = {x[\"name\"]: x[\"value\"] for x in c[\"metrics\"]}
assert m[\"expiring_memory_bytes\"] == 90 * int(os.environ[\"SMALL\"]), m
assert m[\"ttl_lt_1m_memory_bytes\"] == 90 * int(os.environ[\"SMALL\"]), m
assert m[\"ttl_1m_5m_memory_bytes\"] == 9 * int(os.environ[\"MID\"]), m
assert m[\"ttl_none_memory_bytes\"] == int(os.environ[\"BIG\"]), m
"
'

test_expect_success 'mass-expiry: a share of 0 turns it off' '
	printf "redis:\n  thresholds:\n    mass_expiry_share: 0\n" >off.yaml &&
	ops-redisaudit --config off.yaml --format json "$REDIS_URL" >off.json &&
	json_assert off.json "assert not [c for c in d[\"checks\"] if c[\"id\"] == \"mass-expiry\"]"
'

test_done
