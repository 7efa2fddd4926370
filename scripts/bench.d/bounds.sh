#!/bin/bash
# bounds.sh: upper bounds of what a redesign could save, measured as CPU time of
# `mailtrail parse --output none` (docs/performance-history.md, round 12).
#
# What: builds HEAD and HEAD with each PATCH applied (release, in one scratch worktree under
# $TMPDIR, so the incremental build only recompiles what a patch touches), then runs
# parse-ab.sh N FORMAT FILE on HEAD's build and the patched ones, interleaved.
# The patches in scripts/bench.d/bounds/ are measuring devices, not candidate code: they make
# the parse skip a kind of work and produce wrong text (every String over 15 bytes becomes one
# literal), with the same row counts as HEAD on the seed-42 samples (except Postfix under the
# two lookup patches: +0.3 % deliveries, see docs/performance-history.md round 12). So the difference
# from HEAD is what that work costs at most:
#   no-strings.patch        no String over 15 bytes is made or looked up (caches and fresh ones)
#   no-cache-lookups.patch  the caches' lookups skipped (a literal instead); fresh Strings made
#   lookups-only.patch      the lookups done, but their result replaced by a literal afterwards:
#                           copies into transactions and rows retain an immortal String
#   shared-cache-off.patch  the cache shared by a parser's lines replaced by fresh Strings (real
#                           text, right output)
# Usage: scripts/bench.d/bounds.sh N FORMAT FILE PATCH [PATCH...]
#        e.g. scripts/bench.d/bounds.sh 10 sendmail /tmp/sm.log scripts/bench.d/bounds/*.patch
# Limits: needs git, swift, perf (parse-ab.sh); a build takes 1-2 minutes per patch on 2 cores;
# a patch is a diff of the code it was made on (round 12's: main at f3c37f5) and stops applying
# when that code changes (the script then says so);
# the machine's noise (+-15 % per run) hides differences below ~5 % even over 10 rounds.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 N FORMAT FILE PATCH [PATCH...]" >&2
  exit 64
fi
n=$1; fmt=$2; file=$3; shift 3
repo=$(cd "$(dirname "$0")/../.." && pwd)
for p in "$@"; do [ -r "$p" ] || { echo "bounds.sh: cannot read patch $p" >&2; exit 66; }; done
[ -r "$file" ] || { echo "bounds.sh: cannot read $file" >&2; exit 66; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/mailtrail-bounds.XXXXXX")
cleanup() { git -C "$repo" worktree remove --force "$scratch/wt" >/dev/null 2>&1 || true; rm -rf "$scratch"; }
trap cleanup EXIT
git -C "$repo" worktree add --detach "$scratch/wt" HEAD >/dev/null
build() {
  (cd "$scratch/wt" && swift build -c release --product mailtrail >"$scratch/build.log" 2>&1) \
    || { echo "bounds.sh: build failed ($1), see the log:" >&2; tail -20 "$scratch/build.log" >&2; exit 70; }
  cp "$scratch/wt/.build/release/mailtrail" "$scratch/mailtrail-$1"
}
echo "building HEAD" >&2
build HEAD
bins=("$scratch/mailtrail-HEAD")
for p in "$@"; do
  name=$(basename "$p" .patch)
  git -C "$scratch/wt" checkout -q -- .
  git -C "$scratch/wt" apply "$(cd "$(dirname "$p")" && pwd)/$(basename "$p")" \
    || { echo "bounds.sh: $p no longer applies to HEAD: remake it on the current code" >&2; exit 65; }
  echo "building $name" >&2
  build "$name"
  bins+=("$scratch/mailtrail-$name")
done
"$repo/scripts/bench.d/parse-ab.sh" "$n" "$fmt" "$file" "${bins[@]}"
