"""The microVM guest's cold start (issue 15; no daemon backend yet): a VM of
the guest running the benchmark's custom runtime (bench/ref/bootstrap.c,
static), from QEMU's start to the first event's result over the channel,
by booting the kernel with the code in its initramfs vs by restoring a
generic VM (saved once, booted with no function, waiting for its claim) and
claiming it with the code and environment over the channel (QEMU's
migration to a file; guest/claim.h; tests/microvm_helpers.py); and that
restore as the daemon does it, with the saved RAM mapped private (a file
of the RAM, the devices' state saved with x-ignore-shared: operations.md,
"Shared guest RAM") vs the whole state read into the VM's own memory.
The accelerator (tcg or kvm) is named in the rows. Published Firecracker
figures are printed beside them as literature, not as a measurement."""
import os
import subprocess
import shutil
import tempfile
import time

from load import percentile
from microvm_helpers import VM, RuntimeApi, accel, build_guest

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = int(os.environ.get("BENCH_MICROVM_RUNS", "10"))
IDLE = 5  # VMs of each kind up at once, for their PSS
LITERATURE = "Firecracker, published: ~125 ms boot to init with KVM; snapshot restore some ms (not measured here)"


MEMORY_MB = 256
IGNORE_SHARED = [{"capability": "x-ignore-shared", "state": True}]


def ram_backend(path, share):
    return ["-object", f"memory-backend-file,id=ram,size={MEMORY_MB}M,mem-path={path},share={share}",
            "-machine", "memory-backend=ram"]


def first_call(files, incoming=None, shared_ram=None):
    """ms from QEMU's start to the first result, and the VM (still open).
    incoming: a saved generic VM, claimed here with files; shared_ram: the
    file of its RAM (then incoming holds only the devices)."""
    t = time.perf_counter()
    extra = ram_backend(shared_ram, "off") if shared_ram else ()
    vm = VM({} if incoming else {f"var/task/{k}": v for k, v in files.items()},
            incoming="defer" if shared_ram else incoming, memory_mb=MEMORY_MB, extra_args=extra)
    if shared_ram:
        vm.qmp("migrate-set-capabilities", capabilities=IGNORE_SHARED)
        vm.qmp("migrate-incoming", uri=f"exec:cat {incoming}")
    if incoming:
        vm.resume_restored()
        vm.claim({}, files)
    api = RuntimeApi(vm, [{}])
    api.serve()
    return (time.perf_counter() - t) * 1000, vm


def pss_mib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Pss:")) / 1024


def idle_pss(files, **kw):
    """Mean PSS (MiB) of IDLE VMs restored this way, up at once, each after its first call."""
    vms = []
    try:
        for _ in range(IDLE):
            vms.append(first_call(files, **kw)[1])
        return sum(pss_mib(vm.proc.pid) for vm in vms) / IDLE
    finally:
        for vm in vms:
            vm.close()


def run(results):
    build_guest()
    tmp = tempfile.mkdtemp(prefix="impuls-bench-microvm-")
    try:
        boot = os.path.join(tmp, "bootstrap")
        subprocess.run(["cc", "-O2", "-static", "-o", boot, os.path.join(HERE, "ref", "bootstrap.c")],
                       check=True, capture_output=True, timeout=120)
        with open(boot, "rb") as f:
            files = {"bootstrap": (f.read(), 0o755)}
        saved = VM({}, memory_mb=MEMORY_MB)
        saved.wait_for_claim_point()
        state = os.path.join(tmp, "vm.state")
        t = time.perf_counter()
        saved.save(state)
        save_ms = (time.perf_counter() - t) * 1000
        saved.close()
        ram, devices = os.path.join(tmp, "vm.ram"), os.path.join(tmp, "vm.devices")
        saved = VM({}, memory_mb=MEMORY_MB, extra_args=ram_backend(ram, "on"))
        saved.wait_for_claim_point()
        saved.qmp("migrate-set-capabilities", capabilities=IGNORE_SHARED)
        saved.save(devices)
        saved.close()
        booted, restored, shared = [], [], []
        for _ in range(RUNS):  # alternating: drift on the machine hits all
            for xs, kw in ((booted, {}), (restored, {"incoming": state}),
                           (shared, {"incoming": devices, "shared_ram": ram})):
                ms, vm = first_call(files, **kw)
                xs.append(ms)
                vm.close()
        pss_whole = idle_pss(files, incoming=state)
        pss_shared = idle_pss(files, incoming=devices, shared_ram=ram)
        results["microvm"] = {
            "pss_whole_mib": pss_whole, "pss_shared_mib": pss_shared,
            "accel": accel(), "runs": RUNS, "save_ms": save_ms, "state_mib": os.path.getsize(state) / 2**20,
            "devices_kib": os.path.getsize(devices) / 1024,
            "boot_p50_ms": percentile(booted, 50), "boot_p99_ms": percentile(booted, 99),
            "restore_p50_ms": percentile(restored, 50), "restore_p99_ms": percentile(restored, 99),
            "shared_p50_ms": percentile(shared, 50), "shared_p99_ms": percentile(shared, 99)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rows(results, line):
    m = results.get("microvm")
    if not m:
        return []
    return [
        line(f"microvm cold p50 ms restore+claim ({m['accel']})", m["restore_p50_ms"], m["boot_p50_ms"],
             m["restore_p50_ms"] / m["boot_p50_ms"], ".0f",
             f"   (reference: booting the guest with the code; {m['runs']} each, QEMU start to the first result)"),
        line(f"microvm cold p99 ms restore+claim ({m['accel']})", m["restore_p99_ms"], m["boot_p99_ms"],
             m["restore_p99_ms"] / m["boot_p99_ms"], ".0f",
             f"   (the generic VM's state: {m['state_mib']:.0f} MiB, written in {m['save_ms']:.0f} ms; {LITERATURE})"),
        *([line(f"microvm cold p50 ms shared RAM ({m['accel']})", m["shared_p50_ms"], m["restore_p50_ms"],
                m["shared_p50_ms"] / m["restore_p50_ms"], ".0f",
                f"   (restored with the saved RAM mapped private and {m['devices_kib']:.0f} KiB of devices' state; "
                f"reference: the whole state read, above)"),
           line(f"microvm cold p99 ms shared RAM ({m['accel']})", m["shared_p99_ms"], m["restore_p99_ms"],
                m["shared_p99_ms"] / m["restore_p99_ms"], ".0f"),
           line(f"microvm PSS MiB/VM shared RAM ({m['accel']})", m["pss_shared_mib"], m["pss_whole_mib"],
                m["pss_shared_mib"] / m["pss_whole_mib"], ".1f",
                f"   (QEMU's, {IDLE} VMs up at once after a call each; reference: the whole state read into each)")]
          if "shared_p50_ms" in m else []),
    ]
