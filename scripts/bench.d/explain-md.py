#!/usr/bin/env python3
"""explain-md.py: the bench's explain.txt as Markdown, cut down to the plans that read tables.

Usage: scripts/bench.d/explain-md.py EXPLAIN.TXT [TITLE] > docs/performance-explain.md

Contract: for every query of the bench's "scale" part (a section `=== name` of explain.txt,
written by `scripts/bench --out DIR`), it keeps the statement the bench ran and each plan
auto_explain logged that scans a relation (`Index Scan`, `Seq Scan`, `Bitmap Heap Scan`, ...),
with its query text and duration, in the order they ran. Plans over arrays and constants only
(the trace's bookkeeping, and lookups planned with an empty time range) are counted, not shown. Nothing is reworded: every plan line
is auto_explain's own output.

Limits: it reads the layout psql and auto_explain give with the bench's settings (NOTICE lines
`duration: X ms  plan:`, then `Query Text:`, then the plan); another layout gives empty sections.
"""
import re
import sys
import textwrap

SCAN = re.compile(r"\b(Index Scan|Index Only Scan|Seq Scan|Bitmap Heap Scan|Bitmap Index Scan)\b")
NOTICE = re.compile(r"^psql:[^ ]*: NOTICE:  duration: ([0-9.]+) ms  plan:$")


def sections(lines):
    name, body = None, []
    for line in lines:
        if line.startswith("=== "):
            if name:
                yield name, body
            name, body = line[4:].strip(), []
        elif name:
            body.append(line)
    if name:
        yield name, body


def plans(body):
    """(duration ms, query text lines, plan lines) of each auto_explain NOTICE in a section."""
    cur = None
    for line in body:
        m = NOTICE.match(line)
        if m:
            if cur:
                yield cur
            cur = [float(m.group(1)), [], [], "query"]
            continue
        if cur is None:
            continue
        if line.startswith("psql:") or re.match(r"^\s*QUERY PLAN\s*$", line) or re.match(r"^-+$", line) \
                or re.match(r"^\(\d+ rows?\)$", line):
            yield cur
            cur = None
            continue
        if cur[3] == "query":
            if line.startswith("Query Text:"):
                cur[1].append(line[len("Query Text:"):].strip())
                continue
            # The plan starts at the first line that is not indented SQL: a node name at column 0.
            if re.match(r"^[A-Z][A-Za-z ]+ +\(cost=", line):
                cur[3] = "plan"
                cur[2].append(line)
            else:
                cur[1].append(line.rstrip())
        else:
            cur[2].append(line.rstrip())
    if cur:
        yield cur


def main():
    path = sys.argv[1]
    title = sys.argv[2] if len(sys.argv) > 2 else "EXPLAIN of the queries at scale"
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    out = ["# " + title, ""]
    for name, body in sections(lines):
        stmt = body[0].strip() if body else ""
        shown, hidden = [], 0
        for dur, query, plan in ((p[0], p[1], p[2]) for p in plans(body)):
            if not plan:
                continue
            if query and query[0].startswith("EXPLAIN "):
                continue   # the plain EXPLAIN of the top-level statement: a Result over the function call
            if not any(SCAN.search(l) for l in plan):
                hidden += 1
                continue
            shown.append((dur, query, plan))
        out.append("## " + name)
        out.append("")
        out.append("`%s`" % stmt)
        out.append("")
        out.append("%d statements read tables (shown, in the order they ran); %d more read no table (not shown): "
                   "bookkeeping over arrays, or a lookup whose time range was empty, so that no partition "
                   "was planned." % (len(shown), hidden))
        out.append("")
        for dur, query, plan in shown:
            q = [l for l in query if l.strip()]
            q = "\n".join(q[:1] + textwrap.dedent("\n".join(q[1:])).split("\n")) if len(q) > 1 else "".join(q)
            out.append("```")
            out.append("-- %.3f ms" % dur)
            out.append(q.strip())
            out.append("")
            out.extend(l for l in plan if l.strip())
            out.append("```")
            out.append("")
    sys.stdout.write("\n".join(out).rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
