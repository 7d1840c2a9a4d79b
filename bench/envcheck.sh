#!/bin/sh
# bench/envcheck.sh — parse time of a 100,000-line env file: ops-envcheck print (each
# dialect) against python-dotenv's dotenv_values() and npm dotenv's parse(), side by
# side, with the ratios; and the time of lint of a file of 33,000 secret tokens, all of
# them masked in megabytes of findings (lib/redact: was minutes, target under 2 s).
# Bounded: two generated files, hyperfine runs (or 5 plain runs).
set -u
ROOT=${OPSKIT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${OPSKIT_BIN:-$ROOT/bin}
LINES=${ENVCHECK_BENCH_LINES:-100000}
SECRETS=${ENVCHECK_BENCH_SECRETS:-33000}
work=$(mktemp -d /tmp/opskit-bench-envcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

python3 - "$work/big.env" "$LINES" <<'PY'
import random, sys
random.seed(42)
path, n = sys.argv[1], int(sys.argv[2])
kinds = ['K{0}=value{0}', 'K{0}="quoted value {0} with spaces"', "K{0}='single {0}'",
         'K{0}=x{0} # comment', '# comment line {0}', '', 'export K{0}=exported',
         'K{0}=${{K1}}/path/{0}', 'K{0}="multi\\nline {0}"']
with open(path, "w") as f:
    for i in range(n):
        f.write(random.choice(kinds).format(i) + "\n")
PY

# API_TOKEN_N=<32 random characters> each a secret, among lines with lint findings (a
# lower-case key, an unquoted value with blanks) and URLs: about 3.5 MB.
python3 - "$work/secrets.env" "$SECRETS" <<'PY'
import random, string, sys
random.seed(7)
path, n = sys.argv[1], int(sys.argv[2])
alnum = string.ascii_letters + string.digits
with open(path, "w") as f:
    for i in range(n):
        f.write("API_TOKEN_%d=%s\n" % (i, "".join(random.choice(alnum) for _ in range(32))))
        if i % 10 == 0:
            f.write("lower_setting_%d=plain value %d\n" % (i, i))
        f.write("SERVICE_%d_URL=http://svc-%d.internal.example/\n" % (i, i))
PY

# python-dotenv's interpolation copies os.environ and every earlier key for each line
# (quadratic: minutes on this file), so both sides parse without it (--no-expand).
py_cmd="python3 -c 'import sys; from dotenv import dotenv_values; dotenv_values(sys.argv[1], interpolate=False)' $work/big.env"
node_cmd="node -e 'require(process.argv[1]).parse(require(\"fs\").readFileSync(process.argv[2]))' $ROOT/tests/node_modules/dotenv $work/big.env"
ours_py="$BIN/ops-envcheck --dialect python --no-expand print $work/big.env"
ours_node="$BIN/ops-envcheck --dialect node print $work/big.env"
ours_lint="$BIN/ops-envcheck --no-git --format json $work/big.env"
ours_secrets="$BIN/ops-envcheck --no-git lint $work/secrets.env"

echo "file: $LINES lines, $(wc -c <"$work/big.env") bytes; secrets: $SECRETS tokens, $(wc -c <"$work/secrets.env") bytes"
if ! command -v hyperfine >/dev/null 2>&1; then
	echo "hyperfine is not installed (ci/install-deps.sh bench): skipped"
	exit 0
fi
timeout 600 hyperfine -N -i -w 1 -r 5 --export-json "$work/h.json" \
	-n ours-python "$ours_py" -n python-dotenv "$py_cmd" \
	-n ours-node "$ours_node" -n node-dotenv "$node_cmd" \
	-n ours-lint "$ours_lint" -n ours-lint-secrets "$ours_secrets" >/dev/null 2>"$work/err" ||
	{ cat "$work/err"; exit 1; }
python3 - "$work/h.json" "$SECRETS" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
names = {"ours-python": "ops-envcheck --dialect python --no-expand print",
         "python-dotenv": "python-dotenv dotenv_values(interpolate=False)",
         "ours-node": "ops-envcheck --dialect node print",
         "node-dotenv": "npm dotenv parse()",
         "ours-lint": "ops-envcheck lint (every check, 4 dialects)",
         "ours-lint-secrets": "ops-envcheck lint, %s secrets masked" % sys.argv[2]}
for k, label in names.items():
    print("%-50s %8.3f s" % (label, r[k]))
print("ratio python-dotenv / ops-envcheck (python): %.1fx faster" % (r["python-dotenv"] / r["ours-python"]))
print("ratio node dotenv / ops-envcheck (node):     %.1fx faster" % (r["node-dotenv"] / r["ours-node"]))
PY
