#!/bin/sh
# make bench: every benchmark, each against its reference in the same run,
# then the plots in docs/ from bench/results/latest.json. BENCH_ONLY (a comma
# list, see bench.py) runs a subset and leaves the plots alone.
set -e
cd "$(dirname "$0")"
mkdir -p ../build
# The floor's probe and the native hello's bootstrap: built here, not by the
# Makefile, as only the bench uses them.
cc -O2 -Wall -Wextra -Werror -o ../build/bench-floor floor.c
cc -O2 -static -Wall -Wextra -Werror -o ../build/bench-bootstrap ref/bootstrap.c
# The daemon without the counting for /metrics: the metrics row's reference.
make -C .. --no-print-directory build/impuls-nometrics
# The workerd reference (npm package `workerd`), as package-lock.json pins it.
if [ ! -d node_modules/workerd ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Without it the workerd rows fail and the others are still measured.
  timeout 600 npm ci --no-audit --no-fund || echo "bench: npm ci failed: no workerd reference" >&2
fi
/usr/bin/python3 bench.py
if [ -z "$BENCH_ONLY" ]; then
  /usr/bin/python3 plot.py
fi
