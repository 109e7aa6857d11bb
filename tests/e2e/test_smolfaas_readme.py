"""SmolFaaS's README, verbatim: after `make run` (its last step,
scripts/run.sh, which serves the router on 127.0.0.1:443 over HTTPS and
redirects 127.0.0.1:80 to it) and `impuls up` of SmolFaaS's three examples in
functions/, the README's curl lines run as written. curl's --resolve stands in
for the resolver (no edit of /etc/hosts): `fn.localhost` and `myapp.local`
reach 127.0.0.1. Needs ports 80 and 443 free; skipped with the reason if not."""
import json
import os
import shlex
import subprocess
from datetime import datetime, timezone

import pytest

from impuls_daemon import BIN, ROOT, Daemon, free_port
from up_helpers import Workspace

# Its setup builds the three examples (a Go build among them, some 30 s):
# the same under ASan, and the router's code is in other tests there.
pytestmark = pytest.mark.once

RESOLVE = ["--resolve", "fn.localhost:80:127.0.0.1", "--resolve", "fn.localhost:443:127.0.0.1",
           "--resolve", "myapp.local:80:127.0.0.1", "--resolve", "myapp.local:443:127.0.0.1"]

EXAMPLES = {"example-go-func": ("Hello from SmolFaaS Go function!", "go"),
            "example-node-func": ("Hello from SmolFaaS Node.js function!", "node"),
            "example-py-func": ("Hello from SmolFaaS Python function!", "python")}


def port_taken(port):
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return bool(out.strip())


class MakeRun(Daemon):
    """The daemon as `make run` starts it (scripts/run.sh), on a free API port."""

    def start(self):
        self.port, self.router_port = free_port(), free_port()
        self.log = open(self.log_path, "ab")
        env = dict(os.environ, ADDR=f"127.0.0.1:{self.port}", ROUTER=f"127.0.0.1:{self.router_port}",
                   DATA_DIR=self.data_dir, IMPULS_BIN=BIN)
        self.proc = subprocess.Popen(["sh", os.path.join(ROOT, "scripts", "run.sh")], env=env, cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return self.wait_healthy()


@pytest.fixture(scope="module")
def smolfaas():
    taken = [p for p in (80, 443) if port_taken(p)]
    if taken:
        pytest.skip(f"127.0.0.1 port(s) {taken} are taken on this machine: make run serves SmolFaaS's URLs there")
    d = MakeRun().start()
    ws = Workspace(copy_examples="smolfaas")
    try:
        assert "router listening on https://127.0.0.1:443, redirecting http://127.0.0.1:80" in d.read_log()
        code, out, err = ws.run(d, "up", "-a", "myapp.local", timeout=900)
        assert (code, err) == (0, ""), out
        d.create(name="my-func", runtime="python311", handler="main.handler",
                 code="import json\ndef handler(event, context):\n"
                      "    return {'statusCode': 200, 'headers': {'Content-Type': 'application/json'},\n"
                      "            'body': json.dumps({'hello': json.loads(event['body'])['name']})}\n")
        yield d
    finally:
        ws.cleanup()
        code = d.stop()
        left = d.leftovers()
        d.cleanup()
        assert code == 0
        assert left == []


def readme(line):
    """Runs a README line as written (a shell line: pipes to jq), curl given
    the --resolve options; its stdout."""
    argv = shlex.split(line)
    assert argv[0] == "curl"
    cmd = " ".join(shlex.quote(a) for a in ["curl", *RESOLVE, *argv[1:]])
    if "|" in line:
        cmd = " ".join(shlex.quote(a) for a in ["curl", *RESOLVE, *shlex.split(line.split("|")[0])[1:]]) + \
            " | " + line.split("|", 1)[1]
    p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (line, p.stderr)
    return p.stdout


def check_example(name, text):
    got = json.loads(text)
    message, runtime = EXAMPLES[name]
    assert set(got) == {"message", "runtime", "timestamp", "hostname"}
    assert (got["message"], got["runtime"]) == (message, runtime)
    when = datetime.fromisoformat(got["timestamp"].replace("Z", "+00:00"))
    assert abs((datetime.now(timezone.utc) - when).total_seconds()) < 600
    assert got["hostname"]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_three_examples(smolfaas, name):
    check_example(name, readme(f"curl -Lk http://fn.localhost/invoke/{name}"))


def test_router_health(smolfaas):
    assert readme("curl -Lk http://fn.localhost/health") == "Impuls Router OK"


def test_post_with_json(smolfaas):
    out = readme("""curl -Lk -X POST http://fn.localhost/invoke/my-func \\
  -H "Content-Type: application/json" \\
  -d '{"name": "world"}'""".replace("\\\n", " "))
    assert json.loads(out) == {"hello": "world"}


def test_response_headers(smolfaas):
    out = readme("curl -Lki http://fn.localhost/invoke/example-go-func")  # text mode: CRLF read as LF
    head1, _, rest = out.partition("\n\n")
    assert head1.startswith("HTTP/1.1 308 Permanent Redirect\n")
    assert "\nLocation: https://fn.localhost/invoke/example-go-func\n" in head1
    head2, _, body = rest.partition("\n\n")
    assert head2.startswith("HTTP/1.1 200 OK\n")
    assert "\nContent-Type: application/json\n" in head2
    check_example("example-go-func", body)


def test_pretty_print_with_jq(smolfaas):
    out = readme("curl -sLk http://fn.localhost/invoke/example-go-func | jq .")
    assert out.startswith("{\n  \"")  # jq's layout
    check_example("example-go-func", out)


def test_a_custom_hostname_from_up_dash_a(smolfaas):
    check_example("example-go-func", readme("curl -Lk http://myapp.local/invoke/example-go-func"))
