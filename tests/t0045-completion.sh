#!/bin/sh
# Bash and zsh completions, generated from each tool's option table (ci/gen-completion.sh):
# they offer exactly the options --help shows, complete values that have choices, and file
# names where an option takes a FILE.
. "$(dirname "$0")/test-lib.sh"

test_require_cmd bash

gen() { "$OPSKIT_ROOT/ci/gen-completion.sh" "$1" "$OPSKIT_BIN/$2"; }

# complete TOOL WORD...: what bash offers for the last word of "TOOL WORD...".
complete_words() {
	tool=$1; shift
	fn=_$(echo "$tool" | tr - _)
	bash -c '
		. ./"$1.bash" || exit 1
		tool=$1 fn=$2; shift 2
		COMP_WORDS=("$tool" "$@"); COMP_CWORD=$#
		"$fn"
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"
	' complete "$tool" "$fn" "$@"
}

for tool in ops-promote ops-pgprobe ops-redisaudit ops-envcheck; do
	test_expect_success "$tool: bash completion is generated and valid bash" "
		gen bash $tool >$tool.bash && bash -n $tool.bash
	"
	test_expect_success "$tool: bash offers exactly the long options of --help" "
		complete_words $tool -- | sort >offered &&
		$tool --help | grep -oE -- '--[a-z][a-z-]*' | sort -u >shown &&
		grep -- '^--' offered | sort -u >offered-long &&
		test_cmp shown offered-long
	"
	test_expect_success "$tool: --format completes to the formats it writes" "
		complete_words $tool --format '' | tr '\n' '|' | sed 's/|\$//' >formats &&
		$tool --dump-options | awk -F '\t' '\$2 == \"format\" { print \$7 }' >expect &&
		echo \$(cat formats) | cmp -s - expect || { echo \"offered \$(cat formats), table says \$(cat expect)\"; false; }
	"
	test_expect_success "$tool: zsh completion is generated" "
		gen zsh $tool >_$tool && test_grep '^#compdef $tool' _$tool && test_grep 'config\[' _$tool
	"
done

test_expect_success 'ops-envcheck: --dialect completes to the dialects, subcommands come first' '
	complete_words ops-envcheck --dialect p >out && test_grep "^python$" out && test_grep_not compose out &&
	complete_words ops-envcheck co >out && test_grep "^compare$" out
'

test_expect_success 'ops-envcheck: --schema completes file names' '
	mkdir -p d && : >d/env.schema.yaml &&
	complete_words ops-envcheck --schema d/env >out && test_grep "^d/env.schema.yaml$" out
'

test_expect_success 'ops-redisaudit: --count takes a number: nothing is offered' '
	complete_words ops-redisaudit --count "" >out && ! test -s out
'

if command -v zsh >/dev/null 2>&1; then
	test_expect_success 'zsh parses the generated completions' '
		for t in ops-promote ops-pgprobe ops-redisaudit ops-envcheck; do zsh -n _$t || exit 1; done
	'
else
	test_skip 'zsh parses the generated completions' 'zsh is not installed'
fi

test_done
