#!/bin/sh
# Layers without circles: each source file leans only on files below it. ci/layers.py
# reads the built objects' symbol tables (nm) and names every circle of files calling
# into each other, outside the dotenv parser family (lib/dotenv*.c). Each tool's main
# header lists every module of the tool in its opening comment.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd nm cc

if [ -z "${OPSKIT_BUILD:-}" ]; then
	case ${SANITIZE:-} in
	1) OPSKIT_BUILD=$OPSKIT_ROOT/build/san ;;
	thread) OPSKIT_BUILD=$OPSKIT_ROOT/build/tsan ;;
	*) OPSKIT_BUILD=$OPSKIT_ROOT/build/default ;;
	esac
fi
LAYERS=$OPSKIT_ROOT/ci/layers.py

test_expect_success 'no two source files call into each other in a circle' '
	(cd "$OPSKIT_ROOT" && python3 "$LAYERS" "$OPSKIT_BUILD")
'

test_expect_success 'util, the bottom layer, calls no other opskit file' '
	(cd "$OPSKIT_ROOT" && python3 "$LAYERS" --graph "$OPSKIT_BUILD") >graph &&
	test_grep "^lib/redact.c -> lib/util.c" graph &&
	test_grep_not "^lib/util.c -> " graph
'

# Two objects that call each other: the checker must see the circle (and the symbols).
make_pair() { # DIR A B
	mkdir -p "$1/src/lib" "$1/build/lib" &&
	printf 'int %s_g(void);\nint %s_f(void) { return %s_g(); }\nint %s_h(void) { return 1; }\n' \
		"$3" "$2" "$3" "$2" >"$1/src/lib/$2.c" &&
	printf 'int %s_h(void);\nint %s_g(void) { return %s_h(); }\n' "$2" "$3" "$2" >"$1/src/lib/$3.c" &&
	cc -c -o "$1/build/lib/$2.o" "$1/src/lib/$2.c" &&
	cc -c -o "$1/build/lib/$3.o" "$1/src/lib/$3.c"
}

test_expect_success 'the checker names a circle and the symbols on each edge' '
	make_pair pair one two &&
	(cd pair/src && ! python3 "$LAYERS" ../build) >out &&
	test_grep "^circle: lib/one.c <-> lib/two.c" out &&
	test_grep "lib/one.c -> lib/two.c: two_g" out &&
	test_grep "lib/two.c -> lib/one.c: one_h" out
'

test_expect_success 'the dotenv parser family may call each other' '
	make_pair dot dotenv dotenv_x &&
	(cd dot/src && python3 "$LAYERS" ../build)
'

test_expect_success 'each tool header lists every module of its tool' '
	for dir in "$OPSKIT_ROOT"/tools/ops-*; do
		tool=${dir##*/ops-}
		# the opening comment: up to the first line that ends it
		sed -n "1,/\*\//p" "$dir/$tool.h" >map &&
		for c in "$dir"/*.c; do
			m=${c##*/}
			grep -q "^ \*  *$m " map || { echo "$dir/$tool.h does not list $m"; exit 1; }
		done
	done
'

test_done
