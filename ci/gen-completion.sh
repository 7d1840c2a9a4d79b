#!/bin/sh
# Generate a bash or zsh completion for an opskit tool from its option table
# (`TOOL --dump-options`, see cli.h): the rows that drive parsing and --help drive this too.
# Usage: ci/gen-completion.sh bash|zsh BINARY >FILE
# An argument named FILE completes file names, PATH directories, and a row's choices
# complete as words; other arguments complete nothing (a DSN, a number).
set -eu
shell=$1 bin=$2
name=$(basename "$bin")
table=$("$bin" --dump-options) || { echo "gen-completion: $bin --dump-options failed" >&2; exit 1; }

case $shell in
bash)
	printf '%s\n' "$table" | awk -F '\t' -v name="$name" '
	$1 == "subcommand" { subs = subs " " $2; next }
	{
		opt = "--" $2; opts = opts " " opt
		if ($1 != "-") opts = opts " " $1
		if ($3 == "-") next
		pat = opt; if ($1 != "-") pat = pat "|" $1
		if ($7 != "-") { w = $7; gsub(/\|/, " ", w); words[pat] = w }
		else if ($3 == "FILE") files = files "|" pat
		else if ($3 == "PATH") dirs = dirs "|" pat
		else plain = plain "|" pat
	}
	END {
		fn = "_" name; gsub(/-/, "_", fn)
		print "# bash completion for " name ": generated from its option table (ci/gen-completion.sh)"
		print fn "()"
		print "{"
		print "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}"
		print "\tcase $prev in"
		for (p in words) printf "\t%s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n", p, words[p]
		if (files != "") printf "\t%s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", substr(files, 2)
		if (dirs != "") printf "\t%s) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n", substr(dirs, 2)
		if (plain != "") printf "\t%s) COMPREPLY=(); return ;;\n", substr(plain, 2)
		print "\tesac"
		print "\tif [[ $cur == -* ]]; then"
		printf "\t\tCOMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))\n", substr(opts, 2)
		if (subs != "") {
			print "\telif [[ $COMP_CWORD -eq 1 ]]; then"
			printf "\t\tCOMPREPLY=($(compgen -W \"%s\" -f -- \"$cur\"))\n", substr(subs, 2)
		}
		print "\telse"
		print "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))"
		print "\tfi"
		print "}"
		print "complete -F " fn " " name
	}'
	;;
zsh)
	printf '%s\n' "$table" | awk -F '\t' -v name="$name" '
	function zq(s,   out, i, c) {   # zsh spec text: no brackets, colons or quotes
		out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "[" || c == "]" || c == ":" || c == "\\" || c == sprintf("%c", 39)) c = " "
			out = out c
		}
		return out
	}
	$1 == "subcommand" { subs = subs " " $2; next }
	{
		help = zq($8)
		if ($3 == "-") action = ""
		else if ($7 != "-") { w = $7; gsub(/\|/, " ", w); action = ":" zq($3) ":(" w ")" }
		else if ($3 == "FILE") action = ":" zq($3) ":_files"
		else if ($3 == "PATH") action = ":" zq($3) ":_files -/"
		else action = ":" zq($3) ":"
		rep = ($4 == "list" || $4 == "count" || $4 == "call") ? "*" : ""
		if ($1 != "-")
			specs = specs sprintf(" \\\n\t\x27%s%s[%s]%s\x27 \x27%s--%s[%s]%s\x27", rep, $1, help, action, rep, $2, help, action)
		else
			specs = specs sprintf(" \\\n\t\x27%s--%s[%s]%s\x27", rep, $2, help, action)
	}
	END {
		print "#compdef " name
		print "# zsh completion for " name ": generated from its option table (ci/gen-completion.sh)"
		if (subs != "") printf "_arguments -s%s \\\n\t\x271: :(%s)\x27 \\\n\t\x27*:file:_files\x27\n", specs, substr(subs, 2)
		else printf "_arguments -s%s \\\n\t\x27*:operand:_files\x27\n", specs
	}'
	;;
*)
	echo "usage: ci/gen-completion.sh bash|zsh BINARY" >&2
	exit 3
	;;
esac
