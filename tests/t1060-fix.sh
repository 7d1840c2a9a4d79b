#!/bin/sh
# ops-envcheck --fix: safe rewrites, a backup, and never a changed loaded value.
. "$(dirname "$0")/test-lib.sh"

test_expect_success '--fix rewrites the mechanical findings and keeps FILE.bak' '
	printf "A = 1  \nB=\"plain\"\n\n\nC=\"two words\"\nD=\"multi\nline  \"\nE=x" >f.env &&
	cp f.env orig.env &&
	ops-envcheck --no-git --dialect python print f.env >before &&
	ops-envcheck --no-git --dialect python --fix f.env >out;
	test_grep "fixes written" out &&
	test_cmp orig.env f.env.bak &&
	printf "A=1\nB=plain\n\nC=\"two words\"\nD=\"multi\nline  \"\nE=x\n" >expect &&
	test_cmp expect f.env &&
	ops-envcheck --no-git --dialect python print f.env >after &&
	test_cmp before after
'

test_expect_success 'a second --fix finds nothing to do' '
	rm -f f.env.bak && ops-envcheck --no-git --dialect python --fix f.env >out;
	test_grep_not "fixes written" out && ! test -e f.env.bak
'

test_expect_success '--fix keeps the file mode' '
	printf "A=1 \n" >m.env && chmod 640 m.env &&
	ops-envcheck --no-git --fix m.env >/dev/null;
	test "$(stat -c %a m.env)" = 640
'

test_expect_success '--fix refuses when a fix would change a loaded value (shell: A = 1 is a command)' '
	printf "A = 1\n" >s.env && cp s.env s.orig &&
	ops-envcheck --no-git --dialect shell --fix s.env >out;
	test_grep "not rewritten" out && test_cmp s.orig s.env
'

# The proof: on every corpus file and in every dialect, the loaded values after --fix
# are exactly those before.
for d in compose python node shell; do
	test_expect_success "--fix never changes what the $d dialect loads (whole corpus)" "
		for f in \$TEST_DIR/envcheck-corpus/*.env; do
			b=\$(basename \$f) && cp \$f \$b &&
			env -i PATH=\"\$PATH\" ops-envcheck --dialect $d print \$b >before.json 2>/dev/null &&
			env -i PATH=\"\$PATH\" ops-envcheck --no-git --dialect $d --fix \$b >/dev/null 2>&1;
			env -i PATH=\"\$PATH\" ops-envcheck --dialect $d print \$b >after.json 2>/dev/null &&
			test_cmp before.json after.json || { echo \"in \$b\"; return 1; }
			rm -f \$b \$b.bak
		done
	"
done

test_done
