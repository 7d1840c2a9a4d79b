#!/bin/sh
# ops-redisaudit data-driven cases (tests/data/redisaudit/<case>/): prefix folding, config
# findings, usage errors. Cases reach the server through $REDIS_PORT / $REDIS_URL.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/redis.sh"
test_require_cmd python3

start_redis || { echo "Bail out! redis-server did not start"; exit 1; }
export REDIS_PORT REDIS_URL

test_data_cases "$TEST_DATA/redisaudit"

test_done
