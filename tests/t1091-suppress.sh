#!/bin/sh
# ops-envcheck: telling it "this one is fine": "# ops-envcheck: disable=" comments (a line,
# the line below, the whole file), the envcheck.ignore config list, and a baseline
# (--baseline FILE, --write-baseline) so that CI fails only on new findings.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'disable= at the end of a line, or alone on the line above, silences that finding there' '
	printf "b=1 # ops-envcheck: disable=lowercase-key\n# ops-envcheck: disable=lowercase-key,unordered-key\na=2\nc=3\n" >.env &&
	{ ops-envcheck --no-git .env >out; test $? -eq 1; } &&
	test_grep "^WARNING .*lowercase-key .*key c has lower-case" out &&
	test_grep_not "^WARNING .*key [ab] has lower-case" out &&
	test_grep_not "^WARNING .*unordered-key" out &&
	{ ops-envcheck --no-git -v .env >out; test $? -le 3; } && test_grep "suppressed (ops-envcheck: disable= on the line)" out
'

test_expect_success 'disable-file= silences an id in the whole file; all silences every id' '
	printf "# ops-envcheck: disable-file=lowercase-key\nb=1\na=2\n" >f.env &&
	{ ops-envcheck --no-git f.env >out; test $? -eq 1; } &&
	test_grep_not "^WARNING .*lowercase-key" out && test_grep "^WARNING .*unordered-key" out &&
	printf "# ops-envcheck: disable-file=all\nb=1\na=2\n" >g.env &&
	ops-envcheck --no-git g.env >out
'

test_expect_success 'envcheck.ignore in the config never reports those ids' '
	mkdir ign && cd ign && printf "b=1\na=2\n" >h.env &&
	printf "envcheck:\n  ignore: [lowercase-key, unordered-key]\n" >opskit.yaml &&
	ops-envcheck --config opskit.yaml --no-git h.env >out
'

test_expect_success '--write-baseline, then --baseline reports only new findings' '
	printf "b=1\na=2\n" >.env && chmod 600 .env &&
	ops-envcheck --no-git --baseline base.txt --write-baseline .env >out &&
	test_grep "^lowercase-key	.env	.env	key b has lower-case letters" base.txt &&
	ops-envcheck --no-git --baseline base.txt .env >out &&
	printf "\nb=1\na=2\nc=3\n" >.env &&
	{ ops-envcheck --no-git --baseline base.txt .env >out; test $? -eq 1; } &&
	test_grep "^WARNING .*lowercase-key .*key c has" out &&
	test_grep_not "^WARNING .*key [ab] has" out
'

test_expect_success '--write-baseline again keeps the findings the old baseline listed' '
	printf "b=1\na=2\n" >re.env &&
	ops-envcheck --no-git --baseline re.txt --write-baseline re.env >out &&
	cp re.txt re.first &&
	ops-envcheck --no-git --baseline re.txt --write-baseline re.env >out &&
	test_cmp re.first re.txt &&
	ops-envcheck --no-git --baseline re.txt re.env >out
'

test_expect_code 3 'a baseline that cannot be read is UNKNOWN' '
	printf "A=1\n" >ok.env && ops-envcheck --no-git --baseline /nonexistent/base.txt ok.env
'

test_expect_success 'the baseline holds no secret values' '
	printf "MY_SETTING=AKIAZ7QW3ER5TY8UI0OP\nDB_PASSWORD=Xy7kL9mQ2vB8nR4tW6zCs\n" >s.env && chmod 644 s.env &&
	ops-envcheck --no-git --baseline sb.txt --write-baseline s.env >out &&
	test_grep "secret-format" sb.txt && test_grep_not "AKIAZ7QW\|Xy7kL9" sb.txt
'

test_done
