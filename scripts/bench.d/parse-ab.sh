#!/bin/bash
# parse-ab.sh: CPU time of `mailtrail parse --output none` for two or more builds, runs interleaved
# (docs/performance-history.md, rounds 10-11).
#
# What: N rounds; in each, every binary parses FILE once under `perf stat -e task-clock`
# (CPU milliseconds, not wall time, so that waiting for the other core's work does not count);
# prints per binary the fastest and the median run and their difference from the first binary.
# Interleaving spreads load changes over all binaries alike; on this shared 2-core machine single
# runs vary by +-15 %, so compare the fastest and the median of 10 or more rounds.
# Usage: scripts/bench.d/parse-ab.sh N FORMAT FILE BIN1 BIN2 [BIN...]
#        (FORMAT: postfix | sendmail | exim | auto; the year is 2026, the zone UTC)
# Limits: needs perf (Debian's linux-perf); the software task-clock event is enough.
set -euo pipefail
if [ $# -lt 5 ]; then
  echo "usage: $0 N FORMAT FILE BIN1 BIN2 [BIN...]" >&2
  exit 64
fi
n=$1; fmt=$2; f=$3; shift 3
command -v perf >/dev/null || { echo "parse-ab.sh: perf is missing: apt-get install linux-perf" >&2; exit 69; }
[ -r "$f" ] || { echo "parse-ab.sh: cannot read $f" >&2; exit 66; }
for i in $(seq 1 "$n"); do
  for b in "$@"; do
    ms=$(perf stat -x, -e task-clock "$b" parse --output none --format "$fmt" --year 2026 --timezone UTC "$f" \
           2>&1 >/dev/null | grep task-clock | cut -d, -f1)
    echo "$b $ms"
  done
done | python3 -c '
import sys, statistics
d = {}
for l in sys.stdin:
    b, v = l.split(); d.setdefault(b, []).append(float(v))
base = None
for b, v in d.items():
    mn, md = min(v), statistics.median(v)
    if base is None: base = (mn, md)
    print("%-40s fastest %8.1f ms (%+5.1f %%)  median %8.1f ms (%+5.1f %%)  n=%d"
          % (b[-40:], mn, 100 * (mn / base[0] - 1), md, 100 * (md / base[1] - 1), len(v)))
'
