"""A Python zygote that cannot start, or whose clones die before asking for
work, costs its function nothing but the wait: calls are served by instances
started the ordinary way, and the daemon backs off instead of starting
zygotes in a loop (src/pool/zygotes.c)."""
import os
import shutil
import threading

import pytest

from conftest import running_daemon

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CODE = "import time\n\ndef handler(event, context):\n    time.sleep(0.5)\n    return 'ok'\n"


@pytest.fixture
def broken_runtimes(tmp_path):
    """A copy of runtimes/ whose zygote.py is replaced by `body`."""
    def make(body):
        dst = tmp_path / "runtimes"
        shutil.copytree(os.path.join(ROOT, "runtimes"), dst, symlinks=True)
        (dst / "python" / "zygote.py").write_text(body)
        os.chmod(tmp_path, 0o755)
        return str(dst)
    return make


def burst(d, name, n):
    out = []
    threads = [threading.Thread(target=lambda: out.append(d.invoke(name, {}).status)) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(out)


def test_a_zygote_that_cannot_start_costs_no_call_and_is_not_restarted_in_a_loop(broken_runtimes):
    rt = broken_runtimes("import sys\nprint('no zygote today', file=sys.stderr)\nsys.exit(3)\n")
    with running_daemon(["--prewarm", "0", "--runtime-dir", rt]) as d:
        d.create(name="f", runtime="python311", code=CODE, concurrency=4)
        for _ in range(3):
            assert burst(d, "f", 4) == [200] * 4
        assert [i["zygote"] for i in d.instances("f")] == [False] * 4
        log = d.read_log()
        assert "Python zygote" in log and "no zygote today" in log  # its stderr reaches the daemon's log
        # The first failure retries at once, the second waits 1 s: two starts
        # in all, however many calls wanted an instance.
        assert log.count("the Python zygote did not start") == 2, log


def test_clones_that_die_before_asking_for_work_stop_their_zygote(broken_runtimes):
    # The runtime dies in the clone, before the function's code is loaded: the
    # call waiting for that instance fails, as with any instance that dies in
    # its init. Three such deaths stop the zygote (the clones already made
    # die too); a second zygote's stop it for a second, the next for two, and
    # so on: a bounded number of failed calls.
    src = open(os.path.join(ROOT, "runtimes", "python", "zygote.py")).read()
    rt = broken_runtimes(src.replace("    after_fork()\n", "    after_fork()\n    os._exit(7)\n"))
    with running_daemon(["--prewarm", "0", "--runtime-dir", rt]) as d:
        d.create(name="f", runtime="python311", code=CODE, concurrency=6)
        got = [burst(d, "f", 6) for _ in range(4)]
        log = d.read_log()
        assert 1 <= log.count("three of its Python zygote's instances ended before asking for work") <= 2, (got, log)
        assert sum(s == 502 for g in got for s in g) <= 2 * 6, got  # at most the clones in flight, per zygote
        assert got[-1] == [200] * 6
        assert all(not i["zygote"] for i in d.instances("f") if i["state"] != "dying")


def test_no_zygote_runs_files_others_could_write(broken_runtimes):
    src = open(os.path.join(ROOT, "runtimes", "python", "zygote.py")).read()
    rt = broken_runtimes(src)
    os.chmod(os.path.join(rt, "python", "zygote.py"), 0o664)  # the group could write what root would run
    with running_daemon(["--prewarm", "0", "--runtime-dir", rt]) as d:
        d.create(name="f", runtime="python311", code=CODE, concurrency=3)
        assert burst(d, "f", 3) == [200] * 3
        assert [i["zygote"] for i in d.instances("f")] == [False] * 3
        assert d.zygote_pids() == []
        assert d.read_log().count("zygote.py is not root's alone (they would run it as root)") == 1


def test_a_zygote_that_stops_answering_is_stopped_and_the_call_starts_another_way(broken_runtimes):
    # Says it is ready, then never answers a request: the daemon waits 2 s
    # for the reply, stops it, and starts that instance the ordinary way.
    rt = broken_runtimes("import os, time\nos.write(3, b'R')\ntime.sleep(600)\n")
    with running_daemon(["--prewarm", "0", "--runtime-dir", rt]) as d:
        d.create(name="f", runtime="python311", code=CODE, concurrency=2)
        assert burst(d, "f", 2) == [200, 200]
        assert [i["zygote"] for i in d.instances("f")] == [False, False]
        assert "zygote: Connection timed out; its Python zygote is stopped" in d.read_log()
        assert d.zygote_pids() == []


def test_no_library_next_to_the_daemon_means_no_zygote(tmp_path, monkeypatch):
    import impuls_daemon
    alone = tmp_path / "bin" / "impuls"  # the daemon without build/libimpuls-zygote.so beside it
    alone.parent.mkdir()
    shutil.copy2(impuls_daemon.BIN, alone)
    monkeypatch.setattr(impuls_daemon, "BIN", str(alone))
    with running_daemon(["--prewarm", "0", "--runtime-dir", os.path.join(ROOT, "runtimes")]) as d:
        d.create(name="f", runtime="python311", code=CODE, concurrency=3)
        for _ in range(2):
            assert burst(d, "f", 3) == [200] * 3
        assert [i["zygote"] for i in d.instances("f")] == [False] * 3
        log = d.read_log()
        assert log.count("no Python zygotes: cannot open ") == 1, log  # said once, never tried again
        # Looked for beside the binary, then where make install puts it.
        assert f"{tmp_path}/bin/../lib/impuls/libimpuls-zygote.so: No such file or directory" in log
