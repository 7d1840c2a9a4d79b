#!/bin/sh
# tests/mutants.sh — mutation testing: does the suite fail when the code is wrong?
#
#   make mutants                          every mutant of tests/mutants.txt
#   make mutants MUTANTS_ONLY=pgprobe     only the mutants whose name contains "pgprobe"
#   tests/mutants.sh [-n] [-k] [-o SUBSTRING] [-t SECONDS] [-f LIST]
#     -n   check the list only (each pattern found exactly once), build and run nothing
#     -k   keep the scratch tree (its path is printed)
#     -o   only the mutants whose name contains SUBSTRING
#     -t   per-mutant timeout for its tests (default $MUTANT_TIMEOUT or 300)
#     -b   skip the baseline run of the listed tests on the unmutated tree
#
# Each mutant in the list (see tests/MUTANTS.md) names a file, an exact text that must
# occur exactly once in it, its replacement, and the test files that must catch it. The
# project's tree (committed and uncommitted changes, build objects included) is copied
# into a scratch directory once; each mutant is applied there, the binaries rebuilt (only
# the mutated file recompiles), its tests run, and the file restored. A mutant is killed
# when one of its tests fails (or they time out); it survives when they all pass.
#
# Fails (exit 1) when a pattern does not occur exactly once in its file, a listed test
# file does not exist, a mutant does not compile or changes nothing, the tests fail on the
# unmutated tree, or fewer than MUTANTS_MIN_KILL percent (default 90) are killed.

set -u
ROOT=${OPSKIT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
LIST=$ROOT/tests/mutants.txt
ONLY=${MUTANTS_ONLY:-}
TIMEOUT=${MUTANT_TIMEOUT:-300}
MIN_KILL=${MUTANTS_MIN_KILL:-90}
CHECK_ONLY= KEEP= BASELINE=1
while getopts nko:t:f:b opt; do
	case $opt in
	n) CHECK_ONLY=1 ;;
	k) KEEP=1 ;;
	o) ONLY=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	f) LIST=$OPTARG ;;
	b) BASELINE= ;;
	*) sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done

die() { printf 'mutants: %s\n' "$*" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || die "python3 is needed (ci/install-deps.sh test)"
[ -f "$LIST" ] || die "no list $LIST"

# The list, parsed and checked against a tree: one mutant per line of $WORK/index
# ("N<TAB>name<TAB>file<TAB>tests"), find/repl texts in $WORK/m.N.find and .repl.
# mutants.py check TREE: every pattern occurs exactly once, every test file exists.
# mutants.py apply TREE N / restore TREE N.
mutants_py() {
	python3 - "$@" <<'PY'
import os, sys
cmd, lst, work, tree = sys.argv[1:5]
def parse():
    out, cur = [], {}
    def flush(lineno):
        if not cur:
            return
        for k in ("name", "file", "find", "repl", "tests"):
            if k not in cur:
                sys.exit("%s:%d: mutant %r has no %s:" % (lst, lineno, cur.get("name", "?"), k))
        out.append(dict(cur)); cur.clear()
    for no, line in enumerate(open(lst, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line.strip():
            flush(no); continue
        if line.startswith("#"):
            continue
        key, sep, val = line.partition(":")
        key = key.strip()
        if not sep or key not in ("name", "file", "find", "repl", "tests"):
            sys.exit("%s:%d: expected name:, file:, find:, repl: or tests:, got %r" % (lst, no, line))
        if key in cur:
            sys.exit("%s:%d: a second %s: in one mutant (separate mutants by a blank line)" % (lst, no, key))
        # one space after the colon is the separator; the rest is literal (spaces and
        # tabs included); {NL} and {TAB} stand for a newline and a tab.
        val = val[1:] if val.startswith(" ") else val
        if key in ("find", "repl"):
            val = val.replace("{NL}", "\n").replace("{TAB}", "\t")
        cur[key] = val
        cur.setdefault("line", no)
    flush(no + 1)
    return out
ms = parse()
if cmd == "check":
    bad, names = 0, set()
    with open(os.path.join(work, "index"), "w") as idx:
        for i, m in enumerate(ms, 1):
            where = "%s:%d: %s" % (lst, m["line"], m["name"])
            if m["name"] in names or "\t" in m["name"]:
                print("%s: duplicate or bad name" % where); bad += 1
            names.add(m["name"])
            path = os.path.join(tree, m["file"])
            try:
                text = open(path, encoding="utf-8").read()
            except OSError as e:
                print("%s: %s" % (where, e)); bad += 1; continue
            n = text.count(m["find"])
            if n != 1:
                print("%s: the pattern occurs %d times in %s, not once: %r" % (where, n, m["file"], m["find"]))
                bad += 1
            if m["find"] == m["repl"]:
                print("%s: the replacement is the pattern" % where); bad += 1
            tests = m["tests"].split()
            if not tests:
                print("%s: no tests" % where); bad += 1
            for t in tests:
                if not os.path.isfile(os.path.join(tree, "tests", t)):
                    print("%s: no test file tests/%s" % (where, t)); bad += 1
            for k in ("find", "repl"):
                open(os.path.join(work, "m.%d.%s" % (i, k)), "w").write(m[k])
            idx.write("%d\t%s\t%s\t%s\n" % (i, m["name"], m["file"], " ".join("tests/" + t for t in tests)))
    sys.exit(1 if bad else 0)
i, path = sys.argv[5], os.path.join(tree, sys.argv[6])
find = open(os.path.join(work, "m.%s.find" % i)).read()
repl = open(os.path.join(work, "m.%s.repl" % i)).read()
text = open(path, encoding="utf-8").read()
if cmd == "apply":
    if text.count(find) != 1:
        sys.exit("the pattern no longer occurs exactly once in %s" % path)
    open(path + ".mutant-orig", "w", encoding="utf-8").write(text)
    open(path, "w", encoding="utf-8").write(text.replace(find, repl, 1))
PY
}

WORK=$(mktemp -d /tmp/opskit-mutants.XXXXXX) || exit 1
TREE=$WORK/tree
cleanup() {
	if [ -n "$KEEP" ]; then echo "mutants: scratch tree kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mutants_py check "$LIST" "$WORK" "$ROOT" || die "the list does not match the tree (fix $LIST)"
total=0
while IFS='	' read -r i name file tests; do
	case $name in *"$ONLY"*) total=$((total + 1)) ;; esac
done <"$WORK/index"
echo "mutants: $(wc -l <"$WORK/index") in the list, every pattern found exactly once"
[ -n "$CHECK_ONLY" ] && exit 0
[ "$total" -gt 0 ] || die "no mutant's name contains '$ONLY'"

# The scratch tree: the working tree as it is (uncommitted changes included) with its
# build objects, so that only a mutated file recompiles. Test trash and git stay out.
mkdir -p "$TREE"
(cd "$ROOT" && tar -cf - --exclude=./.git --exclude='./tests/trash.*' .) | (cd "$TREE" && tar -xf -) ||
	die "cannot copy the tree into $TREE"
build() { (cd "$TREE" && timeout --kill-after=10 600 make -j2 all) >"$WORK/build.log" 2>&1; }
build || { tail -n 30 "$WORK/build.log"; die "the unmutated tree does not build"; }

# run_tests TESTS LOG [SECONDS]: prove in the scratch tree, bounded (default $TIMEOUT).
run_tests() {
	(cd "$TREE" && OPSKIT_BIN=$TREE/bin OPSKIT_ROOT=$TREE \
		timeout --kill-after=10 "${3:-$TIMEOUT}" prove -j2 $1) >"$2" 2>&1
}

if [ -n "$BASELINE" ]; then
	all=$(while IFS='	' read -r i name file tests; do
		case $name in *"$ONLY"*) printf '%s\n' $tests ;; esac
	done <"$WORK/index" | sort -u | tr '\n' ' ')
	echo "mutants: baseline: $all"
	run_tests "--directives $all" "$WORK/baseline.log" $((TIMEOUT * 4)) || {
		grep -v '^\[' "$WORK/baseline.log" | tail -n 40
		die "the tests fail on the unmutated tree: fix them first"
	}
	# a test that skips here (its server or reference is not installed) passes on every
	# mutant: say so, or its survivors look like weak tests
	skips=$(grep -e '# SKIP' -e 'skipped:' "$WORK/baseline.log" | sed 's/^\[[^]]*\] *//')
	[ -z "$skips" ] || printf 'mutants: baseline: skipped here (their mutants may survive for that):\n%s\n' \
		"$(printf '%s\n' "$skips" | sed 's/^/    /')"
fi

killed=0 survived=0 n=0 broken=0
survivors=
exec 3<"$WORK/index"
while IFS='	' read -r i name file tests <&3; do
	case $name in *"$ONLY"*) ;; *) continue ;; esac
	n=$((n + 1))
	start=$(date +%s)
	mutants_py apply "$LIST" "$WORK" "$TREE" "$i" "$file" || { broken=$((broken + 1)); continue; }
	if ! build; then
		echo "BROKEN   $name: the mutant does not compile (make it a valid program)"
		sed -n '/error/p' "$WORK/build.log" | head -n 5
		broken=$((broken + 1))
	elif run_tests "$tests" "$WORK/run.log"; then
		echo "SURVIVED $name  ($file; $tests)"
		survived=$((survived + 1))
		survivors="$survivors $name"
	else
		rc=$?
		why=$(sed -n 's/^\(tests\/[^ ]*\) *(Wstat.*/\1/p' "$WORK/run.log" | tr '\n' ' ')
		[ $rc -eq 124 ] && why="timeout after ${TIMEOUT}s"
		echo "killed   $name  ($(( $(date +%s) - start ))s; $why)"
		killed=$((killed + 1))
	fi
	# restore: the original, with a fresh mtime so that make rebuilds it
	mv -f "$TREE/$file.mutant-orig" "$TREE/$file" && touch "$TREE/$file"
done
exec 3<&-
build || die "the tree does not build after restoring the mutants"

valid=$((killed + survived))
rate=0
[ $valid -gt 0 ] && rate=$((100 * killed / valid))
echo "mutants: $killed of $valid killed ($rate%), $survived survived${survivors:+:$survivors}"
[ $broken -eq 0 ] || die "$broken mutants are broken (see above)"
[ $rate -ge "$MIN_KILL" ] || die "kill rate $rate% is below $MIN_KILL%"
exit 0
