"""make install / make uninstall (into a DESTDIR), the systemd unit checked by
systemd-analyze, the man page checked by groff, and the installed daemon run
from where it was installed: it finds its runtimes and serves calls."""
import os
import shutil
import subprocess
import tempfile

import pytest

import impuls_daemon
from impuls_daemon import ROOT

PREFIX = "/usr/local"
FILES = ["etc/systemd/system/impuls.service", "usr/local/bin/impuls", "usr/local/lib/impuls/libimpuls-zygote.so",
         "usr/local/share/impuls/runtimes/nodejs/bootstrap.js", "usr/local/share/impuls/runtimes/python/bootstrap.py",
         "usr/local/share/impuls/runtimes/go/aws-lambda-go/lambda/entry.go",
         "usr/local/share/impuls/console/index.html", "usr/local/share/impuls/console/main.js",
         "usr/local/share/man/man8/impuls.8"]


def make(*args):
    p = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


@pytest.fixture(scope="module")
def dest():
    d = tempfile.mkdtemp(prefix="impuls-install-")
    make("install", f"DESTDIR={d}", f"PREFIX={PREFIX}")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_install_puts_each_file_in_its_place(dest):
    for rel in FILES:
        assert os.path.isfile(os.path.join(dest, rel)), rel
    mode = lambda rel: os.stat(os.path.join(dest, rel)).st_mode & 0o777  # noqa: E731
    assert mode("usr/local/bin/impuls") == 0o755
    assert mode("etc/systemd/system/impuls.service") == 0o644
    assert mode("usr/local/share/impuls/runtimes/nodejs/bootstrap.js") == 0o644
    # Nobody but root may change what every sandbox runs.
    for root, dirs, files in os.walk(os.path.join(dest, "usr/local/share/impuls")):
        for n in dirs + files:
            st = os.lstat(os.path.join(root, n))
            assert st.st_uid == 0 and not st.st_mode & 0o022, os.path.join(root, n)


def test_the_unit_passes_systemd_analyze_verify(dest):
    unit = open(os.path.join(dest, "etc/systemd/system/impuls.service")).read()
    assert f"ExecStart={PREFIX}/bin/impuls serve --addr 127.0.0.1:8080" in unit
    assert "Restart=on-failure\n" in unit and "StateDirectory=impuls\n" in unit
    # verify checks that ExecStart's binary exists: point it at the DESTDIR copy.
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "impuls.service")
        with open(copy, "w") as f:
            f.write(unit.replace(f"{PREFIX}/bin/impuls", os.path.join(dest, "usr/local/bin/impuls")))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", copy], capture_output=True, text=True,
                           timeout=60)
        assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
        # The check is real: a wrong directive is reported.
        with open(copy, "w") as f:
            f.write(unit.replace("KillMode=mixed", "KillMode=sometimes"))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", copy], capture_output=True, text=True,
                           timeout=60)
        assert "Failed to parse kill mode specification" in p.stderr


def test_the_man_page_has_no_warnings(dest):
    page = os.path.join(dest, "usr/local/share/man/man8/impuls.8")
    p = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (0, "")
    text = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", page], capture_output=True, text=True, timeout=60).stdout
    assert "impuls serve" in text and "--router-https" in text.replace("\u2010", "-")


def test_the_installed_daemon_runs_from_its_place(dest, monkeypatch):
    monkeypatch.setattr(impuls_daemon, "BIN", os.path.join(dest, "usr/local/bin/impuls"))
    d = impuls_daemon.Daemon().start()
    try:
        assert f"runtimes {os.path.join(dest, 'usr/local/bin/../share/impuls/runtimes')}" in d.read_log() or \
            f"runtimes {os.path.join(dest, 'usr/local/share/impuls/runtimes')}" in d.read_log(), d.read_log()
        d.create(name="py", runtime="python311", code="def handler(e, c):\n    return 'installed'\n")
        d.create(name="js", runtime="nodejs20", code="exports.handler = async () => 'installed too'")
        assert d.invoke("py").json() == "installed"
        assert d.invoke("js").json() == "installed too"
        # The web console, from beside its runtimes.
        r = d.request("GET", "/console/main.js")
        with open(os.path.join(ROOT, "console", "main.js"), "rb") as f:
            assert (r.status, r.body) == (200, f.read())
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


def test_uninstall_removes_what_install_put():
    d = tempfile.mkdtemp(prefix="impuls-uninstall-")
    try:
        make("install", f"DESTDIR={d}", f"PREFIX={PREFIX}")
        make("uninstall", f"DESTDIR={d}", f"PREFIX={PREFIX}")
        left = [os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs]
        assert left == []
        assert not os.path.exists(os.path.join(d, "usr/local/share/impuls"))
        assert not os.path.exists(os.path.join(d, "usr/local/lib/impuls"))
    finally:
        shutil.rmtree(d, ignore_errors=True)
