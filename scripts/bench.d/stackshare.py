#!/usr/bin/env python3
"""stackshare.py: the share of a call-graph profile's samples whose stack passes
through each named function, and the leaves and reference-counting callers that
take the most (docs/performance-history.md, round 21).

What: reads `perf script -F ip,sym` of a `perf record -g` profile (frame-pointer
stacks; Swift keeps frame pointers) and prints, for each PATTERN, the percentage
of samples with a frame whose symbol contains it (inclusive time); then the 25
leaf symbols with the most samples, and the callers of swift_retain/release
(which function asked for the reference counting). `wallshare.py` groups the
leaves by category instead; this one answers "how much of the run is under X".

Usage:
  perf record -F 4999 -g -e cpu-clock -o P.data BIN parse --output none \
      --format F --year Y --timezone UTC LOG
  perf script -i P.data -F ip,sym > P.stacks
  scripts/bench.d/stackshare.py P.stacks sweep consumeAndCreateNew V3tls33
Limits: a leaf without its own frame (memchr, memcpy, the runtime's retain)
shows its caller's caller as the next frame, so "callers" of such leaves are
one level up; samples are ~5,000 a second: a share under 1 % is noise.
"""
import collections, signal, sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # quiet when piped into head

if len(sys.argv) < 2:
    sys.exit("usage: stackshare.py P.stacks [PATTERN ...]")
patterns = sys.argv[2:]
RC = ("swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_bridgeObjectRelease")
through, leaves, rc = collections.Counter(), collections.Counter(), collections.Counter()
n = 0
for block in open(sys.argv[1]).read().split("\n\n"):
    frames = [l.strip().split(None, 1) for l in block.strip().split("\n") if l.strip()]
    frames = [f[1] if len(f) > 1 else "?" for f in frames]
    if not frames:
        continue
    n += 1
    leaves[frames[0]] += 1
    if frames[0] in RC and len(frames) > 1:
        rc[(frames[0], frames[1])] += 1
    for p in patterns:
        if any(p in f for f in frames):
            through[p] += 1
if n == 0:
    sys.exit("stackshare.py: no samples in %s" % sys.argv[1])
print("%d samples" % n)
for p in patterns:
    print("%6.2f %%  through %s" % (100 * through[p] / n, p))
print("-- leaves")
for s, k in leaves.most_common(25):
    print("%6.2f %%  %s" % (100 * k / n, s[:120]))
print("-- reference counting, by caller")
for (s, c), k in rc.most_common(15):
    print("%6.2f %%  %s <- %s" % (100 * k / n, s, c[:110]))
