# quirk-case.sh — what a case of tests/data/promote-quirks/ sources (t3006-quirks.sh
# exports the rig: P, P_RULES, P_LOG, P_OFFLOAD_LOG in front of registry A; Q... of B;
# R... of the basic-auth registry C; REG_A REG_B REG_C REG_USER REG_PASS; IMG, the digest
# of app:pr-1 on A and C, a one-layer image; IDX, the digest of app:idx on A, a
# 2-platform index).
#   rules P|Q|R RULE...      the proxy's rules, and an empty log
#   digest_of REF            the digest skopeo sees for REF (plain HTTP)
#   facts FILE KEY...        the JSON report's values for KEY (a.b for nested), one line
#   seen P|Q|R PATTERN       how many requests in the proxy's log match the ERE PATTERN

. "$TEST_LIB/registry.sh"  # push_referrer, make_test_image, push_test_image

rules() {
	_p=$1; shift
	eval "printf '%s\n' \"\$@\" >\"\$${_p}_RULES\"; : >\"\$${_p}_LOG\"; : >\"\$${_p}_OFFLOAD_LOG\""
}

digest_of() {
	skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | sed 's/^/sha256:/; s/ .*//'
}

facts() {
	python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
out = []
for key in sys.argv[2:]:
    v = d
    for part in key.split("."):
        v = v.get(part) if isinstance(v, dict) else None
    out.append("%s=%s" % (key, json.dumps(v)))
print(" ".join(out))
PY
}

seen() {
	eval "grep -cE \"\$2\" \"\$${1}_LOG\"" || true
}
