"""A trial of a Python zygote, outside any sandbox (issue 6; docs/performance.md,
"A zygote for Python"): what N runtimes cost when each is a fork of one
interpreter that has already imported the bootstrap, instead of an
interpreter of its own.

  flock /tmp/bench.lock /usr/bin/python3 bench/zygote_trial.py 50

A stub Runtime API on 127.0.0.1 gives each runtime one invocation, takes its
response and keeps its next /next parked, as the daemon does with an idle
instance. The zygote imports runtimes/python/impuls_runtime.py as a module, calls
gc.freeze() and forks N children that each run its main() (load the handler,
take the call, park). Once all are parked: PSS and private memory per child
and of the zygote, then the children's and the zygote's smaps by mapping."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import smaps_breakdown  # noqa: E402

# The runtime module (bootstrap.py is only a launcher that runs it at import).
BOOTSTRAP = os.path.join(HERE, "..", "runtimes", "python", "impuls_runtime.py")
HANDLER = "import time\n\ndef handler(event, context):\n    time.sleep(0.5)\n    return {'statusCode': 200, 'body': 'idle soon'}\n"

ZYGOTE = r'''
import gc, importlib.util, os, sys, time
sys.argv = ["bootstrap.py"]
spec = importlib.util.spec_from_file_location("impuls_runtime", os.environ["TRIAL_BOOTSTRAP"])
boot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(boot)
gc.freeze()
for _ in range(int(os.environ["TRIAL_N"])):
    if os.fork() == 0:
        boot.main()
        os._exit(0)
time.sleep(1e6)
'''


def rollup(pid):
    d = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            p = line.split()
            if p[0].rstrip(":") in ("Pss", "Private_Dirty", "Private_Clean"):
                d[p[0].rstrip(":")] = int(p[1])
    return d


class StubRuntimeAPI:
    """One invocation per connection, then the next /next stays parked."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.parked = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            c, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rb")

        def request():
            f.readline()
            length = 0
            while True:
                line = f.readline()
                if line in (b"\r\n", b""):
                    break
                k, _, v = line.decode().partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            f.read(length)

        request()  # GET /next
        c.sendall(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\n"
                  b"Lambda-Runtime-Deadline-Ms: 9999999999999\r\nContent-Length: 2\r\n\r\n{}")
        request()  # POST /response
        c.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        request()  # GET /next, parked
        with self.lock:
            self.parked += 1
        time.sleep(1e6)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    api = StubRuntimeAPI()
    task = tempfile.mkdtemp(prefix="impuls-zygote-trial-")
    with open(os.path.join(task, "main.py"), "w") as f:
        f.write(HANDLER)
    # What a pre-made shell's runtime starts with (src/pool/shells.c), less the claim.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": ":UTC", "HOME": "/tmp",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "LAMBDA_TASK_ROOT": task,
           "_HANDLER": "main.handler", "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}",
           "TRIAL_BOOTSTRAP": os.path.abspath(BOOTSTRAP), "TRIAL_N": str(n)}
    z = subprocess.Popen(["/usr/bin/python3", "-s", "-c", ZYGOTE], env=env, cwd=task)
    kids = []
    try:
        deadline = time.time() + 120
        while api.parked < n and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)
        with open(f"/proc/{z.pid}/task/{z.pid}/children") as f:
            kids = [int(p) for p in f.read().split()]
        rs = [rollup(k) for k in kids]
        zr = rollup(z.pid)
        pss = sum(r["Pss"] for r in rs) / len(rs) / 1024
        priv = sum(r["Private_Dirty"] + r["Private_Clean"] for r in rs) / len(rs) / 1024
        print(f"{len(kids)} runtimes forked from one zygote: PSS {pss:.2f} MiB each, {priv:.2f} MiB of it private; "
              f"the zygote {zr['Pss'] / 1024:.2f} MiB PSS, {zr['Pss'] / 1024 / len(rs):.3f} MiB per runtime")
        smaps_breakdown.table("a forked runtime", smaps_breakdown.summed(kids), len(kids), top=8)
        smaps_breakdown.table("the zygote", smaps_breakdown.smaps(z.pid), 1, top=6)
    finally:
        z.kill()
        z.wait()
        for k in kids:
            try:
                os.kill(k, 9)
            except ProcessLookupError:
                pass
        shutil.rmtree(task, ignore_errors=True)


if __name__ == "__main__":
    main()
