"""The web console (docs/console.md) in Debian's headless Chromium, driven
by puppeteer-core from npm (tests/console_driver.js): create a function
through the form, invoke it, see the answer, follow its log live, the chart,
the list, a chamber destroyed, a phone's width, delete; text a function
logs or returns that is markup (<script>, <img onerror>) shows as text and
runs nothing; under --auth tokens the page asks for a token. Screenshots go
to build/console-screenshots/."""
import contextlib
import json
import os
import shutil
import signal
import subprocess

import pytest

from chamber_helpers import chamber_daemon, make_chamber, wait_status
from impuls_daemon import ROOT, Daemon
from npm_helpers import npm_installed

PUPPETEER = "puppeteer-core@24.43.1"  # (Node 18+; 25.x wants Node 22)
SHOTS = os.path.join(ROOT, "build", "console-screenshots")
XSS = "<img src=x onerror=alert('xss')><script>alert('xss2')</script>"

pytestmark = pytest.mark.once  # (the browser's time, not the daemon's: test_console_files.py and
#                                test_figures.py cover the daemon's side under ASan)


@pytest.fixture(scope="module")
def driver_dir():
    """puppeteer-core installed from the npm registry, once, beside the driver."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed (make deps installs it)"
    with npm_installed(PUPPETEER, "impuls-console-") as d:
        shutil.copy(os.path.join(ROOT, "tests", "console_driver.js"), d)
        yield d, chromium


def started(stack, daemon):
    """daemon, started, and stopped and checked when the stack closes."""
    def stop_checked():
        code, left = daemon.stop(), daemon.leftovers()
        daemon.cleanup()
        assert (code, left) == (0, []), (code, left)
    stack.callback(stop_checked)
    if not getattr(daemon, "proc", None):
        daemon.start()
    return daemon


def run_driver(cwd, args):
    """node console_driver.js ARGS in a process group of its own: on a
    timeout the group goes, Chromium's processes with it."""
    p = subprocess.Popen(["/usr/bin/node", "console_driver.js", *args], cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail(f"the console driver took over 600 s: {err[-3000:]}")
    assert p.returncode == 0, err[-5000:]
    return json.loads(out)


def test_the_console_in_a_browser(driver_dir):
    cwd, chromium = driver_dir
    os.makedirs(SHOTS, exist_ok=True)
    with contextlib.ExitStack() as stack:
        plain = started(stack, chamber_daemon())
        guarded = started(stack, Daemon(extra_args=["--auth", "tokens"]))
        plain.create(name="keep", runtime="python3.11", handler="index.handler",
                     code="def handler(e, c):\n    return 'kept'\n")
        ch = make_chamber(plain, "keep", 1)
        wait_status(plain, ch["id"], "RUNNING")
        with open(os.path.join(guarded.data_dir, "admin-token")) as f:
            admin = f.read().strip()
        r = guarded.request("POST", "/api/v1/functions", {"name": "guarded", "runtime": "python3.11",
                                                          "handler": "index.handler", "code": "x = 1\n"},
                            headers={"Authorization": f"Bearer {admin}"})
        assert r.status == 201, r
        out = run_driver(cwd, [chromium, plain.url, SHOTS, guarded.url, admin])
    # Nothing ran that the page did not mean to: the only dialogs are the two confirmations.
    assert out["dialogs"] == [f"confirm: Destroy chamber {ch['id']}?", "confirm: Delete function hello?"], out
    assert (out["pageErrors"], out["failedRequests"]) == ([], [])
    assert out["injectedOnFunctionPage"] == 0
    assert out["badNameError"] == "name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
    assert out["heading"] == "hello" and "python311" in out["config"] and "index.handler" in out["config"]
    # The call's answer as the page shows it.
    assert out["status"] == "200"
    assert out["duration"].endswith(" ms") and float(out["duration"][:-3]) > 0
    assert json.loads(out["body"]) == {"hello": "console", "html": XSS}
    assert out["resultLog"].startswith("START RequestId: ") and "console says console\n" + XSS + "\n" in out["resultLog"]
    # The log followed a call the page did not make, each line once.
    assert out["otherCall"] == 200
    assert out["logs"].count("console says console") == 1 and out["logs"].count("console says curl") == 1
    assert out["logs"].count(XSS) == 2 and out["logsState"] == "following"
    assert out["bars"] == 60 and out["instancesShown"] == 1
    assert (out["editNotice"], out["timeoutAfterEdit"]) == ("Saved timeout_s: now version 2.", 12)
    assert out["row"] == {".name": "hello", ".runtime": "python311", ".instances": "1 idle, 0 busy",
                          ".last": out["row"][".last"], ".rate": "2/min, 0 errors"}
    assert out["row"][".last"].startswith("ok ")
    assert out["deny"] == {"status": "401", "tokenFormShown": False}
    assert ch["id"] in out["chamberRow"] and "keep" in out["chamberRow"]
    assert out["phoneOverflow"] == {"#/functions": False, "#/fn/hello": False, "#/new": False, "#/chambers": False}
    assert (out["listedAfterDelete"], out["getAfterDelete"]) == (["keep"], 404)
    assert (out["tokenList"], out["tokenKept"]) == (["guarded"], True)
    for shot in ("function.png", "functions.png", "chambers.png", "phone-function.png", "token.png"):
        with open(os.path.join(SHOTS, shot), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", shot
