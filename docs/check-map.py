#!/usr/bin/python3
"""Check docs/ARCHITECTURE.md against the code and count the walk's crossings.

    docs/check-map.py [--write] [docs/ARCHITECTURE.md]

Every walk row (| N | `file` | `function` | ...) and every file.c:function named
in the text must be a function defined in that file (a file named without its
folder may be in any folder). Prints the number of steps, file crossings (a row
whose file differs from the row before) and distinct files, in all and per
part (a part is a "### " subsection holding walk rows), and exits 1 if a name
does not exist. --write renumbers the rows 1..N in order and rewrites the
block between the "crossings" markers with these counts. Standard library only.
"""
import glob
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = [a for a in sys.argv[1:] if a != "--write"]
path = args[0] if args else os.path.join(TOP, "docs/ARCHITECTURE.md")
doc = open(path, encoding="utf-8").read()
ROW = re.compile(r"^\| (\d+) \| `([^`]+)` \| `([^`]+)` \|", re.M)

if "--write" in sys.argv:
    n = 0

    def renumber(m):
        global n
        n += 1
        return "| %d | `%s` | `%s` |" % (n, m.group(2), m.group(3))
    doc = ROW.sub(renumber, doc)

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


rows = [(int(n), f, fn) for n, f, fn in ROW.findall(doc)]
bad = []
if [r[0] for r in rows] != list(range(1, len(rows) + 1)):
    bad.append("walk rows are not numbered 1..N in order (run with --write)")
bad += ["row %d: %s:%s" % r for r in rows if not defined(r[1], r[2])]
for f, fn in sorted(set(re.findall(r"((?:[A-Za-z0-9_]+/)*[A-Za-z0-9_-]+\.c):([A-Za-z_]\w*)", doc))):
    if not any(defined(c, fn) for c in candidates(f)):
        bad.append("%s:%s" % (f, fn))


def count(part):
    return (sum(1 for a, b in zip(part, part[1:]) if a[1] != b[1]), len({r[1] for r in part}))


parts = []
for title, body in re.findall(r"^### (.+?)\n(.*?)(?=^### |^## |\Z)", doc, re.M | re.S):
    part = [(int(n), f, fn) for n, f, fn in ROW.findall(body)]
    if part:
        parts.append((title, part))
c_all, f_all = count(rows)
lines = ["- **All rows (1–%d): %d steps, %d file crossings, %d distinct files.**" %
         (len(rows), len(rows), c_all, f_all)]
prev = None
for title, part in parts:
    c, nf = count(part)
    into = " (+1 into it)" if prev is not None and prev[-1][1] != part[0][1] else ""
    lines.append("- %s (rows %d–%d): %d steps, %d crossings%s, %d files." %
                 (title.split(":")[0], part[0][0], part[-1][0], len(part), c, into, nf))
    prev = part
print("\n".join(lines))
if "--write" in sys.argv:
    doc = re.sub(r"(<!-- crossings: [^\n]*-->\n).*?(<!-- /crossings -->)",
                 lambda m: m.group(1) + "\n".join(lines) + "\n" + m.group(2), doc, flags=re.S)
    open(path, "w", encoding="utf-8").write(doc)
for b in bad:
    print("not found:", b)
sys.exit(1 if bad else 0)
