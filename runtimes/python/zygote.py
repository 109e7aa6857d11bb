"""The Python zygote: one interpreter per Python function with more than one
instance, which has imported this runtime and clones the function's new
sandboxes from itself, so that the interpreter's initialised pages are shared
copy-on-write between the function's instances (docs/performance.md, "A
zygote per function"). One per function, not one for all: every interpreter
cloned from it shares its string-hash key, and one function must not be able
to craft colliding keys for another's dicts.

The daemon starts it as root outside any sandbox, in the environment a
pre-made sandbox's runtime starts with, its cwd this directory, fd 3 its
socket and fd 4 libimpuls-zygote.so (src/sandbox/zygote.c). It runs no
function's code and holds none of a function's data: each child is a pooled
sandbox whose init hands it the function's environment and code after the
clone (the claim), as for a pre-made sandbox; the child is locked down
(uid, capabilities, seccomp) before it returns here."""
import ctypes
import gc
import os
import sys
import types

RUNTIME = "/var/runtime/python"  # this directory as a sandbox sees it
BOOTSTRAP = RUNTIME + "/bootstrap.py"


def import_runtime():
    """impuls_runtime, compiled under the path the sandbox knows it by, so that
    its frames and __file__ read as a runtime started in the sandbox would."""
    path = RUNTIME + "/impuls_runtime.py"
    with open("impuls_runtime.py", "rb") as f:
        code = compile(f.read(), path, "exec")
    mod = types.ModuleType("impuls_runtime")
    mod.__file__ = path
    sys.modules["impuls_runtime"] = mod
    exec(code, mod.__dict__)
    return mod


def main():
    runtime = import_runtime()
    serve = ctypes.PyDLL("/proc/self/fd/4").impuls_zygote_serve  # keeps the GIL across the clone
    os.close(4)
    # What a runtime started as `python3 -s bootstrap.py` in the sandbox has.
    sys.path[0] = RUNTIME
    sys.argv[:] = [BOOTSTRAP]
    sys.orig_argv[:] = [sys.executable, "-s", BOOTSTRAP]
    sys.modules["__main__"].__file__ = BOOTSTRAP
    sys.path_importer_cache.clear()  # keyed by the host's paths
    gc.freeze()  # the collector leaves the shared objects (and their pages) alone
    rc = serve(3)
    if rc != 0:  # the daemon closed the socket (1), or no start (-1)
        sys.exit(0 if rc == 1 else 1)
    # In a new sandbox's runtime: what os.fork() does in a child (threads,
    # locks, os.register_at_fork hooks such as random's reseeding).
    ctypes.pythonapi.PyOS_AfterFork_Child()
    runtime.main()


main()
