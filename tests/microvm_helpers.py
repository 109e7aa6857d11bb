"""QEMU microvm VMs of the microVM guest (scripts/microvm-guest.sh), for
tests/microvm and bench/microvm.py: the QEMU command line, the task's
archive appended to the guest's initramfs, and the channel's frames
(src/sandbox/vm_channel.h) on the host's side of the virtio-serial port."""
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "build", "microvm")
DEADLINE = 300  # s: a boot under TCG on a slow, loaded machine


def build_guest():
    """build/microvm/ (cached); returns the guest kernel's release."""
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


def write_initrd(path, task_files):
    """The guest's initramfs with the task's archive after it: the kernel
    unpacks concatenated archives in order, each 4-byte aligned."""
    with open(os.path.join(OUT, "initramfs.cpio.gz"), "rb") as f:
        base = f.read()
    with open(path, "wb") as out:
        out.write(base + b"\0" * (-len(base) % 4) + cpio(task_files))


def connect_unix(path, proc, deadline=30):
    end = time.monotonic() + deadline
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if proc.poll() is not None:
                raise RuntimeError(f"QEMU exited with {proc.returncode}: {proc.stdout.read()!r}")
            if time.monotonic() > end:
                raise RuntimeError(f"QEMU made no socket {path}")
            time.sleep(0.005)


class VM:
    """One QEMU microvm with the guest, the task's files in its initramfs, a
    virtio-serial port "impuls.0" on a Unix socket (the channel) and QMP on
    another; its console in a file. incoming: a snapshot to restore."""

    def __init__(self, task_files=None, initrd=None, incoming=None, memory_mb=256, extra_args=()):
        """task_files: what the guest finds at /var/task ({} for none: it then
        waits for a claim). incoming "defer": restored by migrate_incoming."""
        self.tmp = tempfile.mkdtemp(prefix="impuls-microvm-test-")
        if initrd is None:
            initrd = os.path.join(self.tmp, "initrd")
            write_initrd(initrd, task_files)
        self.console = os.path.join(self.tmp, "console.log")
        chan, qmp = os.path.join(self.tmp, "channel.sock"), os.path.join(self.tmp, "qmp.sock")
        self.proc = subprocess.Popen([
            "qemu-system-x86_64", "-M", "microvm", "-accel", accel(), "-cpu", "max", "-m", str(memory_mb),
            "-smp", "1", "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-sandbox", "on",
            "-kernel", os.path.join(OUT, "vmlinuz"), "-initrd", initrd,
            "-append", f"console=ttyS0 panic=-1 quiet tsc_early_khz={host_tsc_khz()}",
            "-serial", f"file:{self.console}",
            "-device", "virtio-serial-device",
            "-chardev", f"socket,id=ch0,path={chan},server=on,wait=off",
            "-device", "virtserialport,chardev=ch0,name=impuls.0",
            "-qmp", f"unix:{qmp},server=on,wait=off",
            *extra_args,
            *(["-incoming", "defer" if incoming == "defer" else f"exec:cat {incoming}"] if incoming else [])],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.sock = connect_unix(chan, self.proc)
        self.sock.settimeout(DEADLINE)
        self.qmp_sock = connect_unix(qmp, self.proc)
        self.qmp_sock.settimeout(DEADLINE)
        self.qmp_file = self.qmp_sock.makefile("rb")
        self.qmp_file.readline()  # the greeting
        self.qmp("qmp_capabilities")

    def qmp(self, command, **arguments):
        self.qmp_sock.sendall(json.dumps({"execute": command, **({"arguments": arguments} if arguments else {})})
                              .encode() + b"\n")
        while True:
            m = json.loads(self.qmp_file.readline())
            if "error" in m:
                raise RuntimeError(f"QMP {command}: {m['error']}")
            if "return" in m:
                return m["return"]

    def save(self, path):
        """Stops the VM and writes its whole state to path (QEMU's migration)."""
        self.qmp("stop")
        self.qmp("migrate", uri=f"exec:cat > {path}")
        while True:
            status = self.qmp("query-migrate").get("status")
            if status == "completed":
                return
            if status == "failed":
                raise RuntimeError("the snapshot failed")
            time.sleep(0.01)

    def resume_restored(self):
        """After -incoming: once the state is in, run."""
        while self.qmp("query-status")["status"] == "inmigrate":
            time.sleep(0.005)
        self.qmp("cont")

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
            if not chunk:
                raise EOFError(f"the channel closed: {self.console_text()}")
            data += chunk
        return data

    def send_frame(self, kind, stream, payload=b""):
        self.sock.sendall(struct.pack("<cBHI", kind.encode(), 0, stream, len(payload)) + payload)

    def wait_for_claim_point(self):
        """Until a guest with no code says it waits for its claim (an OPEN of
        stream 0): the point a generic VM is saved at."""
        kind, stream, payload = self.frame()
        assert (kind, stream) == ("O", 0), (kind, stream, payload, self.console_text())

    def claim(self, env, files, argv=(), answer_clock=True):
        """Makes a waiting guest an instance: the host's clock, the
        environment, the command (none: /var/task/bootstrap) and the code
        (guest/claim.h) on stream 0, then its CLOSE."""
        self.claim_raw(b"%d\0" % time.time_ns() + b"".join(f"{k}={v}".encode() + b"\0" for k, v in env.items()) + b"\0" +
                       b"".join(a.encode() + b"\0" for a in argv) + b"\0" + cpio(files), answer_clock)

    def claim_raw(self, data, answer_clock=True):
        """Sends a claim; then answers the guest's ask for the clock (vm_channel.h)."""
        for i in range(0, len(data), 64 << 10):
            self.send_frame("D", 0, data[i:i + (64 << 10)])
        self.send_frame("C", 0)
        if answer_clock:
            assert self.frame() == ("D", 0, b"clock?\n")
            self.send_frame("D", 0, b"%d" % time.time_ns())

    def console_text(self):
        with open(self.console, errors="replace") as f:
            return f.read()

    def wait(self):
        return self.proc.wait(timeout=DEADLINE)

    def close(self):
        self.qmp_file.close()
        self.qmp_sock.close()
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class RuntimeApi:
    """The daemon's side of the channel, as far as a test needs: each stream
    an HTTP/1.1 connection to a Runtime API handing out `events` and taking
    their results (202 to a result: the runtime then asks with a GET)."""

    def __init__(self, vm, events):
        self.vm, self.events, self.results, self.buf, self.streams = vm, list(events), [], {}, set()
        self.memory_peaks = []

    def serve(self):
        """Until every event has its result."""
        while len(self.results) < len(self.events):
            if self.take_frame() is not None:
                while self.request(self.stream):
                    pass

    def wait_for_next(self):
        """Until the runtime's GET of its next event is in (left unanswered):
        where a VM with this function's runtime waiting is saved. Its stream."""
        while True:
            if self.take_frame() is not None and b"\r\n\r\n" in self.buf[self.stream]:
                return self.stream

    def take_frame(self):
        """One frame from the guest into the streams' buffers; the payload of
        a DATA frame (its stream in self.stream), else None."""
        kind, self.stream, payload = self.vm.frame()
        if (kind, self.stream) == ("D", 0):  # the guest's own word: its runtime's memory before a result
            assert payload.startswith(b"memory_peak="), payload
            self.memory_peaks.append(int(payload[12:]))
            return None
        if kind == "O":
            self.streams.add(self.stream)
            self.buf[self.stream] = b""
        elif kind == "C":
            self.buf.pop(self.stream, None)
        else:
            self.buf[self.stream] += payload
            return payload
        return None

    def request(self, stream):
        buf = self.buf[stream]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = buf[:end].decode()
        length = int(next((line.split(":")[1] for line in head.split("\r\n")
                           if line.lower().startswith("content-length")), 0))
        if len(buf) < end + 4 + length:
            return False
        body, self.buf[stream] = buf[end + 4:end + 4 + length], buf[end + 4 + length:]
        method, path = head.split(" ")[:2]
        if method == "GET" and path.endswith("/invocation/next"):
            self.hand_event(stream)
        elif method == "POST" and path.endswith(f"/invocation/req-{len(self.results)}/response"):
            self.results.append(body)
            self.answer(stream, 202, b'{"status":"OK"}')
        else:
            raise AssertionError(f"unexpected request {head!r}")
        return True

    def hand_event(self, stream):
        n = len(self.results)
        self.answer(stream, 200, json.dumps(self.events[n]).encode(),
                    f"Lambda-Runtime-Aws-Request-Id: req-{n}\r\nLambda-Runtime-Deadline-Ms: 9999999999999\r\n")

    def answer(self, stream, status, body, extra=""):
        self.vm.send_frame("D", stream, f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
                           + body)
