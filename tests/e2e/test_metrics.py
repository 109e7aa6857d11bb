"""GET /metrics (docs/operations.md, "Metrics"): Prometheus's text format,
checked by Debian's promtool and scraped by Debian's real prometheus, whose
query API must give back the calls the test made: counts by outcome, a
rate, a histogram quantile in the right bucket; a deleted function's series
go; under --auth tokens the scrape needs a read token."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import running_daemon
from impuls_daemon import free_port

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"
SLEEPER = "import time\ndef handler(e, c):\n    time.sleep(e.get('s', 0))\n    if e.get('fail'):\n" \
          "        raise ValueError('asked to')\n    return 'ok'\n"


def make(d, name, **fields):
    spec = {"name": name, "runtime": "python3.11", "handler": "index.handler", "code": SLEEPER}
    spec.update(fields)
    r = d.request("POST", "/api/v1/functions", spec)
    assert r.status == 201, r


def scrape(d, headers=None):
    r = d.request("GET", "/metrics", headers=headers)
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return r.body.decode()


def sample(text, name, **labels):
    """The value of the one series of name with these labels (among others)."""
    found = []
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            found.append(float(m.group(3)))
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_calls_are_counted_by_outcome_with_durations_cold_starts_and_instances(daemon):
    make(daemon, "good")
    make(daemon, "slow", timeout_s=1)
    make(daemon, "shut", concurrency=0)
    for _ in range(5):
        assert daemon.invoke("good", {}).status == 200
    for _ in range(2):
        assert daemon.invoke("good", {"fail": 1}).status == 500
    assert daemon.invoke("slow", {"s": 3}).status == 504
    assert daemon.invoke("shut", {}).status == 429
    text = scrape(daemon)
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "")
    latest = {"version": "$LATEST"}
    for fn, outcome, n in (("good", "ok", 5), ("good", "error", 2), ("good", "timeout", 0), ("slow", "timeout", 1),
                           ("shut", "throttled", 1), ("shut", "ok", 0)):
        assert sample(text, "impuls_invocations_total", function=fn, outcome=outcome, **latest) == n, (fn, outcome)
    assert sample(text, "impuls_invocation_duration_seconds_count", function="good") == 7
    assert sample(text, "impuls_invocation_duration_seconds_bucket", function="good", le="+Inf") == 7
    assert sample(text, "impuls_invocation_duration_seconds_bucket", function="slow", le="0.5") == 0
    assert sample(text, "impuls_invocation_duration_seconds_bucket", function="slow", le="2.5") == 1
    cold = sum(sample(text, "impuls_cold_starts_total", function="good", path=p)
               for p in ("pre-made", "zygote", "ordinary", "microvm boot", "microvm restore"))
    assert cold == 1 and sample(text, "impuls_init_duration_seconds_count", function="good") == 1
    assert sample(text, "impuls_instances", function="good", state="idle") == 1
    assert sample(text, "impuls_instances", function="good", state="busy") == 0
    assert sample(text, "impuls_memory_peak_bytes", function="good") > 0
    assert sample(text, "impuls_queued_calls", function="good") == 0
    assert sample(text, "impuls_pool_instances") >= 1
    assert sample(text, "process_open_fds") > 0 and sample(text, "process_resident_memory_bytes") > 1 << 20
    assert abs(sample(text, "process_start_time_seconds") - time.time()) < 3600
    # A deleted function's series go with it.
    assert daemon.request("DELETE", "/api/v1/functions/shut").status == 204
    assert 'function="shut"' not in scrape(daemon)


def test_a_published_version_has_series_of_its_own(daemon):
    make(daemon, "v")
    assert daemon.request("POST", "/api/v1/functions/v/publish", b"").status == 201
    assert daemon.request("POST", "/api/v1/functions/v/invoke?qualifier=1", {}).status == 200
    assert daemon.invoke("v", {}).status == 200
    assert daemon.invoke("v", {}).status == 200
    text = scrape(daemon)
    assert sample(text, "impuls_invocations_total", function="v", version="1", outcome="ok") == 1
    assert sample(text, "impuls_invocations_total", function="v", version="$LATEST", outcome="ok") == 2


def query(port, expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        got = json.load(r)
    assert got["status"] == "success", got
    return got["data"]["result"]


def run_prometheus(target_port, token=None):
    """Debian's prometheus scraping the daemon every second; yields its port."""
    work = tempfile.mkdtemp(prefix="impuls-prom-")
    port = free_port()
    job = {"job_name": "impuls", "scrape_interval": "1s", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}
    if token:
        with open(os.path.join(work, "token"), "w") as f:
            f.write(token)
        job["authorization"] = {"credentials_file": os.path.join(work, "token")}
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        json.dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": [job]}, f)
    p = subprocess.Popen([PROMETHEUS, f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/data",
                          f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(work, "log"), "w"))
    return p, port, work


def stop_prometheus(p, work):
    p.terminate()
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    shutil.rmtree(work, ignore_errors=True)


def wait_for(check, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        try:
            got = check()
        except OSError:
            got = None
        if got:
            return got
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.once  # (the client's time, not the daemon's)
@pytest.mark.parametrize("auth", [False, True], ids=["open", "tokens"])
def test_prometheus_scrapes_and_its_queries_come_out_right(auth):
    with running_daemon(["--auth", "tokens"] if auth else []) as d:
        token = None
        headers = {}
        if auth:
            with open(os.path.join(d.data_dir, "admin-token")) as f:
                admin = f.read().strip()
            r = d.request("POST", "/api/v1/tokens", {"scope": "read"}, headers={"Authorization": f"Bearer {admin}"})
            token = r.json()["token"]
            headers = {"Authorization": f"Bearer {admin}"}
            r = d.request("GET", "/metrics")
            assert r.status == 401, r
        r = d.request("POST", "/api/v1/functions", {"name": "p", "runtime": "python3.11", "handler": "index.handler",
                                                    "code": SLEEPER}, headers=headers)
        assert r.status == 201, r
        prom, port, work = run_prometheus(d.port, token)
        try:
            wait_for(lambda: query(port, 'up{job="impuls"}') and
                     query(port, 'up{job="impuls"}')[0]["value"][1] == "1", 60, "prometheus did not scrape")
            for i in range(20):  # 20 calls of some 30 ms each, over a few scrapes
                r = d.request("POST", "/api/v1/functions/p/invoke", {"s": 0.03}, headers=headers)
                assert r.status == 200, r
            expr = 'impuls_invocations_total{function="p",outcome="ok"}'
            got = wait_for(lambda: (lambda v: v and v[0]["value"][1] == "20" and v)(query(port, expr)), 30,
                           "prometheus did not see the 20 calls")
            assert got[0]["metric"]["version"] == "$LATEST"
            rate = query(port, f'rate({expr}[1m])')
            assert float(rate[0]["value"][1]) > 0
            q = query(port, 'histogram_quantile(0.5, sum by (le) '
                            '(rate(impuls_invocation_duration_seconds_bucket{function="p"}[1m])))')
            p50 = float(q[0]["value"][1])
            assert 0.025 <= p50 <= 0.05, p50  # the calls' bucket: 25 to 50 ms
        finally:
            stop_prometheus(prom, work)
