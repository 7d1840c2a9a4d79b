#!/usr/bin/env python3
"""Validate one rendered report against its format's rules (used by t0010-report.sh).

    validate.py FORMAT FILE EXIT_CODE

Prints what is wrong and exits 1, or exits 0. The rules are the consumers' rules:
Prometheus text exposition 0.0.4 as node_exporter's textfile collector parses it, Nagios
plugin output with perfdata, SARIF 2.1.0's required shape, GitHub workflow commands, and
opskit's JSON envelope (opskit(7)).
"""
import json
import re
import sys

STATUSES = ["ok", "warning", "critical", "unknown"]
problems = []


def bad(msg):
    problems.append(msg)


def check_json(text, exit_code):
    doc = json.loads(text)
    keys = list(doc)
    want = ["tool", "version", "format_version", "status", "exit_code", "checks"]
    if keys[:6] != want:
        bad(f"envelope keys start {keys[:6]}, want {want}")
    if doc.get("format_version") != 1:
        bad("format_version is not 1")
    if doc.get("exit_code") != exit_code:
        bad(f"exit_code {doc.get('exit_code')} but the process exited {exit_code}")
    if STATUSES.index(doc.get("status")) != exit_code:
        bad(f"status {doc.get('status')} does not match exit code {exit_code}")
    for c in doc["checks"]:
        for k in ("id", "status", "subject", "message", "metrics"):
            if k not in c:
                bad(f"check without {k}: {c}")
        if c.get("status") not in STATUSES:
            bad(f"bad check status {c.get('status')}")
        for m in c.get("metrics", []):
            if "name" not in m or "value" not in m:
                bad(f"metric without name/value: {m}")


METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
LABELS = rf"\{{(?:[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE}(?:,[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})*)?\}}"
SAMPLE = re.compile(rf"^({METRIC_NAME})({LABELS})? (\S+)$")
FLOAT = re.compile(r"^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|NaN|[+-]Inf)$")


def check_prometheus(text, exit_code):
    if not text.endswith("\n"):
        bad("exposition does not end with a newline")
    help_seen, type_seen, families_done, series = set(), set(), set(), set()
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        m = re.match(rf"^# (HELP|TYPE) ({METRIC_NAME}) (.*)$", line)
        if m:
            kind, fam, rest = m.groups()
            seen = help_seen if kind == "HELP" else type_seen
            if fam in seen:
                bad(f"line {n}: second {kind} for {fam}")
            seen.add(fam)
            if kind == "TYPE" and rest not in ("gauge", "counter", "untyped", "summary", "histogram"):
                bad(f"line {n}: bad TYPE {rest}")
            # only \\ and \n are escapes: drop them, then no backslash may be left
            if kind == "HELP" and "\\" in re.sub(r"\\[\\n]", "", rest):
                bad(f"line {n}: bad escape in HELP")
            continue
        if line.startswith("#") or not line:
            bad(f"line {n}: unexpected line {line!r}")
            continue
        m = SAMPLE.match(line)
        if not m:
            bad(f"line {n}: not a valid sample: {line!r}")
            continue
        fam, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if not FLOAT.match(value):
            bad(f"line {n}: bad value {value!r}")
        if fam != current:
            if fam in families_done:
                bad(f"line {n}: samples of {fam} are not contiguous")
            if current:
                families_done.add(current)
            current = fam
        if fam not in type_seen or fam not in help_seen:
            bad(f"line {n}: sample of {fam} before its HELP and TYPE")
        if (fam, labels) in series:
            bad(f"line {n}: duplicate series {fam}{labels}")
        series.add((fam, labels))
    m = re.search(r'^opskit_status\{tool="[^"]*"\} (\d)$', text, re.M)
    if not m or STATUSES.index(["ok", "warning", "critical", "unknown"][int(m.group(1))]) != exit_code:
        bad(f"opskit_status does not match exit code {exit_code}")


PERF = re.compile(r"'((?:[^']|'')+)'=(-?[\d.]+(?:[eE][+-]?\d+)?|U)(s|ms|us|%|B|KB|MB|GB|TB|c)?"
                  r"((?:;[-\d.eE+]*){0,4})(?: |$)")


def check_nagios(text, exit_code):
    lines = text.split("\n")
    first = lines[0]
    label = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][exit_code]
    if not re.match(rf"^[A-Z0-9_-]+ {label} - ", first):
        bad(f"first line does not start 'TOOL {label} - ': {first!r}")
    if "|" in first:
        perf = first.split("|", 1)[1].strip()
        pos = 0
        while pos < len(perf):
            m = PERF.match(perf, pos)
            if not m:
                bad(f"bad perfdata at {perf[pos:]!r}")
                break
            if m.group(4).endswith(";"):
                bad(f"trailing empty threshold fields in {m.group(0)!r}")
            pos = m.end()


def check_sarif(text, exit_code):
    doc = json.loads(text)
    if doc.get("version") != "2.1.0" or len(doc.get("runs", [])) != 1:
        bad("not a SARIF 2.1.0 log with one run")
        return
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    rule_ids = [r["id"] for r in driver.get("rules", [])]
    if len(rule_ids) != len(set(rule_ids)):
        bad("a rule appears twice")
    for res in run["results"]:
        if res.get("ruleId") not in rule_ids:
            bad(f"result for undeclared rule {res.get('ruleId')}")
        if res.get("level") not in ("error", "warning", "note"):
            bad(f"bad level {res.get('level')}")
        if not res.get("message", {}).get("text"):
            bad("result without message.text")
        for loc in res.get("locations", []):
            if "uri" not in loc["physicalLocation"]["artifactLocation"]:
                bad("location without uri")


def check_github(text, exit_code):
    for line in text.split("\n")[:-1]:
        m = re.match(r"^::(error|warning|notice) ((?:[a-z]+=[^,:\n]*)(?:,[a-z]+=[^,:\n]*)*)::(.*)$", line)
        if not m:
            bad(f"not a workflow command: {line!r}")
        elif re.search(r"%(?!25|0A|0D|3A|2C)", m.group(2) + m.group(3)):
            bad(f"unescaped % in {line!r}")


def check_text(text, exit_code):
    last = text.rstrip("\n").split("\n")[-1]
    label = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][exit_code]
    if not re.match(rf"^[a-z-]+: {label}( - |$)", last):
        bad(f"summary line does not say {label}: {last!r}")


def main():
    fmt, path, exit_code = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        print(f"{fmt}: output is not valid UTF-8: {e}")
        return 1
    try:
        globals()["check_" + fmt](text, exit_code)
    except (ValueError, KeyError, IndexError, TypeError) as e:
        bad(f"cannot parse: {e!r}")
    for p in problems:
        print(f"{fmt}: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
