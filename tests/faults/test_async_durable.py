"""Accepted Event invocations survive the daemon's death: each is kept in
the store from before its 202 until it succeeded (store/events.h), so a
daemon killed with -9 at any moment runs every accepted event after its
restart, at least once, under the same request id; twice only when it was
killed after the event's run and before its row went."""
import collections
import os
import random
import re
import threading
import time

from conftest import Daemon

L = "/2015-03-31/functions"
# print writes its values one by one to the unbuffered pipe; the daemon
# writes each instance's output to the function's one log in whole lines,
# so that concurrent instances' lines stay whole.
CODE = '''
import time

def handler(event, context):
    print("ran", context.aws_request_id, event["i"])
    time.sleep(event["sleep"])
    return event["i"]
'''


def ran(d):
    """How often each request id ran, from the function's log file (kept
    across restarts; the logs route shows at most its last 10000 lines)."""
    text = ""
    for name in ("ev.log.1", "ev.log"):  # rotated at 8 MiB
        path = os.path.join(d.data_dir, "logs", name)
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                text += f.read()
    return collections.Counter(re.findall(r"^ran ([0-9a-f-]{36}) ", text, re.M))


def wait_until(cond, seconds, what):
    """cond() until true, bounded by time; what() says what did not happen."""
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, what()
        time.sleep(0.1)


def test_every_accepted_event_runs_after_kills_at_any_moment():
    d = Daemon(extra_args=["--prewarm", "0"])
    d.start()
    accepted = {}
    try:
        d.create(name="ev", runtime="python311", handler="main.handler", code=CODE, concurrency=4)
        for round in range(6):
            stop = threading.Event()

            def post():
                i = 0
                while not stop.is_set():
                    try:
                        r = d.request("POST", f"{L}/ev/invocations", {"i": i, "sleep": random.choice([0, 0.05, 0.2])},
                                      {"X-Amz-Invocation-Type": "Event"}, timeout=5)
                    except OSError:  # the daemon died under the request: not accepted
                        return
                    if r.status == 202:
                        accepted[r.headers["X-Amzn-RequestId"]] = i
                    i += 1
                    time.sleep(0.005)

            poster = threading.Thread(target=post)
            poster.start()
            time.sleep(random.uniform(0.2, 0.8))
            d.kill()  # at any moment: mid-insert, mid-run, between a run and its row's removal
            stop.set()
            poster.join()
            d.start()
            # Each round's kill interrupts an event at most once: the events
            # it left run before the next kill.
            wait_until(lambda: set(accepted) <= set(ran(d)) and d.request("GET", "/healthz").json()["inflight"] == 0,
                       60, lambda: f"round {round}: accepted events did not run after the restart: "
                                   f"{len(set(accepted) - set(ran(d)))} of {len(accepted)} never ran; "
                                   f"{d.request('GET', '/healthz').json()}\n{d.read_log()[-3000:]}")
        counts = ran(d)
        assert len(accepted) > 20, len(accepted)
        assert set(accepted) <= set(counts)
        assert max(counts[i] for i in accepted) <= 2, [(i, counts[i]) for i in accepted if counts[i] > 2]
        # None runs again once its success is kept: a quiet restart runs nothing.
        assert d.stop() == 0
        d.start()
        time.sleep(1)
        assert ran(d) == counts
        assert "resuming" not in d.read_log().split("impuls listening")[-1]
    finally:
        d.stop()
        assert d.leftovers() == []
        d.cleanup()
