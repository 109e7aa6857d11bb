"""Impuls Python runtime: the entry point the daemon starts. The runtime is
impuls_runtime.py, imported rather than run so that Python reads it from the
bytecode `make build` caches in __pycache__ (a script run as __main__ is
compiled at every start: an idle instance measured 5.7 MiB PSS that way and
5.0 this way; docs/performance.md, the density table)."""
from impuls_runtime import main

main()
