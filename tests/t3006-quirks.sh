#!/bin/sh
# ops-promote on the registries met in the field, through the registry-quirks rig
# (tests/lib/quirks-proxy.py, started by start_fault_proxy) in front of real
# docker-registry servers: one case of tests/data/promote-quirks/ per quirk, each naming
# in its cmd the registries it stands for (ops-promote(1), REGISTRIES).
. "$(dirname "$0")/test-lib.sh"
. "$TEST_LIB/registry.sh"
test_require_cmd docker-registry skopeo python3 htpasswd

start_registry a plain || { echo "Bail out! registry a did not start"; exit 1; }
start_registry b plain || { echo "Bail out! registry b did not start"; exit 1; }
start_registry c basic || { echo "Bail out! registry c did not start"; exit 1; }
start_fault_proxy p $REG_A || { echo "Bail out! proxy p did not start"; exit 1; }
start_fault_proxy q $REG_B || { echo "Bail out! proxy q did not start"; exit 1; }
start_fault_proxy r $REG_C "$REG_USER:$REG_PASS" || { echo "Bail out! proxy r did not start"; exit 1; }

test_expect_success 'setup: an image and an index on A, the image on C' '
	make_test_image img pr-1 1 65536 1111111 >img.digest &&
	make_test_image img idx 2 4096 2222222 >idx.digest &&
	push_test_image img pr-1 $REG_A/app:pr-1 &&
	push_test_image img idx $REG_A/app:idx &&
	push_test_image img pr-1 $REG_C/app:pr-1 --dest-creds "$REG_USER:$REG_PASS"
'

P=$FAULT_P P_RULES=$FAULT_P_RULES P_LOG=$FAULT_P_LOG P_OFFLOAD_LOG=$FAULT_P_OFFLOAD_LOG
Q=$FAULT_Q Q_RULES=$FAULT_Q_RULES Q_LOG=$FAULT_Q_LOG Q_OFFLOAD_LOG=$FAULT_Q_OFFLOAD_LOG
R=$FAULT_R R_RULES=$FAULT_R_RULES R_LOG=$FAULT_R_LOG R_OFFLOAD_LOG=$FAULT_R_OFFLOAD_LOG
IMG=$(cat img.digest 2>/dev/null) IDX=$(cat idx.digest 2>/dev/null)
export P P_RULES P_LOG P_OFFLOAD_LOG Q Q_RULES Q_LOG Q_OFFLOAD_LOG R R_RULES R_LOG R_OFFLOAD_LOG
export REG_A REG_B REG_C REG_USER REG_PASS IMG IDX TEST_LIB

test_data_cases "$TEST_DATA/promote-quirks"

test_expect_success 'ops-promote(1) REGISTRIES names every quirk case, and only those' '
	sed -n "/^\.Sh REGISTRIES/,/^\.Sh /s/.*\.Bq \([a-z0-9-]*\).*/\1/p" "$OPSKIT_ROOT/man/ops-promote.1" | sort -u >named &&
	(cd "$TEST_DATA/promote-quirks" && for d in */; do echo "${d%/}"; done) | sort >cases &&
	test_cmp cases named
'

test_expect_success 'no case leaks the registry password' '
	! grep -r "$REG_PASS" case-*/actual.out case-*/actual.err
'

test_done
