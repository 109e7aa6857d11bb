#!/bin/sh
# make bench: every benchmark, each against its reference in the same run,
# then the plots in docs/ from bench/results/latest.json.
set -e
cd "$(dirname "$0")"
mkdir -p ../build
# The floor's probe: built here, not by the Makefile, as only the bench uses it.
cc -O2 -Wall -Wextra -Werror -o ../build/bench-floor floor.c
/usr/bin/python3 bench.py
/usr/bin/python3 plot.py
