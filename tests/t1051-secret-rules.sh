#!/bin/sh
# ops-envcheck's credential formats (the rules table in secrets.c), one test each, the
# placeholder filter, names SDKs read as they are, and the git checks: tracked before
# ignored, and no format match needed. Values are built here from parts, so that no
# credential-shaped literal is in the repository.
. "$(dirname "$0")/test-lib.sh"
test_require_cmd git python3

r16=Z7QW3ER5TY8UI0OP
alnum36=abcdefghijklmnopqrstuvwxyzABCDEFGH12
hex32=0123456789abcdef0123456789abcdef
long80=$(printf 'aB3dE6gH9j%.0s' 1 2 3 4 5 6 7 8 9)

# rule NAME VALUE WHAT: under an innocent name the value is found as WHAT and masked
for row in \
	"aws-akia|AKIA$r16|an AWS access key id" \
	"aws-a3t|A3TX$r16|an AWS access key id" \
	"aws-abia|ABIA$r16|an AWS access key id" \
	"aws-acca|ACCA$r16|an AWS access key id" \
	"aws-asia|ASIA$r16|an AWS temporary access key id" \
	"github|ghp_$alnum36|a GitHub token" \
	"github-fine-grained|github_pat_11AAAAAAA0${alnum36}_${alnum36}|a GitHub token" \
	"gitlab|glpat-$alnum36|a GitLab token" \
	"slack|xoxb-1234567890-$alnum36|a Slack token" \
	"stripe-sk|sk_live_$alnum36|a Stripe secret key" \
	"stripe-rk|rk_live_$alnum36|a Stripe secret key" \
	"twilio|SK$hex32|a Twilio API key" \
	"openai|sk-proj-$alnum36$alnum36|an OpenAI API key" \
	"anthropic|sk-ant-api03-$long80|an Anthropic API key" \
	"google|AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q|a Google API key" \
	"pem-one-line|-----BEGIN PRIVATE KEY-----\\\\nMIIEvQIBADANBg\\\\n-----END PRIVATE KEY-----|a private key"
do
	name=${row%%|*}; rest=${row#*|}; value=${rest%%|*}; what=${rest#*|}
	test_expect_success "rule $name: found under an innocent name, masked" "
		printf 'INNOCENT=\"%s\"\n' '$value' >$name.env && chmod 600 $name.env &&
		{ ops-envcheck --no-git $name.env >out; test \$? -eq 1; } &&
		test_grep 'secret-format .*INNOCENT holds $what under a name' out &&
		test_grep_not '$(printf %s "$value" | cut -c 5-20)' out
	"
done

test_expect_success 'AWS ...EXAMPLE keys are placeholders' '
	printf "INNOCENT=AKIAIOSFODNN7EXAMPLE\nTEMP=ASIAIOSFODNN7EXAMPLE\n" >ex.env && chmod 600 ex.env &&
	ops-envcheck --no-git ex.env >out && test_grep_not secret-format out
'

test_expect_success 'ASIA (temporary) without AWS_SESSION_TOKEN is named' '
	printf "AWS_ACCESS_KEY_ID=ASIA%s\n" "$r16" >asia.env && chmod 600 asia.env &&
	{ ops-envcheck --no-git asia.env >out; test $? -ge 1; } &&
	test_grep "AWS_SESSION_TOKEN is not set" out &&
	printf "AWS_ACCESS_KEY_ID=ASIA%s\nAWS_SESSION_TOKEN=FwoGZXIvYXdzEJr%s\n" "$r16" "$alnum36" >asia.env &&
	{ ops-envcheck --no-git asia.env >out; test $? -le 3; } && test_grep_not "AWS_SESSION_TOKEN is not set" out
'

test_expect_success 'names SDKs read as they are (AWS_ACCESS_KEY_ID) are not to be renamed' '
	printf "AWS_ACCESS_KEY_ID=AKIA%s\nGOOGLE_API_KEY=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q\n" "$r16" >sdk.env && chmod 600 sdk.env &&
	{ ops-envcheck --no-git sdk.env >out; test $? -le 3; } && test_grep_not "rename it\|secret-format" out
'

test_expect_success 'the placeholder filter does not wave through a real value that contains test or example' '
	printf "DATABASE_URL=postgres://app:Xk9vQ2mZ7rT4@db.latest.internal:5432/app\n" >dsn.env && chmod 600 dsn.env &&
	git init -q repo && cp dsn.env repo/.env && cd repo && git add .env &&
	git -c user.name=t -c user.email=t@t commit -q -m add &&
	{ ops-envcheck .env >../out; test $? -eq 2; } && test_grep "secret-tracked" ../out &&
	cd .. && printf "A_SECRET=changeme\nB_TOKEN=your_api_key_here\nC_PASSWORD=xxxxxxxxxx\nD_KEY=test-key-example\nE_TOKEN=\"<your-token-here>\"\n" >ph.env &&
	chmod 644 ph.env && { ops-envcheck --no-git ph.env >out; test $? -le 1; } && test_grep_not "file-permissions\|secret-" out
'

test_expect_success 'git: a tracked .env of plain passwords fails, no format match needed' '
	git init -q plain && cd plain &&
	printf "DB_PASSWORD=correct-horse-battery\nSMTP_PASSWORD=Tr0ub4dor3xyz\n" >.env && chmod 600 .env &&
	git add .env && git -c user.name=t -c user.email=t@t commit -q -m add &&
	{ ops-envcheck .env >../out; test $? -eq 2; } &&
	test_grep "secret-tracked .*DB_PASSWORD holds a secret value" ../out && test_grep_not "correct-horse" ../out
'

test_expect_success 'git: a tracked file later added to .gitignore is still CRITICAL' '
	cd plain && echo .env >.gitignore && git add .gitignore &&
	git -c user.name=t -c user.email=t@t commit -q -m ignore &&
	{ ops-envcheck .env >../out; test $? -eq 2; } && test_grep "secret-tracked" ../out &&
	git rm -q --cached .env && { ops-envcheck .env >../out; test $? -eq 2; } &&
	test_grep_not "secret-tracked\|secret-not-ignored" ../out && test_grep "secret-in-history" ../out
'

test_expect_success 'dotenvx: a committed encrypted .env is fine, a committed .env.keys is CRITICAL' '
	git init -q dx && cd dx &&
	printf "DOTENV_PUBLIC_KEY=\"03a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90\"\nDB_PASSWORD=\"encrypted:BDqDBibm4wsYqMpCjTQ6BsDHmMadg9K3dAt+Z9HPMfLEIRVz50hmLXPXRuDBXaJi/LwWYEVUNiq0HISrslzQPaoyS8Lotg3gFWJTsNCdOWnqpjF2xNUX2RQiP05kAbEXM6MWVjDr\"\n" >.env &&
	chmod 600 .env && printf "DOTENV_PRIVATE_KEY=\"81dac4d2c42e67a2c6542d3b943a4674a05c4be5e7e5a40a689be7a3bd49a07e\"\n" >.env.keys &&
	chmod 600 .env.keys && git add .env .env.keys && git -c user.name=t -c user.email=t@t commit -q -m add &&
	{ ops-envcheck .env >../out; test $? -le 1; } && test_grep_not "secret-" ../out &&
	{ ops-envcheck .env.keys >../out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*secret-tracked .*.env.keys holds dotenvx private keys (DOTENV_PRIVATE_KEY)" ../out &&
	test_grep_not 81dac4d2c42e ../out
'

test_expect_success 'git history: a .env once committed with a secret is CRITICAL with the commit id' '
	git init -q hist && cd hist &&
	printf "APP_NAME=demo\nAPI_TOKEN=Zq8vX2mN4pL7rT1wY5sB9cD3\n" >.env && chmod 600 .env &&
	git add .env && git -c user.name=t -c user.email=t@t commit -q -m "add env" &&
	id=$(git rev-parse --short=12 HEAD) &&
	git rm -q .env && echo .env >.gitignore && git add .gitignore &&
	git -c user.name=t -c user.email=t@t commit -q -m "remove env" &&
	printf "APP_NAME=demo\n" >.env && chmod 600 .env &&
	{ ops-envcheck .env >../out; test $? -eq 2; } &&
	test_grep "^CRITICAL .*secret-in-history .*.env was committed with credentials (API_TOKEN held a high-entropy secret) in commit $id" ../out &&
	test_grep_not Zq8vX2mN4pL7 ../out &&
	ops-envcheck --no-git .env >../out && test_grep_not secret-in-history ../out
'

test_expect_success 'git history: a file never committed with a secret is fine' '
	git init -q clean && cd clean && printf "APP_NAME=demo\n" >.env && git add .env &&
	git -c user.name=t -c user.email=t@t commit -q -m add &&
	ops-envcheck .env >../out && test_grep_not "secret-" ../out
'

test_done
