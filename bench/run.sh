#!/bin/sh
# make bench: every benchmark, each against its reference in the same run.
set -e
cd "$(dirname "$0")"
exec /usr/bin/python3 bench.py
