"""Hostile functions on the network: a sandbox has only its own loopback, so
the daemon, the host and the world are out of reach; raw and link-layer
sockets are refused; and the one thing it can talk to, its own Runtime API
(served by the daemon), must not become a way to hurt the daemon."""
import os
import socket

import pytest

from conftest import checked_daemon
from hostile import (assert_healthy, deploy, fd_count, host_ipv4, node, observe,
                     only_instance, rss_kib, timed_canary, wait_for)

MiB = 1 << 20


def test_daemon_port_on_loopback_is_refused(daemon):
    deploy(daemon)
    assert observe(daemon, "connect", host="127.0.0.1", port=daemon.port) == "ECONNREFUSED"
    assert observe(daemon, "connect", host="::1", port=daemon.port) == "ECONNREFUSED"
    assert_healthy(daemon)


def test_host_address_is_unreachable(daemon):
    ip = host_ipv4()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    deploy(daemon)
    assert observe(daemon, "connect", host=ip, port=daemon.port) == "ENETUNREACH"
    assert_healthy(daemon)


def test_the_internet_is_unreachable(daemon):
    deploy(daemon)
    assert observe(daemon, "connect", host="1.1.1.1", port=443) == "ENETUNREACH"
    assert observe(daemon, "connect", host="2606:4700:4700::1111", port=443) == "ENETUNREACH"
    assert observe(daemon, "resolve", host="example.com") == "EAI_AGAIN"  # empty resolv.conf
    assert_healthy(daemon)


@pytest.mark.parametrize("family,type_,proto,expected", [
    (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP, "EPERM"),  # no CAP_NET_RAW
    (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6, "EPERM"),
    (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP, "EACCES"),  # ping_group_range "1 0"
    (socket.AF_PACKET, socket.SOCK_RAW, 0, "EAFNOSUPPORT"),  # the seccomp filter
    (socket.AF_PACKET, socket.SOCK_DGRAM, 0, "EAFNOSUPPORT"),
    # Network namespaces do not isolate vsock: on a VM with a vsock device (this
    # one has /dev/vsock) it reaches the hypervisor host's services (CID 2). The
    # filter should refuse the family, as Docker's and containerd's profiles do.
    (40, socket.SOCK_STREAM, 0, "EAFNOSUPPORT"),  # AF_VSOCK
    (40, socket.SOCK_DGRAM, 0, "EAFNOSUPPORT"),
    # AF_ALG (the kernel's crypto API; Docker refuses it since CVE-2026-31431):
    # this kernel has none; where it has, the filter should refuse it too.
    (38, socket.SOCK_SEQPACKET, 0, "EAFNOSUPPORT"),
], ids=["raw-icmp", "raw-icmpv6", "ping", "packet-raw", "packet-dgram", "vsock-stream",
        "vsock-dgram", "alg"])
def test_socket_is_refused(daemon, family, type_, proto, expected):
    deploy(daemon)
    assert observe(daemon, "socket", family=family, type=type_, proto=proto) == expected
    assert_healthy(daemon)


def test_host_abstract_unix_socket_is_unreachable(daemon):
    # Abstract unix sockets belong to the network namespace: the host's are not there.
    name = f"impuls-hostile-{os.getpid()}"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind("\0" + name)
    srv.listen(1)
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect("\0" + name)  # reachable from the host
        c.close()
        deploy(daemon)
        assert observe(daemon, "unix", path="@" + name) == "ECONNREFUSED"
    finally:
        srv.close()
    assert_healthy(daemon)


def test_node_cannot_reach_the_daemon(daemon):
    node(daemon, "nnet", "const net = require('net');\n"
                         "exports.handler = (e) => new Promise((res) => {\n"
                         "  const s = net.connect(e.port, e.host);\n"
                         "  s.on('connect', () => { s.destroy(); res('ok'); });\n"
                         "  s.on('error', (err) => res(err.code)); });")
    assert daemon.invoke("nnet", {"host": "127.0.0.1", "port": daemon.port}).json() == "ECONNREFUSED"
    ip = host_ipv4()
    if ip:
        assert daemon.invoke("nnet", {"host": ip, "port": daemon.port}).json() == "ENETUNREACH"
    assert_healthy(daemon)


@pytest.mark.parametrize("network", ["host", "bridge", ""])
def test_network_other_than_none_is_400(daemon, network):
    r = daemon.request("POST", "/api/v1/functions", {
        "name": "net", "runtime": "nodejs20", "code": "exports.handler = async () => 1",
        "network": network})
    assert (r.status, r.json()["errorType"]) == (400, "InvalidParameterValueException")
    assert r.json()["errorMessage"] == ('network must be "none" (a sandbox has only its own loopback) or "egress" '
                                        '(connections out, under the egress policy)')
    assert daemon.request("GET", "/api/v1/functions/net").status == 404
    node(daemon, "net", "exports.handler = async () => 1", network="none")
    r = daemon.request("PUT", "/api/v1/functions/net", {"network": network})
    assert (r.status, r.json()["errorType"]) == (400, "InvalidParameterValueException")
    assert daemon.invoke("net").json() == 1
    assert_healthy(daemon)


# ---------- its own Runtime API ----------

@pytest.mark.parametrize("method,path,expected", [
    ("POST", "/2018-06-01/runtime/invocation/not-a-request-id/response", [400, "InvalidRequestID"]),
    ("POST", "/2018-06-01/runtime/invocation/not-a-request-id/error", [400, "InvalidRequestID"]),
    ("GET", "/2018-06-01/runtime/invocation/next", [403, "InvalidStateTransition"]),
    ("POST", "/2018-06-01/runtime/init/error", [403, "InvalidStateTransition"]),
    ("POST", "/2018-06-01/runtime/../../api/v1/functions", [404, "UnknownRoute"]),
], ids=["foreign-response", "foreign-error", "second-next", "late-init-error", "other-route"])
def test_runtime_api_refuses_out_of_turn_requests(daemon, method, path, expected):
    deploy(daemon)
    body = None if method == "GET" else "{}"
    assert observe(daemon, "rapi_post", method=method, path=path, body=body) == expected
    assert observe(daemon, "whoami")["pid"] == 2  # the real calls still go through
    assert_healthy(daemon)


@pytest.fixture
def no_spares():
    """A daemon without pre-made sandboxes: their refills would move its fd
    count while the test counts."""
    yield from checked_daemon(["--prewarm", "0"])


@pytest.mark.parametrize("how", [{"unix": False}, {"unix": True}, {"both": True}],
                         ids=["tcp", "unix-socket", "both-sockets"])
def test_runtime_api_connection_flood_is_bounded(no_spares, how):
    daemon = no_spares
    deploy(daemon, memory_mb=256)
    observe(daemon, "whoami")
    timed_canary(daemon)  # warm: the health check below adds no instance
    fds = fd_count(daemon.proc.pid)
    # Up to 300 connections to its own Runtime API (over each socket with
    # "both"), kept open after the call. An instance's connections must be
    # capped (its runtime needs one), or a few instances exhaust the daemon's
    # RLIMIT_NOFILE. Both sockets count against one limit of 4, which the
    # runtime's own connection and the probe's already reach: the daemon
    # takes at most a few more (a connection it accepted before pausing).
    r = observe(daemon, "rapi_connections", n=300, **how)
    grew = fd_count(daemon.proc.pid) - fds
    try:
        assert grew <= 6, f"the daemon holds {grew} more fds for one instance's connections ({r})"
        assert_healthy(daemon)
    finally:
        inst = only_instance(daemon)
        daemon.request("PUT", "/api/v1/functions/probe", {"timeout_s": 5})
        assert wait_for(lambda: not [i for i in daemon.instances("probe") if i["id"] == inst["id"]])
        assert wait_for(lambda: fd_count(daemon.proc.pid) < fds)  # all closed with the instance


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix-socket"])
def test_runtime_api_abandoned_connection_is_read_only_to_a_bound(daemon, unix):
    deploy(daemon, memory_mb=256)
    observe(daemon, "whoami")
    timed_canary(daemon)
    rss = rss_kib(daemon.proc.pid)
    # evhttp lets go of a connection after a `Connection: close` answer; the
    # connection limit holds it open for a lingering close, reading and
    # throwing away what comes, up to 128 MiB (src/http/conn_limit.c). 200 MiB
    # written on it: the daemon keeps none of it and closes at the bound.
    r = observe(daemon, "rapi_abandon", size=200 * MiB, unix=unix)
    grew = rss_kib(daemon.proc.pid) - rss
    assert r["status"] == 403 and 128 * MiB <= r["sent"] < 200 * MiB, r
    assert grew < 8 * 1024, f"the daemon's RSS grew by {grew // 1024} MiB ({r})"
    assert_healthy(daemon)


def test_runtime_api_half_sent_bodies_are_bounded(daemon):
    deploy(daemon, memory_mb=256)
    observe(daemon, "whoami")
    timed_canary(daemon)
    rss = rss_kib(daemon.proc.pid)
    # 20 requests announcing a 6 MiB body (the Runtime API's limit), sent but for
    # the last byte and left open: the daemon buffers every byte of each.
    r = observe(daemon, "rapi_bodies", n=20, size=6 * MiB)
    grew = rss_kib(daemon.proc.pid) - rss
    assert grew < 50 * 1024, f"the daemon's RSS grew by {grew // 1024} MiB for one instance ({r})"
    assert_healthy(daemon)
