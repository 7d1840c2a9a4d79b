#!/usr/bin/env python3
"""layers.py — which source file calls into which, and no circles between them.

    ci/layers.py [--graph] [BUILD]      (BUILD: the object tree, default build/default)

Run from the top of the tree (source names are relative to it).

Reads the symbol tables of the objects make built (nm), so it sees exactly what the
linker sees: file A leans on file B when A's object refers to a global symbol (function
or variable) that B's object defines. lib/*.o resolve among themselves; each tool's
objects resolve first among that tool's own objects, then in lib. Static functions and
calls through function pointers (a renderer table) are not edges: that is the point of
a table.

Exits 1 and names every circle (a strongly connected set of two or more files, with
the symbols on each edge) outside the dotenv parser family (lib/dotenv*.c, whose
dialect parsers and driver call each other by design). --graph prints every edge.
"""
import os
import re
import subprocess
import sys

ALLOWED = re.compile(r"^lib/dotenv[^/]*\.c$")


def symbols(obj):
    """(defined, undefined) global symbol sets of one object file."""
    out = subprocess.run(["nm", "-P", "-g", obj], check=True, capture_output=True,
                         text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        (undefined if parts[1] == "U" else defined).add(parts[0])
    return defined, undefined


def objects(directory):
    if not os.path.isdir(directory):
        return []
    return sorted(os.path.join(directory, n) for n in os.listdir(directory)
                  if n.endswith(".o"))


def current(build, objs):
    """Objects whose source still exists (a removed file's object may linger)."""
    return [o for o in objs if os.path.exists(source_name(build, o))]


def source_name(build, obj):
    return os.path.relpath(obj, build)[:-2] + ".c"


def edges_of(build):
    """{(from_file, to_file): set(symbols)} over lib and every tool."""
    def table(objs):
        syms = {o: symbols(o) for o in objs}
        owner = {}
        for o, (defined, _) in syms.items():
            for s in defined:
                owner.setdefault(s, o)
        return syms, owner

    lib_syms, lib_owner = table(current(build, objects(os.path.join(build, "lib"))))
    groups = [(lib_syms, [lib_owner])]
    tools = os.path.join(build, "tools")
    for t in sorted(os.listdir(tools)) if os.path.isdir(tools) else []:
        syms, owner = table(current(build, objects(os.path.join(tools, t))))
        groups.append((syms, [owner, lib_owner]))
    edges = {}
    for syms, owners in groups:
        for obj, (_, undefined) in syms.items():
            for s in undefined:
                target = next((o[s] for o in owners if s in o), None)
                if target is None or target == obj:
                    continue
                a, b = source_name(build, obj), source_name(build, target)
                if ALLOWED.match(a) and ALLOWED.match(b):
                    continue
                edges.setdefault((a, b), set()).add(s)
    return edges


def circles(edges):
    """Strongly connected components of two or more files (Tarjan, iterative)."""
    succ = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
        succ.setdefault(b, [])
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in sorted(succ):
        if root in index:
            continue
        work = [(root, iter(sorted(succ[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(succ[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    comp.append(n)
                    if n == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def main(argv):
    graph = "--graph" in argv
    rest = [a for a in argv if a != "--graph"]
    build = rest[0] if rest else "build/default"
    if not os.path.isdir(os.path.join(build, "lib")):
        print(f"layers: no objects under {build}/lib (run make first)", file=sys.stderr)
        return 2
    edges = edges_of(build)
    if graph:
        for (a, b), syms in sorted(edges.items()):
            print(f"{a} -> {b}: {' '.join(sorted(syms))}")
    found = circles(edges)
    for comp in found:
        print("circle: " + " <-> ".join(comp))
        members = set(comp)
        for (a, b), syms in sorted(edges.items()):
            if a in members and b in members:
                print(f"  {a} -> {b}: {' '.join(sorted(syms))}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
