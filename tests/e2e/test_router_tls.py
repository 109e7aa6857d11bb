"""The router over HTTPS, as SmolFaaS's Caddy served it: --router-https serves
TLS 1.2+ with a self-signed certificate per router host (SNI), kept in the
data dir; --router-http answers plain HTTP with a 308 to HTTPS that keeps the
method and the body; --router-cert/--router-key give one's own certificate.
docs/compat.md, "HTTPS"."""
import hashlib
import os
import socket
import ssl
import subprocess

import pytest

from chamber_helpers import free_range
from conftest import running_daemon
from impuls_daemon import Daemon


def free_port():
    """A free port below the kernel's ephemeral range: never one the daemon's
    own API port (an ephemeral one) can take when a test restarts it."""
    return free_range(1)[0]

ECHO = ("exports.handler = async (e) => ({statusCode: 200, "
        "body: e.requestContext.http.method + ' ' + e.rawPath + ' ' + (e.body || '')})")


def tls_flags(https, http=None, *extra):
    return ["--router-https", f"127.0.0.1:{https}", *(["--router-http", f"127.0.0.1:{http}"] if http else []),
            *extra]


@pytest.fixture(scope="module")
def site():
    https, http = free_range(2)
    with running_daemon(tls_flags(https, http)) as d:
        d.https_port, d.http_port = https, http
        d.create(name="echo", runtime="nodejs20", code=ECHO)
        yield d


def curl(d, *args, host="fn.localhost"):
    out = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", "--resolve", f"{host}:{d.https_port}:127.0.0.1",
                          "--resolve", f"{host}:{d.http_port}:127.0.0.1", *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body


def peer_cert(port, server_name, **ctx_opts):
    """The certificate the server shows for SNI server_name: (DER, parsed)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for k, v in ctx_opts.items():
        setattr(ctx, k, v)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=server_name) as t:
            der = t.getpeercert(binary_form=True)
            return der, t.version()


def subject_and_san(der):
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName"], input=pem,
                         capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def test_https_serves_the_router(site):
    assert curl(site, "-k", f"https://fn.localhost:{site.https_port}/health") == (200, "Impuls Router OK")
    assert curl(site, "-k", "-X", "PUT", "-d", "x=1", f"https://fn.localhost:{site.https_port}/invoke/echo/a?b") == \
        (200, "PUT /a x=1")


def test_plain_http_redirects_with_308_keeping_method_and_body(site):
    out = subprocess.run(["curl", "-sS", "-D", "-", "-o", "/dev/null", "--resolve",
                          f"fn.localhost:{site.http_port}:127.0.0.1", "-X", "POST", "-d", "payload",
                          f"http://fn.localhost:{site.http_port}/invoke/echo/p?q=1"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.startswith("HTTP/1.1 308 Permanent Redirect\n"), out  # text mode: CRLF read as LF
    assert f"\nLocation: https://fn.localhost:{site.https_port}/invoke/echo/p?q=1\n" in out
    assert curl(site, "-Lk", "-X", "POST", "-d", "payload", f"http://fn.localhost:{site.http_port}/invoke/echo/p") == \
        (200, "POST /p payload")


def test_each_router_host_gets_its_own_certificate_by_sni(site):
    der, _ = peer_cert(site.https_port, "fn.localhost")
    assert subject_and_san(der) == ["subject=CN = fn.localhost, O = Impuls (self-signed)",
                                    "X509v3 Subject Alternative Name:", "DNS:fn.localhost"]
    r = site.request("PUT", "/api/v1/router/hosts/myapp.local")
    assert r.status in (200, 201, 204), r
    der2, _ = peer_cert(site.https_port, "myapp.local")
    assert subject_and_san(der2)[2] == "DNS:myapp.local"
    assert curl(site, "-k", f"https://myapp.local:{site.https_port}/invoke/echo", host="myapp.local") == \
        (200, "GET / ")
    # A name the router does not serve: the default certificate, then its 404.
    der3, _ = peer_cert(site.https_port, "other.example")
    assert der3 == der
    assert os.path.isfile(os.path.join(site.data_dir, "tls", "myapp.local.pem"))
    assert not os.path.exists(os.path.join(site.data_dir, "tls", "other.example.pem"))


def test_tls_1_2_is_the_oldest_taken():
    https = free_port()
    with running_daemon(tls_flags(https)) as d:
        _, version = peer_cert(https, "fn.localhost", maximum_version=ssl.TLSVersion.TLSv1_2)
        assert version == "TLSv1.2"
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{https}", "-tls1_1",
                              "-servername", "fn.localhost"], input="", capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and "alert protocol version" in out.stderr, out.stderr[-500:]
        assert d.request("GET", "/healthz").status == 200


def test_the_certificate_is_kept_across_restarts():
    https = free_port()
    d = Daemon(extra_args=tls_flags(https)).start()
    try:
        first, _ = peer_cert(https, "fn.localhost")
        assert d.stop() == 0
        d.start()
        again, _ = peer_cert(https, "fn.localhost")
        assert hashlib.sha256(again).hexdigest() == hashlib.sha256(first).hexdigest()
        mode = os.stat(os.path.join(d.data_dir, "tls", "fn.localhost.pem")).st_mode & 0o777
        assert mode == 0o600
    finally:
        if d.proc and d.proc.poll() is None:
            d.stop()
        d.cleanup()


def test_ones_own_certificate(tmp_path):
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "2", "-subj", "/CN=mine.test"], check=True, capture_output=True)
    https = free_port()
    with running_daemon(tls_flags(https, None, "--router-cert", str(crt), "--router-key", str(key))):
        der, _ = peer_cert(https, "fn.localhost")
        assert subject_and_san(der)[0] == "subject=CN = mine.test"


@pytest.mark.parametrize("flags,message", [
    (["--router-http", "127.0.0.1:1"], "router: --router-http, --router-cert and --router-key need --router-https"),
    (["--router-https", "127.0.0.1:1", "--router-cert", "/nonexistent"], "router: --router-cert and --router-key go "
                                                                          "together"),
    (["--router-https", "nowhere"], "router: --router-https address 'nowhere' must be HOST:PORT"),
])
def test_bad_tls_flags_stop_the_daemon_with_a_reason(flags, message):
    d = Daemon(extra_args=flags)
    try:
        with pytest.raises(RuntimeError) as e:
            d.start()
        assert str(e.value).startswith("daemon exited with 1: "), e.value
        assert message in str(e.value), e.value
    finally:
        d.cleanup()


# ---------- hostile clients of the TLS listener ----------

def test_plain_http_or_garbage_on_the_tls_port_costs_nothing(site):
    for data in (b"GET /health HTTP/1.1\r\nHost: fn.localhost\r\n\r\n", b"\x16\x03\x01\x00\x05hello", os.urandom(4096)):
        with socket.create_connection(("127.0.0.1", site.https_port), timeout=10) as s:
            s.sendall(data)
            try:
                got = s.recv(4096)
            except ConnectionResetError:
                got = b""
            assert b"Impuls Router OK" not in got
    assert curl(site, "-k", f"https://fn.localhost:{site.https_port}/health") == (200, "Impuls Router OK")


def test_half_finished_handshakes_do_not_block_others(site):
    # 30 clients that send a ClientHello's first bytes and stall: the loop
    # keeps serving everyone else.
    socks = []
    try:
        for _ in range(30):
            s = socket.create_connection(("127.0.0.1", site.https_port), timeout=10)
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            socks.append(s)
        for _ in range(3):
            assert curl(site, "-k", f"https://fn.localhost:{site.https_port}/invoke/echo") == (200, "GET / ")
        assert site.request("GET", "/healthz").status == 200
    finally:
        for s in socks:
            s.close()


def test_a_body_over_the_limit_over_tls_is_413(site):
    import http.client
    ctx = ssl._create_unverified_context()
    c = http.client.HTTPSConnection("127.0.0.1", site.https_port, timeout=60, context=ctx)
    try:
        c.request("POST", "/invoke/echo", body=b"x" * (7 * 1024 * 1024), headers={"Host": "fn.localhost"})
        r = c.getresponse()
        assert (r.status, r.getheader("Connection")) == (413, "close")
    finally:
        c.close()
    assert curl(site, "-k", f"https://fn.localhost:{site.https_port}/health") == (200, "Impuls Router OK")
