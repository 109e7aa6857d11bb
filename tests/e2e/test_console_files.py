"""The web console's static files (docs/console.md): served as they are
from the tree's console/ folder, public, with a Content-Security-Policy that
runs the console's own scripts only; no other name reaches a file."""
import os
import subprocess

import pytest

from impuls_daemon import ROOT

CONSOLE = os.path.join(ROOT, "console")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def test_every_file_comes_as_it_is_with_its_type_and_policy(daemon):
    names = sorted(os.listdir(CONSOLE))
    assert "index.html" in names and "main.js" in names
    for name in names:
        r = daemon.request("GET", f"/console/{name}")
        with open(os.path.join(CONSOLE, name), "rb") as f:
            assert (r.status, r.body) == (200, f.read()), name
        assert r.headers["Content-Type"] == TYPES[os.path.splitext(name)[1]], name
        assert (r.headers["Content-Security-Policy"], r.headers["X-Content-Type-Options"],
                r.headers["Cache-Control"]) == (CSP, "nosniff", "no-cache"), name
    r = daemon.request("GET", "/console/")
    with open(os.path.join(CONSOLE, "index.html"), "rb") as f:
        assert (r.status, r.body, r.headers["Content-Type"]) == (200, f.read(), "text/html; charset=utf-8")
    status, location = curl_status(daemon, "/console")
    assert (status, location) == ("301", "/console/")


def curl_status(daemon, path):
    """Status and Location as a client that does not follow redirects sees them."""
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %header{location}", daemon.url + path],
                         capture_output=True, text=True, timeout=30).stdout
    return tuple(out.split(" ", 1))


@pytest.mark.parametrize("path", [
    "/console/..%2F..%2Fetc%2Fpasswd", "/console/..%2FREADME.md", "/console/..%2Fconsole%2Findex.html",
    "/console/.hidden.js", "/console/INDEX.HTML", "/console/index.htm", "/console/notes.txt", "/console/-x.js",
    "/console/index.html.bak", "/console/nothing-here.js", "/console/%2Fetc%2Fhostname.js", "/console/a.b.js",
    "/console/" + "a" * 250 + ".js",
])
def test_no_other_name_reaches_a_file(daemon, path):
    r = daemon.request("GET", path)
    assert (r.status, r.json()["errorMessage"]) == (404, "no such console file"), path


@pytest.mark.parametrize("path", ["/console/a/b.js", "/console/a%00.js", "/console/x/../index.html"])
def test_deeper_paths_are_no_route(daemon, path):
    r = daemon.request("GET", path)
    assert (r.status, r.json()["errorMessage"]) == (404, "no such route"), path


def test_only_get(daemon):
    r = daemon.request("POST", "/console/", b"x")
    assert (r.status, r.headers["Allow"]) == (405, "GET")
