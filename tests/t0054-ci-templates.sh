#!/bin/sh
# The CI templates: ci/github/action.yml (composite action) and
# ci/gitlab/opskit.gitlab-ci.yml. Their YAML parses, every script they run is clean for
# ShellCheck, and those exact scripts, run as the CI would run them (the step's env from
# its inputs, the job's variables), promote by digest against a local docker-registry,
# refuse a moved source and a revision off the branch, and turn ops-envcheck's findings
# into GitHub annotations and a GitLab code-quality report.
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd python3 jq shellcheck docker-registry skopeo git
python3 -c "import yaml" 2>/dev/null || skip_all "python3-yaml is not installed (run ci/install-deps.sh)"

GH=$OPSKIT_ROOT/ci/github
GL=$OPSKIT_ROOT/ci/gitlab/opskit.gitlab-ci.yml

# ci-script github STEP-ID [input=value...] | ci-script gitlab JOB [VAR=value...]
# prints a sh script: the step's env (its ${{ inputs.* }} from the given inputs, else the
# input's default) or the job's variables (overridden by the given ones, $VARs expanded
# as GitLab does), then the step's run: or the job's script, unchanged.
cat >ci-script.py <<'PY'
import os, re, shlex, sys, yaml
kind, name, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
given = dict(p.split("=", 1) for p in pairs)
out = ["set -e"]
if kind == "github":
    action = yaml.safe_load(open(os.environ["GH"] + "/action.yml"))
    inputs = {k: v.get("default", "") for k, v in action["inputs"].items()}
    inputs.update(given)
    step = [s for s in action["runs"]["steps"] if s.get("id") == name][0]
    for k, v in step.get("env", {}).items():
        v = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], str(v))
        out.append("export %s=%s" % (k, shlex.quote(v)))
    out.append(step["run"])
else:
    job = yaml.safe_load(open(os.environ["GL"]))[name]
    env = dict(os.environ)
    vals = {k: str(v) for k, v in job.get("variables", {}).items()}
    vals.update(given)
    for k, v in vals.items():
        v = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), v)
        env[k] = v
        out.append("export %s=%s" % (k, shlex.quote(v)))
    for key in ("before_script", "script"):
        out.extend(job.get(key, []))
print("\n".join(out))
PY
export GH GL
ci_script() { python3 "$TRASH/ci-script.py" "$@"; }

test_expect_success 'action.yml parses: a composite action, every step with a shell' '
	python3 -c "
import sys, yaml
a = yaml.safe_load(open(sys.argv[1]))
assert a[\"runs\"][\"using\"] == \"composite\", a[\"runs\"]
for s in a[\"runs\"][\"steps\"]:
    assert s.get(\"shell\") in (\"sh\", \"bash\"), s
for k in (\"command\", \"source\", \"target\", \"digest\", \"require-ancestor\", \"files\"):
    assert k in a[\"inputs\"], k
assert set(a[\"outputs\"]) >= {\"digest\", \"action\", \"status\"}
" "$GH/action.yml"
'

test_expect_success 'action.yml: inputs reach the scripts through env, never inside run:' '
	python3 -c "
import re, sys, yaml
a = yaml.safe_load(open(sys.argv[1]))
for s in a[\"runs\"][\"steps\"]:
    assert \"\${{\" not in s[\"run\"], s[\"run\"]
    for v in s.get(\"env\", {}).values():
        for m in re.findall(r\"inputs\\.([\\w-]+)\", str(v)):
            assert m in a[\"inputs\"], m
" "$GH/action.yml"
'

test_expect_success 'the GitLab template parses: hidden jobs with a script and reports' '
	python3 -c "
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
p, e = t[\".opskit-promote\"], t[\".opskit-envcheck\"]
assert p[\"script\"] and e[\"script\"]
assert p[\"artifacts\"][\"reports\"][\"dotenv\"] == \"opskit-promote.env\"
assert e[\"artifacts\"][\"reports\"][\"codequality\"] == \"gl-code-quality-report.json\"
assert p[\"variables\"][\"GIT_DEPTH\"] == \"0\"
" "$GL"
'

test_expect_success 'shellcheck: the action scripts and every step and job script' '
	shellcheck -s sh "$GH"/*.sh &&
	for s in promote envcheck; do ci_script github $s >gh-$s.sh || exit 1; done &&
	for j in .opskit-promote .opskit-envcheck; do ci_script gitlab $j >gl$j.sh || exit 1; done &&
	shellcheck -s sh gh-promote.sh gh-envcheck.sh gl.opskit-promote.sh gl.opskit-envcheck.sh
'

start_registry a plain || { echo "Bail out! registry did not start"; exit 1; }
R=$REG_A

# The application: built from a commit on origin/main (ci-1), and from a commit that is
# on a side branch only (ci-side); ci-moved points elsewhere. ci-1 has a (cosign-style)
# signature, a referrer that travels with it to another repository.
test_expect_success 'setup: a checkout with origin/main, images pushed with skopeo' '
	git init -q -b main upstream &&
	git -C upstream -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m one &&
	git clone -q upstream app &&
	git -C app checkout -q -b side &&
	git -C app -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m side &&
	make_test_image img ci-1 1 1024 "$(git -C upstream rev-parse HEAD)" >ci-1.digest &&
	make_test_image img ci-side 1 1024 "$(git -C app rev-parse side)" >ci-side.digest &&
	make_test_image img moved 1 1024 "$(git -C upstream rev-parse HEAD)" >moved.digest &&
	push_test_image img ci-1 $R/shop/api:ci-1 &&
	push_test_image img ci-side $R/shop/api:ci-side &&
	push_test_image img moved $R/shop/api:ci-moved &&
	sig=sha256-$(sed "s/^sha256://" ci-1.digest).sig &&
	echo "$sig" >sig.tag &&
	make_test_image img "$sig" 1 300 >sig.digest && push_test_image img "$sig" "$R/shop/api:$sig"
'

# run_gh STEP OUT [input=value...]: the step as the runner runs it, in app/.
run_gh() {
	_step=$1 _out=$2; shift 2
	mkdir -p "$TRASH/runner" && : >"$TRASH/$_out.output" && : >"$TRASH/$_out.summary" &&
	ci_script github "$_step" "$@" >"$TRASH/$_out.sh" &&
	(cd "$TRASH/app" && HOME=$TRASH/home-gh GITHUB_ACTION_PATH=$GH RUNNER_TEMP=$TRASH/runner \
		GITHUB_OUTPUT=$TRASH/$_out.output GITHUB_STEP_SUMMARY=$TRASH/$_out.summary \
		sh "$TRASH/$_out.sh") >"$TRASH/$_out.log" 2>&1
}

test_expect_success 'GitHub: promote by digest with --require-ancestor; outputs and summary' '
	run_gh promote gh1 command=promote source=$R/shop/api:ci-1 target=$R/prod/api:production \
		digest=$(cat ci-1.digest) require-ancestor=origin/main || { cat gh1.log; exit 1; }
	skopeo_digest $R/prod/api:production >got && test_cmp ci-1.digest got &&
	test_grep "^digest=$(cat ci-1.digest)\$" gh1.output &&
	test_grep "^action=mounted\$" gh1.output && test_grep "^status=ok\$" gh1.output &&
	test_grep "| source | \`$R/shop/api:ci-1\` |" gh1.summary &&
	test_grep "| target | \`$R/prod/api:production\` |" gh1.summary &&
	test_grep "| digest | \`$(cat ci-1.digest)\` |" gh1.summary &&
	test_grep "| referrers | 1 |" gh1.summary &&
	skopeo_digest "$R/prod/api:$(cat sig.tag)" >got &&
	test_cmp sig.digest got
'

test_expect_code 2 'GitHub: a source that moved since the build is refused (exit 2)' '
	run_gh promote gh2 command=promote source=$R/shop/api:ci-moved \
		target=$R/prod/api:production digest=$(cat ci-1.digest)
'

test_expect_success 'GitHub: ... with an error annotation and the failure in the summary' '
	test_grep "^::error title=ops-promote" gh2.log &&
	test_grep "ops-promote: failed (critical)" gh2.summary &&
	test_grep "^action=failed" gh2.output &&
	skopeo_digest $R/prod/api:production >got && test_cmp ci-1.digest got
'

test_expect_success 'GitHub: an image built off origin/main is refused by provenance (exit 2)' '
	{ run_gh promote gh3 command=promote source=$R/shop/api:ci-side target=$R/shop/api:side-prod \
		digest=$(cat ci-side.digest) require-ancestor=origin/main; test $? -eq 2; } &&
	test_grep "^- \*\*critical\*\* provenance: " gh3.summary &&
	! skopeo inspect --raw --tls-verify=false docker://$R/shop/api:side-prod >/dev/null 2>&1
'

cat >bad.env <<'ENV'
DB_HOST=localhost
LOG_LEVEL = info
DB_HOST=other
ENV

test_expect_success 'GitHub: envcheck annotates findings and fails on warnings (exit 1)' '
	cp bad.env app/.env &&
	{ run_gh envcheck gh4 command=envcheck files=.env; test $? -eq 1; } &&
	test_grep "^::warning file=.env,line=3,col=1,title=duplicated-key::" gh4.log &&
	test_grep "^status=warning\$" gh4.output
'

test_expect_success 'GitHub: envcheck with fail-on critical lets warnings pass' '
	run_gh envcheck gh5 command=envcheck files=.env fail-on=critical &&
	test_grep "^::warning file=.env" gh5.log
'

# run_gl JOB OUT [VAR=value...]: the job's variables and script, in app/ (the checkout).
run_gl() {
	_job=$1 _out=$2; shift 2
	ci_script gitlab "$_job" "$@" >"$TRASH/$_out.sh" &&
	(cd "$TRASH/app" && sh "$TRASH/$_out.sh") >"$TRASH/$_out.log" 2>&1
}

test_expect_success 'GitLab: promote with the digest from the build job dotenv; log and dotenv' '
	rm -f app/opskit-promote.* &&
	HOME=$TRASH/home-gl IMAGE_DIGEST=$(cat ci-1.digest) CI_DEFAULT_BRANCH=main \
	run_gl .opskit-promote gl1 OPSKIT_SOURCE=$R/shop/api:ci-1 OPSKIT_TARGET=$R/shop/api:gl-prod ||
	{ cat gl1.log; exit 1; }
	skopeo_digest $R/shop/api:gl-prod >got && test_cmp ci-1.digest got &&
	test_grep "^source  *$R/shop/api:ci-1\$" gl1.log &&
	test_grep "^target  *$R/shop/api:gl-prod\$" gl1.log &&
	test_grep "^digest  *$(cat ci-1.digest)\$" gl1.log &&
	test_grep "^referrers  *0\$" gl1.log &&
	test_grep "^action  *retagged (ok)\$" gl1.log &&
	test_grep "section_start:.*:opskit_promote" gl1.log &&
	test_grep "^PROMOTED_DIGEST=$(cat ci-1.digest)\$" app/opskit-promote.env &&
	test "$(jq -r .action app/opskit-promote.json)" = retagged
'

test_expect_code 2 'GitLab: an image off the default branch is refused (provenance)' '
	HOME=$TRASH/home-gl IMAGE_DIGEST=$(cat ci-side.digest) CI_DEFAULT_BRANCH=main \
	run_gl .opskit-promote gl2 OPSKIT_SOURCE=$R/shop/api:ci-side OPSKIT_TARGET=$R/shop/api:gl-side
'

test_expect_success 'GitLab: ... the log says why, the target tag was not created' '
	test_grep "^CRITICAL  provenance" gl2.log &&
	! skopeo inspect --raw --tls-verify=false docker://$R/shop/api:gl-side >/dev/null 2>&1
'

start_registry b basic || { echo "Bail out! registry b did not start"; exit 1; }
test_expect_success 'GitLab: CI_REGISTRY_USER/PASSWORD become ~/.docker/config.json' '
	push_test_image img ci-1 $REG_B/shop/api:ci-1 --dest-creds "$REG_USER:$REG_PASS" &&
	HOME=$TRASH/home-gl3 IMAGE_DIGEST=$(cat ci-1.digest) CI_DEFAULT_BRANCH=main \
	CI_REGISTRY=$REG_B CI_REGISTRY_USER=$REG_USER CI_REGISTRY_PASSWORD=$REG_PASS \
	run_gl .opskit-promote gl3 OPSKIT_SOURCE=$REG_B/shop/api:ci-1 OPSKIT_TARGET=$REG_B/shop/api:prod ||
	{ cat gl3.log; exit 1; }
	test "$(stat -c %a home-gl3/.docker/config.json)" = 600 &&
	test_grep_not "$REG_PASS" gl3.log &&
	skopeo_digest $REG_B/shop/api:prod --creds "$REG_USER:$REG_PASS" >got && test_cmp ci-1.digest got
'

test_expect_code 1 'GitLab: envcheck fails on warnings (exit 1: allowed failure)' '
	cp bad.env app/.env && rm -f app/gl-code-quality-report.json &&
	run_gl .opskit-envcheck gl4
'

test_expect_success 'GitLab: ... its code-quality report is what GitLab reads' '
	python3 -c "
import json
r = json.load(open(\"app/gl-code-quality-report.json\"))
assert isinstance(r, list) and r, r
for i in r:
    assert set(i) == {\"description\", \"check_name\", \"fingerprint\", \"severity\", \"location\"}, i
    assert i[\"severity\"] in (\"info\", \"minor\", \"major\", \"critical\", \"blocker\"), i
    assert i[\"location\"][\"path\"] == \".env\", i
    assert isinstance(i[\"location\"][\"lines\"][\"begin\"], int), i
assert len({i[\"fingerprint\"] for i in r}) == len(r), \"fingerprints not unique\"
dup = [i for i in r if i[\"check_name\"] == \"duplicated-key\"]
assert dup and dup[0][\"location\"][\"lines\"][\"begin\"] == 3 and dup[0][\"severity\"] == \"minor\", dup
" &&
	test_grep "^WARNING  .env:3  duplicated-key" gl4.log &&
	python3 -c "import yaml,sys; assert yaml.safe_load(open(sys.argv[1]))[\".opskit-envcheck\"][\"allow_failure\"] == {\"exit_codes\": [1]}" "$GL"
'

test_expect_success 'GitLab: a good .env gives an empty report and exit 0' '
	printf "APP_NAME=shop\nLOG_LEVEL=info\n" >app/.env &&
	run_gl .opskit-envcheck gl5 && test "$(jq length app/gl-code-quality-report.json)" = 0
'

test_done
