#!/bin/sh
# The documentation says what the code does (after pgbouncer's etc/optscan.sh):
#  - every config key declared in lib/schema*.c is documented in man/opskit.yaml.5 as
#    ".It Ic <path>" and present in configs/opskit.example.yaml, and nothing documented
#    there is undeclared;
#  - every option in a tool's --help is in its man page ("Fl -name", "Fl x") and every
#    option in the page's OPTIONS section is in --help;
#  - every default in the option tables (--dump-options) and the schema rows is written in
#    the man page item of its option or key, in a sentence that says "default" (a bare
#    "1" somewhere in the item is no default);
#  - the URL forms a tool's --help synopsis shows are those of its man page's SYNOPSIS;
#  - every tool has a man page with the sections the brief requires, and every page is
#    mandoc -T lint clean.
# Failure messages name exactly what is undocumented and where it must go.
. "$(dirname "$0")/test-lib.sh"

MAN=$OPSKIT_ROOT/man
YAML5=$MAN/opskit.yaml.5
EXAMPLE=$OPSKIT_ROOT/configs/opskit.example.yaml
TOOLS=$(cd "$OPSKIT_ROOT/tools" && for d in ops-*; do [ -d "$d" ] && echo "$d"; done)

# The lines of section $2 (".Sh $2" up to the next ".Sh") of page $1.
man_section() {
	awk -v want="$2" '
		/^\.Sh / { cur = substr($0, 5); gsub(/"/, "", cur); next }
		cur == want { print }
	' "$1"
}

# Option names written with the mdoc Fl macro on stdin: "long NAME" / "short X" lines.
# ".Fl qv" is -qv (two short options); ".Fl a b" is -a -b; arguments end at the next
# macro (Ar, Op, Ns, ...) or delimiter.
mdoc_flags() {
	awk '{
		sub(/^\./, "")
		for (i = 1; i <= NF; i++) {
			if ($i != "Fl") continue
			for (j = i + 1; j <= NF; j++) {
				t = $j
				if (t ~ /^[A-Z][a-z][a-z]?$/ || t ~ /^[][(),.;:|]$/) break
				if (t ~ /^-[A-Za-z0-9]/) {
					sub(/^-/, "", t); sub(/[^A-Za-z0-9-]+$/, "", t)
					print "long " t
				} else if (t ~ /^[A-Za-z0-9]+$/) {
					n = split(t, ch, "")
					for (k = 1; k <= n; k++) print "short " ch[k]
				}
			}
		}
	}' | sort -u
}

# Option names in --help text on stdin, same output as mdoc_flags.
help_flags() {
	grep -oE '(^|[][ (|,=])--?[A-Za-z][A-Za-z0-9-]*' |
	sed 's/^[][ (|,=]//' |
	awk '/^--/ { sub(/^--/, ""); print "long " $0; next }
	     { sub(/^-/, ""); n = split($0, ch, ""); for (k = 1; k <= n; k++) print "short " ch[k] }' |
	sort -u
}

# The text of the list item of page $1 whose .It line matches the ERE $2, up to the next
# .It, .El or .Sh at the same list depth, with mdoc macros reduced to their words
# (".Ic redis.timeout ," -> "redis.timeout ,").
man_item() {
	awk -v want="$2" '
		/^\.Bl/ { depth++ }
		/^\.El/ { if (depth == item_depth) on = 0; depth--; next }
		/^\.Sh/ { on = 0 }
		/^\.It/ && depth == item_depth { on = 0 }
		/^\.It/ && $0 ~ want && !on { on = 1; item_depth = depth }
		on { line = $0; gsub(/(^|[ ])\.?(Ic|Fl|Ar|Pq|Ql|Dq|Sq|Ns|No|Cm|Va|Li|Em|Sy|Op|Xr|It|Pp)( |$)/, " ", line); print line }
	' "$1"
}

# Whether the man_item text in file $1 gives the default $2: a sentence of it says
# "default" and has $2 as a word of its own ("Default 1 (every key)", "compose (default)";
# not the 1 of "0 < f <= 1" or of "10m").
says_default() {
	tr '\n' ' ' <"$1" | awk -v def="$2" '
		function word_at(s, p) {
			return (p == 1 || substr(s, p - 1, 1) !~ /[A-Za-z0-9_.]/) &&
			       substr(s, p + length(def), 1) !~ /[A-Za-z0-9_]/
		}
		{
			n = split($0, sentence, /\. |\.$/)
			for (i = 1; i <= n; i++) {
				if (tolower(sentence[i]) !~ /default/) continue
				for (rest = sentence[i]; (p = index(rest, def)) > 0; rest = substr(rest, p + 1))
					if (word_at(rest, p)) found = 1
			}
		}
		END { exit !found }'
}

# "long x" -> "--x", "short x" -> "-x"
show_flags() { sed 's/^long /--/; s/^short /-/' "$1" | tr '\n' ' '; }

opskit-test-helper config-keys >schema.tsv
cut -f1 schema.tsv | sort -u >schema-keys

test_expect_success 'the schema declares keys' '
	test -s schema-keys && test_grep "^defaults\.format$" schema-keys
'

test_expect_success 'every declared config key is documented in opskit.yaml(5)' '
	man_section "$YAML5" KEYS | sed -n "s/^\.It Ic \([^ ]*\).*/\1/p" | sort -u >doc-keys &&
	comm -23 schema-keys doc-keys >undocumented &&
	if test -s undocumented; then
		echo "declared in lib/schema*.c but missing from man/opskit.yaml.5 (KEYS, as \".It Ic <path>\" in the tool'"'"'s .Ss):"
		while read -r k; do grep "^$k	" schema.tsv | sed "s/^/    /"; done <undocumented
		false
	fi
'

test_expect_success 'every key documented in opskit.yaml(5) is declared in the schema' '
	man_section "$YAML5" KEYS | sed -n "s/^\.It Ic \([^ ]*\).*/\1/p" | sort -u >doc-keys &&
	comm -13 schema-keys doc-keys >undeclared &&
	if test -s undeclared; then
		echo "man/opskit.yaml.5 documents keys that no lib/schema*.c declares (typo, or declare them):"
		sed "s/^/    /" undeclared
		false
	fi
'

test_expect_success 'each documented key sits in the .Ss of its section' '
	man_section "$YAML5" KEYS | awk "
		/^\.Ss / { ss = \$2; next }
		/^\.It Ic / { split(\$3, seg, \".\"); if (seg[1] != ss) print \$3 \" is under .Ss \" ss }
	" >misplaced &&
	if test -s misplaced; then cat misplaced; false; fi
'

test_expect_success 'configs/opskit.example.yaml loads' '
	opskit-test-helper config "$EXAMPLE" >example.out 2>example.err ||
	{ echo "configs/opskit.example.yaml does not load (unknown key, bad type, or unset \${VAR} without :-default):"; cat example.err; false; }
'

test_expect_success 'configs/opskit.example.yaml sets every declared key' '
	opskit-test-helper config-coverage "$EXAMPLE" >uncovered 2>&1 || {
		echo "declared keys with no instance in configs/opskit.example.yaml (add them to the tool'"'"'s section):"
		sed "s/^/    /" uncovered
		false
	}
'

test_expect_success 'opskit(7) and opskit.yaml(5) exist' '
	test -f "$MAN/opskit.7" && test -f "$YAML5"
'

for tool in $TOOLS; do
	page=$MAN/$tool.1
	test_expect_success "$tool has a man page man/$tool.1" "
		test -f '$page' || { echo 'man/$tool.1 is missing: write it (mdoc; see man/opskit.7 for the style)'; false; }
	"
	if ! test -f "$page"; then
		test_skip "man/$tool.1 sections and options" "man/$tool.1 is missing (reported above)"
		continue
	fi
	test_expect_success "man/$tool.1 has the required sections" "
		for s in NAME SYNOPSIS DESCRIPTION OPTIONS CHECKS OUTPUT ENVIRONMENT FILES 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
			grep -q \"^\\.Sh \\\"\\{0,1\\}\$s\\\"\\{0,1\\}\$\" '$page' || { echo \"man/$tool.1 has no section .Sh \$s\"; exit 1; }
		done &&
		{ man_section '$page' 'SEE ALSO' | grep -q '^\\.Xr opskit 7' && man_section '$page' 'SEE ALSO' | grep -q '^\\.Xr opskit.yaml 5'; } ||
		{ echo 'man/$tool.1: SEE ALSO must list .Xr opskit 7 and .Xr opskit.yaml 5'; false; }
	"
	test_expect_success "$tool: every option in --help is in man/$tool.1" "
		$tool --help >help.$tool && help_flags <help.$tool >help-flags.$tool &&
		mdoc_flags <'$page' >man-flags.$tool &&
		comm -23 help-flags.$tool man-flags.$tool >missing.$tool &&
		if test -s missing.$tool; then
			echo \"$tool --help shows options that man/$tool.1 never writes as 'Fl -name' / 'Fl x':\"
			echo \"    \$(show_flags missing.$tool)\"
			false
		fi
	"
	test_expect_success "$tool: every option in man/$tool.1 OPTIONS is in --help" "
		$tool --help >help.$tool && help_flags <help.$tool >help-flags.$tool &&
		man_section '$page' OPTIONS | grep '^\\.It' | mdoc_flags >man-options.$tool &&
		{ test -s man-options.$tool || { echo 'man/$tool.1: OPTIONS has no .It Fl items'; false; }; } &&
		comm -13 help-flags.$tool man-options.$tool >extra.$tool &&
		if test -s extra.$tool; then
			echo \"man/$tool.1 OPTIONS documents options that $tool --help does not show:\"
			echo \"    \$(show_flags extra.$tool)\"
			false
		fi
	"
done

test_expect_success 'every config key default is written in its opskit.yaml(5) item' '
	awk -F "\t" "\$4 != \"-\"" schema.tsv | while IFS="	" read -r key type doc def; do
		man_item "$YAML5" "^\\.It Ic $key( |\$)" >item || exit 1
		if ! says_default item "$def"; then
			echo "man/opskit.yaml.5: the item of $key does not give its default \"$def\" (lib/schema*.c) in a sentence that says default"
			bad=1
		fi
	done >missing-defaults
	if test -s missing-defaults; then cat missing-defaults; false; fi
'

for tool in $TOOLS; do
	test_expect_success "$tool: its option table is sound (--dump-options)" "
		$tool --dump-options >table.$tool
	"
	test_expect_success "$tool: the SYNOPSIS of man/$tool.1 lists the formats of its table" "
		awk -F '\t' '\$2 == \"format\" { print \$7 }' table.$tool >formats.$tool &&
		man_section '$MAN/$tool.1' SYNOPSIS | sed -n 's/^\\.Op Fl -format Cm //p' | tr -d ' ' >man-formats.$tool &&
		test_cmp formats.$tool man-formats.$tool
	"
	test_expect_success "$tool: the URL forms of its --help synopsis and man/$tool.1 SYNOPSIS agree" "
		$tool --help | sed '/^options:/,\$d' | grep -oE '[a-z]+://[^] |]*([]][^] |]*)*' | sort -u >help-urls.$tool &&
		man_section '$MAN/$tool.1' SYNOPSIS | grep -oE '[a-z]+://[^] |]*([]][^] |]*)*' | sort -u >man-urls.$tool &&
		test_cmp man-urls.$tool help-urls.$tool
	"
	test_expect_success "$tool: every default in its option table is in man/$tool.1" "
		awk -F '\t' '\$1 != \"subcommand\" && \$3 != \"-\" && \$5 != \"-\" && \$4 != \"flag-off\" { print \$2 \"\t\" \$5 }' table.$tool |
		while IFS='	' read -r opt def; do
			man_item '$MAN/$tool.1' \"^\\\\.It Fl -\$opt( |\\\$)\" >item.$tool
			says_default item.$tool \"\$def\" ||
				echo \"man/$tool.1: the item of --\$opt does not give its default \\\"\$def\\\" in a sentence that says default\"
		done >missing.$tool &&
		if test -s missing.$tool; then cat missing.$tool; false; fi
	"
done

test_expect_success 'every man page is mandoc -T lint -W warning clean' '
	mandoc -T lint -W warning "$MAN"/*.[157]
'

# mandoc accepts a section heading twice; a reader looking for one finds the wrong one.
test_expect_success 'no man page has the same section or subsection heading twice' '
	for page in "$MAN"/*.[157]; do
		grep -E "^\.(Sh|Ss) " "$page" | sort | uniq -d | sed "s|^|$page: |"
	done >twice &&
	{ test ! -s twice || { cat twice; false; }; }
'

test_done
