"""network "egress": a sandbox's way out, under a policy it cannot change
(src/net/egress.h, docs/security.md "Egress"). Every test runs the daemon in
a world of the test's own (tests/netns_world.py): a "host" network namespace
whose only uplink is a veth to a "world" namespace that owns every address
aimed at, so that no packet leaves this machine even when a rule is wrong."""
import concurrent.futures
import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import running_daemon  # noqa: E402
from egress_probe import PROBE  # noqa: E402
from netns_world import HOST_ADDR, INTERNET, METADATA, PRIVATE, PRIVATE2, NetnsDaemon, World  # noqa: E402



@pytest.fixture(scope="module")
def world():
    w = World().up()
    # The host's own services: what a function must not reach through any
    # of the host's addresses (egress_world's servers, in "host" this time).
    w.spawn("host", "127.0.0.53", f"world.test={INTERNET}")
    yield w
    w.down()


def netns_daemon(world, **kw):
    """A daemon in the world's "host" namespace, checked as every test's is."""
    return running_daemon(daemon=NetnsDaemon(world, **kw))


@pytest.fixture
def egress_daemon(world):
    with netns_daemon(world, extra_args=["--egress-allow", f"{PRIVATE2}:80"]) as d:
        yield d


def make(d, name, network="egress", **fields):
    spec = {"name": name, "runtime": "python3.11", "handler": "index.handler", "code": PROBE, "network": network}
    spec.update(fields)
    r = d.request("POST", "/api/v1/functions", spec)
    assert r.status == 201, r
    return r.json()


def call(d, fn, **event):
    r = d.invoke(fn, event)
    assert r.status == 200, r
    return r.json()


def wait_for(check, seconds, what):
    """check() until true. Bounded by time: what it waits on is the kernel's
    teardown of a dead sandbox's network namespace, done in the background."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_function_with_egress_reaches_the_world_by_name(world, egress_daemon):
    d = egress_daemon
    assert d.request("GET", "/healthz").json()["egress"] == {"available": True}
    fn = make(d, "fetcher")
    assert fn["network"] == "egress" and fn["egress_allow"] == []
    assert call(d, "fetcher", op="resolv.conf") == "nameserver 10.99.0.53\n"
    assert call(d, "fetcher", op="resolve", name="world.test") == INTERNET
    got = call(d, "fetcher", op="get", url="http://world.test/")
    assert got["text"] == "world 80"
    assert call(d, "fetcher", op="get", url=f"http://{INTERNET}:8081/")["text"] == "world 8081"
    # Its interface group is its function's; the table is Impuls's own.
    assert len(world.host_links()) == 1
    assert "table inet impuls" in world.nft_table()


def test_the_policy_keeps_out_the_host_metadata_private_ranges_and_other_sandboxes(world, egress_daemon):
    d = egress_daemon
    make(d, "prober")
    gateway = call(d, "prober", op="address", towards=INTERNET)
    gateway = gateway.rsplit(".", 1)[0] + "." + str(int(gateway.rsplit(".", 1)[1]) - 1)
    refused = {
        "the daemon's port on the host's address": (HOST_ADDR, d.port),
        "a host service on the host's address": (HOST_ADDR, 80),
        "a host service on the sandbox's gateway": (gateway, 80),
        "the daemon through the gateway": (gateway, d.port),
        "the metadata address": (METADATA, 80),
        "a private-range host": (PRIVATE, 80),
        "a private-range host on another port": (PRIVATE, 8080),
    }
    for what, (host, port) in refused.items():
        assert call(d, "prober", op="connect", host=host, port=port) == "EHOSTUNREACH", what
    # The same host and ports answer when asked from the world's side.
    assert call(d, "prober", op="connect", host=INTERNET, port=8080) == "ok"
    # A function without egress has no route at all.
    make(d, "offline", network="none")
    assert call(d, "offline", op="connect", host=INTERNET, port=80) == "ENETUNREACH"
    assert call(d, "offline", op="resolv.conf") == "nameserver 10.99.0.53\n"


def test_one_sandbox_cannot_reach_another(world, egress_daemon):
    d = egress_daemon
    make(d, "listener")
    make(d, "neighbour")
    assert call(d, "listener", op="listen", port=8000) == "listening"
    addr = call(d, "listener", op="address", towards=INTERNET)
    assert call(d, "listener", op="connect", host=addr, port=8000) == "ok"  # it listens
    assert call(d, "neighbour", op="connect", host=addr, port=8000) == "EHOSTUNREACH"
    # Nor does the host's side open anything into a sandbox.
    r = world.run("host", "curl", "-sS", "--max-time", "5", f"http://{addr}:8000/")
    assert r.returncode == 7 and "Couldn't connect to server" in r.stderr, r


def test_egress_allow_opens_exactly_what_it_lists(egress_daemon):
    d = egress_daemon
    make(d, "allowed", egress_allow=[f"{PRIVATE}:8080", "169.254.0.0/16"])
    assert call(d, "allowed", op="connect", host=PRIVATE, port=8080) == "ok"
    assert call(d, "allowed", op="connect", host=PRIVATE, port=8081) == "EHOSTUNREACH"
    assert call(d, "allowed", op="connect", host=PRIVATE, port=80) == "EHOSTUNREACH"
    assert call(d, "allowed", op="get", url=f"http://{METADATA}/")["text"] == "world 80"
    # Another function's list is not this one's.
    make(d, "other")
    assert call(d, "other", op="connect", host=PRIVATE, port=8080) == "EHOSTUNREACH"
    assert call(d, "other", op="connect", host=METADATA, port=80) == "EHOSTUNREACH"
    # The operator's --egress-allow is every function's.
    for name in ("allowed", "other"):
        assert call(d, name, op="connect", host=PRIVATE2, port=80) == "ok"
        assert call(d, name, op="connect", host=PRIVATE2, port=8080) == "EHOSTUNREACH"
    # A new list holds for the new version's instances.
    r = d.request("PUT", "/api/v1/functions/allowed", {"egress_allow": []})
    assert r.status == 200 and r.json()["egress_allow"] == [], r
    assert call(d, "allowed", op="connect", host=PRIVATE, port=8080) == "EHOSTUNREACH"
    assert d.request("GET", "/api/v1/functions/allowed").json()["egress_allow"] == []


def test_a_flushed_ruleset_is_made_again(world, egress_daemon):
    """`nft flush ruleset` (a firewall's reload) would leave the links
    routed with no policy: the daemon makes its table again."""
    d = egress_daemon
    make(d, "kept-out", egress_allow=[f"{PRIVATE}:8080"])
    assert call(d, "kept-out", op="connect", host=HOST_ADDR, port=d.port) == "EHOSTUNREACH"
    assert world.run("host", "nft", "flush", "ruleset").returncode == 0
    wait_for(lambda: world.nft_table() is not None, 5, "the table was not made again")
    assert f"{PRIVATE} . 8080" in world.nft_table()  # the function's elements too
    assert call(d, "kept-out", op="connect", host=HOST_ADDR, port=d.port) == "EHOSTUNREACH"
    assert call(d, "kept-out", op="connect", host=PRIVATE, port=8080) == "ok"
    assert call(d, "kept-out", op="get", url=f"http://{INTERNET}/")["text"] == "world 80"


def test_a_flood_is_capped_and_a_second_function_still_downloads(world):
    # 16 Mbit/s = 2 MB/s per function and direction.
    with netns_daemon(world, extra_args=["--egress-rate", "16", "--egress-conns", "8"]) as d:
        make(d, "flood")
        make(d, "steady")
        make(d, "holder")
        size = 8_000_000
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            flood = pool.submit(call, d, "flood", op="get", url=f"http://{INTERNET}/bytes/{size}")
            time.sleep(0.3)
            steady = call(d, "steady", op="get", url=f"http://{INTERNET}/bytes/200000")
            flooded = flood.result()
        assert flooded["bytes"] == size and steady["bytes"] == 200000, (flooded, steady)
        # A bucket of one second's worth, 2 MB, then 2 MB/s: 3 s at least.
        assert flooded["seconds"] >= 2.5, flooded
        # Connections at once, per function: the ninth is refused.
        held = call(d, "holder", op="hold", host=INTERNET, port=7000, n=11)
        assert held == ["ok"] * 8 + ["EHOSTUNREACH"] * 3, held
        # Another function's count is its own.
        assert call(d, "steady", op="connect", host=INTERNET, port=7000) == "ok"


def test_dns_goes_through_the_daemons_forwarder_when_the_hosts_resolver_is_on_loopback(world):
    with netns_daemon(world, resolvers=("127.0.0.53",)) as d:
        make(d, "resolver")
        conf = call(d, "resolver", op="resolv.conf")
        assert conf == "nameserver 10.201.255.254\n", conf
        assert call(d, "resolver", op="resolve", name="world.test") == INTERNET
        assert call(d, "resolver", op="resolve", name="nowhere.test").startswith("error: ")
        # The host's loopback resolver itself stays out of reach.
        assert call(d, "resolver", op="connect", host="127.0.0.53", port=53) == "ECONNREFUSED"  # its own lo
        assert "redirect to :" in world.nft_table()


def test_links_and_rules_go_with_the_function_the_daemon_and_a_kill(world):
    # No pre-made sandboxes and no zygote: the daemon's own clone makes the link.
    args = ["--prewarm", "0", "--python-zygote", "0"]
    with netns_daemon(world, extra_args=args) as d:
        make(d, "short", egress_allow=[f"{PRIVATE}:8080"])
        assert call(d, "short", op="get", url=f"http://{INTERNET}/")["text"] == "world 80"
        assert len(world.host_links()) == 1
        assert f"{PRIVATE} . 8080" in world.nft_table()
        assert d.request("DELETE", "/api/v1/functions/short").status == 204
        wait_for(lambda: world.host_links() == [], 10, "the deleted function's link stays")
        wait_for(lambda: f"{PRIVATE} . 8080" not in world.nft_table(), 10, "the deleted function's rules stay")
        make(d, "kept")
        assert call(d, "kept", op="get", url=f"http://{INTERNET}/")["text"] == "world 80"
    assert world.nft_table() is None
    # kill -9: the table stays behind until the next daemon in this namespace starts.
    d = NetnsDaemon(world, extra_args=args)
    d.start()
    try:
        make(d, "again")
        assert call(d, "again", op="get", url=f"http://{INTERNET}/")["text"] == "world 80"
        d.kill()
        assert world.nft_table() is not None
        wait_for(lambda: world.host_links() == [], 10, "a killed daemon's sandboxes keep their links")
        d.start()
        assert world.nft_table() is None
        assert call(d, "again", op="get", url=f"http://{INTERNET}/")["text"] == "world 80"
        assert d.stop() == 0
        assert d.leftovers() == []
    finally:
        d.stop()
        d.cleanup()
    assert world.nft_table() is None and world.host_links() == []


def test_every_start_path_gets_its_link(world):
    """The daemon's own clone and the zygote's clones (its link is made
    before init says go), and pre-made sandboxes (made at the claim)."""
    with netns_daemon(world, extra_args=["--prewarm", "0", "--python-zygote", "1"]) as d:
        make(d, "paths")
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: call(d, "paths", op="get", url=f"http://{INTERNET}/", sleep=1),
                                    range(4)))
        assert [r.get("text") for r in results] == ["world 80"] * 4, results
        kinds = sorted((i["premade"], i["zygote"]) for i in d.instances("paths"))
        assert kinds == [(False, False)] + [(False, True)] * 3, kinds
    with netns_daemon(world, extra_args=["--prewarm", "2", "--python-zygote", "0"]) as d:
        # A language's spares are made once it is asked for.
        make(d, "first", network="none")
        call(d, "first", op="resolv.conf")
        node = {"name": "node-fetch", "runtime": "nodejs20", "handler": "index.handler", "network": "egress",
                "code": "exports.handler = async (e) => (await fetch(e.url)).text();"}
        assert d.request("POST", "/api/v1/functions", dict(node, name="node-first", network="none")).status == 201
        r = d.invoke("node-first", {"url": f"http://{INTERNET}/"})  # no network: no fetch
        assert r.status == 500 and r.json()["errorMessage"] == "fetch failed", r
        wait_for(lambda: d.request("GET", "/healthz").json()["premade"] == {"nodejs": 2, "python": 2, "csharp": 0},
                 20, "no spares were made")
        make(d, "premade")
        assert call(d, "premade", op="get", url=f"http://{INTERNET}/")["text"] == "world 80"
        assert [(i["premade"], i["zygote"]) for i in d.instances("premade")] == [(True, False)]
        assert d.request("POST", "/api/v1/functions", node).status == 201
        assert d.invoke("node-fetch", {"url": f"http://{INTERNET}:8080/"}).json() == "world 8080"
        assert [i["premade"] for i in d.instances("node-fetch")] == [True]


def test_a_second_daemon_in_the_namespace_has_no_egress(world, egress_daemon):
    other = NetnsDaemon(world, port=9091)
    other.start()
    try:
        r = other.request("POST", "/api/v1/functions", {"name": "f", "runtime": "python3.11",
                                                        "handler": "index.handler", "code": PROBE,
                                                        "network": "egress"})
        assert r.status == 400, r
        why = "another Impuls daemon manages egress in this network namespace"
        assert r.json()["errorMessage"] == f'network "egress" is not available on this daemon: {why}', r
        assert other.request("GET", "/healthz").json()["egress"] == {"available": False, "why": why}
        # Without egress it works as ever.
        make(other, "f", network="none")
        assert other.stop() == 0
    finally:
        other.stop()
        other.cleanup()


def test_egress_for_a_microvm_needs_the_backend(world):
    """A microVM gets egress through a tap device (tests/microvm/test_egress.py);
    where the backend is not here, the isolation is what is refused."""
    with netns_daemon(world, extra_args=["--microvm-dir", "/nonexistent"]) as d:
        spec = {"name": "vm", "runtime": "python3.11", "handler": "index.handler", "code": PROBE,
                "network": "egress", "isolation": "microvm"}
        r = d.request("POST", "/api/v1/functions", spec)
        assert r.status == 400, r
        why = ('isolation "microvm" is not available on this machine: the guest is not built '
               '(/nonexistent/vmlinuz: No such file or directory; make microvm-guest)')
        assert r.json()["errorMessage"] == why


@pytest.mark.parametrize("fields, message", [
    ({"egress_allow": "10.0.0.0/8"}, 'egress_allow must be an array of at most 64 strings ("10.0.0.0/8", '
                                     '"192.168.1.20:5432")'),
    ({"egress_allow": ["10.0.0.0/8"] * 65}, 'egress_allow must be an array of at most 64 strings ("10.0.0.0/8", '
                                            '"192.168.1.20:5432")'),
    ({"egress_allow": [5]}, "egress_allow must be an array of strings"),
    ({"egress_allow": ["db.internal:5432"]}, "egress_allow entry db.internal:5432 is a name: give IPv4 addresses "
                                             "or CIDRs (a name's addresses change under a rule)"),
    ({"egress_allow": ["10.0.0.0/33"]}, "egress_allow entry 10.0.0.0/33 is not an IPv4 address or CIDR (with an "
                                        "optional :port)"),
    ({"egress_allow": ["10.1.2.3:0"]}, "egress_allow entry 10.1.2.3:0: the port must be 1-65535"),
    ({"egress_allow": ["10.1.2.3:65536"]}, "egress_allow entry 10.1.2.3:65536: the port must be 1-65535"),
    ({"egress_allow": ["fc00::/7"]}, "egress_allow entry fc00::/7 is IPv6: egress is IPv4 only"),
    ({"egress_allow": ["10.0.0.0/8", "10.1.2.3:5432"]}, "egress_allow entries 10.0.0.0/8 and 10.1.2.3:5432 overlap: "
                                                        "give one that covers both"),
    ({"egress_allow": [""]}, "an egress_allow entry is an IPv4 address or CIDR with an optional :port, at most "
                             "48 characters"),
    ({"egress_allow": ["1" * 49]}, "an egress_allow entry is an IPv4 address or CIDR with an optional :port, at "
                                   "most 48 characters"),
])
def test_bad_network_fields_get_a_clear_400_and_change_nothing(egress_daemon, fields, message):
    d = egress_daemon
    spec = {"name": "bad", "runtime": "python3.11", "handler": "index.handler", "code": PROBE, **fields}
    r = d.request("POST", "/api/v1/functions", spec)
    assert r.status == 400, r
    assert r.json()["errorMessage"] == message
    assert d.request("GET", "/api/v1/functions/bad").status == 404
    make(d, "good", network="none")
    r = d.request("PUT", "/api/v1/functions/good", fields)
    assert r.status == 400 and r.json()["errorMessage"] == message, r
    got = d.request("GET", "/api/v1/functions/good").json()
    assert got["network"] == "none" and got["egress_allow"] == [] and got["version"] == 1


def test_the_egress_fields_survive_a_restart(world):
    with netns_daemon(world) as d:
        make(d, "kept", egress_allow=["10.99.0.0/24:8080"])
        assert d.stop() == 0
        d.start()
        got = d.request("GET", "/api/v1/functions/kept").json()
        assert got["network"] == "egress" and got["egress_allow"] == ["10.99.0.0/24:8080"]
        assert call(d, "kept", op="connect", host=PRIVATE, port=8080) == "ok"


def test_lambda_create_function_gets_egress_by_default_as_lambda_does(world, egress_daemon, tmp_path):
    """A Lambda function without VpcConfig reaches the internet; awscli,
    run inside the test's "host" namespace, creates two."""
    from lambda_helpers import AWS, aws_env, zip_bytes
    d = egress_daemon
    zip_path = tmp_path / "probe.zip"
    zip_path.write_bytes(zip_bytes({"index.py": PROBE}))

    def aws(*args):
        p = subprocess.run(["nsenter", f"--net={world.ns_path()}", AWS, "--endpoint-url",
                            f"http://127.0.0.1:{d.port}", "--output", "json", "lambda", *args],
                           capture_output=True, text=True, env=aws_env(), timeout=90)
        assert (p.returncode, p.stderr) == (0, ""), p
        return json.loads(p.stdout)

    common = ["--runtime", "python3.11", "--handler", "index.handler", "--zip-file", f"fileb://{zip_path}",
              "--role", "arn:aws:iam::123456789012:role/any"]
    aws("create-function", "--function-name", "out", *common)
    aws("create-function", "--function-name", "in", *common, "--tags", "impuls:network=none")
    assert aws("get-function", "--function-name", "out")["Tags"] == {"impuls:isolation": "namespace",
                                                                     "impuls:network": "egress"}
    assert aws("get-function", "--function-name", "in")["Tags"]["impuls:network"] == "none"
    assert call(d, "out", op="get", url=f"http://{INTERNET}/")["text"] == "world 80"
    assert call(d, "in", op="connect", host=INTERNET, port=80) == "ENETUNREACH"


def test_egress_off_says_so(daemon):
    """The suite's ordinary daemons run with --egress off (tests/impuls_daemon.py)."""
    why = "the daemon runs with --egress off"
    assert daemon.request("GET", "/healthz").json()["egress"] == {"available": False, "why": why}
    r = daemon.request("POST", "/api/v1/functions", {"name": "f", "runtime": "python3.11", "code": PROBE,
                                                     "handler": "index.handler", "network": "egress"})
    assert r.status == 400 and r.json()["errorMessage"] == f'network "egress" is not available on this daemon: {why}'
