#!/bin/sh
# ops-envcheck print loads exactly what the real loaders load, on a corpus of tricky
# files (tests/envcheck-corpus): python3-dotenv (Debian), npm dotenv, bash `set -a; .`
# and Node's built-in `node --env-file` (plus the files of envcheck-corpus/node-env-file).
# Compose and docker have no reference installed (no engine here): their results are
# reviewed expected output (compose.expected, docker.expected), and docker's documented
# cases are tested one by one.
# A reference that is missing skips its dialect with the reason; it never fails.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd python3 bash

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

# missing_reference DIALECT: why its reference loader cannot run here (nothing if it can).
# The references run with PATH=/usr/bin:/bin, as below.
missing_reference() {
	case $1 in
	python)
		env -i PATH=/usr/bin:/bin python3 -c "import dotenv" 2>/dev/null ||
			echo "python3-dotenv is not installed (ci/install-deps.sh test installs it)" ;;
	node-env-file)
		env -i PATH=/usr/bin:/bin sh -c "command -v node" >/dev/null 2>&1 ||
			echo "node is not installed (ci/install-deps.sh test installs it)" ;;
	node)
		if ! env -i PATH=/usr/bin:/bin sh -c "command -v node" >/dev/null 2>&1; then
			echo "node is not installed (ci/install-deps.sh test installs it)"
		elif ! test -f "$TEST_DIR/node_modules/dotenv/package.json"; then
			echo "npm dotenv is not in tests/node_modules (ci/install-deps.sh test installs it)"
		fi ;;
	esac
}

for d in python node; do
	why=$(missing_reference $d)
	if test -n "$why"; then
		test_skip "dialect $d loads what the $d reference loads (every corpus file)" "$why"
		continue
	fi
	test_expect_success "dialect $d loads what the $d reference loads (every corpus file)" "
		env -i PATH=/usr/bin:/bin OPSKIT_ROOT=\$OPSKIT_ROOT python3 \$TEST_DIR/envcheck-ref.py $d $files >expect &&
		ours $d $files >actual &&
		test_cmp expect actual
	"
done

why=$(missing_reference node-env-file)
mkdir nef && cp "$CORPUS"/node-env-file/*.env nef/ || exit 1
nef_files="$files $(ls nef/*.env | tr '\n' ' ')"
if test -n "$why"; then
	test_skip "dialect node-env-file loads what node --env-file loads (every corpus file)" "$why"
else
	test_expect_success "dialect node-env-file loads what node --env-file loads (every corpus file)" "
		env -i PATH=/usr/bin:/bin OPSKIT_ROOT=\$OPSKIT_ROOT python3 \$TEST_DIR/envcheck-ref.py node-env-file $nef_files >expect &&
		ours node-env-file $nef_files >actual &&
		test_cmp expect actual
	"
fi

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

# OPSKIT_REGEN=1 rewrites compose.expected (then review git diff), as for tests/data.
test_expect_success 'dialect compose matches the reviewed expected results' '
	ours compose $files >actual &&
	if test -n "${OPSKIT_REGEN:-}"; then cp actual "$CORPUS/compose.expected"; fi &&
	test_cmp "$CORPUS/compose.expected" actual
'

test_expect_success 'dialect docker matches the reviewed expected results' '
	ours docker $files >actual &&
	if test -n "${OPSKIT_REGEN:-}"; then cp actual "$CORPUS/docker.expected"; fi &&
	test_cmp "$CORPUS/docker.expected" actual
'

# docker run --env-file, as documented: KEY=VALUE taken as written, KEY alone passes the
# caller's value (or nothing), # only at the start of a line, a bad name refuses the file.
test_expect_success 'docker: no quotes processing, no interpolation, no trailing comments' '
	printf "A=\"q\"\nB='"'"'s'"'"'\nC=\${HOME}\nD=v # not a comment\n  # comment\nE= lead and trail \n" >d1.env &&
	env -i PATH=/usr/bin:/bin HOME=/root "$OPSKIT_BIN/ops-envcheck" --dialect docker print d1.env >out &&
	printf "%s\n" "{\"A\": \"\\\"q\\\"\", \"B\": \"'"'"'s'"'"'\", \"C\": \"\${HOME}\", \"D\": \"v # not a comment\", \"E\": \" lead and trail \"}" >expect &&
	test_cmp expect out
'

# (a value from the caller's environment is loaded, and masked: it may be a CI secret)
test_expect_success 'docker: KEY alone takes the caller'"'"'s value, and is left out without one' '
	printf "FROM_CALLER\nNOT_SET\nX=1\n" >d2.env &&
	env -i PATH=/usr/bin:/bin FROM_CALLER=yes "$OPSKIT_BIN/ops-envcheck" --dialect docker print d2.env >out 2>err &&
	echo "{\"FROM_CALLER\": \"***\", \"X\": \"1\"}" >expect && test_cmp expect out &&
	test_grep "d2.env:2: docker passes NOT_SET only when it is set" err
'

test_expect_success 'docker: a name with a blank refuses the whole file (export, KEY = v)' '
	printf "A=1\nexport B=2\n" >d3.env &&
	ops-envcheck --dialect docker print d3.env >out 2>err &&
	echo "{}" >expect && test_cmp expect out && test_grep "d3.env:2: docker refuses the file" err &&
	{ ops-envcheck --no-git --dialect docker d3.env >out; test $? -eq 2; } && test_grep "loader-refuses" out
'

test_expect_success 'docker: CRLF line ends lose the CR, a byte order mark is dropped' '
	printf "\357\273\277A=1\r\nB=two words\r\n" >d4.env &&
	ops-envcheck --dialect docker print d4.env >out &&
	echo "{\"A\": \"1\", \"B\": \"two words\"}" >expect && test_cmp expect out
'

test_done
