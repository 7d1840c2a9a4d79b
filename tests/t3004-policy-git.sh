#!/bin/sh
# ops-promote: promotion policy from the config (allowed sources, protected tags,
# required annotations) and git provenance (--require-ancestor, --record-tag).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd docker-registry skopeo python3 git

start_registry a plain || { echo "Bail out! registry did not start"; exit 1; }
R=$REG_A
git_q() { git -C repo -c user.name=Test -c user.email=test@example.com "$@"; }

test_expect_success 'setup: a git repo with a merged and an unmerged commit, images built from each' '
	git init -q -b main repo &&
	git_q commit -q --allow-empty -m base &&
	git_q commit -q --allow-empty -m merged && git_q rev-parse HEAD >merged.rev &&
	git_q checkout -q -b feature &&
	git_q commit -q --allow-empty -m unmerged && git_q rev-parse HEAD >unmerged.rev &&
	git_q checkout -q main &&
	make_test_image img pr-1 2 1024 $(cat merged.rev) >pr1.digest &&
	make_test_image img pr-2 1 1024 $(cat merged.rev) >pr2.digest &&
	make_test_image img pr-3 1 1024 $(cat unmerged.rev) >pr3.digest &&
	make_test_image img nightly 1 1024 $(cat merged.rev) >nightly.digest &&
	for t in pr-1 pr-2 pr-3 nightly; do push_test_image img $t $R/app:$t || return 1; done &&
	cat >opskit.yaml <<-EOF
	promote:
	  git_repo: repo
	  record_tag: "deploy/<env>/<n>"
	  environments:
	    production:
	      tags: [production, "prod-*"]
	      allowed_sources: ["pr-*", "sha-*"]
	      protected_tags: [production]
	      required_annotations: [org.opencontainers.image.revision]
	    staging:
	      required_annotations: [org.example.owner]
	EOF
'

test_expect_code 2 'a source tag the environment does not allow is refused' '
	ops-promote --config opskit.yaml $R/app:nightly $R/app:production
'

test_expect_success 'the refusal says which tags are allowed, and no request was needed' '
	n=$(registry_requests a) &&
	! ops-promote --config opskit.yaml $R/app:nightly $R/app:prod-eu >out &&
	test_grep "may not become production" out && test_grep "pr-\*, sha-\*" out &&
	test "$(registry_requests_since a $n)" -eq 0
'

test_expect_success 'an allowed source becomes production (tag did not exist yet)' '
	ops-promote --config opskit.yaml $R/app:pr-1 $R/app:production >out &&
	test_grep "allowed by the policy of environment production" out &&
	test "$(skopeo_digest $R/app:production)" = "$(cat pr1.digest)"
'

test_expect_code 2 'moving a protected tag without --force is refused' '
	ops-promote --config opskit.yaml $R/app:pr-2 $R/app:production
'

test_expect_success 'the protected tag refusal names the tag and the hint, target untouched' '
	! ops-promote --config opskit.yaml $R/app:pr-2 $R/app:production >out &&
	test_grep "is protected" out && test_grep "needs --force" out &&
	test "$(skopeo_digest $R/app:production)" = "$(cat pr1.digest)"
'

test_expect_success '--force moves the protected tag' '
	ops-promote --config opskit.yaml --force $R/app:pr-2 $R/app:production >out &&
	test "$(skopeo_digest $R/app:production)" = "$(cat pr2.digest)"
'

test_expect_success 'a missing required annotation or label is refused' '
	! ops-promote --config opskit.yaml $R/app:pr-2 $R/app:staging >out &&
	test_grep "lacks the required annotation or label org.example.owner" out
'

test_expect_success 'an unknown --environment is refused' '
	! ops-promote --config opskit.yaml --environment nowhere $R/app:pr-2 $R/app:x >out &&
	test_grep "not defined under promote.environments" out
'

test_expect_success '--require-ancestor main: a merged revision passes' '
	ops-promote --config opskit.yaml --require-ancestor main $R/app:pr-2 $R/app:merged >out &&
	test_grep "reachable from main" out && test_grep "retagged" out
'

test_expect_success '--require-ancestor main: the revision label of an index (annotation) passes' '
	ops-promote --git-repo repo --require-ancestor main $R/app:pr-1 $R/app:merged-index >out &&
	test_grep "reachable from main" out
'

test_expect_code 2 '--require-ancestor main: an unmerged revision is refused' '
	ops-promote --git-repo repo --require-ancestor main $R/app:pr-3 $R/app:unmerged
'

test_expect_success '--require-ancestor: a revision label naming a branch ("main") is refused' '
	make_test_image img pr-main 1 1024 main >/dev/null &&
	push_test_image img pr-main $R/app:pr-main &&
	{ ops-promote --git-repo repo --require-ancestor main $R/app:pr-main $R/app:bymain >out; rc=$?; } &&
	test $rc -eq 2 && test_grep "is not a commit id" out &&
	! skopeo inspect --raw --tls-verify=false docker://$R/app:bymain >/dev/null 2>&1
'

test_expect_success 'the ancestry refusal names the revision and the branch; target untouched' '
	! ops-promote --git-repo repo --require-ancestor main $R/app:pr-3 $R/app:unmerged >out &&
	test_grep "$(cat unmerged.rev) is not reachable from main" out &&
	! skopeo inspect --raw --tls-verify=false docker://$R/app:unmerged >/dev/null 2>&1 &&
	ops-promote --git-repo repo --require-ancestor feature $R/app:pr-3 $R/app:unmerged >out
'

test_expect_success '--record-tag writes annotated tags deploy/production/1, then 2' '
	ops-promote --config opskit.yaml --force --record-tag $R/app:pr-1 $R/app:production >out &&
	test_grep "deploy/production/1" out &&
	test "$(git -C repo cat-file -t deploy/production/1)" = tag &&
	git -C repo cat-file tag deploy/production/1 >tag.txt &&
	test_grep "digest: $(cat pr1.digest)" tag.txt &&
	test_grep "target: $R/app:production" tag.txt &&
	test_grep "source: $R/app:pr-1" tag.txt &&
	test "$(git -C repo rev-parse deploy/production/1^{commit})" = "$(cat merged.rev)" &&
	ops-promote --config opskit.yaml --force --record-tag $R/app:pr-2 $R/app:production >out &&
	test_grep "deploy/production/2" out
'

test_expect_success '--record-tag on a no-op records nothing' '
	ops-promote --config opskit.yaml --record-tag $R/app:pr-2 $R/app:production >out &&
	test_grep "nothing to do" out &&
	test_must_fail_tag=$(git -C repo tag -l "deploy/production/3") && test -z "$test_must_fail_tag"
'

test_expect_success '--record-tag refuses before promoting when the revision is not in the repo' '
	git init -q -b main other-repo &&
	git -C other-repo -c user.name=T -c user.email=t@e commit -q --allow-empty -m x &&
	! ops-promote --git-repo other-repo --record-tag $R/app:pr-2 $R/app:unrecorded >out &&
	test_grep "is not a commit in other-repo" out &&
	! skopeo inspect --raw --tls-verify=false docker://$R/app:unrecorded >/dev/null 2>&1
'

test_done
