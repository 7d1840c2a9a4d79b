#!/usr/bin/env python3
"""Reference loaders for ops-envcheck's differential test (t1010).

    envcheck-ref.py python|node|shell|node-env-file FILE...

prints, per file, "FILE<TAB>JSON" where JSON is what the real loader loads, with keys
sorted: python3-dotenv's dotenv_values(), npm dotenv's parse(), or the variables that
`set -a; . FILE` exports in bash (compared with a bare bash), or what
`node --env-file=FILE` puts in process.env (Node's built-in loader, not the npm package). Run it with a clean
environment (env -i) so interpolation sees the same variables as ops-envcheck.
Sourcing runs the file: use it only on the corpus, whose commands are harmless.
"""
import json
import os
import subprocess
import sys

ROOT = os.environ.get("OPSKIT_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_SCRIPT = r"""
const d = require(process.argv[1]); const fs = require('fs');
const out = {};
for (const f of process.argv.slice(2)) out[f] = d.parse(fs.readFileSync(f));
process.stdout.write(JSON.stringify(out));
"""
DUMP = "/usr/bin/python3 -c 'import os,json,sys; json.dump(dict(os.environ), sys.stdout)'"


def python_ref(files):
    import logging
    logging.disable(logging.CRITICAL)
    from dotenv import dotenv_values
    return {f: dict(dotenv_values(f)) for f in files}


def node_ref(files):
    mod = os.path.join(ROOT, "tests", "node_modules", "dotenv")
    out = subprocess.run(["node", "-e", NODE_SCRIPT, mod] + files, check=True,
                         capture_output=True, timeout=60).stdout
    return json.loads(out)


ENV_FILE_SCRIPT = r"""
const e = Object.assign({}, process.env); delete e.PATH;
process.stdout.write(JSON.stringify(e));
"""


def node_env_file_ref(files):
    out = {}
    for f in files:
        res = subprocess.run(["env", "-i", "PATH=" + os.environ.get("PATH", "/usr/bin:/bin"), "node",
                              "--env-file=" + f, "-e", ENV_FILE_SCRIPT],
                             capture_output=True, timeout=20)
        out[f] = json.loads(res.stdout or b"{}")
    return out


def bash_env(script, path):
    res = subprocess.run(["env", "-i", "/bin/bash", "-c", script, "bash", path],
                         capture_output=True, timeout=20)
    return json.loads(res.stdout or b"{}")


def shell_ref(files):
    base = bash_env(DUMP, "")
    out = {}
    for f in files:
        env = bash_env('set -a; . "$1" >/dev/null 2>&1; set +a; ' + DUMP, os.path.abspath(f))
        out[f] = {k: v for k, v in env.items()
                  if k not in ("_", "SHLVL", "PWD", "OLDPWD") and base.get(k) != v}
    return out


def main():
    dialect, files = sys.argv[1], sys.argv[2:]
    res = {"python": python_ref, "node": node_ref, "shell": shell_ref,
           "node-env-file": node_env_file_ref}[dialect](files)
    for f in files:
        print(f + "\t" + json.dumps(res[f], sort_keys=True, ensure_ascii=True))


if __name__ == "__main__":
    main()
