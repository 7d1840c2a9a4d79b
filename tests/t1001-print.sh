#!/bin/sh
# ops-envcheck print: the loaded values as one JSON object, per dialect.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'print: one JSON object in file order, duplicates keep the first place' '
	printf "B=2\nA=1\nB=3\n" >a.env &&
	ops-envcheck print a.env >out &&
	echo "{\"B\": \"3\", \"A\": \"1\"}" >expect && test_cmp expect out
'

test_expect_success 'print: a key without a value is null (python, compose)' '
	printf "A=1\nLONELY\n" >b.env &&
	env -i PATH="$PATH" ops-envcheck --dialect python print b.env >out &&
	echo "{\"A\": \"1\", \"LONELY\": null}" >expect && test_cmp expect out &&
	env -i PATH="$PATH" ops-envcheck print b.env >out && test_cmp expect out
'

test_expect_success 'print: skipped lines go to stderr as file:line, exit 0' '
	printf "A=1\nthis is = not valid\nB=2\n" >c.env &&
	ops-envcheck --dialect python print c.env >out 2>err &&
	test_grep "^c.env:2: " err &&
	echo "{\"A\": \"1\", \"B\": \"2\"}" >expect && test_cmp expect out
'

test_expect_success 'print: --no-expand keeps ${VAR} as written' '
	printf "A=x\nB=\${A}y\n" >d.env &&
	ops-envcheck --dialect python print d.env >out &&
	echo "{\"A\": \"x\", \"B\": \"xy\"}" >expect && test_cmp expect out &&
	ops-envcheck --dialect python --no-expand print d.env >out &&
	echo "{\"A\": \"x\", \"B\": \"\${A}y\"}" >expect && test_cmp expect out
'

test_expect_success 'print: R=x#y differs between node and python' '
	printf "R=x#y\n" >e.env &&
	ops-envcheck --dialect node print e.env >out && test_grep "\"x\"" out &&
	ops-envcheck --dialect python print e.env >out && test_grep "\"x#y\"" out
'

test_expect_success 'print: values of secret keys never appear, even short ones' '
	printf "DB_PASSWORD=hunter2hunter2\nAPI_TOKEN=abc\nURL=https://u:hunter2hunter2@h/\n" >s.env &&
	ops-envcheck print s.env >out 2>err &&
	test_grep_not hunter2 out && test_grep_not "\"abc\"" out && test_grep "\"API_TOKEN\": \"\*\*\*\"" out
'

test_expect_success 'print: compose ${VAR:?err} refuses the file, reported on stderr' '
	printf "A=\${MISSING_VAR:?must be set}\n" >f.env &&
	env -i PATH="$PATH" ops-envcheck print f.env >out 2>err &&
	test_grep "f.env:1: required variable MISSING_VAR" err
'

test_expect_success 'print: CRLF and a UTF-8 BOM are handled' '
	printf "\357\273\277A=1\r\nB=\"two\"\r\n" >g.env &&
	ops-envcheck print g.env >out &&
	echo "{\"A\": \"1\", \"B\": \"two\"}" >expect && test_cmp expect out
'

test_expect_code 3 'print: unknown dialect is a usage error' 'ops-envcheck --dialect ruby print a.env'
test_expect_code 3 'print: a missing file exits 3' 'ops-envcheck print /nonexistent/.env'
test_expect_code 3 'print: needs exactly one file' 'ops-envcheck print a.env b.env'

test_done
