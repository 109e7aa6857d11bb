"""The scale-up delay (--scale-delay, docs/operations.md): a call that finds
every instance of its function busy waits up to the delay for one of them
before a new instance is started; instances are then added one per delay.
With no instance running, or a delay of 0, an instance starts at once."""
import os
import threading
import time

import pytest

from conftest import checked_daemon

SLEEPER = "import time\n\ndef handler(event, context):\n    time.sleep(event['s'])\n    return event['s']\n"


def slow_daemon(delay_ms, *extra):
    for d in checked_daemon(["--scale-delay", str(delay_ms), "--prewarm", "0", *extra]):
        d.create(name="sleeper", runtime="python311", handler="main.handler", code=SLEEPER, concurrency=4)
        assert d.invoke("sleeper", {"s": 0}).status == 200  # one warm instance
        yield d


@pytest.fixture
def long_delay():
    yield from slow_daemon(1000)


@pytest.fixture
def no_delay():
    yield from slow_daemon(0)


@pytest.fixture
def short_delay():
    yield from slow_daemon(100)


def overlapping(d, first_s, second_s):
    """Calls with first_s, then (while it runs) second_s; returns the
    seconds the second took and the instance count after both."""
    results = {}

    def first():
        results["first"] = d.invoke("sleeper", {"s": first_s})

    t = threading.Thread(target=first)
    t.start()
    time.sleep(0.1)  # the first call holds the one instance
    start = time.monotonic()
    r = d.invoke("sleeper", {"s": second_s})
    took = time.monotonic() - start
    t.join()
    assert (results["first"].status, results["first"].text) == (200, str(first_s))
    assert (r.status, r.text) == (200, str(second_s))
    return took, len(d.instances("sleeper"))


def test_a_call_waits_for_a_busy_instance_that_comes_back_within_the_delay(long_delay):
    took, instances = overlapping(long_delay, 0.4, 0)
    assert instances == 1  # no instance was started for it
    assert 0.2 <= took < 1.0  # it waited for the first call (~0.3 s left), not for the delay


def test_after_the_delay_a_new_instance_takes_the_call(long_delay):
    took, instances = overlapping(long_delay, 5, 0)
    assert instances == 2
    assert 0.9 <= took < 4.0  # the delay (1 s) and a cold start, not the 4.9 s left of the first call


def test_calls_that_keep_waiting_get_one_more_instance_per_delay(short_delay):
    d = short_delay
    busy = threading.Thread(target=lambda: d.invoke("sleeper", {"s": 4}))
    busy.start()
    time.sleep(0.1)
    took = {}

    def call(k):
        start = time.monotonic()
        r = d.invoke("sleeper", {"s": 1.5})
        took[k] = (r.status, time.monotonic() - start)

    waiting = [threading.Thread(target=call, args=(k,)) for k in range(3)]
    for t in waiting:
        t.start()
    for t in waiting + [busy]:
        t.join()
    # Three instances added, ~0.1 s apart: none of the three calls waited for
    # another's 1.5 s (nor for the 4 s one), so each took its own 1.5 s, the
    # delays and a cold start.
    assert sorted(took) == [0, 1, 2]
    assert all(status == 200 and s < 3.2 for status, s in took.values()), took
    assert len(d.instances("sleeper")) == 4


def test_a_delay_of_zero_starts_an_instance_at_once(no_delay):
    took, instances = overlapping(no_delay, 0.6, 0)
    assert instances == 2
    assert took < 0.45


def test_the_delay_must_be_a_number_of_milliseconds_up_to_1000(tmp_path):
    import subprocess
    from impuls_daemon import BIN
    for bad in ("-1", "1001", "x", ""):
        r = subprocess.run([BIN, "serve", "--scale-delay", bad, "--data-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=10)
        assert (r.returncode, r.stderr) == (2, "impuls: --scale-delay takes milliseconds from 0 to 1000\n")


# While the machine's CPU is saturated (--saturated-wait, docs/operations.md
# "Scaling up"), a call that finds its function's instances busy waits up to
# the saturated wait for one of them, not the scale-up delay: an instance
# more would run no call sooner on saturated cores.

def cpu_busy_share(seconds):
    """The busy share over `seconds` of the CPUs this process (and the daemon
    it starts) may run on, from /proc/stat's per-CPU lines (as the daemon reads it)."""
    cpus = os.sched_getaffinity(0)

    def reading():
        busy = total = 0
        with open("/proc/stat") as f:
            for line in f:
                name, *fields = line.split()
                if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                    v = [int(x) for x in fields[:8]]
                    busy, total = busy + sum(v) - v[3] - v[4], total + sum(v)
        return busy, total
    b0, t0 = reading()
    time.sleep(seconds)
    b1, t1 = reading()
    return (b1 - b0) / (t1 - t0)


def cpu_pressure_share(seconds):
    """The share of `seconds` in which some task of the machine waited for a
    CPU (/proc/pressure/cpu, as the daemon reads it), or 0 without PSI."""
    def total():
        try:
            with open("/proc/pressure/cpu") as f:
                return int(f.readline().split("total=")[1])
        except OSError:
            return None
    t0 = total()
    time.sleep(seconds)
    t1 = total()
    return 0 if t0 is None or t1 is None else (t1 - t0) / 1e6 / seconds


@pytest.fixture
def saturated():
    """Every CPU the daemon may run on busy with a nice-19 spinner (the daemon
    and the test still get the CPU they ask for first)."""
    import subprocess
    n = len(os.sched_getaffinity(0))
    hogs = [subprocess.Popen(["nice", "-n", "19", "sh", "-c", "while :; do :; done"]) for _ in range(n)]
    try:
        share = cpu_busy_share(0.5)
        assert share >= 0.97, f"{n} spinners kept the CPUs only {share:.2f} busy: the test needs them full"
        yield
    finally:
        for h in hogs:
            h.kill()
            h.wait()


@pytest.fixture
def long_saturated_wait():
    yield from slow_daemon(2, "--saturated-wait", "3000")


@pytest.fixture
def no_saturated_wait():
    yield from slow_daemon(2, "--saturated-wait", "0")


def test_on_saturated_cpus_a_call_waits_for_a_busy_instance(long_saturated_wait, saturated):
    took, instances = overlapping(long_saturated_wait, 0.6, 0)
    assert instances == 1  # no instance was started for it, though the scale-up delay is 2 ms
    assert 0.3 <= took < 3.0  # it waited for the first call (~0.5 s left), not for the saturated wait


def test_a_saturated_wait_of_zero_scales_as_before(no_saturated_wait, saturated):
    took, instances = overlapping(no_saturated_wait, 0.6, 0)
    assert instances == 2


def test_without_saturation_the_scale_up_delay_alone_counts(long_saturated_wait):
    # (the machine is not saturated by something else: neither measure)
    assert cpu_busy_share(0.5) < 0.9 and cpu_pressure_share(0.5) < 0.2
    took, instances = overlapping(long_saturated_wait, 0.6, 0)
    assert instances == 2


def test_the_saturated_wait_must_be_a_number_of_milliseconds_up_to_10000(tmp_path):
    import subprocess
    from impuls_daemon import BIN
    for bad in ("-1", "10001", "x", ""):
        r = subprocess.run([BIN, "serve", "--saturated-wait", bad, "--data-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=10)
        assert (r.returncode, r.stderr) == (2, "impuls: --saturated-wait takes milliseconds from 0 to 10000\n")
