"""Hostile functions that go after resources: processes, threads, memory, disk,
file descriptors, CPU, log output. Each attack must end in an exact, clean
outcome, and the host must stay healthy (the daemon fixture's teardown then
checks that no process, mount or cgroup was left behind)."""
import os
import threading
import time

import pytest

from hostile import (FRESH, assert_healthy, assert_instance_gone, deploy, error, hit,
                     instance_processes, node, observe, only_instance, rss_kib, timed_canary)

MiB = 1 << 20
TRUNCATED = "[impuls] log output of this invocation truncated\n"


# ---------- processes and threads ----------

def test_fork_fails_with_eagain_at_the_pids_limit(daemon):
    deploy(daemon, memory_mb=512)
    r = observe(daemon, "fork_until_fail", max=400)
    # pids.max 256 counts init and the runtime: 254 children at most. RLIMIT_NPROC
    # (256) counts the uid's processes host-wide, and another daemon on this machine
    # (a parallel test run) numbers its instances' uids the same way: a few less then.
    assert r["errno"] == "EAGAIN"
    assert 200 <= r["forked"] <= 254, r
    assert observe(daemon, "procs") == FRESH
    assert_healthy(daemon)


def test_fork_bomb_times_out_and_leaves_nothing(daemon):
    deploy(daemon, memory_mb=512, timeout_s=2)
    assert observe(daemon, "whoami")["pid"] == 2
    inst = only_instance(daemon)
    r = hit(daemon, "fork_bomb")
    assert error(r) == (504, "Sandbox.Timedout")
    assert r.json()["errorMessage"] == "Task timed out after 2.00 seconds"
    assert_instance_gone(daemon, inst["id"])
    assert_healthy(daemon)
    assert observe(daemon, "procs") == FRESH


def test_thousands_of_threads_stop_at_the_pids_limit(daemon):
    deploy(daemon, memory_mb=512, timeout_s=10)
    r = observe(daemon, "threads", max=3000)
    assert r["errno"] == "EAGAIN"  # threads count against pids.max (and RLIMIT_NPROC) too
    assert 200 <= r["threads"] <= 254, r
    assert observe(daemon, "whoami")["pid"] == 2  # same instance, still serving
    assert_healthy(daemon)


def test_zombies_never_reaped_do_not_break_the_instance(daemon):
    deploy(daemon)
    assert observe(daemon, "zombies", n=100) == 100
    inst = only_instance(daemon)
    ps = observe(daemon, "procs")
    assert ps[:1] == FRESH
    assert len(ps) == 101 and all(p[1:] == ["Z", 2, "python3"] for p in ps[1:])
    assert observe(daemon, "whoami")["pid"] == 2
    assert only_instance(daemon)["id"] == inst["id"]  # the same warm instance
    assert_healthy(daemon)


def test_detached_child_dies_with_its_instance(daemon):
    deploy(daemon)
    child = observe(daemon, "detach")
    inst = only_instance(daemon)
    ps = observe(daemon, "procs")
    assert [p[0] for p in ps] == [2, child]
    assert ps[1][1:] == ["S", 1, "python3"]  # re-parented to the sandbox's init
    assert len(instance_processes(daemon, inst["id"])) == 3  # init, runtime, the child
    # A new version retires the idle instance: the child must go with it.
    daemon.request("PUT", "/api/v1/functions/probe", {"timeout_s": 5})
    assert_instance_gone(daemon, inst["id"])
    assert observe(daemon, "procs") == FRESH
    assert len(daemon.instances("probe")) == 1
    assert_healthy(daemon)


def test_detached_child_dies_when_the_idle_instance_is_reaped(daemon):
    deploy(daemon, idle_timeout_s=1)
    observe(daemon, "detach")
    inst = only_instance(daemon)
    assert len(instance_processes(daemon, inst["id"])) == 3
    assert_instance_gone(daemon, inst["id"])
    assert daemon.instances("probe") == []
    assert_healthy(daemon)


# ---------- memory ----------

def test_memory_hog_is_out_of_memory(daemon):
    deploy(daemon, memory_mb=64)
    r = hit(daemon, "memory_hog")
    assert error(r) == (502, "Runtime.OutOfMemory")
    assert r.json()["errorMessage"] == "Runtime exited: out of memory (limit 64 MB)"
    assert daemon.instances("probe") == []
    assert_healthy(daemon)


def test_node_memory_hog_is_out_of_memory(daemon):
    node(daemon, "nhog", "exports.handler = async () => { const a = []; "
                         "for (;;) a.push(Buffer.alloc(8 << 20, 1)); }", memory_mb=64)
    r = daemon.invoke("nhog")
    assert error(r) == (502, "Runtime.OutOfMemory")
    assert r.json()["errorMessage"] == "Runtime exited: out of memory (limit 64 MB)"
    assert_healthy(daemon)


def test_memory_hog_in_a_child_kills_only_the_child(daemon):
    deploy(daemon, memory_mb=64)
    assert observe(daemon, "memory_hog_child") == "SIGKILL"  # the OOM killer took the child
    inst = only_instance(daemon)
    assert observe(daemon, "whoami")["pid"] == 2
    assert only_instance(daemon)["id"] == inst["id"]
    assert_healthy(daemon)


def test_exit_after_a_child_was_oom_killed_is_an_exit_error(daemon):
    deploy(daemon, memory_mb=64)
    assert observe(daemon, "memory_hog_child") == "SIGKILL"
    r = hit(daemon, "exit", code=3)
    assert error(r) == (502, "Runtime.ExitError")
    assert r.json()["errorMessage"] == "Runtime exited with error: exit status 3"
    assert_healthy(daemon)


def test_segfaulting_runtime_is_an_exit_error(daemon):
    deploy(daemon)
    r = hit(daemon, "segv")
    assert error(r) == (502, "Runtime.ExitError")
    assert r.json()["errorMessage"] == "Runtime exited with error: signal: Segmentation fault"
    assert_healthy(daemon)


# ---------- disk ----------

def test_tmp_fill_is_enospc_at_64_mib(daemon):
    deploy(daemon, memory_mb=256)  # tmpfs pages are charged to the instance's memory
    r = observe(daemon, "fill", path="/tmp/fill")
    assert r["errno"] == "ENOSPC"
    assert 63 * MiB <= r["bytes"] <= 64 * MiB, r
    assert observe(daemon, "tmp") == {"tmp": [], "shm": []}  # the probe deleted its file
    assert_healthy(daemon)


def test_tmp_inode_exhaustion_is_enospc(daemon):
    deploy(daemon)
    r = observe(daemon, "inodes")
    assert r["errno"] == "ENOSPC"
    assert 16000 <= r["files"] < 16384, r  # nr_inodes=16384, less the root dir and /tmp/i
    assert_healthy(daemon)


def test_dev_shm_is_writable_but_tiny(daemon):
    deploy(daemon)
    # /dev/shm is 01777 (Python's multiprocessing locks need it) inside the 64 KiB /dev tmpfs.
    assert observe(daemon, "stat", path="/dev/shm") == {"mode": "0o41777", "uid": 0}
    filled = observe(daemon, "fill", path="/dev/shm/fill")
    assert filled["errno"] == "ENOSPC" and 0 < filled["bytes"] <= 64 * 1024, filled
    assert observe(daemon, "fill", path="/dev/fill") == {"errno": "EACCES", "bytes": 0}
    assert_healthy(daemon)


# ---------- file descriptors and limits ----------

def test_fd_exhaustion_is_emfile_at_1024(daemon):
    deploy(daemon)
    assert observe(daemon, "fds") == {"errno": "EMFILE", "opened": 1020, "highest": 1023}
    assert observe(daemon, "whoami")["pid"] == 2  # closed them all; still serving
    assert_healthy(daemon)


@pytest.mark.parametrize("resource,num", [("RLIMIT_NOFILE", 7), ("RLIMIT_NPROC", 6)])
def test_raising_a_hard_rlimit_is_eperm(daemon, resource, num):
    deploy(daemon)
    assert observe(daemon, "rlimit", resource=num) == "EPERM"
    assert_healthy(daemon)


# ---------- CPU ----------

def test_infinite_loop_is_504_and_the_instance_is_replaced(daemon):
    deploy(daemon, timeout_s=1)
    first = observe(daemon, "whoami")
    inst = only_instance(daemon)
    r = hit(daemon, "spin")
    assert error(r) == (504, "Sandbox.Timedout")
    assert r.json()["errorMessage"] == "Task timed out after 1.00 seconds"
    assert_instance_gone(daemon, inst["id"])
    again = observe(daemon, "whoami")
    (fresh,) = daemon.instances("probe")
    assert fresh["id"] != inst["id"] and again["uid"] != first["uid"]
    assert_healthy(daemon)


def test_node_infinite_loop_is_504(daemon):
    node(daemon, "nspin", "exports.handler = async (e) => { if (e.spin) for (;;); return 'ok'; }",
         timeout_s=1)
    r = daemon.invoke("nspin", {"spin": True})
    assert error(r) == (504, "Sandbox.Timedout")
    assert r.json()["errorMessage"] == "Task timed out after 1.00 seconds"
    r = daemon.invoke("nspin", {})
    assert (r.status, r.json()) == (200, "ok")
    assert_healthy(daemon)


def test_cpu_hog_beside_a_normal_function(daemon):
    deploy(daemon, timeout_s=10)
    result = {}
    t = threading.Thread(target=lambda: result.update(
        r=hit(daemon, "cpu_hog", procs=4, seconds=2.5)))
    t.start()
    time.sleep(0.5)  # four busy processes on a two-core machine by now
    took = [timed_canary(daemon) for _ in range(4)]  # the first one is a cold start
    t.join()
    assert all(s < 2.0 for s in took), took
    assert (result["r"].status, result["r"].json()) == (200, "done")
    assert_healthy(daemon)


# ---------- log output ----------

def test_stdout_flood_is_capped_in_the_log(daemon):
    deploy(daemon)
    assert observe(daemon, "whoami")["pid"] == 2
    rss = rss_kib(daemon.proc.pid)
    log = os.path.join(daemon.data_dir, "logs", "probe.log")
    before = os.path.getsize(log)
    assert observe(daemon, "flood", mb=32) == 32 * MiB
    grew = os.path.getsize(log) - before
    assert MiB < grew <= MiB + 4096, grew  # 1 MiB of output, the note, START/END/REPORT
    text = daemon.request("GET", "/api/v1/functions/probe/logs?tail=10000").text
    assert len(text) <= MiB + 8192 and TRUNCATED in text
    assert text.count(TRUNCATED) == 1
    # The budget is per call: the next call's output is logged again.
    assert observe(daemon, "flood", mb=2) == 2 * MiB
    assert daemon.request("GET", "/api/v1/functions/probe/logs?tail=10000").text.count(TRUNCATED) == 2
    assert rss_kib(daemon.proc.pid) - rss < 50 * 1024
    assert_healthy(daemon)


def test_endless_stdout_flood_does_not_stall_the_daemon(daemon):
    deploy(daemon, timeout_s=10)
    observe(daemon, "whoami")
    rss = rss_kib(daemon.proc.pid)
    result = {}
    t = threading.Thread(target=lambda: result.update(r=hit(daemon, "flood", seconds=2)))
    t.start()
    time.sleep(0.3)
    took = [timed_canary(daemon) for _ in range(4)]
    t.join()
    assert all(s < 2.0 for s in took), took
    assert result["r"].status == 200 and result["r"].json() > 32 * MiB, result["r"]
    assert os.path.getsize(os.path.join(daemon.data_dir, "logs", "probe.log")) <= MiB + 8192
    assert rss_kib(daemon.proc.pid) - rss < 50 * 1024
    assert_healthy(daemon)
