#!/bin/sh
# tests/lib/fault-proxy.py itself, in front of a small echo server: every rule does what
# its header says, and a stall ends (bounded) when the client goes.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/faults.sh"

python3 - >echo.port <<'PY' &
import socket, sys, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16); s.settimeout(0.5)
print(s.getsockname()[1], flush=True)
def echo(c):
    c.settimeout(30)
    try:
        while True:
            d = c.recv(65536)
            if not d: break
            c.sendall(d)
    except OSError: pass
    c.close()
end = time.time() + 120
while time.time() < end:
    try: threading.Thread(target=echo, args=(s.accept()[0],), daemon=True).start()
    except socket.timeout: pass
PY
test_cleanup_add "kill $!"
n=0; while ! test -s echo.port && test $n -lt 100; do sleep 0.05; n=$((n + 1)); done
start_fault_tcp_proxy "$(cat echo.port)" 60 || { echo "Bail out! fault proxy did not start"; exit 1; }

# talk SEND: send SEND (Python escapes) through the proxy, print the repr of what came
# back within 2 s and how it ended (eof, timeout or reset)
talk() {
	python3 - "$FAULT_TCP_PORT" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(2)
got, how = b"", "timeout"
try:
    s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
    end = time.time() + 2
    while time.time() < end:
        d = s.recv(65536)
        if not d:
            how = "eof"; break
        got += d
except socket.timeout:
    pass
except OSError:
    how = "reset"
print(repr(got), how)
PY
}

test_expect_success 'no rules: pass' '
	talk "hello" >out && test "$(cat out)" = "b'"'"'hello'"'"' timeout"
'
test_expect_success 'refuse: closed before anything' '
	fault_rule refuse && talk "hello" >out && grep -q "^b'"''"' \(eof\|reset\)" out
'
test_expect_success 'stall: nothing comes back, the connection stays open' '
	fault_rule stall && talk "hello" >out && test "$(cat out)" = "b'"''"' timeout"
'
test_expect_success 'stall-at up TEXT: relayed until the text, then nothing' '
	fault_rule "stall-at up SCAN" && talk "PING" >out && test "$(cat out)" = "b'"'"'PING'"'"' timeout" &&
	talk "SCAN 0" >out && test "$(cat out)" = "b'"''"' timeout"
'
test_expect_success 'cut down N: N bytes, then closed' '
	fault_rule "cut down 3" && talk "hello" >out && grep -q "^b'"'"'hel'"'"' \(eof\|reset\)" out
'
test_expect_success 'corrupt up 1: byte 1 flipped' '
	fault_rule "corrupt up 1" && talk "AAA" >out && test "$(cat out)" = "b'"'"'A\\xbeA'"'"' timeout"
'
test_expect_success 'reply-at: the matching chunk is answered, not relayed' '
	fault_rule "reply-at SCAN -LOADING x\r\n" && talk "SCAN 0" >out && test "$(cat out)" = "b'"'"'-LOADING x\\r\\n'"'"' timeout"
'
test_expect_success 'delay MS: each chunk held MS each way' '
	fault_rule "delay 500" && talk "x" >out && test "$(cat out)" = "b'"'"'x'"'"' timeout" &&
	python3 -c "
import socket, sys, time
s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), 5)
t = time.time(); s.sendall(b\"x\"); s.settimeout(5); s.recv(10)
sys.exit(0 if time.time() - t >= 0.99 else 1)" "$FAULT_TCP_PORT"
'
test_expect_success 'status CODE: an HTTP answer, then closed' '
	fault_rule "status 503" && talk "GET / HTTP/1.1\r\nHost: x\r\n\r\n" >out && grep -q "HTTP/1.1 503" out
'
test_expect_success 'first N: the rules apply to N connections, counted afresh on a rewrite' '
	fault_rule "cut up 0" "first 2" &&
	talk "a" >out1 && talk "b" >out2 && talk "c" >out3 &&
	grep -q "^b'"''"' \(eof\|reset\)" out1 && grep -q "^b'"''"' \(eof\|reset\)" out2 &&
	test "$(cat out3)" = "b'"'"'c'"'"' timeout" &&
	fault_rule "cut up 0" "first 1" &&
	talk "d" >out4 && talk "e" >out5 &&
	grep -q "^b'"''"' \(eof\|reset\)" out4 && test "$(cat out5)" = "b'"'"'e'"'"' timeout"
'
test_expect_success 'a bad rule is logged and ignored (pass)' '
	fault_rule "explode now" && talk "ok" >out && test "$(cat out)" = "b'"'"'ok'"'"' timeout" &&
	test_grep "bad rule" "$FAULT_TCP_LOG"
'

test_done
