"""Impuls Python runtime: the entry point the daemon starts. The runtime is
impuls_runtime.py, imported rather than run so that Python reads it from the
bytecode `make build` caches in __pycache__ (a script run as __main__ is
compiled at every start: some 0.9 MiB of an idle instance's private memory
and milliseconds of its cold start; docs/performance.md)."""
from impuls_runtime import main

main()
