#!/bin/sh
# make fuzz: every libFuzzer target (tests/fuzz/fuzz-*.c) builds, has a seed corpus
# (tests/fuzz/<name>/), and runs each seed once without a crash or a sanitizer report,
# so neither the targets nor the corpora rot. The seeds include every crash the targets
# found, so this is also their regression test. Long runs: make fuzz FUZZ_S=300.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd make
# The targets are ASan + UBSan builds of their own: once is enough for SANITIZE=1 too.
[ "${SANITIZE:-}" = 1 ] && skip_all "the fuzz targets are sanitized builds of their own (run without SANITIZE=1)"
FUZZ_CC=${FUZZ_CC:-clang}
command -v "$FUZZ_CC" >/dev/null 2>&1 || skip_all "$FUZZ_CC is not installed (ci/install-deps.sh bench)"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >probe.c
"$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o probe probe.c >probe.log 2>&1 ||
	skip_all "$FUZZ_CC cannot link libFuzzer (libclang-rt-14-dev: ci/install-deps.sh bench)"

# make from the project, without the calling make's variables (BUILD=, BIN=, SANITIZE=).
run_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE make "$@"
}
FUZZ_DIR=$OPSKIT_ROOT/build/fuzz

test_expect_success 'every target has a seed corpus, every corpus a target' '
	for src in "$OPSKIT_ROOT"/tests/fuzz/fuzz-*.c; do
		name=$(basename "$src" .c) && name=${name#fuzz-} &&
		ls "$OPSKIT_ROOT/tests/fuzz/$name/"* >/dev/null || { echo "no seeds for $src"; exit 1; }
	done &&
	for dir in "$OPSKIT_ROOT"/tests/fuzz/*/; do
		test -f "$OPSKIT_ROOT/tests/fuzz/fuzz-$(basename "$dir").c" || { echo "no target for $dir"; exit 1; }
	done
'

test_expect_success 'every target says what it fuzzes and what it checks' '
	for src in "$OPSKIT_ROOT"/tests/fuzz/fuzz-*.c; do
		head -n 1 "$src" | grep -q "^/\*" && sed -n "2,12p" "$src" | grep -qi "invariant" ||
			{ echo "$src: no header comment naming its invariants"; exit 1; }
	done
'

test_expect_success 'make fuzz builds every target' '
	run_make -C "$OPSKIT_ROOT" -j2 fuzz >build.log 2>&1 || { tail -n 30 build.log; exit 1; } &&
	for src in "$OPSKIT_ROOT"/tests/fuzz/fuzz-*.c; do
		test -x "$FUZZ_DIR/$(basename "$src" .c)" || { echo "not built: $src"; exit 1; }
	done
'

for src in "$OPSKIT_ROOT"/tests/fuzz/fuzz-*.c; do
	t=$(basename "$src" .c)
	test_expect_success "$t runs its seeds clean" '
		mkdir -p "art-$t" &&
		ASAN_OPTIONS=detect_leaks=1 run_with_timeout 120 "$FUZZ_DIR/$t" -artifact_prefix="$TRASH/art-$t/" \
			-timeout=10 "$OPSKIT_ROOT/tests/fuzz/${t#fuzz-}/"* >"$t.log" 2>&1 ||
			{ tail -n 40 "$t.log"; exit 1; }
	'
done

test_done
