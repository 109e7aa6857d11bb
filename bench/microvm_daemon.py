"""isolation "microvm" through the daemon (issue 15) against "namespace" in
the same run, on one daemon, the same function:

  cold start   reuse: false (every call a new instance), interleaved: a VM
               restored from the saved generic VM of its size and claimed,
               vs a namespace sandbox, for Node.js and for Python (whose
               saved VM has the interpreter started); and a Node.js VM booted
               (the saved VM removed before each call), the cost a first cold
               start of a size pays
  warm c1      one connection, wrk for BENCH_DURATION each: req/s and p50
  idle memory  N VMs idle (N = BENCH_MICROVM_IDLE, 20): PSS per VM (QEMU and
               its supervisor), split into the guest's RAM QEMU has touched
               (its pages of the saved VM's shared RAM divided among the VMs
               that map them, and its own) and QEMU's own (everything but the
               guest RAM mapping); plus, per VM, 1/N of the saved RAM the
               daemon holds (its memfd: an upper bound, as the pages the VMs
               map are in their PSS already)

The accelerator (tcg or kvm) is named in the rows. Published Firecracker
figures go beside them as literature, not as a measurement."""
import concurrent.futures
import glob
import os
import time

import load
from density import pss_kib
from impuls_daemon import Daemon
from load import percentile
from microvm_helpers import accel

RUNS = int(os.environ.get("BENCH_MICROVM_RUNS", "10"))
BOOT_RUNS = max(2, RUNS // 3)
IDLE = int(os.environ.get("BENCH_MICROVM_IDLE", "20"))
NODE = "exports.handler = async (e) => { if (e.hold) await new Promise(r => setTimeout(r, e.hold)); return 'hi'; };"
PYTHON = "def handler(e, c):\n    return 'hi'\n"
LITERATURE = ("Firecracker, published: ~125 ms to a guest's init with KVM, < 5 MiB of memory overhead per "
              "microVM (not measured here)")


def timed_call(d, name):
    t = time.perf_counter()
    r = d.invoke(name, {}, timeout=300)
    if r.status != 200:
        raise RuntimeError(f"{name}: {r}")
    return (time.perf_counter() - t) * 1000


def smaps_split(pid, guest_mb):
    """(KiB of the guest's RAM touched, KiB of QEMU's own, the guest RAM's
    inode), PSS: the guest RAM is QEMU's one mapping of the VM's size."""
    guest = own = 0
    size = inode = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if "-" in parts[0] and not parts[0].endswith(":"):
                    lo, hi = (int(x, 16) for x in parts[0].split("-"))
                    size = hi - lo
                    if size == guest_mb << 20:
                        inode = int(parts[4])
                elif parts[0] == "Pss:":
                    if size == guest_mb << 20:
                        guest += int(parts[1])
                    else:
                        own += int(parts[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return guest, own, inode


def memfd_kib(pid, inode):
    """KiB resident of the memfd of pid's with that inode (the saved RAM)."""
    for n in os.listdir(f"/proc/{pid}/fd"):
        path = f"/proc/{pid}/fd/{n}"
        try:
            if os.readlink(path).startswith("/memfd:") and os.stat(path).st_ino == inode:
                return os.stat(path).st_blocks // 2
        except OSError:
            continue
    return 0


def qemu_child(pid):
    for p in os.listdir("/proc"):
        try:
            with open(f"/proc/{p}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    return int(p)
        except (OSError, ValueError):
            continue
    return None


def run(results):
    d = Daemon()
    d.start()
    try:
        health = d.request("GET", "/healthz").json()["microvm"]
        if not health["available"]:
            raise RuntimeError(f"microvm not available: {health['reason']}")
        d.create(name="vm-cold", runtime="nodejs20", code=NODE, reuse=False, isolation="microvm")
        d.create(name="ns-cold", runtime="nodejs20", code=NODE, reuse=False)
        timed_call(d, "vm-cold")  # boots and saves the generic VM of its size
        timed_call(d, "ns-cold")
        # Python's saved VM has the interpreter started (docs/operations.md).
        d.create(name="vm-cold-py", runtime="python311", code=PYTHON, reuse=False, isolation="microvm")
        d.create(name="ns-cold-py", runtime="python311", code=PYTHON, reuse=False)
        timed_call(d, "vm-cold-py")
        timed_call(d, "ns-cold-py")
        vm_cold, ns_cold, booted, vm_py, ns_py = [], [], [], [], []
        for _ in range(RUNS):  # interleaved: drift on the machine hits both
            vm_cold.append(timed_call(d, "vm-cold"))
            ns_cold.append(timed_call(d, "ns-cold"))
            vm_py.append(timed_call(d, "vm-cold-py"))
            ns_py.append(timed_call(d, "ns-cold-py"))
        for _ in range(BOOT_RUNS):
            for f in glob.glob(os.path.join(d.data_dir, "microvm", "generic-*.vm")):
                os.unlink(f)
            booted.append(timed_call(d, "vm-cold"))

        warm = {}
        for iso in ("microvm", "namespace"):
            name = f"{iso}-warm"
            d.create(name=name, runtime="nodejs20", code=NODE, isolation=iso)
            timed_call(d, name)
            url = f"{d.url}/api/v1/functions/{name}/invoke"
            load.warmup(url, 1)
            rps, lat = load.run(url, 1)
            warm[iso] = {"rps": rps, "p50_ms": lat["50"]}

        d.create(name="vm-idle", runtime="nodejs20", code=NODE, isolation="microvm", concurrency=IDLE)
        with concurrent.futures.ThreadPoolExecutor(IDLE) as pool:  # IDLE calls at once: IDLE VMs
            list(pool.map(lambda _: d.invoke("vm-idle", {"hold": 3000}, timeout=600), range(IDLE)))
        time.sleep(2)
        insts = d.instances("vm-idle")
        guest_mb = 128 + 160  # memory_mb + the guest's overhead (src/sandbox/microvm.h)
        per_vm, guest, own, supervisor, inodes = [], [], [], [], set()
        for i in insts:
            q = qemu_child(i["pid"])
            g, o, ino = smaps_split(q, guest_mb) if q else (0, 0, None)
            s = pss_kib(i["pid"])
            per_vm.append(g + o + s)
            guest.append(g)
            own.append(o)
            supervisor.append(s)
            inodes.add(ino)
        n = len(insts)
        saved_ram = sum(memfd_kib(d.proc.pid, ino) for ino in inodes if ino is not None)
        results["microvm_daemon"] = {
            "accel": accel(), "runs": RUNS, "boot_runs": BOOT_RUNS,
            "restore_p50_ms": percentile(vm_cold, 50), "restore_p99_ms": percentile(vm_cold, 99),
            "boot_p50_ms": percentile(booted, 50), "boot_p99_ms": percentile(booted, 99),
            "ns_p50_ms": percentile(ns_cold, 50), "ns_p99_ms": percentile(ns_cold, 99),
            "py_p50_ms": percentile(vm_py, 50), "py_p99_ms": percentile(vm_py, 99),
            "ns_py_p50_ms": percentile(ns_py, 50), "ns_py_p99_ms": percentile(ns_py, 99),
            "warm": warm, "idle_n": n,
            "idle_pss_mib": (sum(per_vm) + saved_ram) / max(n, 1) / 1024,
            "idle_guest_mib": sum(guest) / max(n, 1) / 1024, "saved_ram_mib": saved_ram / 1024,
            "idle_qemu_own_mib": sum(own) / max(n, 1) / 1024,
            "idle_supervisor_mib": sum(supervisor) / max(n, 1) / 1024,
            "samples_ms": {"restore": vm_cold, "namespace": ns_cold, "boot": booted, "python": vm_py,
                           "namespace_python": ns_py}}
    finally:
        d.stop()
        d.cleanup()


def rows(results, line):
    m = results.get("microvm_daemon")
    if not m:
        return []
    a, w = m["accel"], m["warm"]
    return [
        line(f"microvm cold p50 ms node ({a})", m["restore_p50_ms"], m["ns_p50_ms"],
             m["restore_p50_ms"] / m["ns_p50_ms"], ".0f",
             f"   (reference: the namespace backend's cold start, same function, reuse false; {m['runs']} each)"),
        line(f"microvm cold p99 ms node ({a})", m["restore_p99_ms"], m["ns_p99_ms"],
             m["restore_p99_ms"] / m["ns_p99_ms"], ".0f"),
        line(f"microvm cold p50 ms python ({a})", m["py_p50_ms"], m["ns_py_p50_ms"],
             m["py_p50_ms"] / m["ns_py_p50_ms"], ".0f", "   (Python pre-started in the saved VM)"),
        line(f"microvm cold p99 ms python ({a})", m["py_p99_ms"], m["ns_py_p99_ms"],
             m["py_p99_ms"] / m["ns_py_p99_ms"], ".0f"),
        line(f"microvm restore/boot p50 ({a})", m["restore_p50_ms"], m["boot_p50_ms"],
             m["restore_p50_ms"] / m["boot_p50_ms"], ".0f",
             f"   (ms; reference: a boot, the saved VM removed first, {m['boot_runs']} runs; "
             f"p99 {m['restore_p99_ms']:.0f} vs {m['boot_p99_ms']:.0f})"),
        line(f"microvm warm c1 req/s ({a})", w["microvm"]["rps"], w["namespace"]["rps"],
             w["microvm"]["rps"] / w["namespace"]["rps"], ".0f",
             f"   (reference: namespace; added p50 {w['microvm']['p50_ms'] - w['namespace']['p50_ms']:+.2f} ms)"),
        line(f"microvm idle PSS MiB/VM ({a})", m["idle_pss_mib"], None, None, ".1f",
             f"   (N={m['idle_n']}: guest RAM touched {m['idle_guest_mib']:.1f}, QEMU's own {m['idle_qemu_own_mib']:.1f}, "
             f"supervisor {m['idle_supervisor_mib']:.1f}, 1/N of the saved RAM the daemon holds "
             f"({m.get('saved_ram_mib', 0):.1f} MiB); {LITERATURE})"),
    ]
