"""Scale-up: the time from the invoke to the response for a call that needs a
further instance of a Python function whose instances are all busy, when the
instance is cloned from the function's zygote (src/pool/zygotes.c) against the
same for a function the zygote cannot serve (its env sets PYTHONWARNINGS,
read only as an interpreter starts), whose further instances start the
ordinary way: a new sandbox and a new interpreter. Both include the scale-up
delay (`--scale-delay`, 2 ms) a call waits for a busy instance first.

Each function starts with one instance held busy by a call that sleeps; for
each sample, once every instance is busy, one call with no sleep is timed (it
starts an instance), then another holding call takes that instance. The first
scale-up of the zygote's function waits for its zygote to start and is not
counted. Deleting the functions ends the holding calls."""
import threading
import time

from load import percentile

HOLD_S = 120
CODE = ("import time\n\ndef handler(event, context):\n    time.sleep(event.get('hold', 0))\n"
        "    return {'statusCode': 200, 'body': 'Hello from Impuls!'}\n")


def all_busy(daemon, name, n):
    """Waits until the function has n instances, every one running a call."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = [i["state"] for i in daemon.instances(name)]
        if len(states) == n and all(s == "busy" for s in states):
            return
        time.sleep(0.002)
    raise RuntimeError(f"{name}: {n} busy instances not reached: {states}")


def starts(daemon, name, env, runs, skip_first):
    """`runs` timed scale-ups of `name` (ms), and how many were zygote-made."""
    daemon.create(name=name, runtime="python311", handler="main.handler", code=CODE, env=env,
                  concurrency=runs + 2, timeout_s=HOLD_S + 10)
    holders = []

    def hold():
        t = threading.Thread(target=lambda: daemon.invoke(name, {"hold": HOLD_S}, timeout=HOLD_S + 30), daemon=True)
        t.start()
        holders.append(t)

    xs = []
    try:
        hold()
        n = 1
        for i in range(runs + (1 if skip_first else 0)):
            all_busy(daemon, name, n)
            t = time.perf_counter()
            r = daemon.invoke(name, {})
            ms = (time.perf_counter() - t) * 1000
            if r.status != 200:
                raise RuntimeError(f"{name}: {r}")
            if i > 0 or not skip_first:
                xs.append(ms)
            n += 1
            hold()  # takes the instance that call started
        cloned = sum(bool(i.get("zygote")) for i in daemon.instances(name))
    finally:
        daemon.request("DELETE", f"/api/v1/functions/{name}")
        for t in holders:
            t.join(timeout=30)
    return xs, cloned


def run(daemon, runs, results):
    zygote, cloned = starts(daemon, "scaleup-zygote", {}, runs, skip_first=True)
    plain, plain_cloned = starts(daemon, "scaleup-plain", {"PYTHONWARNINGS": "default"}, runs, skip_first=False)
    results["scaleup_python"] = {
        "zygote_p50_ms": percentile(zygote, 50), "zygote_p99_ms": percentile(zygote, 99),
        "plain_p50_ms": percentile(plain, 50), "plain_p99_ms": percentile(plain, 99),
        "ratio_p50": percentile(zygote, 50) / percentile(plain, 50), "runs": runs,
        "zygote_made": cloned, "plain_zygote_made": plain_cloned,
        "samples_ms": {"zygote": [round(x, 3) for x in zygote], "plain": [round(x, 3) for x in plain]}}
