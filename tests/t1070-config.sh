#!/bin/sh
# ops-envcheck reads section envcheck of opskit.yaml(5); flags win over it.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'envcheck.dialect picks the dialect; --dialect wins' '
	printf "envcheck:\n  dialect: node\n" >opskit.yaml && printf "R=x#y\n" >a.env &&
	ops-envcheck --config opskit.yaml print a.env >out && echo "{\"R\": \"x\"}" >expect && test_cmp expect out &&
	ops-envcheck --config opskit.yaml --dialect python print a.env >out &&
	echo "{\"R\": \"x#y\"}" >expect && test_cmp expect out
'

test_expect_success 'envcheck.expand: false keeps ${VAR}' '
	printf "envcheck:\n  dialect: python\n  expand: false\n" >opskit.yaml && printf "A=1\nB=\${A}\n" >b.env &&
	ops-envcheck --config opskit.yaml print b.env >out && test_grep "\"B\": \"\${A}\"" out
'

test_expect_success 'envcheck.secret_patterns masks more keys' '
	printf "envcheck:\n  secret_patterns: [\"*_CERT\"]\n" >opskit.yaml && printf "TLS_CERT=abcdefgh\n" >c.env &&
	ops-envcheck --config opskit.yaml print c.env >out && test_grep "\"TLS_CERT\": \"\*\*\*\"" out
'

test_expect_success 'envcheck.schema is used when --schema is not given' '
	printf "keys:\n  NEEDED: {required: true}\n" >s.yaml &&
	printf "envcheck:\n  schema: s.yaml\n  git: false\n" >opskit.yaml && printf "A=1\n" >d.env &&
	{ ops-envcheck --config opskit.yaml d.env >out; test $? -eq 2; } && test_grep "schema-required .*NEEDED" out
'

test_expect_success 'a bad envcheck.dialect is a located error: file:line, the key, the value' '
	printf "envcheck:\n  # the loader\n  dialect: ruby\n" >opskit.yaml && printf "A=1\n" >e.env &&
	{ ops-envcheck --config opskit.yaml e.env >out 2>err; test $? -eq 3; } &&
	test_grep "^ops-envcheck: opskit.yaml:3:[0-9]*: envcheck.dialect: .*ruby" err &&
	! test -s out
'

test_done
