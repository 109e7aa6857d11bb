"""_X_AMZN_TRACE_ID (docs/runtimes.md, "Environment"): the built-in runtimes
give every call its trace id in the language's environment (and to child
processes started from it), never through setenv(), where glibc would keep
every call's value for the instance's life (bench/instance_rss.py measures
it)."""
import re

import pytest

NODE = r'''
const cp = require('child_process');
exports.handler = async () => ({
  env: process.env._X_AMZN_TRACE_ID,
  has: '_X_AMZN_TRACE_ID' in process.env,
  keys: Object.keys(process.env).filter((k) => k === '_X_AMZN_TRACE_ID'),
  child: cp.execFileSync('/usr/bin/env').toString().split('\n').filter((l) => l.startsWith('_X_AMZN_TRACE_ID=')),
  // The C environment (what getenv() reads), as Node's diagnostic report lists it.
  c_env: '_X_AMZN_TRACE_ID' in process.report.getReport().environmentVariables,
  tz: (process.env.TZ = 'Asia/Tokyo', new Date(0).getHours()), // the real env still behind it
});
'''

PYTHON = r'''
import ctypes, os, subprocess
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p

def handler(event, context):
    child = subprocess.run(["/usr/bin/env"], env=os.environ, capture_output=True, text=True).stdout
    return {
        "env": os.environ.get("_X_AMZN_TRACE_ID"),
        "getenv": os.getenv("_X_AMZN_TRACE_ID"),
        "child": [l for l in child.splitlines() if l.startswith("_X_AMZN_TRACE_ID=")],
        "c_env": libc.getenv(b"_X_AMZN_TRACE_ID") is not None,
    }
'''


def expected_trace(request_id):
    """The daemon's trace id for a call (src/pool/invocation.c): Root from the
    time and the id's hex digits, Parent from its last 16."""
    hexes = request_id.replace("-", "")
    return re.compile(r"Root=1-[0-9a-f]{8}-%s;Parent=%s;Sampled=0" % (hexes[:16] + hexes[20:28], hexes[16:]))


@pytest.mark.parametrize("runtime,handler,code", [
    ("nodejs20", "index.handler", NODE),
    ("python311", "main.handler", PYTHON),
], ids=["node", "python"])
def test_each_call_sees_its_own_trace_id_outside_the_c_environment(daemon, runtime, handler, code):
    daemon.create(name="trace", runtime=runtime, handler=handler, code=code)
    seen = []
    for _ in range(3):
        r = daemon.invoke("trace")
        assert r.status == 200, r.text
        got = r.json()
        trace = got["env"]
        assert expected_trace(r.headers["X-Impuls-Request-Id"]).fullmatch(trace), trace
        assert got["child"] == ["_X_AMZN_TRACE_ID=" + trace]
        assert got["c_env"] is False
        if runtime == "nodejs20":
            assert (got["has"], got["keys"], got["tz"]) == (True, ["_X_AMZN_TRACE_ID"], 9)
        else:
            assert got["getenv"] == trace
        seen.append(trace)
    assert len(set(seen)) == 3
