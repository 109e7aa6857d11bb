"""The Python zygote: one interpreter per Python function with more than one
instance, which has imported this runtime and clones the function's new
sandboxes from itself, so that the interpreter's initialised pages are shared
copy-on-write between the function's instances (docs/performance.md, "A
zygote per function"). One per function, not one for all: every interpreter
cloned from it shares its string-hash key, and one function must not be able
to craft colliding keys for another's dicts.

The daemon starts it as root outside any sandbox (`python3 -s -P zygote.py`),
in the environment a pre-made sandbox's runtime starts with, its cwd this
directory, fd 3 its socket, fd 4 libimpuls-zygote.so (src/sandbox/zygote.c),
stdout and stderr a pipe to the daemon's log. It runs no
function's code and holds none of a function's data: each child is a pooled
sandbox whose init hands it the function's environment and code after the
clone (the claim), as for a pre-made sandbox; the child is locked down
(uid, capabilities, seccomp) before it returns here."""
import ctypes
import gc
import importlib.util
import os
import sys

RUNTIME = "/var/runtime/python"  # this directory as a sandbox sees it
BOOTSTRAP = RUNTIME + "/bootstrap.py"


def import_runtime():
    """impuls_runtime, compiled under the path the sandbox knows it by, so that
    its frames, __file__ and __spec__ read as a runtime started in the sandbox
    would (importlib.reload works there: the path exists in the sandbox)."""
    spec = importlib.util.spec_from_file_location("impuls_runtime", RUNTIME + "/impuls_runtime.py")
    with open("impuls_runtime.py", "rb") as f:  # the cwd: this directory on the host
        code = compile(f.read(), spec.origin, "exec")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["impuls_runtime"] = mod
    exec(code, mod.__dict__)
    return mod


def main():
    runtime = import_runtime()
    serve = ctypes.PyDLL("/proc/self/fd/4").impuls_zygote_serve  # keeps the GIL across the clone
    after_fork = ctypes.pythonapi.PyOS_AfterFork_Child
    os.close(4)
    # What a runtime started as `python3 -s bootstrap.py` in the sandbox has
    # (started with -P, this one has no script dir on its path).
    sys.path.insert(0, RUNTIME)
    sys.argv[:] = [BOOTSTRAP]
    sys.orig_argv[:] = [sys.executable, "-s", BOOTSTRAP]
    sys.modules["__main__"].__file__ = BOOTSTRAP
    sys.path_importer_cache.clear()  # keyed by the host's paths
    gc.freeze()  # the collector leaves the shared objects (and their pages) alone
    rc = serve(3)
    if rc != 0:  # the daemon closed the socket (1), or no start (-1)
        sys.exit(0 if rc == 1 else 1)
    # In a new sandbox's runtime: what os.fork() does in a child (threads,
    # locks, os.register_at_fork hooks such as random's reseeding), first.
    after_fork()
    runtime.main()

main()
