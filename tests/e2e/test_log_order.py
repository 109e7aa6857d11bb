"""A function's log keeps each call's output between its START and END lines
(docs/runtimes.md, "Logs"), with many calls at once. The daemon reads the
instance's log pipe as a call ends because epoll may report the runtime's
answer before its pipe (an earlier form of this test, without that read,
failed in 3 of 20 runs). The log's lines are gathered per loop turn and
written together (src/pool/fn_log.c): these tests also check that nothing is
lost or reordered by that, for writes larger than what is gathered, and that
a call that ends while the daemon stops has all its lines in the file."""
import os
import re
import threading
import time

from conftest import Daemon, log_tail

LINES = 40
# Then 40 lines more in one write of 14 KB: more than the 8 KiB gathered per
# function, so written at once, after what was gathered before it. (Each
# line is shorter than the 4 KiB a line is held whole up to.)
PAD = 300

NODE = f"""exports.handler = async (event, context) => {{
  const id = context.awsRequestId;
  for (let i = 0; i < {LINES}; i++) console.log(id + ' line ' + i);
  console.log(Array.from({{length: {LINES}}}, (_, i) => id + ' block ' + i + ' ' + 'x'.repeat({PAD})).join('\\n'));
  return 'ok';
}};
"""

PYTHON = f"""def handler(event, context):
    rid = context.aws_request_id
    for i in range({LINES}):
        print(rid + ' line ' + str(i))
    print('\\n'.join(rid + ' block ' + str(i) + ' ' + 'x' * {PAD} for i in range({LINES})))
    return 'ok'
"""


def call_many(daemon, name, threads=4, each=6):
    rids, errors = [], []
    lock = threading.Lock()

    def run():
        for _ in range(each):
            r = daemon.invoke(name)
            with lock:
                if r.status == 200 and r.json() == "ok":
                    rids.append(r.headers["X-Impuls-Request-Id"])
                else:
                    errors.append((r.status, r.text))

    ts = [threading.Thread(target=run) for _ in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert errors == []
    return rids


def assert_in_order(log, rids):
    lines = log.splitlines()
    for rid in rids:
        start = lines.index(f"START RequestId: {rid} Version: $LATEST")
        end = lines.index(f"END RequestId: {rid}")
        assert lines[end + 1].startswith(f"REPORT RequestId: {rid}\t"), lines[end + 1]
        own = [n for n, line in enumerate(lines) if line.startswith(rid + " ")]
        assert [lines[n] for n in own] == [f"{rid} line {i}" for i in range(LINES)] + \
            [f"{rid} block {i} " + "x" * PAD for i in range(LINES)]
        assert start < own[0] and own[-1] < end, (rid, start, own[0], own[-1], end)


def test_concurrent_calls_keep_their_output_between_start_and_end(daemon):
    for name, runtime, handler, code in (("n", "nodejs20", "index.handler", NODE),
                                         ("p", "python311", "main.handler", PYTHON)):
        daemon.create(name=name, runtime=runtime, handler=handler, code=code, concurrency=4)
        rids = call_many(daemon, name)
        assert len(rids) == 24
        r = daemon.request("GET", f"/api/v1/functions/{name}/logs?tail=10000")
        assert r.status == 200
        assert_in_order(r.text, rids)
        # What the logs API answered is the file, every byte of it.
        with open(os.path.join(daemon.data_dir, "logs", f"{name}.log")) as f:
            assert f.read().endswith(r.text)


def test_a_call_that_ends_as_the_daemon_stops_has_its_lines_in_the_file():
    d = Daemon().start()
    try:
        d.create(name="s", runtime="python311", handler="main.handler",
                        code="import time\n\ndef handler(e, c):\n    print('before ' + c.aws_request_id)\n"
                             "    time.sleep(1)\n    print('after ' + c.aws_request_id)\n    return 'ok'\n")
        got = {}
        t = threading.Thread(target=lambda: got.setdefault("r", d.invoke("s")))
        t.start()
        # Stopped while the call runs: the daemon lets it finish, then exits.
        deadline = time.monotonic() + 30
        while [i["state"] for i in d.instances("s")] != ["busy"]:
            assert time.monotonic() < deadline, d.instances("s")
            time.sleep(0.02)
        assert d.stop() == 0
        assert d.leftovers() == []
        t.join()
        r = got["r"]
        assert (r.status, r.json()) == (200, "ok")
        rid = r.headers["X-Impuls-Request-Id"]
        with open(os.path.join(d.data_dir, "logs", "s.log")) as f:
            log = f.read()
        assert re.search(rf"START RequestId: {rid} Version: \$LATEST\nbefore {rid}\nafter {rid}\n"
                         rf"END RequestId: {rid}\nREPORT RequestId: {rid}\t", log), log
    finally:
        d.cleanup()


def test_init_output_comes_before_the_first_start(daemon):
    # A cold call: its event waits for the instance, whose init prints first.
    for name, runtime, handler, code in (
            ("in", "nodejs20", "index.handler",
             "for (let i = 0; i < 20; i++) console.log('init ' + i);\nexports.handler = async () => 'ok';\n"),
            ("ip", "python311", "main.handler",
             "for i in range(20):\n    print('init ' + str(i))\n\ndef handler(e, c):\n    return 'ok'\n")):
        daemon.create(name=name, runtime=runtime, handler=handler, code=code)
        r = daemon.invoke(name, headers={"X-Impuls-Log-Type": "Tail"})
        assert (r.status, r.json()) == (200, "ok")
        rid = r.headers["X-Impuls-Request-Id"]
        assert "init" not in log_tail(r)
        log = daemon.request("GET", f"/api/v1/functions/{name}/logs").text
        assert log.startswith("".join(f"init {i}\n" for i in range(20)) + f"START RequestId: {rid} "), log
