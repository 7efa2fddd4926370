#!/usr/bin/env python3
"""wallshare.py: where a parse's wall time goes next to where its instructions go,
by category (docs/performance-history.md, round 11).

What: reads a `perf record` profile (software clock samples: wall time, which
this machine kind can sample without hardware counters) and a callgrind
profile (instructions) of the same command, groups both by category
(reference counting, allocation, String making, memchr/memcmp, framing,
glue, MTA parse, correlator, the model's caches) and prints each category's
share of samples, its share of instructions (start-up symbols left out) and
the ratio. A ratio above 1 marks code that costs more time than its
instructions suggest (cache misses, atomics); below 1, code that runs fast.

Usage:
  perf record -F 4000 -o P.data .build/release/mailtrail parse --output none \
      --format F --year Y --timezone UTC LOG
  valgrind --tool=callgrind --callgrind-out-file=C.out .build/release/mailtrail \
      parse --output none --format F --year Y --timezone UTC HEAD_OF_LOG
  scripts/bench.d/wallshare.py P.data C.out
Limits: symbols are grouped by name patterns (Swift module prefixes, runtime
and libc names); code inlined into another module's function counts for
that function's module. Perf's samples are ~4,000 a second: a category under
1 % is within sampling noise.
"""
import re, subprocess, sys
pdata, cgout = sys.argv[1], sys.argv[2]
rep = subprocess.run(["perf", "report", "-i", pdata, "--no-children", "--sort", "symbol"],
                     capture_output=True, text=True).stdout
perf = {}
for l in rep.split("\n"):
    m = re.match(r"^\s*([\d.]+)%\s+\[(.)\]\s+(.*?)\s*$", l)
    if m:
        name = "[kernel]" if m.group(2) == "k" else re.split(r"\s{2,}", m.group(3))[0]
        perf[name] = perf.get(name, 0) + float(m.group(1))
out = subprocess.run(["callgrind_annotate", "--auto=no", cgout], capture_output=True, text=True).stdout
cg = {}
for l in out.split("\n"):
    m = re.match(r"^\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", l)
    if not m or "PROGRAM TOTALS" in l: continue
    s = re.sub(r" \[.*", "", m.group(2)); s = s.split(":")[-1]
    cg[s] = cg.get(s, 0) + int(m.group(1).replace(",", ""))
START = ("dl_", "do_lookup", "_dl_", "conformsToProtocol", "ArgumentParser", "swift_getGeneric", "init_", "check_match")
cg = {k: v for k, v in cg.items() if not any(x in k for x in START)}
cats = [
    ("reference counting", r"swift_(retain|release|bridgeObject|isUniquelyReferenced|nonatomic)|RefCounts|doDecrement"),
    ("allocation and free", r"mi_|malloc|free|swift_(allocObject|slowAlloc|deallocObject|slowDealloc)|_allocateStringStorage|__StringStorage|_int_|operator new|operator delete"),
    ("String making (UTF-8 check, copy)", r"fromUTF8|uncheckedFromUTF8|_allASCII|validateUTF8|memmove|memcpy"),
    ("memchr / memcmp", r"memchr|memcmp"),
    ("kernel (read, page faults)", r"^\[kernel\]$"),
    ("rows and state destroyed (value witnesses)", r"Vwxx$|arrayDestroy"),
    ("framing + split", r"^\$s13SyslogFraming"),
    ("glue (Ingest: feed, dispatch)", r"^\$s6Ingest"),
    ("MTA parse", r"^\$s10MTAParsing"),
    ("correlate (own code)", r"^\$s11Correlation"),
    ("string caches, message keys, model", r"^\$s14MailTrailModel"),
]
def cat(s):
    for n, p in cats:
        if re.search(p, s): return n
    return "other"
P, C = {}, {}
for s, v in perf.items(): P[cat(s)] = P.get(cat(s), 0) + v
tot = sum(cg.values())
for s, v in cg.items(): C[cat(s)] = C.get(cat(s), 0) + 100.0 * v / tot
print("%-36s %7s %7s %6s" % ("category", "wall %", "instr %", "ratio"))
for n in [c[0] for c in cats] + ["other"]:
    p, c = P.get(n, 0), C.get(n, 0)
    print("%-36s %7.1f %7.1f %6s" % (n, p, c, "%.2f" % (p / c) if c > 0.05 else "-"))
