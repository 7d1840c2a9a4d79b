#!/bin/sh
# ops-envcheck lint: dotenv-linter's checks, loader diagnostics, portability, formats.
# The cases are data: tests/data/envcheck/<case>/ (.env and the files of tests/README).
. "$(dirname "$0")/test-lib.sh"

test_data_cases "$TEST_DATA/envcheck"

test_expect_success 'lint is the default subcommand and takes several files' '
	printf "A=1\n" >one.env && printf "B=2\n" >two.env &&
	ops-envcheck lint one.env two.env >a && ops-envcheck one.env two.env >b && test_cmp a b &&
	test_grep "one.env" a && test_grep "two.env" a
'

test_expect_success 'every finding has file, line, column, id, severity and hint in JSON' '
	printf "a = b c\nA=1\nA=2\n" >x.env &&
	{ ops-envcheck --format json x.env >out; test $? -eq 1; } &&
	python3 - <<-PY
	import json
	d = json.load(open("out"))
	bad = [c for c in d["checks"] if c["id"] != "env-file" and not (
	    c["location"]["file"] == "x.env" and c["location"]["line"] >= 1 and
	    c["location"]["column"] >= 1 and c["hint"] and c["status"] in ("warning", "critical"))]
	assert not bad, bad
	assert {"lowercase-key", "space-character", "duplicated-key"} <= {c["id"] for c in d["checks"]}
	PY
'

test_expect_success 'prometheus output counts the findings' '
	printf "A=1\nA=2\n" >p.env &&
	{ ops-envcheck --format prometheus p.env >out; test $? -eq 1; } &&
	test_grep "opskit_envcheck" out
'

test_expect_code 3 'an unreadable file is UNKNOWN (exit 3)' 'ops-envcheck /nonexistent.env'

test_expect_success 'export<TAB>KEY=value is an export line' '
	printf "export\tAPP_NAME=x\nexport \t BPP=y\n" >tab.env &&
	ops-envcheck --no-git tab.env >out &&
	test_grep_not "leading-character\|incorrect-delimiter\|key-without-value\|space-character" out
'

test_done
