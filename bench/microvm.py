"""The microVM guest's cold start (issue 15; no daemon backend yet): a VM of
the guest running the benchmark's custom runtime (bench/ref/bootstrap.c,
static), from QEMU's start to the first event's result over the channel,
by booting the kernel with the code in its initramfs vs by restoring a
generic VM (saved once, booted with no function, waiting for its claim) and
claiming it with the code and environment over the channel (QEMU's
migration to a file; guest/claim.h; tests/microvm_helpers.py).
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
LITERATURE = "Firecracker, published: ~125 ms boot to init with KVM; snapshot restore some ms (not measured here)"


def first_call(files, incoming=None):
    """ms from QEMU's start to the first result, and the VM (still open).
    incoming: a saved generic VM, claimed here with files."""
    t = time.perf_counter()
    vm = VM({} if incoming else {f"var/task/{k}": v for k, v in files.items()}, incoming=incoming)
    if incoming:
        vm.resume_restored()
        vm.claim({}, files)
    api = RuntimeApi(vm, [{}])
    api.serve()
    return (time.perf_counter() - t) * 1000, vm


def run(results):
    build_guest()
    tmp = tempfile.mkdtemp(prefix="impuls-bench-microvm-")
    try:
        boot = os.path.join(tmp, "bootstrap")
        subprocess.run(["cc", "-O2", "-static", "-o", boot, os.path.join(HERE, "ref", "bootstrap.c")],
                       check=True, capture_output=True, timeout=120)
        with open(boot, "rb") as f:
            files = {"bootstrap": (f.read(), 0o755)}
        saved = VM({})
        saved.wait_for_claim_point()
        state = os.path.join(tmp, "vm.state")
        t = time.perf_counter()
        saved.save(state)
        save_ms = (time.perf_counter() - t) * 1000
        saved.close()
        booted, restored = [], []
        for _ in range(RUNS):  # alternating: drift on the machine hits both
            for xs, kw in ((booted, {}), (restored, {"incoming": state})):
                ms, vm = first_call(files, **kw)
                xs.append(ms)
                vm.close()
        results["microvm"] = {
            "accel": accel(), "runs": RUNS, "save_ms": save_ms, "state_mib": os.path.getsize(state) / 2**20,
            "boot_p50_ms": percentile(booted, 50), "boot_p99_ms": percentile(booted, 99),
            "restore_p50_ms": percentile(restored, 50), "restore_p99_ms": percentile(restored, 99)}
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
    ]
