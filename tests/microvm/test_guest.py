"""The microVM guest (scripts/microvm-guest.sh, guest/init.c) on QEMU's
microvm machine: Debian's kernel boots with our init, which loads the virtio
modules, finds the virtio-serial port the host named and serves it; the
VM powers off when the host says so or goes away. Software emulation (TCG)
here; the same with KVM where /dev/kvm is usable. No timing is asserted:
deadlines only bound a wait."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "build", "microvm")
BOOT_DEADLINE = 300  # TCG on a slow, loaded machine


@pytest.fixture(scope="module")
def guest():
    subprocess.run(["sh", os.path.join(ROOT, "scripts", "microvm-guest.sh")], check=True, timeout=900)
    with open(os.path.join(OUT, "release")) as f:
        return f.read().strip()


def host_tsc_khz():
    """The guest's TSC is the host's under TCG (and KVM): telling the kernel
    its rate spares it calibrating against the emulated PIT, which fails
    when the host is busy (then the boot hangs before init)."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return int(float(line.split(":")[1]) * 1000)
    raise RuntimeError("no cpu MHz in /proc/cpuinfo")


def accel():
    return "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"


class VM:
    """One QEMU microvm with the guest and a virtio-serial port "impuls.0"
    on a Unix socket; its console in a file."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="impuls-microvm-test-")
        self.sock_path = os.path.join(self.tmp, "channel.sock")
        self.console = os.path.join(self.tmp, "console.log")
        self.proc = subprocess.Popen([
            "qemu-system-x86_64", "-M", "microvm", "-accel", accel(), "-cpu", "max", "-m", "256", "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-sandbox", "on",
            "-kernel", os.path.join(OUT, "vmlinuz"), "-initrd", os.path.join(OUT, "initramfs.cpio.gz"),
            "-append", f"console=ttyS0 panic=-1 quiet tsc_early_khz={host_tsc_khz()}",
            "-serial", f"file:{self.console}",
            "-device", "virtio-serial-device",
            "-chardev", f"socket,id=ch0,path={self.sock_path},server=on,wait=off",
            "-device", "virtserialport,chardev=ch0,name=impuls.0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(self.sock_path)
                break
            except OSError:
                self.sock.close()
                assert self.proc.poll() is None, self.proc.stdout.read()
                assert time.monotonic() < deadline, "QEMU made no channel socket"
                time.sleep(0.02)
        self.sock.settimeout(BOOT_DEADLINE)
        self.f = self.sock.makefile("rwb")

    def line(self):
        return self.f.readline().decode()

    def send(self, text):
        self.f.write(text.encode())
        self.f.flush()

    def console_text(self):
        with open(self.console, errors="replace") as f:
            return f.read()

    def wait(self):
        return self.proc.wait(timeout=BOOT_DEADLINE)

    def close(self):
        self.f.close()
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def vm(guest):
    v = VM()
    yield v
    v.close()
    assert not os.path.exists(v.tmp)


def test_the_guest_boots_loads_its_drivers_and_serves_the_channel(vm, guest):
    assert vm.line() == "ready\n", vm.console_text()
    vm.send("ping\nuid\nno such thing\n")
    assert [vm.line() for _ in range(3)] == [f"pong {guest}\n", "uid 0\n", "unknown no such thing\n"]
    vm.send("quit\n")
    assert vm.wait() == 0  # powered off: QEMU ends by itself
    assert "impuls-guest: the channel is closed: powering off" in vm.console_text()


def test_the_vm_powers_off_when_the_host_closes_the_channel(vm):
    assert vm.line() == "ready\n", vm.console_text()
    vm.send("pi")  # half a line, then the host goes away
    vm.f.close()
    vm.sock.close()
    assert vm.wait() == 0
    assert "impuls-guest: the channel is closed: powering off" in vm.console_text()


def test_the_guest_init_refuses_to_run_as_an_ordinary_program(guest):
    r = subprocess.run([os.path.join(OUT, "init")], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stderr) == (2, "impuls-guest: the microVM's init, not a program to run\n")
