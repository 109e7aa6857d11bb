"""AWS's own Node.js runtime interface client (npm `aws-lambda-ric`) as a
`provided` function's entry point: its source, built by `impuls up` (some 4
minutes: it compiles curl and its native addon), and the built function kept
as a zip in build/test-cache/ so that a later suite (the microVM pass)
deploys the same build again instead of compiling it twice."""
import glob
import io
import json
import os
import stat
import subprocess
import zipfile

from impuls_daemon import ROOT
from up_helpers import Workspace

RIC = "3.3.0"  # the newest release that runs on Node 20 (4.x wants Node 22)
CACHE = os.path.join(ROOT, "build", "test-cache", f"aws-lambda-ric-{RIC}.zip")

HANDLER = ("exports.handler = async (event, context) => {\n"
           "  if (event.fail) throw new TypeError('ric says no');\n"
           "  return { via: 'aws-lambda-ric', got: event, fn: context.functionName,\n"
           "           requestId: context.awsRequestId, left: context.getRemainingTimeInMillis() > 0 };\n"
           "};\n")
BOOTSTRAP = "#!/bin/sh\nexec /usr/bin/node /var/task/node_modules/aws-lambda-ric/bin/index.mjs \"$_HANDLER\"\n"


def registry_reachable():
    p = subprocess.run(["npm", "view", f"aws-lambda-ric@{RIC}", "version"], capture_output=True, text=True,
                       timeout=60)
    return p.returncode == 0 and p.stdout.strip() == RIC


def write_function(ws, name, timeout_s):
    """The function's source in the workspace: handler, bootstrap, package.json."""
    ws.write(f"{name}/package.json", json.dumps({
        "name": name, "version": "1.0.0", "main": "index.js",
        "dependencies": {"aws-lambda-ric": RIC},
        # npm 11 runs a package's install scripts only when allowed by name.
        "allowScripts": {"aws-lambda-ric": True}}))
    ws.write(f"{name}/index.js", HANDLER)
    ws.write(f"{name}/bootstrap", BOOTSTRAP, mode=0o755)
    ws.write(f"{name}/impuls.json", json.dumps({"runtime": "provided", "mode": "handler",
                                                "handler": "index.handler", "timeout_s": timeout_s}))


# What the build leaves that the function does not run: curl's and the C++
# client's sources and build trees (the addon, dist/rapid-client.node, has
# them linked in). 130 MiB of the 143: without them the code fits what a
# request (50 MiB) and a microVM's claim (64 MiB) carry.
BUILD_ONLY = "node_modules/aws-lambda-ric/deps/"


def keep_built(daemon):
    """Zips the built function's code as the daemon holds it (its task dir:
    links kept as links, modes kept), but for BUILD_ONLY, into CACHE."""
    (task,) = {os.path.dirname(os.path.dirname(os.path.dirname(p))) for p in
               glob.glob(os.path.join(daemon.data_dir, "tasks", "*", "node_modules", "aws-lambda-ric", "package.json"))}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for top, dirs, files in os.walk(task):
            for name in sorted(dirs + files):
                path = os.path.join(top, name)
                st = os.lstat(path)
                if stat.S_ISDIR(st.st_mode) and not stat.S_ISLNK(st.st_mode):
                    continue  # (its files carry it)
                rel = os.path.relpath(path, task)
                if (rel + "/").startswith(BUILD_ONLY):
                    continue
                info = zipfile.ZipInfo(rel)
                info.create_system = 3
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = st.st_mode << 16
                z.writestr(info, os.readlink(path) if stat.S_ISLNK(st.st_mode) else open(path, "rb").read())
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    with open(CACHE + ".tmp", "wb") as f:
        f.write(buf.getvalue())
    os.rename(CACHE + ".tmp", CACHE)


def built_zip(daemon):
    """The built function's zip: from CACHE, else built now by `impuls up` on daemon."""
    if not os.path.exists(CACHE):
        ws = Workspace(copy_examples=False)
        try:
            write_function(ws, "ric-build", 10)
            code, out, err = ws.run(daemon, "up", timeout=900)
            assert (code, err) == (0, ""), out
            keep_built(daemon)
            assert daemon.request("DELETE", "/api/v1/functions/ric-build").status == 204
        finally:
            ws.cleanup()
    with open(CACHE, "rb") as f:
        return f.read()
