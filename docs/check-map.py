#!/usr/bin/python3
"""Check docs/ARCHITECTURE.md against the code and count the walk's crossings.

    docs/check-map.py [docs/ARCHITECTURE.md]

Every walk row (| N | `file` | `function` | ...) and every file.c:function named
in the text must be a function defined in that file (a file named without its
folder may be in any folder). Prints the number of steps, file crossings (a row
whose file differs from the row before) and distinct files, in all and per part,
and exits 1 if a name does not exist. Standard library only.
"""
import glob
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
doc = open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "docs/ARCHITECTURE.md"),
           encoding="utf-8").read()

srcs = {}
for f in glob.glob(os.path.join(TOP, "**", "*.c"), recursive=True):
    rel = os.path.relpath(f, TOP)
    if not rel.startswith(("build", "tests/fuzz/out")):
        srcs[rel] = open(f, encoding="utf-8", errors="replace").read()


def defined(rel, fn):
    """fn is defined (not only declared or called) at the left margin of rel."""
    s = srcs.get(rel)
    return s is not None and re.search(r"^[a-z][^;\n(=]*\b" + re.escape(fn) + r"\(", s, re.M)


def candidates(f):
    return [k for k in srcs if k == f or k.endswith("/" + f)]


rows = [(int(n), f, fn) for n, f, fn in
        re.findall(r"^\| (\d+) \| `([^`]+)` \| `([^`]+)` \|", doc, re.M)]
bad = []
if [r[0] for r in rows] != list(range(1, len(rows) + 1)):
    bad.append("walk rows are not numbered 1..N in order")
bad += ["row %d: %s:%s" % r for r in rows if not defined(r[1], r[2])]
for f, fn in sorted(set(re.findall(r"((?:[A-Za-z0-9_]+/)*[A-Za-z0-9_-]+\.c):([A-Za-z_]\w*)", doc))):
    if not any(defined(c, fn) for c in candidates(f)):
        bad.append("%s:%s" % (f, fn))


def count(part):
    return (len(part), sum(1 for a, b in zip(part, part[1:]) if a[1] != b[1]),
            len({r[1] for r in part}))


print("all rows: %d steps, %d crossings, %d files" % count(rows))
# The parts are the walk's subsections: a row number in a "### " heading's table.
for title, body in re.findall(r"^### (.+?)\n(.*?)(?=^### |^## |\Z)", doc, re.M | re.S):
    part = [(int(n), f, fn) for n, f, fn in
            re.findall(r"^\| (\d+) \| `([^`]+)` \| `([^`]+)` \|", body, re.M)]
    if part:
        print("rows %d-%d (%s): %d steps, %d crossings, %d files" %
              ((part[0][0], part[-1][0], title) + count(part)))
for b in bad:
    print("not found:", b)
sys.exit(1 if bad else 0)
