"""The impuls CLI's client commands against the real daemon."""
import json
import os
import shutil
import tempfile

import pytest

from cli_helpers import cli


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="impuls-cli-")
    yield d
    shutil.rmtree(d)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_deploy_invoke_list_logs_remove(daemon, workdir):
    write(f"{workdir}/hello.js", "exports.handler = async (e) => ({statusCode: 200, body: `Hi ${e.name}`});")
    assert cli(daemon, "deploy", f"{workdir}/hello.js") == (0, "created hello (nodejs20, version 1)\n", "")
    assert cli(daemon, "invoke", "hello", '{"name":"World"}') == (0, "Hi World\n", "")
    assert cli(daemon, "invoke", "hello", "-", stdin='{"name":"stdin"}')[1] == "Hi stdin\n"
    assert cli(daemon, "invoke", "hello", '{"name":"local"}', "--local")[1] == "Hi local\n"
    # Deploying again updates, with the options given.
    assert cli(daemon, "deploy", f"{workdir}/hello.js", "--memory", "256")[1] == "updated hello (nodejs20, version 2)\n"
    code, out, _ = cli(daemon, "--json", "ls")
    listing = json.loads(out)
    assert code == 0 and [(f["name"], f["memory_mb"]) for f in listing["functions"]] == [("hello", 256)]
    code, out, _ = cli(daemon, "ls")
    assert out.splitlines()[0].split() == ["NAME", "RUNTIME", "HANDLER", "MEMORY", "TIMEOUT", "VERSION", "UPDATED"]
    assert out.splitlines()[1].split()[:6] == ["hello", "nodejs20", "hello.handler", "256MB", "30s", "2"]
    assert json.loads(cli(daemon, "get", "hello")[1])["version"] == 2
    assert cli(daemon, "invoke", "hello", '{"name":"again"}')[0] == 0
    code, out, _ = cli(daemon, "logs", "hello", "--tail", "3")
    assert code == 0 and out.splitlines()[0].startswith("START RequestId: ")
    assert out.splitlines()[2].startswith("REPORT RequestId: ")
    assert json.loads(cli(daemon, "instances", "hello")[1])["instances"][0]["function"] == "hello"
    assert cli(daemon, "rm", "hello") == (0, "deleted hello\n", "")
    assert cli(daemon, "--json", "ls")[1].replace(" ", "").replace("\n", "") == '{"functions":[],"count":0}'


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_deploy_a_go_file(daemon, workdir):
    # The runtime guide's Go handler: built by the daemon (runtime go).
    write(f"{workdir}/greet.go", "package main\n\nimport \"context\"\n\n"
                                 "func Handler(ctx context.Context, e map[string]interface{}) (interface{}, error) {\n"
                                 "\treturn \"Hi \" + e[\"name\"].(string), nil\n}\n")
    assert cli(daemon, "deploy", f"{workdir}/greet.go") == (0, "created greet (go, version 1)\n", "")
    assert cli(daemon, "invoke", "greet", '{"name":"Go"}') == (0, '"Hi Go"\n', "")
    assert json.loads(cli(daemon, "get", "greet")[1])["handler"] == "Handler"


def test_deploy_a_csharp_file(daemon, workdir):
    # Lambda's template names: Hello.cs is Hello::Hello.Function::FunctionHandler (runtime csharp, built by the daemon).
    write(f"{workdir}/Hello.cs", "namespace Hello {\n  public class Function {\n"
                                 "    public string FunctionHandler(string input) { return \"Hi \" + input; }\n  }\n}\n")
    assert cli(daemon, "deploy", f"{workdir}/Hello.cs") == (0, "created Hello (csharp, version 1)\n", "")
    assert cli(daemon, "invoke", "Hello", '"C#"') == (0, '"Hi C#"\n', "")
    assert json.loads(cli(daemon, "get", "Hello")[1])["handler"] == "Hello::Hello.Function::FunctionHandler"


def test_deploy_a_directory_and_a_zip(daemon, workdir):
    write(f"{workdir}/pyfn/main.py", "from lib.util import twice\ndef handler(e, c):\n    return twice(e['x'])\n")
    write(f"{workdir}/pyfn/lib/util.py", "def twice(x):\n    return 2 * x\n")
    write(f"{workdir}/pyfn/.git/junk", "not deployed")
    assert cli(daemon, "deploy", f"{workdir}/pyfn") == (0, "created pyfn (python311, version 1)\n", "")
    assert cli(daemon, "invoke", "pyfn", '{"x": 21}')[1] == "42\n"
    f = json.loads(cli(daemon, "get", "pyfn")[1])
    assert f["code_kind"] == "zip"
    shutil.make_archive(f"{workdir}/zipped", "zip", f"{workdir}/pyfn")
    assert cli(daemon, "deploy", f"{workdir}/zipped.zip", "--runtime", "python311", "--name", "fromzip")[0] == 0
    assert cli(daemon, "invoke", "fromzip", '{"x": 1}')[1] == "2\n"
