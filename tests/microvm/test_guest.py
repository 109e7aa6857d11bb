"""The microVM guest (scripts/microvm-guest.sh, guest/init.c) on QEMU's
microvm machine: Debian's kernel boots with our init, which loads the virtio
modules, finds the virtio-serial port the host named, starts the runtime
(/var/task/bootstrap, from an initramfs part appended here) and carries its
connections to 127.0.0.1:9001 over the port in src/sandbox/vm_channel.h's
frames. The host side here is this test, serving the Runtime API to an
unchanged custom runtime (bench/ref/bootstrap.c, static). The VM powers off
when the runtime exits or the host goes away. Software emulation (TCG)
here; the same with KVM where /dev/kvm is usable. No timing is asserted:
deadlines only bound a wait."""
import json
import os
import shutil
import socket
import struct
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

    def __init__(self, task_files):
        self.tmp = tempfile.mkdtemp(prefix="impuls-microvm-test-")
        initrd = os.path.join(self.tmp, "initrd")
        with open(initrd, "wb") as out:  # the kernel unpacks concatenated archives in order
            with open(os.path.join(OUT, "initramfs.cpio.gz"), "rb") as base:
                first = base.read()
            out.write(first + b"\0" * (-len(first) % 4))  # each archive starts 4-byte aligned
            out.write(cpio(task_files))
        self.sock_path = os.path.join(self.tmp, "channel.sock")
        self.console = os.path.join(self.tmp, "console.log")
        self.proc = subprocess.Popen([
            "qemu-system-x86_64", "-M", "microvm", "-accel", accel(), "-cpu", "max", "-m", "256", "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-sandbox", "on",
            "-kernel", os.path.join(OUT, "vmlinuz"), "-initrd", initrd,
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

    def frame(self):
        """(type, stream, payload) of the next frame from the guest."""
        head = self.read(8)
        kind, zero, stream, length = struct.unpack("<cBHI", head)
        assert zero == 0 and length <= 64 << 10, head
        return kind.decode(), stream, self.read(length)

    def read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, f"the channel closed: {self.console_text()}"
            data += chunk
        return data

    def send_frame(self, kind, stream, payload=b""):
        self.sock.sendall(struct.pack("<cBHI", kind.encode(), 0, stream, len(payload)) + payload)

    def console_text(self):
        with open(self.console, errors="replace") as f:
            return f.read()

    def wait(self):
        return self.proc.wait(timeout=BOOT_DEADLINE)

    def close(self):
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def cpio(files):
    """A newc archive of {path: (bytes, mode)} (directories made as needed)."""
    out, dirs = b"", set()

    def entry(name, mode, data=b""):
        nonlocal out
        name_b = name.encode() + b"\0"
        out += b"070701" + b"".join(b"%08X" % v for v in (
            0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0)) + name_b
        out += b"\0" * (-len(out) % 4) + data
        out += b"\0" * (-len(out) % 4)
    for path, (data, mode) in files.items():
        parts = path.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entry(d, 0o040755)
        entry(path, 0o100000 | mode, data)
    entry("TRAILER!!!", 0)
    return out


@pytest.fixture(scope="module")
def bench_bootstrap(tmp_path_factory):
    """The benchmark's custom runtime, built static: an unchanged Runtime API client."""
    out = tmp_path_factory.mktemp("bootstrap") / "bootstrap"
    subprocess.run(["cc", "-O2", "-static", "-o", str(out), os.path.join(ROOT, "bench", "ref", "bootstrap.c")],
                   check=True, capture_output=True, timeout=120)
    return out.read_bytes()


@pytest.fixture
def vms(guest):
    made = []

    def start(task_files):
        made.append(VM(task_files))
        return made[-1]
    yield start
    for v in made:
        v.close()
        assert not os.path.exists(v.tmp)
    assert subprocess.run(["pgrep", "-f", "impuls-microvm-test-"], capture_output=True).stdout == b""


class RuntimeApi:
    """The daemon's side of the channel, as far as this test needs: each
    stream an HTTP/1.1 connection to a Runtime API handing out `events`."""

    def __init__(self, vm, events):
        self.vm, self.events, self.results, self.buf = vm, list(events), [], {}

    def serve(self):
        """Until every event is answered; returns the streams seen."""
        streams = set()
        while len(self.results) < len(self.events) or not self.events:
            kind, stream, payload = self.vm.frame()
            if kind == "O":
                streams.add(stream)
                self.buf[stream] = b""
            elif kind == "D":
                self.buf[stream] += payload
                while self.request(stream):
                    pass
            elif kind == "C":
                self.buf.pop(stream, None)
        return streams

    def request(self, stream):
        buf = self.buf[stream]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = buf[:end].decode()
        length = int(next((l.split(":")[1] for l in head.split("\r\n") if l.lower().startswith("content-length")), 0))
        if len(buf) < end + 4 + length:
            return False
        body, self.buf[stream] = buf[end + 4:end + 4 + length], buf[end + 4 + length:]
        method, path = head.split(" ")[:2]
        if method == "GET" and path.endswith("/invocation/next"):
            n = len(self.results)
            event = json.dumps(self.events[n]).encode()
            self.answer(stream, 200, event, f"Lambda-Runtime-Aws-Request-Id: req-{n}\r\n"
                                            "Lambda-Runtime-Deadline-Ms: 9999999999999\r\n")
        elif method == "POST" and path.endswith(f"/invocation/req-{len(self.results)}/response"):
            self.results.append(body)
            self.answer(stream, 202, b'{"status":"OK"}')  # no Impuls-Next here: the runtime asks with a GET
        else:
            raise AssertionError(f"unexpected request {head!r}")
        return True

    def answer(self, stream, status, body, extra=""):
        self.vm.send_frame("D", stream, f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
                           + body)


HELLO = b'{"statusCode":200,"body":"Hello from Impuls!"}'


def test_an_unchanged_custom_runtime_is_served_over_the_channel(vms, bench_bootstrap):
    vm = vms({"var/task/bootstrap": (bench_bootstrap, 0o755)})
    api = RuntimeApi(vm, [{"n": 1}, {"n": 2}, {"n": 3}])
    streams = api.serve()
    assert api.results == [HELLO] * 3
    assert len(streams) >= 1
    vm.sock.close()  # the host goes away: the instance is over
    assert vm.wait() == 0
    assert "impuls-guest: the instance is over: powering off" in vm.console_text()


def test_the_vm_powers_off_when_the_runtime_exits(vms):
    # A runtime that is not there: init says why, and the instance ends.
    vm = vms({"var/task/README": (b"no bootstrap\n", 0o644)})
    assert vm.wait() == 0
    console = vm.console_text()
    assert "impuls-guest: /var/task/bootstrap: No such file or directory" in console
    assert "impuls-guest: the runtime ended (status 32512)" in console


def test_a_malformed_frame_from_the_host_ends_the_instance(vms, bench_bootstrap):
    vm = vms({"var/task/bootstrap": (bench_bootstrap, 0o755)})
    kind, stream, _ = vm.frame()
    assert kind == "O"
    vm.sock.sendall(b"X" * 8)
    assert vm.wait() == 0
    assert "impuls-guest: a malformed frame from the host" in vm.console_text()


def test_the_guest_init_refuses_to_run_as_an_ordinary_program(guest):
    r = subprocess.run([os.path.join(OUT, "init")], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stderr) == (2, "impuls-guest: the microVM's init, not a program to run\n")
