#!/bin/sh
# ops-envcheck --fix: safe rewrites, a backup only with --backup, --dry-run's diff, CRLF,
# and never a changed loaded value.
. "$(dirname "$0")/test-lib.sh"

test_expect_success '--fix rewrites the mechanical findings; --backup keeps FILE.bak' '
	printf "A = 1  \nB=\"plain\"\n\n\nC=\"two words\"\nD=\"multi\nline  \"\nE=x" >f.env &&
	cp f.env orig.env &&
	ops-envcheck --no-git --dialect python print f.env >before &&
	{ ops-envcheck --no-git --dialect python --fix --backup f.env >out; test $? -le 3; } &&
	test_grep "fixes written" out &&
	test_cmp orig.env f.env.bak &&
	printf "A=1\nB=plain\n\nC=\"two words\"\nD=\"multi\nline  \"\nE=x\n" >expect &&
	test_cmp expect f.env &&
	ops-envcheck --no-git --dialect python print f.env >after &&
	test_cmp before after
'

test_expect_success 'a second --fix finds nothing to do' '
	rm -f f.env.bak && { ops-envcheck --no-git --dialect python --fix f.env >out; test $? -le 3; } &&
	test_grep_not "fixes written" out && ! test -e f.env.bak
'

test_expect_success '--fix keeps the file mode' '
	printf "A=1 \n" >m.env && chmod 640 m.env &&
	{ ops-envcheck --no-git --fix m.env >/dev/null; test $? -le 3; } &&
	test "$(stat -c %a m.env)" = 640
'

test_expect_success '--fix refuses when a fix would change a loaded value (shell: A = 1 is a command)' '
	printf "A = 1\n" >s.env && cp s.env s.orig &&
	{ ops-envcheck --no-git --dialect shell --fix s.env >out; test $? -le 3; } &&
	test_grep "not rewritten" out && test_cmp s.orig s.env
'

# The proof: on every corpus file and in every dialect, the loaded values after --fix
# are exactly those before.
for d in compose python node shell; do
	test_expect_success "--fix never changes what the $d dialect loads (whole corpus)" "
		for f in \$TEST_DIR/envcheck-corpus/*.env; do
			b=\$(basename \$f) && cp \$f \$b &&
			env -i PATH=\"\$PATH\" ops-envcheck --dialect $d print \$b >before.json 2>/dev/null &&
			{ env -i PATH=\"\$PATH\" ops-envcheck --no-git --dialect $d --fix \$b >/dev/null 2>&1; test \$? -le 3; } &&
			env -i PATH=\"\$PATH\" ops-envcheck --dialect $d print \$b >after.json 2>/dev/null &&
			test_cmp before.json after.json || { echo \"in \$b\"; return 1; }
			rm -f \$b \$b.bak
		done
	"
done

test_expect_success '--fix writes no FILE.bak by default (a .env.bak of secrets would be untracked)' '
	printf "A = 1\n" >nb.env && { ops-envcheck --no-git --fix nb.env >out; test $? -le 3; } &&
	test_grep "fixes written (no backup" out && ! test -e nb.env.bak && printf "A=1\n" >expect && test_cmp expect nb.env
'

test_expect_success '--fix --dry-run prints a unified diff that patch applies, and writes nothing' '
	command -v patch >/dev/null || { echo "no patch(1): skipped"; exit 0; }
	printf "A = 1  \nB=\"plain\"\n\n\nC=x\r\nD=\"two words\"\nE=y" >d.env && cp d.env d.orig &&
	{ ops-envcheck --no-git --fix --dry-run -o report.txt d.env >diff; test $? -eq 1; } &&
	test_cmp d.orig d.env && ! test -e d.env.bak &&
	test_grep "^--- d.env" diff && test_grep "^@@ -1,7 +1,6 @@" diff && test_grep "dry run" report.txt &&
	cp d.orig p.env && patch -s p.env <diff &&
	{ ops-envcheck --no-git --fix d.env >/dev/null; test $? -le 3; } && test_cmp d.env p.env
'

test_expect_success '--fix --dry-run masks secrets in its diff' '
	printf "DB_PASSWORD = hunter2hunter2\n" >sd.env && chmod 600 sd.env &&
	{ ops-envcheck --no-git --fix --dry-run sd.env >out; test $? -le 3; } && test_grep "^+DB_PASSWORD=\*\*\*" out && test_grep_not hunter2 out
'

test_expect_success 'CRLF line ends: one finding, and --fix converts them to LF' '
	printf "A=1\r\nB=2\r\n" >crlf.env &&
	{ ops-envcheck --no-git crlf.env >out; test $? -eq 1; } &&
	test_grep "^WARNING .*crlf-line-ending .*crlf.env:1: 2 lines end in CRLF" out &&
	{ ops-envcheck --no-git --fix crlf.env >out; test $? -le 3; } && printf "A=1\nB=2\n" >expect && test_cmp expect crlf.env
'

test_expect_success 'a UTF-16 file gets one clear CRITICAL finding; a Latin-1 one a warning' '
	printf "A=1\nB=two\n" | iconv -f UTF-8 -t UTF-16 >u16.env &&
	{ ops-envcheck --no-git --format json u16.env >out; test $? -eq 2; } &&
	python3 -c "import json; d=json.load(open(\"out\")); bad=[c[\"id\"] for c in d[\"checks\"] if c[\"status\"]!=\"ok\"]; assert bad==[\"file-encoding\"], bad" &&
	{ ops-envcheck --no-git u16.env >out; test $? -le 3; } && test_grep "u16.env is UTF-16 (little-endian)" out &&
	printf "CITY=Z\374rich\n" >l1.env &&
	{ ops-envcheck --no-git l1.env >out; test $? -eq 1; } && test_grep "file-encoding .*l1.env:1: l1.env is not UTF-8" out
'

test_done
