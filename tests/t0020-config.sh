#!/bin/sh
# The config library (opskit.yaml(5)): types, unknown keys, ${VAR}, YAML errors, discovery.
# Cases in tests/data/config/<case>/ (opskit.yaml and the files of tests/README) run through
# `opskit-test-helper config` (the shared schema) or `config-typed` (plus a test section
# with one key of every type, see tests/helper/test-helper.c).
. "$(dirname "$0")/test-lib.sh"

test_data_cases "$TEST_DATA/config"

# (on the standard error the cases above left in $TRASH/case-NAME/)
test_expect_success 'every config error is located as file:line:column:' '
	for dir in "$TEST_DATA"/config/*/; do
		test "$(data_case_exit "$dir")" = 3 || continue
		err=$TRASH/case-$(basename "$dir")/actual.err
		grep -q "^opskit\.yaml:[0-9][0-9]*:[0-9][0-9]*: " "$err" ||
		{ echo "$(basename "$dir"): not located: $(cat "$err")"; exit 1; }
	done
'

# ---- discovery: --config, $OPSKIT_CONFIG, ./opskit.yaml, $XDG_CONFIG_HOME, ~/.config ----

# One file per location, each naming itself through defaults.format.
setup_discovery() {
	mkdir -p disc/cwd disc/xdg/opskit disc/home/.config/opskit &&
	printf "defaults:\n  format: explicit\n" >disc/explicit.yaml &&
	printf "defaults:\n  format: env\n" >disc/env.yaml &&
	printf "defaults:\n  format: cwd\n" >disc/cwd/opskit.yaml &&
	printf "defaults:\n  format: xdg\n" >disc/xdg/opskit/config.yaml &&
	printf "defaults:\n  format: home\n" >disc/home/.config/opskit/config.yaml
}

# discovered [ENV...]: the format the discovered file sets, run from disc/cwd.
discovered() {
	(cd disc/cwd && env HOME="$TRASH/disc/home" "$@" opskit-test-helper config --discover) |
	sed -n "s/^defaults.format=//p"
}

test_expect_success 'discovery: --config beats everything' '
	setup_discovery &&
	(cd disc/cwd && OPSKIT_CONFIG=../env.yaml XDG_CONFIG_HOME="$TRASH/disc/xdg" \
		opskit-test-helper config ../explicit.yaml) >out &&
	test_grep "^defaults.format=explicit$" out
'

test_expect_success 'discovery: $OPSKIT_CONFIG beats ./opskit.yaml and XDG' '
	setup_discovery &&
	test "$(discovered OPSKIT_CONFIG="$TRASH/disc/env.yaml" XDG_CONFIG_HOME="$TRASH/disc/xdg")" = env
'

test_expect_success 'discovery: ./opskit.yaml beats $XDG_CONFIG_HOME' '
	setup_discovery &&
	test "$(discovered XDG_CONFIG_HOME="$TRASH/disc/xdg")" = cwd
'

test_expect_success 'discovery: $XDG_CONFIG_HOME/opskit/config.yaml beats ~/.config' '
	setup_discovery && rm disc/cwd/opskit.yaml &&
	test "$(discovered XDG_CONFIG_HOME="$TRASH/disc/xdg")" = xdg
'

test_expect_success 'discovery: ~/.config/opskit/config.yaml when XDG_CONFIG_HOME is unset' '
	setup_discovery && rm disc/cwd/opskit.yaml &&
	test "$(discovered)" = home
'

test_expect_success 'discovery: an empty $OPSKIT_CONFIG is ignored' '
	setup_discovery &&
	test "$(discovered OPSKIT_CONFIG=)" = cwd
'

test_expect_success 'discovery: no file anywhere is an empty config' '
	setup_discovery && rm -r disc/cwd/opskit.yaml disc/home/.config &&
	if test -e /etc/opskit/config.yaml; then echo "skipped: /etc/opskit/config.yaml exists"; exit 0; fi &&
	(cd disc/cwd && HOME="$TRASH/disc/home" opskit-test-helper config --discover) >out &&
	printf "file=(none)\n" >expect && test_cmp expect out
'

test_expect_success 'discovery: a missing --config file is an error naming it' '
	setup_discovery &&
	{ (cd disc/cwd && opskit-test-helper config ../nonexistent.yaml) 2>err; test $? -eq 3; } &&
	test_grep "^\.\./nonexistent\.yaml: cannot read config: No such file or directory$" err
'

test_expect_success 'discovery: a missing $OPSKIT_CONFIG file is an error, not a fallback' '
	setup_discovery &&
	{ (cd disc/cwd && OPSKIT_CONFIG="$TRASH/disc/gone.yaml" opskit-test-helper config --discover) >out 2>err; test $? -eq 3; } &&
	test_grep "disc/gone\.yaml: cannot read config named by OPSKIT_CONFIG" err &&
	! test -s out
'

test_expect_success 'discovery: an unreadable file (a directory) is an error' '
	mkdir dir.yaml &&
	{ opskit-test-helper config dir.yaml 2>err; test $? -eq 3; } &&
	test_grep "^dir\.yaml: cannot read config: " err
'

test_expect_success 'discovery: an endless file (/dev/zero) is refused at 16 MiB, not read forever' '
	{ run_with_timeout 20 opskit-test-helper config /dev/zero 2>err; test $? -eq 3; } &&
	test_grep "^/dev/zero: cannot read config: larger than 16 MiB" err
'

# ---- exporter settings (lib/exporter.c): the schema rows are their only defaults ----

# row_default PATH: the .def of a schema row, as config-keys prints it.
row_default() { opskit-test-helper config-keys | awk -F "\t" -v k="$1" '$1 == k { print $4 }'; }

test_expect_success 'exporter: with no exporter keys, each section gets the defaults of its schema rows' '
	: >empty.yaml &&
	for section in redis postgres; do
		row=$section.exporter &&
		{
			echo "max_concurrent=$(row_default $row.max_concurrent)" &&
			echo "timeout_ms=$(opskit-test-helper duration "$(row_default $row.timeout)")" &&
			echo "allow_remote=$(row_default $row.allow_remote)" &&
			echo "allow_any_target=$(row_default $row.allow_any_target)" &&
			printf "username=-\ntls_cert_file=-\ntls_key_file=-\n"
		} >expect &&
		opskit-test-helper exporter-config empty.yaml $section >actual &&
		test_cmp expect actual || return 1
	done
'

test_expect_success 'exporter: other defaults in the rows are what it uses (none of its own)' '
	: >empty.yaml &&
	opskit-test-helper exporter-config empty.yaml xdef >actual &&
	printf "max_concurrent=7\ntimeout_ms=3000\nallow_remote=true\nallow_any_target=true\n" >expect &&
	head -n 4 actual >actual4 && test_cmp expect actual4
'

test_expect_success 'exporter: set keys win over the defaults of the rows' '
	printf "redis:\n  exporter:\n    max_concurrent: 2\n    timeout: 1500ms\n    allow_remote: yes\n" >set.yaml &&
	opskit-test-helper exporter-config set.yaml redis >actual &&
	printf "max_concurrent=2\ntimeout_ms=1500\nallow_remote=true\nallow_any_target=false\n" >expect &&
	head -n 4 actual >actual4 && test_cmp expect actual4
'

test_expect_success 'exporter: rows without a default are refused, not served with zeroes' '
	: >empty.yaml &&
	{ opskit-test-helper exporter-config empty.yaml xnodef >out 2>err; test $? -eq 3; } &&
	test_grep "xnodef.exporter.max_concurrent and .timeout need a default in the config schema" err
'

# ---- through the real binaries: what t0001 does not cover ----
# Each gets operands it accepts (a tool may check its operands before the config); the
# config error stops it before any work. timeout bounds a tool that would not stop.

printf 'APP_ENV=test\n' >.env
operands() {
	case $1 in
	ops-promote) echo "127.0.0.1:1/app:rc 127.0.0.1:1/app:prod" ;;
	ops-pgprobe) echo "'host=127.0.0.1 port=1 connect_timeout=1'" ;;
	ops-redisaudit) echo "redis://127.0.0.1:1" ;;
	ops-envcheck) echo ".env" ;;
	esac
}

for tool0 in ops-promote ops-pgprobe ops-redisaudit ops-envcheck; do
	tool="timeout --kill-after=5 20 $tool0"
	test_expect_success "$tool0: bad config as JSON is one UNKNOWN check \"config\" with the location" "
		printf 'defaults:\n  format: text\n  timout: 5s\n' >typo.yaml &&
		{ $tool --config typo.yaml --format json $(operands $tool0) >out.json 2>err; test \$? -eq 3; } &&
		python3 -c '
import json, sys
d = json.load(open(\"out.json\"))
c = d[\"checks\"]
ok = (d[\"tool\"] == \"$tool0\" and d[\"status\"] == \"unknown\" and d[\"exit_code\"] == 3 and
      len(c) == 1 and c[0][\"id\"] == \"config\" and c[0][\"status\"] == \"unknown\" and
      c[0][\"message\"].startswith(\"typo.yaml:3:3: unknown key \\\"defaults.timout\\\" (did you mean\"))
sys.exit(0 if ok else 1)' &&
		test_grep '^$tool0: typo.yaml:3:3: unknown key' err
	"
	test_expect_success "$tool0: bad config in prometheus sets opskit_check_status{check=\"config\"} 3" "
		printf 'defaults:\n  timeout: soon\n' >bad.yaml &&
		{ $tool --config bad.yaml --format prometheus $(operands $tool0) >out 2>/dev/null; test \$? -eq 3; } &&
		test_grep '^opskit_check_status{tool=\"$tool0\",check=\"config\",subject=\"\"} 3$' out &&
		test_grep '^opskit_status{tool=\"$tool0\"} 3$' out
	"
	test_expect_success "$tool0: defaults.format naming no format is a located error, exit 3" "
		printf 'defaults:\n  format: xml\n' >fmt.yaml &&
		{ $tool --config fmt.yaml $(operands $tool0) >out 2>err; test \$? -eq 3; } &&
		test_grep 'fmt.yaml:2:11: defaults.format \"xml\" is not a format $tool0 writes' err
	"
	if $tool0 --help 2>/dev/null | grep -q sarif; then
		test_expect_success "$tool0: bad config in sarif and github formats" "
			printf 'defaults:\n  timeout: soon\n' >bad.yaml &&
			{ $tool --config bad.yaml --format sarif $(operands $tool0) >out.sarif 2>/dev/null; test \$? -eq 3; } &&
			python3 -c '
import json, sys
r = json.load(open(\"out.sarif\"))[\"runs\"][0][\"results\"]
sys.exit(not (len(r) == 1 and r[0][\"ruleId\"] == \"config\" and r[0][\"message\"][\"text\"].startswith(\"bad.yaml:2:12: \")))' &&
			{ $tool --config bad.yaml --format github $(operands $tool0) >out.gh 2>/dev/null; test \$? -eq 3; } &&
			test_grep '^::notice title=config::bad.yaml:2:12: ' out.gh
		"
	fi
	test_expect_success "$tool0: a secret in a bad config value never reaches the output" "
		printf 'defaults:\n  timeout: \${T_SECRET_TOKEN}\n' >sec.yaml &&
		for f in text json prometheus nagios; do
			T_SECRET_TOKEN=hunter2hunter2 $tool --config sec.yaml --format \$f $(operands $tool0) >out 2>&1; test \$? -eq 3 &&
			test_grep 'sec.yaml:2:12: defaults.timeout must be a duration' out &&
			test_grep_not hunter2hunter2 out || exit 1
		done
	"
done

test_done
