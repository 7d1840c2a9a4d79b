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
