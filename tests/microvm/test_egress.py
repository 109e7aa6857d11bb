"""network "egress" for functions with isolation "microvm": the daemon makes a
tap device (src/net/tap.c) in the same egress table and policy as a
namespace sandbox's veth pair, hands its fd to the VM's QEMU as the NIC's
backend, and the guest's init addresses eth0 from the claim. As in
tests/e2e/test_egress.py, the daemon runs in a world of the test's own
(tests/netns_world.py) that no packet leaves. Every VM has the same NIC (with
a tap behind it or a backend that leads nowhere), so one saved VM restores
with or without egress: the first function here has none and its cold start
saves the VM the others restore."""
import base64
import io
import os
import time
import zipfile

import pytest

from conftest import running_daemon
from egress_probe import PROBE
from microvm_helpers import build_guest
from netns_world import HOST_ADDR, INTERNET, METADATA, PRIVATE, NetnsDaemon, World


@pytest.fixture(scope="module")
def world():
    build_guest()
    w = World().up()
    yield w
    w.down()


def make(d, name, network="egress", **fields):
    spec = {"name": name, "runtime": "python3.11", "handler": "index.handler", "code": PROBE, "network": network,
            "isolation": "microvm"}
    spec.update(fields)
    r = d.request("POST", "/api/v1/functions", spec)
    assert r.status == 201, r
    return r.json()


def call(d, fn, **event):
    r = d.invoke(fn, event, timeout=300)
    assert r.status == 200, r
    return r.json()


def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def wait_for(check, seconds, what):
    """Bounded by time: a VM's end (its QEMU's exit closes the tap) comes
    after its instance is let go."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_vm_with_egress_reaches_the_world_under_the_namespace_policy(world):
    with running_daemon(daemon=NetnsDaemon(world)) as d:
        # Without egress: eth0 is down, no route; the same resolv.conf as a
        # namespace sandbox's.
        make(d, "offline", network="none")
        assert call(d, "offline", op="connect", host=INTERNET, port=80) == "ENETUNREACH"
        assert call(d, "offline", op="resolv.conf") == "nameserver 10.99.0.53\n"
        assert world.host_links() == []
        # With: a tap on the host, restored into the VM the first one saved.
        make(d, "fetcher")
        assert call(d, "fetcher", op="resolv.conf") == "nameserver 10.99.0.53\n"
        assert call(d, "fetcher", op="resolve", name="world.test") == INTERNET
        assert call(d, "fetcher", op="get", url="http://world.test/")["text"] == "world 80"
        (link,) = world.host_links()
        (inst,) = d.instances("fetcher")
        qemu = [p for p in os.listdir("/proc") if p.isdigit() and parent_of(p) == inst["pid"]]
        assert [os.readlink(f"/proc/{p}/fd/11") for p in qemu] == ["/dev/net/tun"]
        details = world.run("host", "ip", "-d", "link", "show", link).stdout
        assert " tun type tap " in details and "group " in details, details
        address = call(d, "fetcher", op="address", towards=INTERNET)
        gateway = address.rsplit(".", 1)[0] + "." + str(int(address.rsplit(".", 1)[1]) - 1)
        assert f"inet {gateway}/31 " in world.run("host", "ip", "-o", "addr", "show", link).stdout
        refused = {
            "the daemon's port on the host's address": (HOST_ADDR, d.port),
            "a host service through the gateway": (gateway, 80),
            "the daemon through the gateway": (gateway, d.port),
            "the metadata address": (METADATA, 80),
            "a private-range host": (PRIVATE, 80),
        }
        for what, (host, port) in refused.items():
            assert call(d, "fetcher", op="connect", host=host, port=port) == "EHOSTUNREACH", what
        # Its egress_allow, and the link goes with the function.
        make(d, "allowed", egress_allow=[f"{PRIVATE}:8080"])
        assert call(d, "allowed", op="connect", host=PRIVATE, port=8080) == "ok"
        assert call(d, "allowed", op="connect", host=PRIVATE, port=8081) == "EHOSTUNREACH"
        assert call(d, "fetcher", op="connect", host=PRIVATE, port=8080) == "EHOSTUNREACH"
        assert len(world.host_links()) == 2
        assert d.request("DELETE", "/api/v1/functions/fetcher").status == 204
        assert d.request("DELETE", "/api/v1/functions/allowed").status == 204
        wait_for(lambda: world.host_links() == [], 30, "a deleted VM's tap stays")


def test_the_lambda_api_gives_a_vm_egress_by_default_and_a_kill_leaves_no_tap(world):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", PROBE)
    d = NetnsDaemon(world)
    d.start()
    try:
        r = d.request("POST", "/2015-03-31/functions", {
            "FunctionName": "lam", "Runtime": "python3.11", "Handler": "index.handler",
            "Role": "arn:aws:iam::1:role/x", "Code": {"ZipFile": base64.b64encode(buf.getvalue()).decode()},
            "Tags": {"impuls:isolation": "microvm"}})
        assert r.status == 201, r
        assert d.request("GET", "/2015-03-31/functions/lam").json()["Tags"] == {"impuls:isolation": "microvm",
                                                                               "impuls:network": "egress"}
        r = d.request("POST", "/2015-03-31/functions/lam/invocations", {"op": "get", "url": "http://world.test/"},
                      timeout=300)
        assert r.status == 200 and r.json()["text"] == "world 80", r
        assert len(world.host_links()) == 1
        # kill -9: QEMU and its supervisor die with the daemon, and the tap
        # with the last fd of it; the next daemon removes the table.
        d.kill()
        wait_for(lambda: world.host_links() == [], 30, "a killed daemon's VM keeps its tap")
        assert world.nft_table() is not None
        d.start()
        assert world.nft_table() is None
        assert d.stop() == 0
        assert d.leftovers() == []
    finally:
        d.stop()
        d.cleanup()
    assert world.nft_table() is None and world.host_links() == []
