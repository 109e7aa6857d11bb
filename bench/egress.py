"""Egress (docs/security.md, "Egress"), in the tests' world of two network
namespaces (tests/netns_world.py), so that nothing leaves this machine:

  cold start p50 of a function with network "egress" vs the same function
  with "none", on one daemon, created alternately, a pause before each (a
  pre-made sandbox ready): what its link costs on the cold path; the same
  with isolation "microvm" (a tap device instead of a veth pair) where the
  backend is available, each VM restored from the saved generic VM;
  a download from the world's HTTP server by a function with egress vs the
  same download (the same Python code) run in the daemon's namespace outside
  any sandbox: MB/s.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from load import percentile  # noqa: E402
from netns_world import INTERNET, NetnsDaemon, World  # noqa: E402

DOWNLOAD_BYTES = 200_000_000
DOWNLOADS = 5

FETCH = r'''
import time, urllib.request

def handler(event, context):
    if "url" not in event:
        return 1
    t = time.monotonic()
    n = 0
    with urllib.request.urlopen(event["url"], timeout=60) as r:
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            n += len(chunk)
    return {"bytes": n, "seconds": time.monotonic() - t}
'''

OUTSIDE = FETCH + r'''
import json, sys
print(json.dumps(handler({"url": sys.argv[1]}, None)))
'''


def cold(d, runs, gap, isolation="namespace"):
    """Cold-start ms of new functions, egress and none alternately."""
    xs = {"egress": [], "none": []}
    for i in range(runs):
        for network in ("egress", "none"):
            name = f"cold-{isolation}-{network}-{i}"
            time.sleep(gap)
            r = d.request("POST", "/api/v1/functions", {"name": name, "runtime": "python311", "code": FETCH,
                                                         "handler": "main.handler", "network": network,
                                                         "isolation": isolation})
            assert r.status == 201, r
            t = time.perf_counter()
            r = d.invoke(name, {}, timeout=300)
            xs[network].append((time.perf_counter() - t) * 1000)
            assert r.status == 200, r
            d.request("DELETE", f"/api/v1/functions/{name}")
    return xs


def download(d, world):
    url = f"http://{INTERNET}/bytes/{DOWNLOAD_BYTES}"
    r = d.request("POST", "/api/v1/functions", {"name": "dl", "runtime": "python311", "code": FETCH,
                                                 "handler": "main.handler", "network": "egress",
                                                 "memory_mb": 256, "timeout_s": 120})
    assert r.status == 201, r
    inside, outside = [], []
    import json
    for _ in range(DOWNLOADS):
        got = d.invoke("dl", {"url": url}, timeout=180).json()
        assert got["bytes"] == DOWNLOAD_BYTES, got
        inside.append(DOWNLOAD_BYTES / got["seconds"] / 1e6)
        p = world.run("host", sys.executable, "-c", OUTSIDE, url)
        got = json.loads(p.stdout)
        assert got["bytes"] == DOWNLOAD_BYTES, (p.stdout, p.stderr)
        outside.append(DOWNLOAD_BYTES / got["seconds"] / 1e6)
    return inside, outside


def run(results, runs, gap):
    world = World().up()
    d = NetnsDaemon(world, extra_args=["--egress-rate", "100000"])
    try:
        d.start()
        warmup = cold(d, 2, gap)  # the language's spares, the table
        del warmup
        xs = cold(d, runs, gap)
        inside, outside = download(d, world)
        vm = {}
        if d.request("GET", "/healthz").json()["microvm"]["available"]:
            cold(d, 1, gap, "microvm")  # the first cold start of the size boots and saves the VM
            vm = cold(d, runs, gap, "microvm")
        results["egress"] = {
            "runs": runs,
            "cold_egress_p50_ms": percentile(xs["egress"], 50), "cold_none_p50_ms": percentile(xs["none"], 50),
            "cold_egress_p99_ms": percentile(xs["egress"], 99), "cold_none_p99_ms": percentile(xs["none"], 99),
            "download_bytes": DOWNLOAD_BYTES, "downloads": DOWNLOADS,
            "download_inside_mbps": percentile(inside, 50), "download_outside_mbps": percentile(outside, 50),
            "samples_ms": {k: [round(x, 3) for x in v] for k, v in xs.items()},
        }
        if vm:
            results["egress"].update({
                "microvm_cold_egress_p50_ms": percentile(vm["egress"], 50),
                "microvm_cold_none_p50_ms": percentile(vm["none"], 50),
                "microvm_samples_ms": {k: [round(x, 3) for x in v] for k, v in vm.items()}})
    finally:
        d.end()
        world.down()


def rows(results, line):
    e = results.get("egress")
    if not e:
        return []
    vm = [line("cold microvm p50 ms egress", e["microvm_cold_egress_p50_ms"], e["microvm_cold_none_p50_ms"],
               e["microvm_cold_egress_p50_ms"] / e["microvm_cold_none_p50_ms"], ".1f",
               f"   (isolation microvm: a tap vs none, {e['runs']} each, restored)")] if "microvm_cold_egress_p50_ms" in e else []
    return vm + [
        line("cold python p50 ms egress", e["cold_egress_p50_ms"], e["cold_none_p50_ms"],
             e["cold_egress_p50_ms"] / e["cold_none_p50_ms"], ".1f",
             f"   (network egress vs none, {e['runs']} each, a pre-made sandbox ready; target <= 1.2)"),
        line("cold python p99 ms egress", e["cold_egress_p99_ms"], e["cold_none_p99_ms"],
             e["cold_egress_p99_ms"] / e["cold_none_p99_ms"], ".1f"),
        line("egress download MB/s", e["download_inside_mbps"], e["download_outside_mbps"],
             e["download_inside_mbps"] / e["download_outside_mbps"], ".0f",
             f"   (a function with egress vs the same code outside any sandbox, {e['download_bytes'] // 10**6} MB, "
             f"median of {e['downloads']})"),
    ]
