"""impuls up/down/check against bad input: malformed Dockerfiles, names the
daemon refuses, code that does not build, requirements no index can meet,
symlinks out of a function, too many files, a missing -d dir, a corrupt
state db. Each gets its exit code and message, and nothing else changes."""
import os
import signal
import subprocess
import time

import pytest

from impuls_daemon import BIN
from up_helpers import Workspace, build_leftovers, routes

# name -> (Dockerfile, the failure it gets)
DOCKERFILES = {
    "df-unknown": ("FROM impuls\n# a comment\nFOO bar\nCMD x\n", "Dockerfile line 3: unknown instruction 'FOO'"),
    "df-from": ("FROM ubuntu:22.04\nCMD x\n",
                "Dockerfile line 1: FROM ubuntu:22.04: only FROM scratch or FROM impuls can be built "
                "(the host's system directories, read-only; no image is pulled from a registry)"),
    "df-copy": ("FROM impuls\nCOPY ../x .\nCMD x\n",
                "Dockerfile line 2: COPY ../x: the source is outside the build context"),
    "df-add": ("FROM impuls\nADD http://example.invalid/x.tar .\nCMD x\n",
               "Dockerfile line 2: ADD http://example.invalid/x.tar: downloading is not supported "
               "(put the file in the function directory)"),
    "df-expose": ("FROM impuls\nCMD x\nEXPOSE 9000\n",
                  "Dockerfile line 3: EXPOSE 9000: the function's server must listen on port 8000"),
    "df-workdir": ("FROM impuls\nWORKDIR /etc\nCMD x\n", "Dockerfile line 2: WORKDIR /etc is outside /var/task"),
    "df-user": ("FROM impuls\nRUN echo a \\\n  && echo b\n\nUSER nobody\nCMD x\n",
                "Dockerfile line 5: USER is not supported (impuls up builds FROM, RUN, COPY, ADD, ENV, "
                "WORKDIR, CMD, ENTRYPOINT and EXPOSE)"),
    "df-dest": ("FROM impuls\nCOPY Dockerfile /etc/\nCMD x\n",
                "Dockerfile line 2: COPY destination /etc/ is outside /var/task"),
    "df-nocmd": ("FROM impuls\nRUN true\n",
                 "Dockerfile has no CMD or ENTRYPOINT (the command that starts the server on port 8000)"),
    "df-missing": ("FROM impuls\nCOPY nothere.txt .\nCMD x\n",
                   "Dockerfile line 2: COPY nothere.txt: no such file in the function directory "
                   "(dot-files and node_modules are not part of it)"),
    "df-run-fails": ("FROM impuls\nRUN echo to stdout; echo to stderr >&2; exit 3\nCMD x\n",
                     "Dockerfile line 2: RUN failed (exit status 3)"),
}


@pytest.fixture
def ws():
    w = Workspace(copy_examples=False)
    yield w
    w.cleanup()


def functions(d):
    return sorted(f["name"] for f in d.request("GET", "/api/v1/functions").json()["functions"])


def test_each_bad_function_fails_clearly_and_the_good_one_is_deployed(routed, ws):
    for name, (text, _) in DOCKERFILES.items():
        ws.write(f"{name}/Dockerfile", text)
    # The good one: a handler function with nothing to build.
    ws.write("good/impuls.json", '{"runtime": "python311", "handler": "main.handler"}')
    ws.write("good/main.py", "def handler(event, context):\n    return 'good'\n")
    ws.write("bad.name/impuls.json", '{"runtime": "python311"}')
    ws.write("empty/README", "no kind here\n")
    ws.write("go-broken/go.mod", "module broken\n\ngo 1.19\n")
    ws.write("go-broken/main.go", "package main\n\nfunc main() { nosuchthing() }\n")
    ws.write("reqs/requirements.txt", "flask>=2  # the web framework\nrequests\n")
    ws.write("reqs/main.py", "")
    ws.write("reqs-pyproject/pyproject.toml", '[project]\nname = "x"\ndependencies = ["numpy"]\n')
    ws.write("reqs-pyproject/main.py", "")
    ws.write("reqs-wheels/requirements.txt", "notthere==1.0\n")
    ws.write("reqs-wheels/main.py", "")
    os.makedirs(f"{ws.functions}/reqs-wheels/wheels")
    ws.write("toml-bad/pyproject.toml", "[project\n")
    ws.write("toml-bad/main.py", "")
    ws.write("symlink-out/package.json", "{}")
    ws.write("symlink-out/index.js", "")
    os.symlink("../../../../etc/passwd", f"{ws.functions}/symlink-out/passwd")
    ws.write("many/impuls.json", '{"runtime": "python311"}')
    for i in range(10001):
        open(f"{ws.functions}/many/f{i}", "w").close()
    ws.write("manifest-bad/impuls.json", '{"runtime": "python311", "zip": "x"}')
    ws.write("refused/impuls.json", '{"runtime": "cobol"}')
    ws.write("node-nomain/package.json", '{"main": "server.js"}')

    code, out, err = ws.run(routed, "up")
    assert (code, err) == (1, "")
    lines = out.splitlines()
    expected = {
        "bad.name": "function name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        "empty": "no Dockerfile, go.mod, pyproject.toml, requirements.txt, package.json or impuls.json",
        "go-broken": "go build failed (exit status 2)",
        "manifest-bad": "impuls.json: 'zip' is set by impuls up, not by impuls.json",
        "many": "more than 10000 files and directories (the most a function may have)",
        "node-nomain": "no server.js (the server of a Node.js function; \"main\" in package.json names another)",
        "refused": "unknown runtime 'cobol' (see GET /api/v1/runtimes)",
        "reqs": "requirements 'flask>=2', 'requests' cannot be met: no package index is reachable here "
                "(put the wheels of the requirements and of their dependencies in a wheels/ dir)",
        "reqs-pyproject": "requirement 'numpy' cannot be met: no package index is reachable here "
                          "(put the wheels of the requirements and of their dependencies in a wheels/ dir)",
        "reqs-wheels": "requirement 'notthere==1.0' cannot be met: it is not in wheels/ and no package index "
                       "is reachable here",
        "symlink-out": "symlink passwd points outside the function directory (../../../../etc/passwd)",
        "toml-bad": "pyproject.toml: Expected ']' at the end of a table declaration (at line 1, column 9)",
    }
    expected.update({name: why for name, (_, why) in DOCKERFILES.items()})
    kinds = {"go-broken": "go", "manifest-bad": "impuls.json", "node-nomain": "node", "refused": "impuls.json",
             "reqs": "python", "reqs-pyproject": "python", "reqs-wheels": "python", "toml-bad": "python"}
    kinds.update({name: "dockerfile" for name in DOCKERFILES})
    # Every function gets its lines, in name order; a failed build's output
    # follows its failure line, indented.
    got = {}
    name = None
    for line in lines:
        if line.startswith("Routes ("):
            break
        if line.startswith("    "):
            got[name].append(line)
            continue
        name, _, rest = line.partition(": ")
        got.setdefault(name, []).append(rest)
    assert list(got) == sorted(list(expected) + ["good"])
    for name, why in expected.items():
        head = [f"building ({kinds[name]})"] if name in kinds else []
        assert got[name][:len(head) + 1] == head + [f"failed: {why}"], name
    assert got["good"] == ["building (impuls.json)", "deployed (version 1)"]
    assert any("undefined: nosuchthing" in line for line in got["go-broken"])
    assert got["df-run-fails"][2:] == ["    to stdout", "    to stderr"]
    assert lines[lines.index(routes(routed)[0]):] == routes(routed, "good")
    # Nothing of the failed ones reached the daemon or the state.
    assert functions(routed) == ["good"]
    assert ws.rows() == ["good"]
    assert os.listdir(os.path.join(ws.state, "artifacts")) == ["good.zip"]


def test_missing_or_unreadable_functions_dir(routed, ws):
    code, out, err = ws.run(routed, "up", "-d", os.path.join(ws.root, "nope"))
    assert (code, out, err) == (2, "", f"impuls up: cannot read the functions directory {ws.root}/nope: "
                                       "No such file or directory\n")
    notadir = ws.write("file", "")
    code, out, err = ws.run(routed, "check", "-d", notadir)
    assert (code, out, err) == (2, "", f"impuls check: cannot read the functions directory {notadir}: "
                                       "Not a directory\n")
    assert not os.path.exists(ws.state)
    # Unreadable to an unprivileged user, and up refuses such a user anyway.
    p = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", BIN, "up",
                        "-d", ws.functions, "--state-db", ws.state], capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (2, "", "impuls up: builds need root to create the build sandbox\n")
    assert functions(routed) == []


def test_corrupt_state_db_is_an_error_and_nothing_is_deleted(routed, ws):
    ws.write("good/impuls.json", '{"runtime": "python311", "handler": "main.handler"}')
    ws.write("good/main.py", "def handler(event, context):\n    return 'good'\n")
    assert ws.run(routed, "up")[0] == 0
    db = os.path.join(ws.state, "state.db")
    with open(db, "wb") as f:
        f.write(b"this is not a database, it is a text file" * 100)
    before = sorted(os.listdir(ws.state)), open(db, "rb").read()
    for args in (["up"], ["down"], ["down", "--force"], ["down", "good", "--force"], ["check"]):
        code, out, err = ws.run(routed, *args)
        assert (code, out, err) == (2, "", f"impuls {args[0]}: {db} is not a usable state database: "
                                           "file is not a database\n"), args
    assert (sorted(os.listdir(ws.state)), open(db, "rb").read()) == before
    assert functions(routed) == ["good"]


def test_bad_usage_and_unreachable_daemon(routed, ws):
    code, out, err = ws.run(routed, "down", "../etc")
    assert (code, out) == (2, "") and err == \
        "impuls down: function name '../etc' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$\n"
    code, out, err = ws.run(routed, "up", "--force")
    assert (code, out) == (2, "") and err.startswith("impuls up: --force: not an option of impuls up\n")
    code, out, err = ws.run(routed, "up", "--step-timeout", "0")
    assert (code, out, err) == (2, "", "impuls up: --step-timeout takes seconds (1 to 86400), not '0'\n")
    code, out, err = ws.run(routed, "up", "-a", "bad host!")
    assert (code, out) == (2, "") and err.startswith("impuls up: the router cannot answer for bad host!: ")
    code, out, err = ws.run(routed, "down", "nosuch")
    assert (code, out, err) == (1, "nosuch: not found (neither deployed nor in the state)\n", "")
    ws.write("good/impuls.json", '{"runtime": "python311", "handler": "main.handler"}')
    for cmd in ("up", "down", "check"):
        code, out, err = ws.run(routed, cmd, "--addr", "127.0.0.1:1")
        assert (code, out) == (3, "") and err.startswith(f"impuls {cmd}: cannot reach impuls at 127.0.0.1:1"), err
    assert functions(routed) == []


def test_a_step_that_runs_too_long_is_killed_with_its_pid_namespace(routed, ws):
    ws.write("slow/Dockerfile", "FROM impuls\nRUN sleep 1000 & sleep 1000\nCMD x\n")
    code, out, err = ws.run(routed, "up", "--step-timeout", "1")
    assert (code, err) == (1, "")
    assert out.splitlines()[:2] == ["slow: building (dockerfile)",
                                    "slow: failed: Dockerfile line 2: RUN timed out after 1 s"]
    assert subprocess.run(["pgrep", "-f", "sleep 1000"], capture_output=True).returncode == 1


def test_interrupting_up_kills_the_step_and_leaves_nothing(routed, ws):
    ws.write("slow/Dockerfile", "FROM impuls\nRUN sleep 1001\nCMD x\n")
    env = dict(os.environ, IMPULS_ADDR=f"127.0.0.1:{routed.port}")
    p = subprocess.Popen([BIN, "up", "-d", ws.functions, "--state-db", ws.state], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 30
    while subprocess.run(["pgrep", "-f", "sleep 1001"], capture_output=True).returncode != 0:
        assert time.time() < deadline and p.poll() is None
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert (p.returncode, err) == (130, "impuls up: interrupted\n")
    assert out.splitlines()[0] == "slow: building (dockerfile)"
    assert subprocess.run(["pgrep", "-f", "sleep 1001"], capture_output=True).returncode == 1
    assert build_leftovers() == []
    assert functions(routed) == [] and ws.rows() == []
