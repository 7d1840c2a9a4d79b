#!/bin/sh
# ops-envcheck's limits at their boundaries: a high-entropy secret is 20 characters or
# more with an entropy of 3.5 bits a character or more; a secret-named value shorter than
# 8 characters is a placeholder; credential formats of exactly their length; schema
# min_length/max_length and the port range at both ends; file modes (group and others).
. "$(dirname "$0")/test-lib.sh"
test_require_cmd git python3

# A repository where each file is added to the index: a value found to be a secret shows
# as secret-tracked, with the kind of secret it is.
git init -q repo || exit 1

# found FILE: the "KEY holds WHAT" of secret-tracked, or "none".
found() {
	(cd repo && git add "$1" && { ops-envcheck --format json "$1" >"$1.json"; test $? -le 2; }) || return 1
	python3 -c "
import json, re, sys
d = json.load(open(sys.argv[1]))
m = [re.search(r'\(([A-Z_]+ holds [^)]*)\)', c['message']).group(1) for c in d['checks'] if c['id'] == 'secret-tracked']
print(m[0] if m else 'none')" "repo/$1.json"
}
env_file() { printf '%s\n' "$2" >"repo/$1" && chmod 600 "repo/$1"; }

test_expect_success 'a high-entropy secret of exactly 20 characters is one, of 19 only a secret value' '
	env_file len20.env "DB_PASSWORD=Xy7kL9mQ2vB8nR4tW6zC" &&
	test "$(found len20.env)" = "DB_PASSWORD holds a high-entropy secret" &&
	env_file len19.env "DB_PASSWORD=Xy7kL9mQ2vB8nR4tW6z" &&
	test "$(found len19.env)" = "DB_PASSWORD holds a secret value"
'

# 32 characters: 4 symbols 4 times and 8 symbols twice is exactly 3.5 bits a character;
# 5 symbols 4 times and 6 twice is 3.375.
test_expect_success 'an entropy of exactly 3.5 bits a character is high-entropy, 3.375 only a secret value' '
	python3 -c "
import math, sys
for v in sys.argv[1:]:
    print(-sum(v.count(c) / len(v) * math.log2(v.count(c) / len(v)) for c in set(v)))" \
		aaaabbbbccccddddeeffgghhiijjkkll aaaabbbbccccddddeeffgghhiijjkkkk >h &&
	printf "3.5\n3.375\n" >expect && test_cmp expect h &&
	env_file h35.env "API_TOKEN=aaaabbbbccccddddeeffgghhiijjkkll" &&
	test "$(found h35.env)" = "API_TOKEN holds a high-entropy secret" &&
	env_file h33.env "API_TOKEN=aaaabbbbccccddddeeffgghhiijjkkkk" &&
	test "$(found h33.env)" = "API_TOKEN holds a secret value"
'

test_expect_success 'credential formats of exactly their length are found, one shorter is not' '
	gh=ghp_$(printf "%036d" 0 | tr 0 A) &&
	env_file gh.env "SETTING=$gh" && test "$(found gh.env)" = "SETTING holds a GitHub token" &&
	env_file gh35.env "SETTING=${gh%A}" && test "$(found gh35.env)" = none &&
	env_file asia.env "SETTING=ASIAZ7QW3ER5TY8UI0OP" && test "$(found asia.env)" = "SETTING holds an AWS temporary access key id" &&
	env_file akia.env "SETTING=AKIAZ7QW3ER5TY8UI0O" && test "$(found akia.env)" = none
'

test_expect_success 'a secret-named value of 8 characters is a secret (file mode checked), of 7 a placeholder' '
	printf "DB_PASSWORD=k9Xq2mZr\n" >p8.env && chmod 644 p8.env &&
	{ ops-envcheck --no-git p8.env >out; test $? -eq 1; } &&
	test_grep "file-permissions .*readable by everyone (mode 644)" out &&
	printf "DB_PASSWORD=k9Xq2mZ\n" >p7.env && chmod 644 p7.env &&
	{ ops-envcheck --no-git p7.env >out; test $? -eq 0; } &&
	test_grep_not file-permissions out
'

test_expect_success 'a file with secrets readable by its group is a WARNING too' '
	printf "DB_PASSWORD=Xy7kL9mQ2vB8nR4tW6zCs\n" >g.env && chmod 640 g.env &&
	{ ops-envcheck --no-git g.env >out; test $? -eq 1; } &&
	test_grep "file-permissions .*readable by its group (mode 640)" out
'

cat >len.yaml <<'EOF'
keys:
  S: {type: string, min_length: 8, max_length: 10}
  P: {type: port}
EOF
# bad FILE-CONTENT: the subjects of schema-type/schema-range findings, sorted.
bad() {
	printf '%s\n' "$1" >l.env &&
	{ ops-envcheck --no-git --format json --schema len.yaml l.env >l.json; test $? -le 2; } || return 1
	python3 -c "
import json
d = json.load(open('l.json'))
print(' '.join(sorted(c['subject'] for c in d['checks'] if c['id'] in ('schema-type', 'schema-range'))) or 'none')"
}

test_expect_success 'schema lengths: exactly min_length and max_length pass, one beyond fails' '
	test "$(bad "S=abcdefgh")" = none &&
	test "$(bad "S=abcdefg")" = S &&
	test "$(bad "S=abcdefghij")" = none &&
	test "$(bad "S=abcdefghijk")" = S &&
	printf "S=abcdefg\n" >l.env &&
	{ ops-envcheck --no-git --schema len.yaml l.env >out; test $? -eq 2; } &&
	test_grep "S has 7 characters" out && test_grep "the schema wants 8 to 10 characters" out
'

test_expect_success 'port: 1 and 65535 pass, 0 and 65536 fail' '
	test "$(bad "P=1")" = none && test "$(bad "P=65535")" = none &&
	test "$(bad "P=0")" = P && test "$(bad "P=65536")" = P
'

test_expect_success 'unordered-key: a key that is a prefix of the one before it goes first' '
	printf "AB=1\nA=2\n" >o1.env && { ops-envcheck --no-git o1.env >out; test $? -eq 1; } &&
	test_grep "unordered-key .*key A should go before AB" out &&
	printf "A=1\nAB=2\n" >o2.env && ops-envcheck --no-git o2.env >out &&
	test_grep_not unordered-key out
'

test_done
