# no-secret.sh — plant secrets, run a tool every way it can print, then look for them
# everywhere it printed (source after test-lib.sh). Used by the no-secret tests of each
# tool (t2034, t3011, t4022) and by t0070 (every tool at once).
#
#   plant VAR CHANNEL       a new distinctive secret (S3cr3t-<random hex>) in $VAR,
#                           remembered with the channel it enters through (for the report
#                           of a leak)
#   run_every_way CASE TOOL ARGS...
#       TOOL -v and TOOL -vv in every --format its --help lists, the report through
#       -o, plus one plain run (text on stdout); every stdout, stderr, report and exit
#       code lands in $NS_OUT as CASE.* (bounded: 60 s a run)
#   exits_are CASE RC...    every run of CASE exited with one of RC (so a failure path
#                           really failed the way the case means)
#   run_one CASE CMD...     one run of CMD (any command line), kept like the above
#   scrape CASE URL [CURL-ARGS...]  one HTTP GET (curl, 20 s), body and headers kept
#   no_secret_in DIR...     grep -F for every planted secret, plain (its first 13
#                           characters: cut short too) and base64 (at the three
#                           alignments, so "user:SECRET" encoded is found too), in every
#                           file under DIR: each hit names its channel and file
#   config_errors CASE TOOL SECTION LINE...
#                           each LINE as the only key of target t under SECTION.targets
#                           in its own config file: TOOL --config it t, run every way,
#                           must exit 3 (a config error on the line holding a secret)
#   search_finds SECRET     the search itself works: SECRET planted plain, and "u:SECRET"
#                           base64-encoded, are each found
#   NS_OUT                  where runs land ($TRASH/ns-out)

NS_OUT=$TRASH/ns-out
mkdir -p "$NS_OUT" "$TRASH/ns-planted"

plant() {
	_ns_secret=S3cr3t-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	eval "$1=\$_ns_secret"
	printf '%s\n' "$2" >"$TRASH/ns-planted/$_ns_secret"
}

# The formats a tool writes, from its --help synopsis ("--format text|json|...").
_ns_formats() {
	"$1" --help 2>&1 | sed -n 's/.*--format \([a-z|]*\).*/\1/p' | head -1 | tr '|' ' '
}

run_one() {
	_ns_case=$1
	shift
	run_with_timeout 60 "$@" >"$NS_OUT/$_ns_case.out" 2>"$NS_OUT/$_ns_case.err"
	echo $? >"$NS_OUT/$_ns_case.rc"
}

run_every_way() {
	_ns_c=$1 _ns_tool=$2
	shift 2
	for _ns_fmt in $(_ns_formats "$_ns_tool"); do
		for _ns_v in -v -vv; do
			run_one "$_ns_c.$_ns_fmt$_ns_v" "$_ns_tool" $_ns_v --format "$_ns_fmt" \
				-o "$NS_OUT/$_ns_c.$_ns_fmt$_ns_v.report" "$@"
		done
	done
	run_one "$_ns_c.stdout" "$_ns_tool" -vv "$@"
}

exits_are() {
	_ns_c=$1
	shift
	for _ns_rc in "$NS_OUT/$_ns_c".*rc; do
		test -f "$_ns_rc" || { echo "no run of case $_ns_c"; return 1; }
		case " $* " in
		*" $(cat "$_ns_rc") "*) ;;
		*) echo "${_ns_rc##*/}: exit $(cat "$_ns_rc"), want one of $*"; cat "${_ns_rc%.rc}.err"; return 1 ;;
		esac
	done
}

scrape() {
	_ns_c=$1 _ns_url=$2
	shift 2
	curl -sS -m 20 -D "$NS_OUT/$_ns_c.headers" -o "$NS_OUT/$_ns_c.body" "$@" "$_ns_url" 2>"$NS_OUT/$_ns_c.err"
}

# Each secret's first 13 characters (S3cr3t- and 6 random hex digits: a secret cut short
# is found too), and its base64 at the three alignments less the edge characters that
# depend on its neighbours, one needle a line; the channel files say which is which.
_ns_needles() {
	for _ns_s in $(ls "$TRASH/ns-planted"); do
		printf '%s\n' "$_ns_s" | cut -c1-13
		for _ns_pad in "" x xx; do
			printf '%s%s' "$_ns_pad" "$_ns_s" | base64 -w0 | cut -c5- | rev | cut -c5- | rev
		done
	done
}

no_secret_in() {
	_ns_needles >"$TRASH/ns-needles" &&
	test "$(wc -l <"$TRASH/ns-needles")" -ge 4 || { echo "no secret was planted"; return 1; }
	if grep -rlF -f "$TRASH/ns-needles" "$@" >"$TRASH/ns-hits"; then
		while IFS= read -r _ns_file; do
			for _ns_s in $(ls "$TRASH/ns-planted"); do
				_ns_head=$(printf '%s' "$_ns_s" | cut -c1-13)
				if grep -qF "$_ns_head" "$_ns_file"; then
					echo "LEAK in $_ns_file of the secret planted as: $(cat "$TRASH/ns-planted/$_ns_s")"
					grep -F "$_ns_head" "$_ns_file" | head -3
				fi
			done
			echo "hits in $_ns_file:" && grep -oF -f "$TRASH/ns-needles" "$_ns_file" | head -3
		done <"$TRASH/ns-hits"
		return 1
	fi
}

config_errors() {
	_ce_case=$1 _ce_tool=$2 _ce_section=$3
	shift 3
	_ce_i=0
	for _ce_line in "$@"; do
		_ce_i=$((_ce_i + 1))
		printf "%s:\n  targets:\n    t:\n      %s\n" "$_ce_section" "$_ce_line" >"$_ce_case$_ce_i.yaml" &&
		run_every_way "$_ce_case$_ce_i" "$_ce_tool" --config "$_ce_case$_ce_i.yaml" t &&
		exits_are "$_ce_case$_ce_i" 3 || return 1
	done
}

search_finds() {
	mkdir -p "$TRASH/ns-selfcheck" &&
	echo "x $1 y" >"$TRASH/ns-selfcheck/plain" && ! no_secret_in "$TRASH/ns-selfcheck" >/dev/null &&
	rm "$TRASH/ns-selfcheck/plain" && printf "u:%s" "$1" | base64 >"$TRASH/ns-selfcheck/b64" &&
	! no_secret_in "$TRASH/ns-selfcheck" >/dev/null && rm -r "$TRASH/ns-selfcheck"
}
