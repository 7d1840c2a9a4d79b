#!/bin/sh
# ops-envcheck print loads exactly what the real loaders load, on a corpus of tricky
# files (tests/envcheck-corpus): python3-dotenv (Debian), npm dotenv and bash `set -a; .`.
# Compose has no reference installed: its results are reviewed expected output.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd python3 node bash

CORPUS=$TEST_DIR/envcheck-corpus
cp "$CORPUS"/*.env . || exit 1
files=$(ls *.env | tr '\n' ' ')

# ours DIALECT FILE...: "FILE<TAB>JSON" with sorted keys, like envcheck-ref.py.
ours() {
	_d=$1; shift
	for _f in "$@"; do
		printf '%s\t' "$_f"
		env -i PATH=/usr/bin:/bin "$OPSKIT_BIN/ops-envcheck" --dialect "$_d" print "$_f" 2>/dev/null |
			python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True, ensure_ascii=True))'
	done
}

test_expect_success 'the corpus holds at least 40 files' '
	test $(ls *.env | wc -l) -ge 40
'

for d in python node; do
	# npm's dotenv is installed by `make check` (ci/install-deps.sh test), not by `make test T=`
	if [ $d = node ] && ! [ -f "$TEST_DIR/node_modules/dotenv/package.json" ]; then
		test_skip "dialect node loads what the node reference loads" \
			"npm dotenv is not in tests/node_modules (run ci/install-deps.sh test)"
		continue
	fi
	test_expect_success "dialect $d loads what the $d reference loads (every corpus file)" "
		env -i PATH=/usr/bin:/bin OPSKIT_ROOT=\$OPSKIT_ROOT python3 \$TEST_DIR/envcheck-ref.py $d $files >expect &&
		ours $d $files >actual &&
		test_cmp expect actual
	"
done

grep -v '^#' "$CORPUS/shell-runs-commands.txt" >runs-commands
shell_files=$(ls *.env | grep -vxF -f runs-commands | tr '\n' ' ')
test_expect_success 'dialect shell exports what bash `set -a; . FILE` exports' '
	env -i PATH=/usr/bin:/bin OPSKIT_ROOT=$OPSKIT_ROOT python3 $TEST_DIR/envcheck-ref.py shell $shell_files >expect &&
	ours shell $shell_files >actual &&
	test_cmp expect actual
'

test_expect_success 'shell: command substitutions are reported, never run' '
	for f in $(cat runs-commands); do
		ops-envcheck --dialect shell print $f >out 2>err &&
		test_grep "$f:[0-9]*: .*never run\|$f:[0-9]*: .*special parameter" err || return 1
	done &&
	printf "A=\$(touch pwned)\nB=\`touch pwned2\`\n" >evil.env &&
	ops-envcheck --dialect shell print evil.env >out 2>err &&
	! test -e pwned && ! test -e pwned2 && test_grep "evil.env:1:" err && test_grep "evil.env:2:" err &&
	echo "{}" >expect && test_cmp expect out
'

test_expect_success 'dialect compose matches the reviewed expected results' '
	ours compose $files >actual &&
	test_cmp "$CORPUS/compose.expected" actual
'

test_done
