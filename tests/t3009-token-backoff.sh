#!/bin/sh
# ops-promote: a Bearer token renewed while blobs are copied in parallel, from a token
# service that answers 503/429 a few times. One token request is in flight per registry
# (the other streams that need a token wait for its outcome, none asks again), and its
# backoff sleeps do not hold up the transfers that still have a token.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd docker-registry skopeo python3 htpasswd openssl

start_registry tok token || { echo "Bail out! token registry did not start"; exit 1; }
start_registry b plain || { echo "Bail out! registry b did not start"; exit 1; }
start_fault_proxy tp $REG_TOK || { echo "Bail out! proxy did not start"; exit 1; }
CREDS=$REG_USER:$REG_PASS
TP=$FAULT_TP

# token_faults SPEC: the token service's next faults ("CODE N SKIP"), a fresh token log
token_faults() {
	printf '%s\n' "$1" >"$REG_TOK_DIR/token-faults" && : >"$REG_TOK_TOKEN_LOG"
}
# proxy_rules RULE...: the proxy's rules in front of the token registry, a fresh log
proxy_rules() {
	printf '%s\n' "$@" >"$FAULT_TP_RULES" && : >"$FAULT_TP_LOG"
}
token_requests() { grep -c "GET /token" "$REG_TOK_TOKEN_LOG"; }

# streams_during_backoff FILE: "> GET ... | PUT ... (stream" lines a -v trace printed
# between the first refused token request (the second token request of the run) and
# the last token request: transfers that went on while the fetch slept.
streams_during_backoff() {
	awk '/\(token\)$/ { n++; if (n == 2) on = 1; last = NR }
	     { line[NR] = $0 }
	     END { for (i = 1; i <= last; i++) { if (line[i] ~ /\(token\)$/) t++;
	           if (t >= 2 && line[i] ~ /\(stream, /) c++ } print c + 0 }' "$1"
}

test_expect_success 'setup: a 4-platform index (8 blobs) in the token registry' '
	make_test_image img multi 4 65536 1111111 >multi.digest &&
	push_test_image img multi $REG_TOK/app:multi --dest-creds $CREDS
'

test_expect_success 'streams refused at once share one token request through two 429s (Retry-After kept)' '
	proxy_rules "GET /v2/app/blobs/ unauth 4" &&
	token_faults "429 2 1" &&
	start=$(date +%s%N) &&
	run_with_timeout 60 ops-promote --jobs 4 --src-creds $CREDS --no-referrers --format json \
		$TP/app:multi $REG_B/shared/app:1 >out.json &&
	elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 )) &&
	say "copy with a renewal through two 429s: $elapsed_ms ms, $(token_requests) token requests" &&
	test "$(grep -c "GET /v2/app/blobs/.* unauth" "$FAULT_TP_LOG")" -eq 4 &&
	test "$(grep -c "GET /token.* 429 " "$REG_TOK_TOKEN_LOG")" -eq 2 &&
	test "$(token_requests)" -eq 4 &&
	json_assert out.json "assert d[\"action\"] == \"copied\" and d[\"verified\"] is True, d; \
		assert d[\"token_requests\"] == 4, d; assert d[\"blobs\"][\"copied\"] == 8, d" &&
	test "$(skopeo_digest $REG_B/shared/app:1)" = "$(cat multi.digest)" &&
	test $elapsed_ms -ge 1800 && test $elapsed_ms -lt 30000
'

# The first blob GET is refused (its stream needs a new token, which takes three 503s
# and 0.5 + 1 + 2 s of backoff at least); the others take 1 s each, so the second round
# of blobs starts while the token request sleeps, unless the sleep holds the registry.
test_expect_success 'a token request backing off does not hold up the transfers that have a token' '
	proxy_rules "GET /v2/app/blobs/ unauth 1" "GET /v2/app/blobs/ delay:1" &&
	token_faults "503 3 1" &&
	printf "promote:\n  backoff: 500ms\n" >slow-backoff.yaml &&
	start=$(date +%s%N) &&
	run_with_timeout 60 ops-promote --config slow-backoff.yaml -v --jobs 4 --src-creds $CREDS \
		--no-referrers --format json $TP/app:multi $REG_B/nostall/app:1 >out.json 2>err &&
	elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 )) &&
	during=$(streams_during_backoff err) &&
	say "copy with a renewal through three 503s: $elapsed_ms ms, $during streams during the backoff" &&
	test "$(grep -c "GET /token.* 503 " "$REG_TOK_TOKEN_LOG")" -eq 3 &&
	test "$(token_requests)" -eq 5 &&
	test_grep "retrying the token request to .* after HTTP 503" err &&
	test "$during" -ge 3 &&
	json_assert out.json "assert d[\"action\"] == \"copied\" and d[\"verified\"] is True, d; \
		assert d[\"token_requests\"] == 5, d" &&
	test "$(skopeo_digest $REG_B/nostall/app:1)" = "$(cat multi.digest)" &&
	test $elapsed_ms -lt 30000 &&
	test_grep_not "$REG_PASS" err && test_grep_not "eyJ" err
'

# Every blob GET is refused and every token request fails: each of a blob's 3 attempts
# renews once, shared by the 4 streams, so 1 + 3 x 3 token requests (one round of slack;
# one fetch per stream and attempt would be 37).
test_expect_success 'a token service that keeps failing: the copy fails with one sentence, requests bounded' '
	proxy_rules "GET /v2/app/blobs/ unauth" &&
	token_faults "503 1000 1" &&
	start=$(date +%s%N) &&
	{ run_with_timeout 60 ops-promote --retries 2 --jobs 4 --src-creds $CREDS --no-referrers \
		$TP/app:multi $REG_B/down/app:1 >out 2>err; rc=$?; } &&
	elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 )) &&
	say "failed copy: exit $rc, $elapsed_ms ms, $(token_requests) token requests" &&
	test $rc -eq 2 &&
	test_grep "did not give a token for $TP: HTTP 503 after 3 attempts" out &&
	test_grep "hint: the registry is failing or throttling" out &&
	test "$(token_requests)" -ge 4 &&
	test "$(token_requests)" -le 13 &&
	test $elapsed_ms -lt 30000
'

test_done
