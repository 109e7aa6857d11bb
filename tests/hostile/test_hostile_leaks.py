"""What a hostile function could pick up from the daemon or from other
functions: inherited file descriptors, the daemon's environment, another
function's /tmp, /dev/shm or System V IPC objects."""
import pytest

from conftest import checked_daemon
from hostile import assert_healthy, deploy, observe

PLATFORM_ENV = {
    "PATH", "LANG", "TZ", "HOME", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_HANDLER",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV", "AWS_REGION",
    "AWS_DEFAULT_REGION", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "AWS_LAMBDA_RUNTIME_API",
    "_X_AMZN_TRACE_ID",  # set per call from Lambda-Runtime-Trace-Id, as on Lambda
    "IMPULS_RUNTIME_API_SOCKET",  # the Runtime API's Unix socket (docs/runtimes.md)
}


def test_only_stdio_and_its_own_runtime_connection_are_open(daemon):
    deploy(daemon)
    r = observe(daemon, "fds_info")
    fds = r["fds"]
    # 0 is /dev/null, 1 and 2 the one log pipe, 3 the bootstrap's own connection
    # to the Runtime API: nothing of the daemon's (its sockets, its log files).
    assert sorted(fds) == ["0", "1", "2", "3"], fds
    assert (fds["0"], fds["1"], fds["2"], r["same_pipe"]) == ("/dev/null", "pipe", "pipe", True)
    assert fds["3"].startswith("tcp 127.0.0.1:") and fds["3"].endswith(" -> 127.0.0.1:9001"), fds
    assert_healthy(daemon)


@pytest.fixture
def secret_daemon(monkeypatch):
    """A daemon whose own environment holds a secret (checked like the daemon fixture)."""
    monkeypatch.setenv("IMPULS_SECRET_PROBE", "x-secret-value")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x-host-credential")
    yield from checked_daemon()


def test_daemon_environment_is_not_inherited(secret_daemon):
    d = secret_daemon
    deploy(d, env={"MY_VAR": "mine"})
    env = observe(d, "environ")
    assert "IMPULS_SECRET_PROBE" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert not any("x-secret-value" in v or "x-host-credential" in v for v in env.values())
    assert set(env) == PLATFORM_ENV | {"MY_VAR"}
    assert env["MY_VAR"] == "mine"
    assert_healthy(d)


def test_tmp_and_dev_shm_are_never_shared(daemon):
    deploy(daemon, name="a")
    deploy(daemon, name="b")
    # Both /tmp and the (tiny) /dev/shm are writable and private to the instance.
    assert observe(daemon, "tmp", fn="a", write="a's secret") == {
        "tmp": [], "shm": [], "tmp_write": "ok", "shm_write": "ok"}
    assert observe(daemon, "read", fn="a", path="/tmp/secret") == "ok 10"
    assert observe(daemon, "tmp", fn="b") == {"tmp": [], "shm": []}
    assert observe(daemon, "read", fn="b", path="/tmp/secret") == "ENOENT"
    # A new instance of the same function starts with an empty /tmp as well.
    daemon.request("PUT", "/api/v1/functions/a", {"timeout_s": 5})
    assert observe(daemon, "tmp", fn="a") == {"tmp": [], "shm": []}
    assert_healthy(daemon)


def test_sysv_ipc_is_never_shared(daemon):
    deploy(daemon, name="a")
    deploy(daemon, name="b")
    assert observe(daemon, "sysv_shm", fn="a", key=0x1badb002, create=True) == "ok"
    assert observe(daemon, "sysv_shm", fn="a", key=0x1badb002) == "ok"
    assert observe(daemon, "sysv_shm", fn="b", key=0x1badb002) == "ENOENT"  # its own IPC namespace
    assert_healthy(daemon)
