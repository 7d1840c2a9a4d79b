#!/bin/sh
# ops-envcheck against hostile and broken input: secrets in lines the loader does not
# load, schema-secret keys, interpolation bombs, --fix in a directory others can write,
# and the man page naming every check the code emits.
. "$(dirname "$0")/test-lib.sh"

FORMATS="text json sarif github prometheus nagios"
DIALECTS="compose python node shell"

# no_leak PATTERN CMD...: the command's stdout and stderr never match PATTERN, in every
# dialect and format.
no_leak() {
	_pat=$1; shift
	for _d in $DIALECTS; do
		for _f in $FORMATS; do
			ops-envcheck --no-git -v --dialect $_d --format $_f "$@" >leak.out 2>&1
			if grep -q -- "$_pat" leak.out; then
				echo "dialect $_d, format $_f:"; grep -n -- "$_pat" leak.out; return 1
			fi
		done
	done
}

test_expect_success 'an unterminated multi-line secret: its lines are not linted or shown' '
	printf "A=1\nPRIVATE_KEY=\"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbody\nZZZsecondline\n-----END RSA PRIVATE KEY-----\n" >u.env &&
	chmod 600 u.env &&
	no_leak "secretbody\|ZZZsecond" u.env &&
	for d in $DIALECTS; do
		ops-envcheck --dialect $d print u.env >out 2>&1 &&
		test_grep_not "secretbody\|ZZZsecond" out || return 1
	done &&
	{ ops-envcheck --no-git u.env >out; test $? -eq 2; } &&
	test_grep "loader-refuses .*u.env:2: .*unterminated" out &&
	test_grep_not "key-without-value\|lowercase-key" out
'

test_expect_success 'a multi-line value the loader reads still prints as valid JSON' '
	printf "A=\"line1\nline2\"\nB=after\n" >m.env &&
	ops-envcheck print m.env >out &&
	echo "{\"A\": \"line1\\\\nline2\", \"B\": \"after\"}" >expect && test_cmp expect out
'

test_expect_success 'a line without = quotes only its first word, never the value after it' '
	printf "DB_PASSWORD hunter2xyz\n" >k.env && chmod 600 k.env &&
	no_leak hunter2xyz k.env &&
	{ ops-envcheck --no-git k.env >out; test $? -le 3; } && test_grep "key DB_PASSWORD has no = and no value" out &&
	test_grep_not "lowercase-key\|incorrect-delimiter" out
'

test_expect_success 'shell: export KEY = value does not echo the value in a diagnostic' '
	printf "export SECRET_KEY = abc123zz\nexport FOO\n" >x.env && chmod 600 x.env &&
	no_leak abc123zz x.env &&
	ops-envcheck --dialect shell print x.env >out 2>err &&
	test_grep_not abc123zz err && test_grep_not abc123zz out &&
	test_grep "x.env:1: word 4 of this export is not a variable name" err &&
	test_grep "x.env:2: FOO is declared without a value" err
'

test_expect_success 'keys a schema marks secret are masked from the first check on, and in print' '
	printf "keys:\n  MY_CONF: {secret: true}\n  OTHER: {secret: true, type: int}\n" >s.yaml &&
	printf "MY_CONF=conf#val123\nOTHER=notanint99\n" >sc.env && chmod 600 sc.env &&
	no_leak "conf[^a-z]\|val123\|notanint99" --schema s.yaml sc.env &&
	ops-envcheck --schema s.yaml print sc.env >out &&
	echo "{\"MY_CONF\": \"***\", \"OTHER\": \"***\"}" >expect && test_cmp expect out
'

test_expect_success 'print with a schema it cannot read prints nothing and exits 3' '
	ops-envcheck --schema nosuch.yaml print sc.env >out 2>err; test $? -eq 3 &&
	test ! -s out && test_grep "cannot read nosuch.yaml: No such file" err
'

# The memory limit makes a regression fail fast instead of swapping (not under ASan,
# which reserves terabytes of address space).
test_expect_success 'an interpolation bomb is cut at 16 MiB, not expanded until the OOM killer' '
	{ echo A0=xxxxxxxxxxxxxxxx; i=1; while [ $i -le 40 ]; do
		echo "A$i=\${A$((i - 1))}\${A$((i - 1))}"; i=$((i + 1)); done; } >bomb.env &&
	for d in compose python shell; do
		(test -n "${SANITIZE:-}" || ulimit -v 4000000 2>/dev/null; run_with_timeout 60 ops-envcheck --no-git --dialect $d bomb.env) >out 2>&1
		rc=$?; test $rc -eq 2 || { echo "dialect $d: exit $rc"; cat out; return 1; }
		test_grep "loader-refuses .*interpolation expands to more than 16 MiB" out || return 1
	done
'

test_expect_success '--fix rewrites a symlinked file where it points and keeps it a link' '
	mkdir -p fixlink/shared && printf "A = 1 \n" >fixlink/shared/real.env && chmod 640 fixlink/shared/real.env &&
	ln -s shared/real.env fixlink/.env &&
	{ ops-envcheck --no-git --fix --backup fixlink/.env >out; test $? -le 3; } && test_grep "fix .*1 fixes written\|fix .*fixes written" out &&
	test -L fixlink/.env && printf "A=1\n" >expect && test_cmp expect fixlink/shared/real.env &&
	printf "A = 1 \n" >expect && test_cmp expect fixlink/.env.bak &&
	test "$(stat -c %a fixlink/shared/real.env)" = 640
'

test_expect_success '--fix never writes through a planted FILE.envcheck-tmp symlink' '
	mkdir -p plant && printf "A = 1\n" >plant/.env && echo keep >plant/victim &&
	ln -s "$PWD/plant/victim" plant/.env.envcheck-tmp && ln -s "$PWD/plant/victim" plant/.env.bak.envcheck-tmp &&
	{ ops-envcheck --no-git --fix --backup plant/.env >out; test $? -le 3; } && test_grep "fixes written" out &&
	echo keep >expect && test_cmp expect plant/victim && printf "A=1\n" >expect && test_cmp expect plant/.env
'

test_expect_success '--fix as root keeps the owner of the file' '
	if [ "$(id -u)" != 0 ]; then echo "not root: skipped"; exit 0; fi
	printf "A = 1\n" >own.env && chown 1234:5678 own.env && chmod 600 own.env &&
	{ ops-envcheck --no-git --fix own.env >out; test $? -le 3; } && test "$(stat -c %u:%g:%a own.env)" = 1234:5678:600
'

test_expect_success 'a UTF-8 BOM is named, not reported as an invisible key character' '
	printf "\357\273\277A=1\n" >bom.env &&
	{ ops-envcheck --no-git bom.env >out; test $? -eq 1; } &&
	test_grep "leading-character .*byte order mark" out && test_grep_not "unordered-key\|incorrect-delimiter" out
'

test_expect_success 'portability never shows a secret interpolated into another key, cut or multi-line' '
	printf "API_TOKEN=Tk9aXb3Lm7Qw2Er5Ty8Ui1Op4As6Df0GhJkLzXcVbNm12345\nX=\${API_TOKEN}#y\n" >p.env &&
	printf "Z_PASSWORD=\047nl\nsecretvalue99\047\nY=\${Z_PASSWORD}#q\n" >>p.env && chmod 600 p.env &&
	no_leak "Tk9aXb3\|secretvalue99" p.env &&
	{ ops-envcheck --no-git p.env >out; test $? -le 3; } && test_grep "X loads differently per dialect: compose .\*\*\*#y." out
'

test_expect_success 'portability tells a backslash from the newline it may become' '
	printf "B=\"a\\\\nb\"\n" >bs.env && chmod 600 bs.env &&
	{ ops-envcheck --no-git bs.env >out; test $? -le 3; } &&
	test_grep "B loads differently per dialect: compose .a\\\\nb., .*shell .a\\\\\\\\nb." out
'

test_expect_success 'a FIFO or /dev/zero named as credentials or env_file does not hang the check' '
	mkfifo fifo &&
	printf "GOOGLE_APPLICATION_CREDENTIALS=$PWD/fifo\n" >g.env && chmod 600 g.env &&
	printf "services:\n  web:\n    image: x\n    env_file: [ $PWD/fifo, /dev/zero ]\n" >dc.yml &&
	{ run_with_timeout 20 ops-envcheck --no-git --compose dc.yml g.env >out; test $? -eq 2; } &&
	test_grep "credentials .*step 1 (file): cannot read .*not a regular file" out &&
	test_grep "compose-env-file .*env_file /dev/zero, which cannot be read: not a regular file" out
'

test_expect_success 'every check id the code emits is documented in CHECKS of ops-envcheck(1)' '
	src=$OPSKIT_ROOT/tools/ops-envcheck &&
	{ grep -ohE "(report_check|ec_report)\([^,]+, \"[a-z-]+\"" $src/*.c
	  grep -ohE "(finding\(r, f, [^,]+, [^,]+|key_check\(c), \"[a-z-]+\"" $src/*.c
	  grep -ohE "\[DOTENV_[A-Z_]+\] = \{ \"[a-z-]+\"" $src/*.c; } |
	grep -oE "\"[a-z-]+\"$" | tr -d "\"" | sort -u >ids &&
	test $(wc -l <ids) -ge 40 &&
	awk "/^\.Sh CHECKS/ { on = 1; next } /^\.Sh / { on = 0 } on && /^\.It Cm/" \
		$OPSKIT_ROOT/man/ops-envcheck.1 | sed "s/^\.It Cm //; s/ ,//g" | tr " " "\n" | sort -u >documented &&
	comm -23 ids documented >undocumented && { test ! -s undocumented || { cat undocumented; false; }; }
'

test_expect_success 'text shows an escape once; SARIF uri is percent-encoded' '
	mkdir -p "my app" && printf "A=one\nB=\"two\r\"\n" >"my app/x é.env" &&
	{ ops-envcheck --no-git "my app/x é.env" >out; test $? -le 3; } && test_grep "compose .two\\\\r., python" out &&
	test_grep_not "two\\\\\\\\r" out &&
	{ ops-envcheck --no-git --format sarif "my app/x é.env" >out.sarif; test $? -le 3; } &&
	json_assert out.sarif "u = {r[\"locations\"][0][\"physicalLocation\"][\"artifactLocation\"][\"uri\"] for r in d[\"runs\"][0][\"results\"] if \"locations\" in r}; assert u == {\"my%20app/x%20%C3%A9.env\"}, u"
'

test_expect_success 'a secret-named key holding a path shows the path; anything else stays masked' '
	printf "GOOGLE_APPLICATION_CREDENTIALS=/nonexistent/sa.json\nDB_PASSWORD_FILE=/run/secrets/db\n" >pf.env &&
	printf "API_TOKEN_FILE=abcd1234secretsecretXY\nDB_PASS_PATH={\"private_key\":\"zz-Pk-99\"}\n" >>pf.env &&
	chmod 600 pf.env &&
	ops-envcheck print pf.env >out &&
	test_grep "\"GOOGLE_APPLICATION_CREDENTIALS\": \"/nonexistent/sa.json\"" out &&
	test_grep "\"DB_PASSWORD_FILE\": \"/run/secrets/db\"" out &&
	test_grep_not "abcd1234secret\|zz-Pk-99" out &&
	{ ops-envcheck --no-git pf.env >out; test $? -eq 2; } &&
	test_grep "cannot read /nonexistent/sa.json: No such file" out &&
	test_grep "hint: fix the path in GOOGLE_APPLICATION_CREDENTIALS" out &&
	printf "GOOGLE_APPLICATION_CREDENTIALS=/etc/gcp/Sa-Kx9Qz7Lw2Pm4Vb8.json\n" >hp.env && chmod 644 hp.env &&
	{ ops-envcheck --no-git hp.env >out; test $? -eq 2; } &&
	test_grep "cannot read /etc/gcp/Sa-Kx9Qz7Lw2Pm4Vb8.json" out &&
	test_grep_not "high-entropy\|file-permissions" out &&
	printf "keys:\n  DB_PASSWORD_FILE: { secret: true }\n" >pf-schema.yaml &&
	ops-envcheck --schema pf-schema.yaml print pf.env >out &&
	test_grep_not "/run/secrets/db" out
'

test_done
