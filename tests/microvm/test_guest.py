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
import os
import subprocess
import time

import pytest

from microvm_helpers import OUT, ROOT, VM, RuntimeApi, build_guest, cpio


@pytest.fixture(scope="module")
def guest():
    return build_guest()


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

    def start(task_files, **kw):
        made.append(VM(task_files, **kw))
        return made[-1]
    yield start
    for v in made:
        v.close()
        assert not os.path.exists(v.tmp)
    assert subprocess.run(["pgrep", "-f", "impuls-microvm-test-"], capture_output=True).stdout == b""


HELLO = b'{"statusCode":200,"body":"Hello from Impuls!"}'


def test_an_unchanged_custom_runtime_is_served_over_the_channel(vms, bench_bootstrap):
    vm = vms({"var/task/bootstrap": (bench_bootstrap, 0o755)})
    api = RuntimeApi(vm, [{"n": 1}, {"n": 2}, {"n": 3}])
    api.serve()
    assert api.results == [HELLO] * 3
    assert len(api.streams) >= 1
    vm.sock.close()  # the host goes away: the instance is over
    assert vm.wait() == 0
    assert "impuls-guest: the instance is over: powering off" in vm.console_text()


def test_the_vm_powers_off_when_the_runtime_exits(vms):
    # Code without a bootstrap: init says why, and the instance ends.
    vm = vms({})
    vm.wait_for_claim_point()
    vm.claim({}, {"README": (b"no bootstrap\n", 0o644)})
    # Its report to the host (vm_channel.h): the wait status, exit 127, and
    # no OOM kill.
    assert vm.frame() == ("D", 0, b"status=32512 oom_kills=0\n")
    assert vm.wait() == 0
    console = vm.console_text()
    assert "impuls-guest: /var/task/bootstrap: No such file or directory" in console
    assert "impuls-guest: the runtime ended (status=32512 oom_kills=0)" in console


def test_a_malformed_frame_from_the_host_ends_the_instance(vms, bench_bootstrap):
    vm = vms({"var/task/bootstrap": (bench_bootstrap, 0o755)})
    kind, stream, _ = vm.frame()
    assert kind == "O"
    vm.sock.sendall(b"X" * 8)
    assert vm.wait() == 0
    assert "impuls-guest: a malformed frame from the host" in vm.console_text()


def test_a_vm_saved_while_its_runtime_waits_is_restored_and_serves(vms, bench_bootstrap, tmp_path):
    # The generic VM of the snapshot design: boot, let the runtime ask for
    # its first event, save; each restore then answers that pending GET.
    first = vms({"var/task/bootstrap": (bench_bootstrap, 0o755)})
    stream = RuntimeApi(first, []).wait_for_next()
    snapshot = str(tmp_path / "vm.state")
    first.save(snapshot)
    first.close()
    for _ in range(2):
        vm = vms({"var/task/bootstrap": (bench_bootstrap, 0o755)}, incoming=snapshot)
        vm.resume_restored()
        api = RuntimeApi(vm, [{"n": 1}, {"n": 2}])
        api.streams.add(stream)
        api.buf[stream] = b""
        api.hand_event(stream)  # the GET the saved runtime is waiting on
        api.serve()
        assert api.results == [HELLO] * 2


# A runtime that shows what it was given (on the console: the guest's
# stdout), then becomes the benchmark's runtime.
PROBE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
    char cwd[256];
    printf("probe: MINE=%s uid=%d cwd=%s\n", getenv("MINE"), (int)getuid(), getcwd(cwd, sizeof cwd));
    fflush(stdout);
    char *argv[] = {"./lib/real-bootstrap", NULL};
    execv(argv[0], argv);
    return 127;
}
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    (d / "probe.c").write_text(PROBE)
    subprocess.run(["cc", "-O2", "-static", "-o", str(d / "probe"), str(d / "probe.c")], check=True,
                   capture_output=True, timeout=120)
    return (d / "probe").read_bytes()


def claimed_code(probe, bench_bootstrap):
    return {"bootstrap": (probe, 0o755), "lib/real-bootstrap": (bench_bootstrap, 0o755), "notes.txt": (b"x", 0o644)}


def test_a_guest_without_code_waits_for_its_claim_and_runs_it(vms, probe, bench_bootstrap):
    vm = vms({})
    vm.wait_for_claim_point()
    vm.claim({"MINE": "first"}, claimed_code(probe, bench_bootstrap))
    api = RuntimeApi(vm, [{"n": 1}, {"n": 2}])
    api.serve()
    assert api.results == [HELLO] * 2
    assert "probe: MINE=first uid=1000 cwd=/var/task" in vm.console_text()


def test_one_saved_generic_vm_becomes_different_functions(vms, probe, bench_bootstrap, tmp_path):
    # The snapshot design: boot once with no function, save at the claim
    # point; each restore is claimed by a function of its own.
    first = vms({})
    first.wait_for_claim_point()
    snapshot = str(tmp_path / "generic.state")
    first.save(snapshot)
    first.close()
    for mine in ("one", "two"):
        vm = vms({}, incoming=snapshot)
        vm.resume_restored()
        vm.claim({"MINE": mine}, claimed_code(probe, bench_bootstrap))
        api = RuntimeApi(vm, [{"n": 1}])
        api.serve()
        assert api.results == [HELLO]
        assert f"probe: MINE={mine} uid=1000 cwd=/var/task" in vm.console_text()


# (The archive names each directory on the way: the first bad entry is one.)
@pytest.mark.parametrize("files,why", [
    ({"../escape": (b"x", 0o644)}, "the code names a path outside /var/task: .."),
    ({"a/./b": (b"x", 0o644)}, "the code names a path outside /var/task: a/."),
])
def test_a_claim_that_would_write_outside_the_task_dir_ends_the_instance(vms, files, why):
    vm = vms({})
    vm.wait_for_claim_point()
    vm.claim({}, files, answer_clock=False)  # (refused: the guest asks for no clock)
    assert vm.wait() == 0
    assert f"impuls-guest: the claim: {why}" in vm.console_text()


@pytest.mark.parametrize("data,why", [
    (b"", "a claim without code"),
    (b"soon\0\0\0", "a malformed clock in the claim"),
    (b"123 zz\0\0\0", "a malformed seed in the claim"),
    (b"123 abc\0\0\0", "a malformed seed in the claim"),
    (b"soon\n10.201.0.1 10.201.0.0\n\0\0\0", "a malformed clock in the claim"),
    (b"\0NO_EQUALS_SIGN\0\0", "a malformed environment in the claim"),
    (b"\0\0", "a claim without code"),
    (b"\0\0\0not an archive", "the code is not a newc archive (at byte 0)"),
    (b"\0\0\0" + b"070701" + b"0" * 104, "a truncated archive entry (at byte 0)"),
])
def test_a_malformed_claim_ends_the_instance_with_the_reason(vms, data, why):
    vm = vms({})
    vm.wait_for_claim_point()
    vm.claim_raw(data, answer_clock=False)
    assert vm.wait() == 0
    assert f"impuls-guest: the claim: {why}" in vm.console_text()


def test_a_malformed_network_in_the_claim_ends_the_instance(vms):
    """The network after the clock (guest/claim.h) is set up before the
    runtime starts: a line that is not two addresses stops the VM."""
    vm = vms({})
    vm.wait_for_claim_point()
    vm.claim_raw(b"%d\nnot-an-address 10.201.0.0\nnameserver 10.0.0.1\n\0\0\0" % time.time_ns() + cpio({}))
    assert vm.wait() == 0
    assert "impuls-guest: the claim's network: Invalid argument" in vm.console_text()


def test_the_guest_init_refuses_to_run_as_an_ordinary_program(guest):
    r = subprocess.run([os.path.join(OUT, "init")], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stderr) == (2, "impuls-guest: the microVM's init, not a program to run\n")
