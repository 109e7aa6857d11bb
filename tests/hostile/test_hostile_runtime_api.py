"""A function that speaks to its own Runtime API behind its runtime's back,
using Impuls's `Impuls-Next` extension (docs/runtimes.md): it answers its own
call on a second connection with an empty body, so that post is parked as
the instance's next `/next`, then writes garbage on that connection. The
daemon must stay up, answer the call once, and give the next call a working
instance."""
from hostile import assert_healthy, deploy, observe, wait_for

SNEAK = r'''import os, socket, time
held = []

def handler(event, context):
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    s = socket.create_connection((host, int(port)))
    held.append(s)
    s.sendall(("POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\n"
               "Impuls-Next: 1\r\nContent-Length: 0\r\n\r\n" % context.aws_request_id).encode())
    time.sleep(0.3)
    s.sendall(b"\x00\xffnot HTTP at all\r\n\r\n" * 64)
    time.sleep(0.3)
    return {"statusCode": 200, "body": "from the handler"}
'''


def malformed(r):
    assert r.status == 502, r
    assert r.json() == {"errorType": "Runtime.MalformedResult", "errorMessage": "the function's response is not valid JSON",
                        "stackTrace": [], "requestId": r.headers["X-Impuls-Request-Id"]}
    return True


def test_a_sneaked_impuls_next_post_with_garbage_behind_it_harms_nothing(daemon):
    daemon.create(name="sneak", runtime="python311", handler="main.handler", code=SNEAK)
    # The sneaked post answered the call first, with an empty body: not JSON.
    assert malformed(daemon.invoke("sneak", {}))
    assert_healthy(daemon)
    # The runtime's own post came too late (400), its GET /next found the
    # sneaked post parked (403): it exits, and the next call gets a new instance.
    assert wait_for(lambda: daemon.instances("sneak") == [], timeout=10)
    assert malformed(daemon.invoke("sneak", {}))
    assert_healthy(daemon)


def test_the_same_on_a_single_use_instance(daemon):
    daemon.create(name="sneak", runtime="python311", handler="main.handler", code=SNEAK, reuse=False)
    for _ in range(2):
        assert malformed(daemon.invoke("sneak", {}))
        assert wait_for(lambda: daemon.instances("sneak") == [], timeout=10)
    assert_healthy(daemon)


def test_its_unix_socket_cannot_be_replaced_and_answers_as_tcp_does(daemon):
    # /run/impuls-runtime-api.sock (docs/runtimes.md, "The Unix socket"): on a
    # tmpfs only the sandbox's init writes to; the runtime's uid may connect.
    deploy(daemon)
    observe(daemon, "whoami")
    before = [i["id"] for i in daemon.instances("probe")]
    assert len(before) == 1
    assert observe(daemon, "rapi_socket_tamper") == {
        "unlink": "EACCES", "rename": "EACCES", "chmod": "EPERM", "create": "EACCES", "bind": "EACCES",
        "mode": "0o666", "second_next": [403, "InvalidStateTransition"]}
    assert observe(daemon, "whoami")["pid"] == 2
    assert [i["id"] for i in daemon.instances("probe")] == before  # the same instance still reaches its Runtime API
    assert_healthy(daemon)
