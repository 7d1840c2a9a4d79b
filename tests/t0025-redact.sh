#!/bin/sh
# Secret redaction (lib/redact.c): passwords in URLs and libpq key=value strings, password=
# in query strings, registered secrets, and the one definition of a secret-looking name.
# `opskit-test-helper redact` runs each stdin line through redact_dsn() (which registers
# the password it finds) in one process, so later lines show registered secrets masked.
. "$(dirname "$0")/test-lib.sh"

# input<TAB>expected, one per line; all lines go through one process, in order.
cat >cases <<'CASES'
postgres://app:s3cret@127.0.0.1:5432/app	postgres://app:***@127.0.0.1:5432/app
postgresql://app:p%40ss@db/app?sslmode=require	postgresql://app:***@db/app?sslmode=require
redis://:authpass1@127.0.0.1:6379/0	redis://:***@127.0.0.1:6379/0
rediss://default:tls-pass-9@[::1]:6380	rediss://default:***@[::1]:6380
https://example.test/path?user=a&password=qs-secret&x=1	https://example.test/path?user=a&password=***&x=1
https://example.test/path?PASSWORD=qs2secret#frag	https://example.test/path?PASSWORD=***
host=127.0.0.1 port=5432 password=bare-secret dbname=app	host=127.0.0.1 port=5432 password=*** dbname=app
host=127.0.0.1 password='quoted secret' dbname=app	host=127.0.0.1 password=*** dbname=app
host=127.0.0.1 password = 'esc\'aped' dbname=app	host=127.0.0.1 password = *** dbname=app
host=127.0.0.1 PASSWORD=UPPERsecret	host=127.0.0.1 PASSWORD=***
passfile=/tmp/pgpass password=after-passfile	passfile=/tmp/pgpass password=***
user=app password= spaced-secret	user=app password= ***
PGPASSWORD=envsecret1 psql -h db	PGPASSWORD=*** psql -h db
no secrets: http://example.test/a@b and user@example.test	no secrets: http://example.test/a@b and user@example.test
bypass=yes compass=north	bypass=yes compass=north
registered: s3cret p%40ss authpass1 tls-pass-9 qs-secret	registered: *** *** *** *** ***
registered: bare-secret, quoted secret, esc'aped, UPPERsecret	registered: ***, ***, ***, ***
registered: after-passfile spaced-secret	registered: *** ***
postgresql://app:dec%2Fo%40ded-pw@db/app?password=q%26pass-99	postgresql://app:***@db/app?password=***
decoded as the client sends them: dec/o@ded-pw q&pass-99	decoded as the client sends them: *** ***
error: connection to "db" failed: FATAL: password authentication failed for user "app" (password s3cret)	error: connection to "db" failed: FATAL: password authentication failed for user "app" (password ***)
CASES

test_expect_success 'URLs, key=value DSNs, query strings and registered secrets are masked' '
	cut -f1 cases | opskit-test-helper redact >actual &&
	cut -f2 cases >expect &&
	test_cmp expect actual
'

test_expect_success 'short passwords are masked in place but not registered as words' '
	printf "postgres://u:pw@h/db\nthe pw of a word stays\n" | opskit-test-helper redact >actual &&
	printf "postgres://u:***@h/db\nthe pw of a word stays\n" >expect &&
	test_cmp expect actual
'

# Too short to register: only the structural mask hides it, and it must skip the \'.
test_expect_success 'a short quoted password with an escaped quote is masked to its closing quote' '
	printf "%s\n" "host=h password='"'"'\\'"'"'x'"'"' dbname=app" | opskit-test-helper redact >actual &&
	printf "%s\n" "host=h password=*** dbname=app" >expect &&
	test_cmp expect actual
'

test_expect_success 'a short password with an @ is masked up to the last @ of the authority' '
	printf "postgres://u:p@w@h/db\nredis://:a@b@127.0.0.1:6379/0\n" | opskit-test-helper redact >actual &&
	printf "postgres://u:***@h/db\nredis://:***@127.0.0.1:6379/0\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a key=value DSN whose value holds :// still registers its password (fuzz-dsn)' '
	printf "%s\n" "options=x://:y@ password=kv-secret-1 host=h" "later: kv-secret-1" |
		opskit-test-helper redact >actual &&
	test_grep_not kv-secret-1 actual
'

test_expect_success 'a libpq-escaped password: the value libpq decodes and the text as written' '
	cat >escaped <<-\EOF &&
	host=h password=bare\ sp\'\''ace\\x dbname=app
	host=h password = '\''quo ted\'\''s\\y'\'' dbname=app
	decoded: bare sp'\''ace\x and quo ted'\''s\y
	written: bare\ sp\'\''ace\\x and quo ted\'\''s\\y
	EOF
	cat >expect <<-\EOF &&
	host=h password=*** dbname=app
	host=h password = *** dbname=app
	decoded: *** and ***
	written: *** and ***
	EOF
	opskit-test-helper redact <escaped >actual &&
	test_cmp expect actual
'

test_expect_success 'a short password is masked whatever blanks libpq allows around its =' '
	printf "host=h password  = ab dbname=x\nhost=h password\t=ab dbname=x\n" >blanks &&
	printf "host=h password=\tab dbname=x\nhost=h passwd =  ab dbname=x\n" >>blanks &&
	opskit-test-helper redact <blanks >actual &&
	printf "host=h password  = *** dbname=x\nhost=h password\t=*** dbname=x\n" >expect &&
	printf "host=h password=\t*** dbname=x\nhost=h passwd =  *** dbname=x\n" >>expect &&
	test_cmp expect actual
'

test_expect_success 'a bare value escaping a space is masked whole without registration' '
	printf "%s\n" "passwd=ab\\ cd-tail rest" | opskit-test-helper redact >actual &&
	test_grep_not cd-tail actual
'

test_expect_success 'a secret that contains another is masked whole' '
	printf "password=abcd\npassword=abcdefgh\nabcdefgh abcd\n" | opskit-test-helper redact >actual &&
	printf "password=***\npassword=***\n*** ***\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'the longer is masked whole whatever the order; thousands registered, duplicates too' '
	{
		printf "password=abcdefgh\npassword=abcd\n" &&
		i=0 && while [ $i -lt 3000 ]; do i=$((i + 1)); echo "password=tok${i}x password=tok1x"; done &&
		printf "abcd abcdefgh tok1x tok3000x tok20x\n"
	} | opskit-test-helper redact | tail -n 1 >actual &&
	printf "*** *** *** *** ***\n" >expect &&
	test_cmp expect actual
'

# redact-with: the secrets of a file (one a line) registered, then redact_text() of each
# line of stdin. The alphabets below hold no ':', '=' or '*', so only the registered
# secrets are masked (no URL or password= masking, no "***" to match).
test_expect_success 'longest match wins at a position, whatever the order registered' '
	printf "tok-1234\ntok-1234-long-tail\n" >secrets &&
	printf "tok-1234-long-tail\ntok-1234\n" >secrets.reversed &&
	echo "a tok-1234-long-tail b tok-1234-long c" >text &&
	echo "a *** b ***-long c" >expect &&
	opskit-test-helper redact-with secrets <text >actual &&
	test_cmp expect actual &&
	opskit-test-helper redact-with secrets.reversed <text >actual &&
	test_cmp expect actual
'

test_expect_success 'overlapping secrets: the longer is masked whole, of equal ones the first registered' '
	printf "1234\n23456789\nabcdef\ndefghi\n" >secrets &&
	printf "123456789 abcdefghi\n" | opskit-test-helper redact-with secrets >actual &&
	echo "1*** ***ghi" >expect &&
	test_cmp expect actual &&
	printf "defghi\nabcdef\n" >secrets &&
	printf "abcdefghi\n" | opskit-test-helper redact-with secrets >actual &&
	echo "abc***" >expect &&
	test_cmp expect actual
'

test_expect_success 'secrets of the minimum length (4 bytes), inside longer ones; shorter ones are not registered' '
	printf "wxyz\nwxyz1234\nxyz\nwx\n" >secrets &&
	printf "wxyz xyz wx wxyz12 wxyz1234 wxyzwxyz\n" | opskit-test-helper redact-with secrets >actual &&
	echo "*** xyz wx ***12 *** ******" >expect &&
	test_cmp expect actual
'

test_expect_success 'a secret at the very end or the whole of the text; one cut off by the end is not' '
	echo tail-secret >secrets &&
	printf "%s\n" "ends with tail-secret" tail-secret tail-secrettail-secret "cut tail-secre" "" >text &&
	printf "%s\n" "ends with ***" "***" "******" "cut tail-secre" "" >expect &&
	opskit-test-helper redact-with secrets <text >actual &&
	test_cmp expect actual
'

# The reference: one search-and-replace pass per secret, longest first, equal lengths in
# the order registered (what redact_text() did before its index): python's str.replace.
cat >gen-ref.py <<'PY'
import random, string, sys
seed, mode = int(sys.argv[1]), sys.argv[2]
random.seed(seed)
def word(alphabet, lo, hi):
    return "".join(random.choice(alphabet) for _ in range(random.randint(lo, hi)))
if mode == "many":
    # 10,000: tokens, and short ones of two letters that overlap and nest everywhere
    secrets = [word(string.ascii_letters + string.digits + "-_./", 4, 40) for _ in range(9000)]
    secrets += [word("ab", 4, 12) for _ in range(1000)]
    secrets += [s[:random.randint(4, len(s))] for s in random.sample(secrets, 200)]
else:
    # secrets that nest (aaaa, aaaaa, ...) against long runs of their one byte
    secrets = ["a" * n for n in range(4, 200)] + ["ab" * n for n in range(2, 50)]
def piece():
    r = random.random()
    s = random.choice(secrets)
    if r < 0.3:
        return s
    if r < 0.5:
        return s[:random.randint(1, len(s))]
    if r < 0.6:
        return s[random.randint(0, len(s) - 1):]
    if r < 0.7 and mode != "many":
        return "a" * random.randint(1, 1500)
    return word("ab x-" + string.ascii_lowercase, 0, 8)
texts = ["".join(piece() for _ in range(random.randint(0, 60))) for _ in range(300 if mode == "many" else 60)]
texts += [secrets[-1], secrets[0] + secrets[0], "x" + secrets[1]]
if mode != "many":
    texts.append("b" + "a" * 200000 + "b")  # 40 million hits, were each one held
seen, registered = set(), []
for s in secrets:
    if len(s) >= 4 and s not in seen:
        seen.add(s)
        registered.append(s)
order = sorted(range(len(registered)), key=lambda i: (-len(registered[i]), i))
with open("secrets", "w") as f:
    f.write("".join(s + "\n" for s in secrets))
with open("text", "w") as f:
    f.write("".join(t + "\n" for t in texts))
with open("expect", "w") as f:
    for t in texts:
        for i in order:
            if registered[i] in t:
                t = t.replace(registered[i], "***")
        f.write(t + "\n")
PY

if command -v python3 >/dev/null 2>&1; then
	test_expect_success 'many secrets (10,000): the same as one search-and-replace pass per secret' '
		for seed in 1 2 3; do
			python3 gen-ref.py $seed many &&
			opskit-test-helper redact-with secrets <text >actual &&
			test_cmp expect actual || exit 1
		done
	'

	# 256 MiB of address space (not under ASan, which reserves terabytes of it)
	test_expect_success 'secrets that nest, against long runs of one byte: the same, in bounded memory' '
		python3 gen-ref.py 4 nested &&
		if [ "${SANITIZE:-}" = 1 ]; then
			opskit-test-helper redact-with secrets <text >actual
		else
			(ulimit -v 262144 && opskit-test-helper redact-with secrets <text >actual)
		fi &&
		test_cmp expect actual
	'
else
	test_skip 'many secrets (10,000): the same as one search-and-replace pass per secret' 'python3 is not installed'
	test_skip 'secrets that nest, against long runs of one byte: the same, in bounded memory' 'python3 is not installed'
fi

# What a caller fetches past a cut, so that a secret straddling it arrives whole: the
# longest registered, in bytes; values too short to register do not count.
test_expect_success 'the longest registered secret, in bytes' '
	printf "abc\nfour-4\npass\303\251word-9\nlong-one-17-bytes\nshort\n" >secrets &&
	opskit-test-helper redact-longest <secrets >actual &&
	printf "%s\n" 0 6 12 17 17 >expect &&
	test_cmp expect actual
'

test_expect_success 'registered secrets are masked in every report format' '
	printf "secret\thunter2-hunter2\ncheck\tc\tcritical\thunter2-hunter2\tmsg hunter2-hunter2\nhint\tuse hunter2-hunter2\nmetric\tn\t1\t-\t-\t-\t-\t-\n" >script &&
	for f in text json prometheus nagios sarif github; do
		opskit-test-helper report $f <script >out.$f 2>&1
		test_grep_not hunter2 out.$f || exit 1
	done
'

cat >keys <<'KEYS'
PGPASSWORD yes
DB_PASSWORD yes
password yes
db_passwd yes
MYSQL_PWD yes
api_key yes
APIKEY yes
KEY yes
STRIPE_KEY yes
SECRET_KEY_BASE yes
GITHUB_TOKEN yes
GITHUBTOKEN yes
API_TOKEN_V2 yes
client-secret yes
CLIENTSECRET yes
postgres.targets.main.dsn yes
DATABASE_URL yes
REDISCLI_AUTH yes
SESSION_COOKIE yes
PASSPHRASE yes
AWS_CREDENTIALS yes
SIGNING_SALT yes
SLACK_WEBHOOK yes
PRIVATE_KEY yes
KEY_PREFIX no
MONKEY no
HOST no
PORT no
DATABASE_HOST no
TOKENIZER_MODE no
keyspace no
passthrough no
LOG_LEVEL no
KEYS
test_expect_success 'secret-looking names' '
	opskit-test-helper secret-key $(cut -d" " -f1 keys) >actual &&
	test_cmp keys actual
'

test_expect_success 'error messages (errorf/die) are redacted too' '
	printf "postgres://u:die-secret-1@h/db\n" >dsn &&
	{ printf "secret\tdie-secret-1\ncheck\tc\tbogus\ts\tm\n" | opskit-test-helper report text >out 2>err; test $? -eq 3; } &&
	test_grep "bad status" err && test_grep_not die-secret err
'

test_expect_success 'a secret-named key holding only a path to the secret: the path is not secret' '
	cat >paths <<-\EOF &&
	GOOGLE_APPLICATION_CREDENTIALS=/etc/app/sa.json yes
	google_application_credentials=./sa.json yes
	DB_PASSWORD_FILE=/run/secrets/db yes
	TLS_KEY_PATH=../certs/key.pem yes
	SSH_KEY_PATH=~/.ssh/id_ed25519 yes
	DB_PASSWORD=/looks/like/a/path no
	API_TOKEN_FILE=abcd1234secretsecret no
	GOOGLE_APPLICATION_CREDENTIALS={"type":"service_account"} no
	DB_PASSWORD_FILE= no
	EOF
	opskit-test-helper secret-path $(cut -d" " -f1 paths) >actual &&
	test_cmp paths actual
'

test_expect_success 'a name too long to read whole is secret, even if its start ends in _FILE' '
	name=$(printf "%0250d_FILE_PASSWORD" 0) &&
	echo "$name=/hunter2secret no" >long &&
	opskit-test-helper secret-path "$name=/hunter2secret" >actual &&
	test_cmp long actual &&
	echo "$name yes" >long &&
	opskit-test-helper secret-key "$name" >actual &&
	test_cmp long actual
'

test_done
