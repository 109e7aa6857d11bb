"""Functions with isolation "microvm" (docs/security.md, "microVM"): each
instance a QEMU microvm of the guest (scripts/microvm-guest.sh) run by its
supervisor (src/sandbox/microvm_vmm.c), confined (its own namespaces, an
unprivileged uid, a cgroup), restored from the saved generic VM of its size
and claimed with the function's code; the Runtime API over the VM's channel,
the runtime's output over a port of its own. The e2e suite's core cases run
here against VMs: create, invoke, update, delete, errors, timeouts, OOM,
logs, START/END/REPORT, the Lambda API, ?local=true, a chamber. Software
emulation (TCG) here; only deadlines bound the waits, no timing is asserted.
The first cold start of a size boots (seconds under TCG): one daemon serves
the module, and its teardown checks that no QEMU, cgroup or socket is left."""
import base64
import concurrent.futures
import fcntl
import glob
import io
import os
import re
import signal
import tempfile
import threading
import zipfile

import pytest

from chamber_helpers import chamber_daemon, delete_chamber, get, start_chamber, stop_checked, wait_for
from cli_helpers import cli
from conftest import checked_daemon
from impuls_daemon import Daemon
from microvm_helpers import build_guest
from ric_helpers import CACHE, built_zip, registry_reachable

PY = ("import os\n"
      "def handler(event, context):\n"
      "    print('hello from the VM', event)\n"
      "    with open('/proc/cmdline') as f:\n"
      "        cmdline = f.read()\n"
      "    return {'event': event, 'uid': os.getuid(), 'guest_kernel': 'tsc_early_khz' in cmdline,\n"
      "            'task': sorted(os.listdir(os.environ['LAMBDA_TASK_ROOT'])), 'remaining_ms': context.get_remaining_time_in_millis(),\n"
      "            'name': os.environ['AWS_LAMBDA_FUNCTION_NAME'], 'mine': os.environ.get('MINE')}\n")

NODE = ("exports.handler = async (e) => {\n"
        "  if (e.fail) throw new TypeError('bad thing');\n"
        "  if (e.spin) for (;;);\n"
        "  if (e.hog) { const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1)); }\n"
        "  if (e.exit) process.exit(3);\n"
        "  console.log('node says', JSON.stringify(e));\n"
        "  return {echo: e, uid: process.getuid(), version: process.env.V || null};\n"
        "};\n")


@pytest.fixture(scope="module")
def guest():
    return build_guest()


@pytest.fixture(scope="module")
def d(guest):
    run = checked_daemon()
    daemon = next(run)
    run_dir = "/run/impuls-" + daemon.cgroup_parent().split("-", 1)[1]  # the instances' Runtime API sockets
    yield daemon
    assert os.path.isdir(run_dir)
    for _ in run:  # stops it: nothing may be left, and its socket dir is gone
        pass
    assert not os.path.exists(run_dir)


def qemu_processes():
    """(pid, uid, argv) of every QEMU microvm running."""
    found = []
    for p in os.listdir("/proc"):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{p}/status") as f:
                uid = int(next(line for line in f if line.startswith("Uid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        if argv[0] == b"qemu-system-x86_64" and b"microvm" in argv:
            found.append((int(p), uid, argv))
    return found


def qemu_pids_of(d, name):
    """The QEMU of each of the function's instances."""
    parents = {i["pid"] for i in d.instances(name)}
    found = []
    for pid, _, _ in qemu_processes():
        with open(f"/proc/{pid}/stat") as f:
            if int(f.read().rsplit(")", 1)[1].split()[1]) in parents:
                found.append(pid)
    return found


def vm_of(d, name):
    """The QEMU of the function's one instance (a child of its supervisor)."""
    (inst,) = d.instances(name)
    for pid, uid, argv in qemu_processes():
        with open(f"/proc/{pid}/stat") as f:
            if int(f.read().rsplit(")", 1)[1].split()[1]) == inst["pid"]:
                return pid, uid, argv
    raise AssertionError(f"no QEMU under {inst}")


def test_healthz_and_runtimes_say_the_backend_is_here_with_its_accelerator(d):
    want = {"available": True, "accelerator": "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg",
            "reason": None}
    assert d.request("GET", "/healthz").json()["microvm"] == want
    assert d.request("GET", "/api/v1/runtimes").json()["microvm"] == want


def test_a_python_function_runs_in_its_own_vm(d):
    f = d.create(name="py", runtime="python311", isolation="microvm", code=PY, env={"MINE": "yes"})
    assert f["isolation"] == "microvm"
    r = d.invoke("py", {"n": 1})
    assert r.status == 200, (r, d.read_log()[-3000:])
    got = r.json()
    # In the guest: its kernel's command line, uid 1000 (not root: see
    # docs/security.md), the code claimed into /var/task, a clock set by the
    # claim (the deadline is 30 s from now, not from when the VM was saved).
    assert {k: got[k] for k in ("event", "uid", "guest_kernel", "task", "name", "mine")} == {
        "event": {"n": 1}, "uid": 1000, "guest_kernel": True, "task": ["main.py"], "name": "py", "mine": "yes"}
    assert 0 < got["remaining_ms"] <= 30000
    (inst,) = d.instances("py")
    assert (inst["isolation"], inst["state"]) == ("microvm", "idle")
    # Warm: the same VM answers again.
    assert d.invoke("py", {"n": 2}).json()["event"] == {"n": 2}
    assert [i["id"] for i in d.instances("py")] == [inst["id"]]


def test_qemu_is_confined(d):
    d.create(name="conf", runtime="python311", isolation="microvm", code=PY, env={"MINE": "SECRET_VALUE"})
    assert d.invoke("conf", {}).status == 200
    pid, uid, argv = vm_of(d, "conf")
    assert uid != 0
    for ns in ("pid", "net", "mnt", "ipc", "uts"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    # Its NIC (every VM has one: tests/microvm/test_egress.py) leads nowhere
    # without egress: one end of a datagram pair whose other end is closed.
    assert argv[argv.index(b"-netdev") + 1] == b"socket,id=net0,fd=11" and argv.count(b"-netdev") == 1
    assert b"-nic" not in argv and b"-net" not in argv
    assert os.readlink(f"/proc/{pid}/fd/11").startswith("socket:")
    assert argv[argv.index(b"-sandbox") + 1].startswith(b"on,")
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    assert int(status["CapEff"], 16) == 0 and status["NoNewPrivs"].strip() == "1"
    with open(f"/proc/{pid}/cgroup") as f:
        assert d.cgroup_parent() in f.read()
    # No secret on a command line: neither the supervisor's nor QEMU's.
    (inst,) = d.instances("conf")
    for p in (inst["pid"], pid):
        with open(f"/proc/{p}/cmdline", "rb") as f:
            assert b"SECRET_VALUE" not in f.read()
    # Its root is a jail: the system's directories (read-only), the loader's
    # cache, a /dev and a /proc; nothing else of the host's, the data dir included.
    root = f"/proc/{pid}/root"
    system = [n for n in ("bin", "lib", "lib32", "lib64", "libx32", "sbin", "usr") if os.path.lexists("/" + n)]
    assert sorted(os.listdir(root)) == sorted(system + ["dev", "etc", "proc"])
    assert os.listdir(f"{root}/etc") == ["ld.so.cache"] and not os.path.exists(root + d.data_dir)
    assert sorted(os.listdir(f"{root}/dev")) == sorted(
        ["null", "zero", "full", "random", "urandom", "fd", "stdin", "stdout", "stderr", "shm"] +
        (["kvm"] if argv[argv.index(b"-accel") + 1] == b"kvm" else []))
    # QEMU's /proc is its pid namespace's: QEMU (pid 1 there) is its only process.
    procs = [e for e in os.listdir(f"/proc/{pid}/root/proc") if e.isdigit()]
    with open(f"/proc/{pid}/root/proc/1/cmdline", "rb") as f:
        assert (procs, f.read().split(b"\0")[0]) == (["1"], b"qemu-system-x86_64")


def test_node_results_errors_logs_and_reports(d):
    d.create(name="js", runtime="nodejs20", isolation="microvm", code=NODE, timeout_s=60)
    r = d.invoke("js", {"a": 1}, headers={"X-Impuls-Log-Type": "Tail"})
    assert r.status == 200, (r, d.read_log()[-3000:])
    assert r.json() == {"echo": {"a": 1}, "uid": 1000, "version": None}
    tail = base64.b64decode(r.headers["X-Impuls-Log-Result"]).decode()
    assert 'node says {"a":1}' in tail
    r = d.invoke("js", {"fail": True})
    err = r.json()
    assert (r.status, err["errorType"], err["errorMessage"]) == (500, "TypeError", "bad thing")
    assert any("/var/task/index.js" in line for line in err["stackTrace"])
    log = d.request("GET", "/api/v1/functions/js/logs").text
    assert 'node says {"a":1}' in log
    for word in ("START RequestId:", "END RequestId:", "REPORT RequestId:", "Init Duration:"):
        assert word in log, word
    # The runtime's memory as the guest reports it before each result (a
    # result and an error here): some, and within memory_mb.
    used = [int(m) for m in re.findall(r"\tMemory Size: 128 MB\tMax Memory Used: (\d+) MB", log)]
    assert len(used) == 2 and all(0 < u <= 128 for u in used), log


def test_a_timeout_ends_the_vm_and_the_next_call_gets_a_new_one(d):
    d.create(name="spin", runtime="nodejs20", isolation="microvm", code=NODE, timeout_s=2)
    assert d.invoke("spin", {"x": 1}).status == 200
    (first,) = d.instances("spin")
    r = d.invoke("spin", {"spin": True})
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
        504, "Sandbox.Timedout", "Task timed out after 2.00 seconds")
    r = d.invoke("spin", {"x": 2})
    assert (r.status, r.json()["echo"]) == (200, {"x": 2})
    assert [i["id"] for i in d.instances("spin")] != [first["id"]]


def test_out_of_memory_inside_the_vm_is_a_502_with_the_reason(d):
    d.create(name="hog", runtime="nodejs20", isolation="microvm", code=NODE, timeout_s=120, memory_mb=128)
    r = d.invoke("hog", {"hog": True}, timeout=180)
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
        502, "Runtime.OutOfMemory", "Runtime exited: out of memory (limit 128 MB)")
    assert d.invoke("hog", {"x": 1}).json()["echo"] == {"x": 1}


def test_a_runtime_that_exits_is_a_502(d):
    d.create(name="quit", runtime="nodejs20", isolation="microvm", code=NODE)
    r = d.invoke("quit", {"exit": True})
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
        502, "Runtime.ExitError", "Runtime exited with error: exit status 3")


def test_a_vm_killed_from_outside_is_a_502_with_the_reason(d):
    d.create(name="victim", runtime="nodejs20", isolation="microvm", code=NODE, timeout_s=60)
    assert d.invoke("victim", {}).status == 200
    pid, _, _ = vm_of(d, "victim")
    threading.Timer(1.0, os.kill, (pid, signal.SIGKILL)).start()
    r = d.invoke("victim", {"spin": True})
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
        502, "Runtime.ExitError", "the microVM ended: QEMU was killed (Killed)")
    assert d.invoke("victim", {"x": 1}).json()["echo"] == {"x": 1}


def test_update_retires_the_vm_and_delete_leaves_no_qemu(d):
    d.create(name="upd", runtime="nodejs20", isolation="microvm", code=NODE, env={"V": "1"})
    assert d.invoke("upd", {}).json()["version"] == "1"
    r = d.request("PUT", "/api/v1/functions/upd", {"env": {"V": "2"}})
    assert r.status == 200 and r.json()["isolation"] == "microvm"
    assert d.invoke("upd", {}).json()["version"] == "2"
    pid, _, _ = vm_of(d, "upd")
    assert d.request("DELETE", "/api/v1/functions/upd").status == 204
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=30)


def test_the_lambda_api_creates_and_invokes_a_vm_function(d):
    # Lambda's CreateFunction with the tag impuls:isolation (docs/lambda.md).
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("main.py", PY)
    r = d.request("POST", "/2015-03-31/functions", {
        "FunctionName": "lam", "Runtime": "python3.11", "Handler": "main.handler", "Role": "arn:aws:iam::1:role/x",
        "Code": {"ZipFile": base64.b64encode(buf.getvalue()).decode()}, "Tags": {"impuls:isolation": "microvm"}})
    assert r.status == 201, r
    assert d.request("GET", "/2015-03-31/functions/lam").json()["Tags"] == {"impuls:isolation": "microvm",
                                                                           "impuls:network": "none"}
    r = d.request("POST", "/2015-03-31/functions/lam/invocations", {"via": "lambda"})
    assert r.status == 200, r
    assert r.json()["event"] == {"via": "lambda"} and r.json()["guest_kernel"] is True
    assert [i["isolation"] for i in d.instances("lam")] == ["microvm"]


def test_local_true_is_still_the_unisolated_pool(d):
    d.create(name="loc", runtime="python311", isolation="microvm", code=PY)
    r = d.invoke("loc", {}, query="?local=true")
    assert r.status == 200 and r.json()["guest_kernel"] is False
    assert [i["isolation"] for i in d.instances("loc")] == ["process"]


@pytest.mark.parametrize("spec,message", [
    ({"mode": "http", "runtime": "python311", "handler": "main.py", "code": "print(1)"},
     'mode "http" cannot run with isolation "microvm" yet (its server is reached through a network namespace, '
     'which a VM does not have); use isolation "namespace"'),
    ({"runtime": "csharp", "code": "class F {}"},
     "runtime 'csharp' cannot run with isolation \"microvm\": the guest has Node.js, Python and custom "
     "runtimes (provided)"),
    ({"runtime": "python311", "code": PY, "isolation": "vm"}, 'isolation must be "namespace" or "microvm"'),
    ({"runtime": "python311", "code": PY, "isolation": 1}, 'isolation must be "namespace" or "microvm"'),
])
def test_what_cannot_run_in_a_vm_is_a_400(d, spec, message):
    r = d.request("POST", "/api/v1/functions", {"name": "no", "isolation": "microvm", **spec})
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
        400, "InvalidParameterValueException", message)
    assert d.request("GET", "/api/v1/functions/no").status == 404


def test_an_update_to_mode_http_on_a_vm_is_a_400_and_changes_nothing(d):
    d.create(name="stay", runtime="python311", isolation="microvm", code=PY)
    r = d.request("PUT", "/api/v1/functions/stay", {"mode": "http", "handler": "main.py"})
    assert r.status == 400 and "cannot run with isolation \"microvm\"" in r.json()["errorMessage"]
    got = d.request("GET", "/api/v1/functions/stay").json()
    assert (got["mode"], got["isolation"], got["version"]) == ("handler", "microvm", 1)


def test_the_runtime_cannot_open_the_channel_or_crash_the_guest_kernel(d):
    code = ("import os\n"
            "def handler(event, context):\n"
            "    out = {}\n"
            "    for path in ['/proc/sysrq-trigger'] + ['/dev/' + p for p in os.listdir('/dev') if p.startswith('vport')]:\n"
            "        try:\n"
            "            with open(path, 'w') as f:\n"
            "                f.write('c')\n"
            "            out[path] = 'written'\n"
            "        except OSError as e:\n"
            "            out[path] = e.strerror\n"
            "    return out\n")
    d.create(name="prying", runtime="python311", isolation="microvm", code=code)
    got = d.invoke("prying", {}).json()
    assert set(got.values()) == {"Permission denied"} and len(got) == 3, got


def test_a_chamber_of_a_handler_function_runs_in_a_vm(guest):
    cd = chamber_daemon(2)
    try:
        cd.create(name="ev", runtime="nodejs20", isolation="microvm", version_label="v1",
                  code="exports.handler = async (e) => ({statusCode: 201, body: e.rawPath + ' ' + process.getuid()})")
        c = start_chamber(cd, "ev", "v1", timeout=300)
        st, _, body = get(c["port"], "/in/the/vm")
        assert (st, body) == (201, b"/in/the/vm 1000")
        assert cd.request("GET", "/healthz").json()["instances"] == 1
        delete_chamber(cd, c["id"])
        assert wait_for(lambda: cd.request("GET", "/healthz").json()["instances"] == 0, timeout=30)
    finally:
        stop_checked(cd)


def test_the_daemon_keeps_one_saved_vm_per_size_and_runtime(d):
    # One saved VM per size (memory_mb + 160 MiB, /tmp and process limits),
    # of this build of the guest and QEMU, on this accelerator, and per
    # pre-started runtime: every function here has 128 MB; Python's are
    # saved with the interpreter waiting (r + a hash of its command line),
    # the others (Node.js, custom runtimes, Python with PYTHONPATH) start
    # theirs after the claim (r00000000).
    d.create(name="saved-node", runtime="nodejs20", isolation="microvm", code=NODE)
    d.create(name="saved-py", runtime="python311", isolation="microvm", code=PY)
    assert d.invoke("saved-node", {}).status == d.invoke("saved-py", {}).status == 200
    saved = sorted(os.path.basename(p) for p in glob.glob(os.path.join(d.data_dir, "microvm", "*")))
    assert len(saved) == 2 and all(re.fullmatch(r"generic-[0-9a-f]{16}-288m-t64-p256-(tcg|kvm)-r[0-9a-f]{8}\.vm", n)
                                   for n in saved), saved
    assert len([n for n in saved if n.endswith("-r00000000.vm")]) == 1, saved


HOLD = ("import time\n"
        "def handler(event, context):\n"
        "    time.sleep(event.get('hold', 0))\n"
        "    return 'held'\n")


def guest_ram_mappings(pid):
    """{(perms, inode): smaps fields} of QEMU's mappings of a memfd of guest RAM."""
    found, current = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and not parts[0].endswith(":"):
                current = found.setdefault((parts[1], int(parts[4])), {}) if "memfd:impuls-vm-ram" in line else None
            elif current is not None and parts[0].endswith(":") and len(parts) >= 2 and parts[1].isdigit():
                current[parts[0][:-1]] = int(parts[1])
    return found


def test_vms_restored_from_one_saved_vm_share_its_ram_sealed(d):
    # The saved VM's guest RAM is a memfd of the daemon's, sealed against
    # writes; every VM restored from it maps it private: the pages it only
    # reads are one copy for all (docs/performance.md, "microVM isolation").
    # A size of its own (144 MB: 304 MiB VMs), so that its first restores
    # come after this daemon started: both wait for the memfd the daemon
    # copies off its event loop, and get the same one.
    d.create(name="share-first", runtime="python311", isolation="microvm", code=HOLD, memory_mb=144)
    assert d.invoke("share-first", {}).status == 200  # booted: the saved VM of this size exists now
    d.create(name="share", runtime="python311", isolation="microvm", code=HOLD, memory_mb=144, concurrency=2)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # two at once: two VMs, both restored
        got = list(pool.map(lambda _: d.invoke("share", {"hold": 3}, timeout=300), range(2)))
    assert [(r.status, r.json()) for r in got] == [(200, "held")] * 2, got
    maps = [guest_ram_mappings(vm_pid) for vm_pid in qemu_pids_of(d, "share")]
    assert len(maps) == 2 and all(len(m) == 1 for m in maps), maps
    (perms_a, ino_a), (perms_b, ino_b) = (next(iter(m)) for m in maps)
    assert (perms_a, perms_b) == ("rw-p", "rw-p") and ino_a == ino_b
    for m in maps:  # pages of it are in both VMs at once
        (fields,) = m.values()
        # (shmem's pages are "dirty": no disk behind them; the VM's own writes are "Anonymous")
        assert fields["Shared_Clean"] + fields["Shared_Dirty"] > 0 and fields["Pss"] < fields["Rss"], fields
    # The daemon's is that memfd, sealed: not even root can write it.
    fds = [f"/proc/{d.proc.pid}/fd/{n}" for n in os.listdir(f"/proc/{d.proc.pid}/fd")]
    (held,) = [p for p in fds if os.readlink(p).startswith("/memfd:impuls-vm-ram") and os.stat(p).st_ino == ino_a]
    fd = os.open(held, os.O_RDWR)
    try:
        seals = fcntl.fcntl(fd, 1034)  # F_GET_SEALS
        assert seals == 0xF, seals  # SEAL, SHRINK, GROW, WRITE
        with pytest.raises(PermissionError):
            os.pwrite(fd, b"x", 0)
    finally:
        os.close(fd)
    # Its file: the RAM (sparse: the pages never touched are holes), then the devices.
    (saved,) = glob.glob(os.path.join(d.data_dir, "microvm", "*-304m-*.vm"))
    st = os.stat(saved)
    assert st.st_blocks * 512 < 304 << 20 < st.st_size, st
    log = d.request("GET", "/api/v1/functions/share/logs").text
    assert "this VM boots" not in log, log[-3000:]


def test_a_saved_vm_that_does_not_restore_is_replaced_and_the_call_boots(d):
    # Its own size (160 MB: a VM of 320 MiB), so that no other test's saved VM is touched.
    d.create(name="bad-save", runtime="nodejs20", isolation="microvm", code=NODE, memory_mb=160, reuse=False)
    assert d.invoke("bad-save", {"n": 1}).status == 200  # boots, saves
    (saved,) = glob.glob(os.path.join(d.data_dir, "microvm", "*-320m-*.vm"))
    assert d.invoke("bad-save", {"n": 2}).status == 200  # restores
    first = os.stat(saved).st_ino
    with open(saved, "r+b") as f:  # the devices' state: the first bytes after the RAM, QEMU's magic
        f.seek(320 << 20)
        f.write(b"not QEMU")
    r = d.invoke("bad-save", {"n": 3})
    assert (r.status, r.json()["echo"]) == (200, {"n": 3}), (r, d.read_log()[-3000:])
    log = d.request("GET", "/api/v1/functions/bad-save/logs").text
    assert f"[impuls] microvm: QEMU could not restore the saved VM {saved} (it stopped; its log is above): removed: " \
        "this VM boots" in log, log[-3000:]
    assert os.stat(saved).st_ino != first  # saved anew by that boot
    assert d.invoke("bad-save", {"n": 4}).status == 200


def test_code_bigger_than_a_claim_is_a_502_that_says_so(d):
    # 65 MiB unpacked (compressible 55:1, under the zip reader's ratio bound):
    # over what a claim carries (VMC_CLAIM_MAX), under Lambda's 250 MiB.
    block = b"".join(os.urandom(64) + bytes(4032) for _ in range(16))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("main.py", PY)
        z.writestr("big.bin", block * (65 * 16))
    d.create(name="too-big", runtime="python311", isolation="microvm", zip=base64.b64encode(buf.getvalue()).decode())
    r = d.invoke("too-big", {})
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
        502, "Runtime.ExitError", "the microVM ended: the function's code and environment are more than a microVM "
        'takes (64 MiB; isolation "namespace" takes up to 250 MiB)'), r


def zip_with_link(files, links):
    """A zip of {name: (text, mode)} and {name: target} symbolic links."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system, info.external_attr = 3, (0o100000 | mode) << 16
            z.writestr(info, data)
        for name, target in links.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system, info.external_attr = 3, 0o120777 << 16
            z.writestr(info, target)
    return base64.b64encode(buf.getvalue()).decode()


def test_a_zip_with_dirs_and_links_and_a_custom_runtime_runs_in_a_vm(d):
    # A `provided` bootstrap of its own (a Python script: the guest has no
    # shell) speaking the Runtime API over 127.0.0.1:9001, as any custom
    # runtime does; its code in a subdirectory reached through a link.
    bootstrap = (b"#!/usr/bin/python3\n"
                 b"import json, os, sys, urllib.request\n"
                 b"sys.path.insert(0, '/var/task/lib')\n"
                 b"import helper\n"
                 b"api = 'http://' + os.environ['AWS_LAMBDA_RUNTIME_API'] + '/2018-06-01/runtime/invocation/'\n"
                 b"while True:\n"
                 b"    with urllib.request.urlopen(api + 'next') as r:\n"
                 b"        rid, event = r.headers['Lambda-Runtime-Aws-Request-Id'], json.load(r)\n"
                 b"    out = json.dumps({'got': event, 'helper': helper.word(), 'handler': os.environ['_HANDLER'],\n"
                 b"                      'link': os.readlink('/var/task/lib')}).encode()\n"
                 b"    urllib.request.urlopen(urllib.request.Request(api + rid + '/response', out, method='POST')).read()\n")
    code = zip_with_link({"bootstrap": (bootstrap, 0o755), "real/helper.py": (b"def word():\n    return 'linked'\n", 0o644)},
                         {"lib": "real"})
    d.create(name="custom", runtime="provided", isolation="microvm", zip=code, handler="my.handler")
    r = d.invoke("custom", {"k": "v"})
    assert r.status == 200, (r, d.request("GET", "/api/v1/functions/custom/logs").text)
    assert r.json() == {"got": {"k": "v"}, "helper": "linked", "handler": "my.handler", "link": "real"}


def test_aws_lambda_ric_runs_unchanged_in_a_vm(d):
    # AWS's own runtime interface client, the build the e2e suite made
    # (tests/ric_helpers.py), through the guest's 127.0.0.1:9001 bridge: its
    # native addon (libcurl) speaks HTTP to the Runtime API as it does on Lambda.
    if not os.path.exists(CACHE) and not registry_reachable():
        pytest.skip("the npm registry cannot be reached from this machine")
    code = base64.b64encode(built_zip(d)).decode()
    d.create(name="ric-vm", runtime="provided", isolation="microvm", zip=code, handler="index.handler", timeout_s=60)
    r = d.invoke("ric-vm", {"a": 1}, timeout=300)
    assert r.status == 200, (r, d.request("GET", "/api/v1/functions/ric-vm/logs").text[-3000:])
    assert r.json() == {"via": "aws-lambda-ric", "got": {"a": 1}, "fn": "ric-vm",
                        "requestId": r.headers["X-Impuls-Request-Id"], "left": True}
    r = d.request("POST", "/2015-03-31/functions/ric-vm/invocations", {"fail": True})
    assert (r.status, r.headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    got = r.json()
    assert (got["errorType"], got["errorMessage"], got["trace"][0]) == \
        ("TypeError", "ric says no", "TypeError: ric says no")
    log = d.request("GET", "/api/v1/functions/ric-vm/logs").text
    assert "Executing 'index.handler' in function directory '/var/task'" in log, log[-3000:]
    assert d.request("DELETE", "/api/v1/functions/ric-vm").status == 204


HOSTILE = ("import errno, os, socket\n"
           "def handler(event, context):\n"
           "    what = event['what']\n"
           "    if what == 'fork':\n"
           "        n = 0\n"
           "        try:\n"
           "            while n < 100000:\n"
           "                if os.fork() == 0:\n"
           "                    import time; time.sleep(60); os._exit(0)\n"
           "                n += 1\n"
           "        except OSError as e:\n"
           "            return {'forked': n > 0, 'error': errno.errorcode[e.errno]}\n"
           "    if what == 'tmp':\n"
           "        n = 0\n"
           "        try:\n"
           "            with open('/tmp/fill', 'wb') as f:\n"
           "                while True:\n"
           "                    f.write(b'x' * (1 << 20)); f.flush(); n += 1\n"
           "        except OSError as e:\n"
           "            os.unlink('/tmp/fill')\n"
           "            return {'mib': n, 'error': errno.errorcode[e.errno]}\n"
           "    if what == 'connect':\n"
           "        s = socket.socket()\n"
           "        s.settimeout(5)\n"
           "        try:\n"
           "            s.connect((event['host'], event['port']))\n"
           "            return {'error': None}\n"
           "        except OSError as e:\n"
           "            return {'error': errno.errorcode.get(e.errno, str(e))}\n"
           "    return {'ok': True}\n")


@pytest.mark.parametrize("event,want", [
    # A fork bomb stops at the runtime's process limit (RLIMIT_NPROC 256).
    ({"what": "fork"}, {"forked": True, "error": "EAGAIN"}),
    # /tmp is a tmpfs of 64 MiB, as in a namespace sandbox: a fill ends there.
    ({"what": "tmp"}, {"mib": 64, "error": "ENOSPC"}),
    # No network beyond the guest's own loopback, which has nothing on the
    # daemon's port; the host and the internet are unreachable (no NIC).
    ({"what": "connect", "host": "127.0.0.1", "port": "daemon"}, {"error": "ECONNREFUSED"}),
    ({"what": "connect", "host": "10.0.2.2", "port": 80}, {"error": "ENETUNREACH"}),
    ({"what": "connect", "host": "1.1.1.1", "port": 53}, {"error": "ENETUNREACH"}),
], ids=["fork-bomb", "tmp-fill", "daemon-port", "host", "internet"])
def test_hostile_code_stays_in_its_vm(d, event, want):
    name = f"hostile-{event['what']}-{event.get('port', 0)}"
    d.create(name=name, runtime="python311", isolation="microvm", code=HOSTILE, timeout_s=120)
    if event.get("port") == "daemon":
        event = {**event, "port": int(d.url.rsplit(":", 1)[1])}
    assert d.invoke(name, event, timeout=180).json() == want
    # And after it, a normal call works.
    assert d.invoke(name, {"what": "nothing"}).json() == {"ok": True}


def test_impuls_deploy_takes_isolation(d, tmp_path):
    src = tmp_path / "cliv.py"
    src.write_text(PY)
    code, out, err = cli(d, "deploy", str(src), "--isolation", "microvm")
    assert code == 0, (out, err)
    assert d.request("GET", "/api/v1/functions/cliv").json()["isolation"] == "microvm"
    assert cli(d, "deploy", str(src), "--isolation", "vm")[::2] == (
        2, "impuls: --isolation takes namespace or microvm, not 'vm'\n")


def test_a_start_removes_saved_vms_of_another_build(guest):
    data = tempfile.mkdtemp(prefix="impuls-e2e-")
    os.makedirs(os.path.join(data, "microvm"))
    stale = os.path.join(data, "microvm", "generic-0123456789abcdef-288m-t64-p256-tcg-r00000000.vm")
    with open(stale, "wb") as f:
        f.write(b"a VM saved by another build of the guest")
    d = Daemon(data_dir=data).start()
    try:
        assert os.listdir(os.path.join(data, "microvm")) == []
    finally:
        stop_checked(d)


@pytest.mark.parametrize("runtime,code", [
    ("python311", "import os\ndef handler(e, c):\n    return os.urandom(16).hex()\n"),
    ("nodejs20", "exports.handler = async () => require('crypto').randomBytes(16).toString('hex');"),
], ids=["python", "node"])
def test_vms_restored_from_one_saved_vm_do_not_share_random_numbers(d, runtime, code):
    # Each restore gets the host's seed in its claim: the kernel's generator
    # (and what reads it) differs between VMs restored from the same state.
    name = f"rand-{runtime}"
    d.create(name=name, runtime=runtime, isolation="microvm", code=code, reuse=False)
    got = [d.invoke(name, {}).json() for _ in range(3)]
    assert len(set(got)) == 3 and all(len(g) == 32 for g in got), got


def test_an_env_an_interpreter_reads_at_start_is_honoured(d):
    # PYTHONPATH is read as Python starts: such a function's VM starts its
    # interpreter after the claim, not from a pre-started one.
    d.create(name="pypath", runtime="python311", isolation="microvm", env={"PYTHONPATH": "/var/task/lib"},
             zip=zip_with_link({"main.py": (b"import helper\ndef handler(e, c):\n    return helper.word()\n", 0o644),
                                "lib/helper.py": (b"def word():\n    return 'from PYTHONPATH'\n", 0o644)}, {}),
             handler="main.handler")
    assert d.invoke("pypath", {}).json() == "from PYTHONPATH"
