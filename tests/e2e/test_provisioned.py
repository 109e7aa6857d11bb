"""Provisioned concurrency (docs/api.md, "Provisioned concurrency"): a
published version or an alias keeps N instances initialized, never reaped
for being idle, replaced when one dies, within the version's concurrency;
IN_PROGRESS until they are there, then READY; through the REST API and
awscli; kept across a restart."""
import os
import signal
import time

import pytest

from conftest import running_daemon
from lambda_helpers import arn, aws, aws_error, aws_ok

CODE = "def handler(event, context):\n    return {'v': %d}\n"


def make_p(d, concurrency=3):
    r = d.request("POST", "/api/v1/functions", {"name": "p", "runtime": "python3.11", "handler": "index.handler",
                                                "code": CODE % 1, "idle_timeout_s": 1, "concurrency": concurrency})
    assert r.status == 201, r
    assert d.request("POST", "/api/v1/functions/p/publish", b"").status == 201
    assert d.request("PUT", "/api/v1/functions/p", {"code": CODE % 2}).status == 200
    assert d.request("POST", "/api/v1/functions/p/aliases", {"name": "live", "version": 1}).status == 201


def live(d):
    return [i for i in d.instances("p") if i["state"] != "dying"]


def wait_ready(d, qualifier, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        got = d.request("GET", f"/api/v1/functions/p/provisioned/{qualifier}").json()
        if got["status"] == "READY":
            return got
        assert time.monotonic() < deadline, got
        time.sleep(0.05)


def test_provisioned_instances_are_kept_and_replaced():
    with running_daemon(["--prewarm", "0"]) as d:
        make_p(d)
        r = d.request("PUT", "/api/v1/functions/p/provisioned/live", {"instances": 2})
        assert r.status == 200, r
        assert (r.json()["qualifier"], r.json()["version"], r.json()["requested"]) == ("live", 1, 2)
        assert r.json()["status"] in ("IN_PROGRESS", "READY")
        got = wait_ready(d, "live")
        assert (got["available"], got["status"], "status_reason" in got) == (2, "READY", False)
        kept = sorted(i["id"] for i in live(d))
        assert len(kept) == 2 and all(i["version"] == 1 for i in live(d))
        time.sleep(2.5)  # beyond idle_timeout_s: not reaped
        assert sorted(i["id"] for i in live(d)) == kept
        r = d.request("POST", "/api/v1/functions/p/invoke?qualifier=live", {})
        assert (r.status, r.json(), r.headers["X-Amz-Executed-Version"]) == (200, {"v": 1}, "1")
        assert sorted(i["id"] for i in live(d)) == kept  # a provisioned one took it
        # One killed: replaced.
        os.kill(live(d)[0]["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len([i for i in live(d) if i["state"] == "idle"]) < 2 or sorted(i["id"] for i in live(d)) == kept:
            assert time.monotonic() < deadline, live(d)
            time.sleep(0.05)
        assert wait_ready(d, "live")["available"] == 2
        # An update of $LATEST leaves them alone; $LATEST's own instance is reaped when idle.
        assert d.request("PUT", "/api/v1/functions/p", {"code": CODE % 3}).status == 200
        assert len(live(d)) == 2
        listed = d.request("GET", "/api/v1/functions/p/provisioned").json()["provisioned"]
        assert [(x["qualifier"], x["requested"]) for x in listed] == [("live", 2)]
        # Removed: they go as idle instances do.
        assert d.request("DELETE", "/api/v1/functions/p/provisioned/live").status == 204
        deadline = time.monotonic() + 30
        while live(d):
            assert time.monotonic() < deadline, live(d)
            time.sleep(0.1)


def test_provisioned_instances_come_back_after_a_restart():
    with running_daemon(["--prewarm", "0"]) as d:
        make_p(d)
        assert d.request("PUT", "/api/v1/functions/p/provisioned/1", {"instances": 1}).status == 200
        wait_ready(d, "1")
        d.stop()
        d.start()
        assert wait_ready(d, "1")["available"] == 1
        assert [i["version"] for i in live(d)] == [1]


@pytest.mark.parametrize("qualifier, body, status, message", [
    ("live", {"instances": 0}, 400, 'the body is {"instances": N}, N from 1 to 1000'),
    ("live", {"instances": 1001}, 400, 'the body is {"instances": N}, N from 1 to 1000'),
    ("live", {"instances": "2"}, 400, 'the body is {"instances": N}, N from 1 to 1000'),
    ("live", {"instances": 2, "x": 1}, 400, 'the body is {"instances": N}, N from 1 to 1000'),
    ("live", {"instances": 4}, 400, "provisioned concurrency (4 for version 1) may not exceed its concurrency (3)"),
    ("$LATEST", {"instances": 1}, 400,
     "Provisioned Concurrency Configs cannot be applied to unpublished function versions."),
    ("latest", {"instances": 1}, 400,
     "Provisioned Concurrency Configs cannot be applied to unpublished function versions."),
    ("2", {"instances": 1}, 404, "function 'p' has no version or alias '2'"),
    ("nope", {"instances": 1}, 404, "function 'p' has no version or alias 'nope'"),
])
def test_bad_provisioned_configs_are_refused(daemon, qualifier, body, status, message):
    make_p(daemon)
    assert daemon.request("POST", "/api/v1/functions/p/aliases", {"name": "latest", "version": "$LATEST"}).status == 201
    r = daemon.request("PUT", f"/api/v1/functions/p/provisioned/{qualifier.replace('$', '%24')}", body)
    assert (r.status, r.json()["errorMessage"]) == (status, message), r
    assert daemon.request("GET", "/api/v1/functions/p/provisioned").json()["provisioned"] == []


def test_provisioned_counts_against_the_version_s_concurrency_with_its_aliases(daemon):
    make_p(daemon)
    assert daemon.request("PUT", "/api/v1/functions/p/provisioned/1", {"instances": 2}).status == 200
    r = daemon.request("PUT", "/api/v1/functions/p/provisioned/live", {"instances": 2})
    assert (r.status, r.json()["errorMessage"]) == (
        400, "provisioned concurrency (4 for version 1) may not exceed its concurrency (3)")
    assert daemon.request("PUT", "/api/v1/functions/p/provisioned/live", {"instances": 1}).status == 200
    r = daemon.request("GET", "/api/v1/functions/p/provisioned/nothing-here")
    assert r.status == 404


@pytest.mark.once  # awscli's own start is most of its time: the same under ASan
def test_provisioned_concurrency_through_awscli(daemon):
    make_p(daemon)
    rc, out, err = aws(daemon, "put-provisioned-concurrency-config", "--function-name", "p", "--qualifier", "live",
                       "--provisioned-concurrent-executions", "1")
    assert (rc, err) == (0, ""), err
    assert (out["RequestedProvisionedConcurrentExecutions"], out["Status"] in ("IN_PROGRESS", "READY")) == (1, True)
    deadline = time.monotonic() + 30
    while True:
        got = aws_ok(daemon, "get-provisioned-concurrency-config", "--function-name", "p", "--qualifier", "live")
        if got["Status"] == "READY":
            break
        assert time.monotonic() < deadline, got
        time.sleep(0.1)
    assert (got["AvailableProvisionedConcurrentExecutions"], got["AllocatedProvisionedConcurrentExecutions"]) == (1, 1)
    listed = aws_ok(daemon, "list-provisioned-concurrency-configs", "--function-name", "p")
    assert [c["FunctionArn"] for c in listed["ProvisionedConcurrencyConfigs"]] == [arn("p") + ":live"]
    rc, out, err = aws(daemon, "put-provisioned-concurrency-config", "--function-name", "p", "--qualifier",
                       "$LATEST", "--provisioned-concurrent-executions", "1")
    assert (rc, err) == (254, aws_error("PutProvisionedConcurrencyConfig", "InvalidParameterValueException",
                                        "Provisioned Concurrency Configs cannot be applied to unpublished function "
                                        "versions."))
    assert aws(daemon, "delete-provisioned-concurrency-config", "--function-name", "p", "--qualifier", "live")[:2] == (
        0, "")
    rc, out, err = aws(daemon, "get-provisioned-concurrency-config", "--function-name", "p", "--qualifier", "live")
    assert (rc, err) == (254, aws_error("GetProvisionedConcurrencyConfig",
                                        "ProvisionedConcurrencyConfigNotFoundException",
                                        "No Provisioned Concurrency Config found for this function"))


def test_provisioned_instances_keep_within_max_instances_and_are_not_evicted():
    with running_daemon(["--prewarm", "0", "--max-instances", "2"]) as d:
        make_p(d)
        r = d.request("PUT", "/api/v1/functions/p/provisioned/1", {"instances": 3})
        assert (r.status, r.json()["errorMessage"]) == (
            400, "provisioned instances of every function (3) may not exceed the daemon's --max-instances (2)")
        assert d.request("PUT", "/api/v1/functions/p/provisioned/1", {"instances": 2}).status == 200
        wait_ready(d, "1")
        r = d.request("POST", "/api/v1/functions", {"name": "other", "runtime": "python3.11",
                                                    "handler": "index.handler", "code": CODE % 9})
        assert r.status == 201, r
        r = d.invoke("other", {})  # no room: the provisioned idle ones are not stopped for it
        assert (r.status, r.json()["errorType"]) == (429, "TooManyRequestsException"), r
        assert wait_ready(d, "1")["available"] == 2
