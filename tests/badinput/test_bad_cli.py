"""The CLI with bad arguments and bad input: a clear message, a non-zero exit
code (2 usage or input, 1 refused by the daemon, 3 daemon unreachable), and
nothing changed on the daemon."""
import os
import shutil
import tempfile

import pytest

from cli_helpers import cli
from conftest import NODE_HELLO

USAGE = "usage: impuls [--addr HOST:PORT] [--json] COMMAND ..."


@pytest.fixture
def box(daemon):
    daemon.create(name="keep", runtime="nodejs20", handler="index.handler", code=NODE_HELLO)
    before = daemon.request("GET", "/api/v1/functions").body
    d = tempfile.mkdtemp(prefix="impuls-badcli-")
    yield daemon, d
    shutil.rmtree(d)
    assert daemon.request("GET", "/api/v1/functions").body == before  # nothing changed
    assert daemon.invoke("keep").text == "Hello from Impuls!"


CASES = [
    ([], 2, "usage: impuls <command> [options]"),
    (["frob"], 2, "impuls: unknown command or wrong arguments: frob"),
    (["invoke"], 2, "impuls: unknown command or wrong arguments: invoke"),
    (["invoke", "keep", "{}", "extra"], 2, "impuls: unknown command or wrong arguments: invoke"),
    (["get", "../etc"], 2, "impuls: function name '../etc' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"),
    (["rm", "a/b"], 2, "impuls: function name 'a/b' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"),
    (["invoke", "x" * 65], 2, f"impuls: function name '{'x' * 65}' must match"),
    (["logs", "keep", "--tail", "0"], 2, "impuls: --tail takes a number of lines (1 to 10000), not '0'"),
    (["logs", "keep", "--tail", "abc"], 2, "impuls: --tail takes a number of lines (1 to 10000), not 'abc'"),
    (["deploy", "/nonexistent/x.js"], 2, "impuls: cannot read /nonexistent/x.js"),
    (["--bogus", "ls"], 2, USAGE),
    (["invoke", "missing"], 1, "impuls: function 'missing' not found (ResourceNotFoundException, HTTP 404)"),
    (["rm", "missing"], 1, "impuls: function 'missing' not found (ResourceNotFoundException, HTTP 404)"),
    (["invoke", "keep", "{not json"], 1, "impuls: the event is not valid JSON: "),
    (["invoke", "keep", "\udcff"], 1, "impuls: the event is not valid JSON: "),
]


@pytest.mark.parametrize("args,code,message", CASES, ids=[" ".join(a)[:40] or "none" for a, _, _ in CASES])
def test_bad_arguments(box, args, code, message):
    daemon, _ = box
    got, out, err = cli(daemon, *[a.encode("utf-8", "surrogateescape").decode("latin-1") for a in args])
    assert got == code and message in err, (got, out, err)


def test_bad_files_to_deploy(box):
    daemon, d = box
    with open(f"{d}/notes.txt", "w") as f:
        f.write("hello")
    open(f"{d}/empty.js", "w").close()
    with open(f"{d}/broken.zip", "wb") as f:
        f.write(b"not a zip")
    os.makedirs(f"{d}/emptydir")
    with open(f"{d}/bad name.js", "w") as f:
        f.write(NODE_HELLO)
    cases = [
        ([f"{d}/notes.txt"], 2, f"impuls: {d}/notes.txt: deploy takes a .js, .py, .go or .cs file, a .zip, or a directory"),
        ([f"{d}/empty.js"], 2, f"impuls: cannot read {d}/empty.js (or it is empty)"),
        ([f"{d}/broken.zip"], 1, "impuls: zip is not a valid zip archive: Unrecognized archive format "
                                 "(InvalidParameterValueException, HTTP 400)"),
        ([f"{d}/emptydir"], 2, f"impuls: {d}/emptydir holds no files"),
        ([f"{d}/bad name.js"], 2, "impuls: function name 'bad name' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ "
                                  "(use --name)"),
        ([f"{d}/notes.txt", "--memory", "1"], 2, "impuls: --memory takes megabytes (64 to 10240), not '1'"),
        ([f"{d}/notes.txt", "--timeout", "-5"], 2, "impuls: --timeout takes seconds (1 to 900), not '-5'"),
        ([f"{d}/bad name.js", "--name", "ok", "--runtime", "cobol"], 1,
         "impuls: unknown runtime 'cobol' (see GET /api/v1/runtimes) (InvalidParameterValueException, HTTP 400)"),
    ]
    for args, code, message in cases:
        got, out, err = cli(daemon, "deploy", *args)
        assert (got, err.strip()) == (code, message), (args, got, out, err)


def test_unreachable_daemon(box):
    daemon, _ = box
    got, out, err = cli(daemon, "ls", addr="127.0.0.1:1")
    assert (got, err) == (3, "impuls: cannot reach impuls at 127.0.0.1:1: Connection refused\n")
    got, out, err = cli(daemon, "ls", addr="nohostport")
    assert (got, err) == (3, "impuls: address 'nohostport' must be HOST:PORT\n")
