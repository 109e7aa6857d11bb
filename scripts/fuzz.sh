#!/bin/sh
# Usage: fuzz.sh SECONDS TARGET...  Replays the seeds and saved crashes of each
# target (fuzz/corpus/T, fuzz/regressions/T), then fuzzes it for SECONDS with
# a working corpus under build/fuzz/. A crash fails the run; its input is kept
# in build/fuzz/crash-T-* to be added to fuzz/regressions/T.
set -e
secs=$1; shift
for t in "$@"; do
  bin=build/fuzz/fuzz_$t
  work=build/fuzz/corpus-$t
  mkdir -p "$work"
  for d in fuzz/corpus/$t fuzz/regressions/$t; do
    if [ -d "$d" ] && [ -n "$(ls "$d")" ]; then "$bin" -runs=0 "$d" >/dev/null 2>&1 || { echo "fuzz: $t fails on $d"; "$bin" -runs=0 "$d"; exit 1; }; fi
  done
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
    -artifact_prefix="build/fuzz/crash-$t-" -print_final_stats=0 "$work" fuzz/corpus/$t 2>build/fuzz/$t.log \
    || { tail -40 build/fuzz/$t.log; echo "fuzz: $t crashed"; exit 1; }
  echo "fuzz: $t ok ($(grep -c . build/fuzz/$t.log) log lines, $(ls "$work" | wc -l) corpus entries)"
done
