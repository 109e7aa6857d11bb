"""The CLI's commands for versions, aliases, provisioned concurrency and
Event settings (docs/compat.md, "The CLI"): each prints what it did, a
table, or the daemon's refusal, with the exit codes of the other client
commands (0 done, 1 refused, 2 bad usage)."""
import re
import time

from cli_helpers import cli

CODE = "def handler(event, context):\n    return {'v': %d}\n"


def make(d, v=1):
    r = d.request("POST", "/api/v1/functions", {"name": "f", "runtime": "python3.11", "handler": "index.handler",
                                                "code": CODE % v})
    assert r.status == 201, r


def test_publish_versions_aliases_and_invoke_by_qualifier(daemon):
    make(daemon)
    assert cli(daemon, "publish", "f", "--description", "first") == (0, "published f version 1\n", "")
    assert cli(daemon, "publish", "f") == (0, "f version 1 was published already\n", "")
    assert daemon.request("PUT", "/api/v1/functions/f", {"code": CODE % 2}).status == 200
    assert cli(daemon, "publish", "f") == (0, "published f version 2\n", "")
    rc, out, err = cli(daemon, "versions", "f")
    assert rc == 0 and [l.split()[:2] for l in out.splitlines()] == [["VERSION", "PUBLISHED"], ["1", "yes"],
                                                                      ["2", "yes"]], out
    assert cli(daemon, "alias", "set", "f", "live", "2", "--routing", "1=0.25") == (
        0, "f:live -> version 2, 25% to version 1\n", "")
    # The routing stays when only the version changes: version 1 would be routed to itself.
    assert cli(daemon, "alias", "set", "f", "live", "1", "--description", "back") == (
        1, "", "impuls: an alias's second version must be another than its own (InvalidParameterValueException, "
               "HTTP 400)\n")
    rc, out, err = cli(daemon, "alias", "set", "f", "edge", "$LATEST")
    assert (rc, out, err) == (0, "f:edge -> version $LATEST\n", "")
    assert cli(daemon, "alias", "ls", "f")[1].splitlines() == ["f:edge -> version $LATEST",
                                                              "f:live -> version 2, 25% to version 1"]
    assert cli(daemon, "invoke", "f:1", "{}") == (0, '{"v": 1}\n', "")
    assert cli(daemon, "invoke", "f:edge") == (0, '{"v": 2}\n', "")
    rc, out, err = cli(daemon, "invoke", "f:nope")
    assert (rc, out, err) == (1, "", "impuls: function 'f' has no alias 'nope' (ResourceNotFoundException, HTTP 404)\n")
    rc, out, err = cli(daemon, "versions", "rm", "f", "1")
    assert (rc, err) == (1, "impuls: version 1 of 'f' is named by an alias: point the alias elsewhere or delete it "
                            "first (ResourceConflictException, HTTP 409)\n")
    assert cli(daemon, "alias", "rm", "f", "live") == (0, "removed alias f:live\n", "")
    assert cli(daemon, "versions", "rm", "f", "1") == (0, "deleted version 1 of f\n", "")
    assert cli(daemon, "invoke", "f:1")[0] == 1


def test_provision_event_config_and_dead_letters(daemon):
    make(daemon)
    assert cli(daemon, "publish", "f")[0] == 0
    rc, out, err = cli(daemon, "provision", "f", "1", "1")
    assert rc == 0 and re.fullmatch(r"f:1 \(version 1\): [01] of 1 ready, (IN_PROGRESS|READY)\n", out), out
    deadline = time.monotonic() + 30
    while "READY" not in cli(daemon, "provision", "ls", "f")[1]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert cli(daemon, "provision", "ls", "f") == (0, "f:1 (version 1): 1 of 1 ready, READY\n", "")
    assert cli(daemon, "provision", "rm", "f", "1") == (0, "no instances provisioned for f:1\n", "")
    assert cli(daemon, "event-config", "f") == (
        0, "f: 2 retries, events kept 21600 s, on success -, on failure -\n", "")
    assert cli(daemon, "event-config", "f", "--retries", "0", "--max-age", "60") == (
        0, "f: 0 retries, events kept 60 s, on success -, on failure -\n", "")
    assert cli(daemon, "event-config", "rm", "f") == (0, "f: Event settings back to the defaults\n", "")
    rc, out, err = cli(daemon, "dead-letters", "f")
    assert rc == 0 and out.splitlines()[-1] == "0 dropped (at most 1000 kept)"
    assert cli(daemon, "dead-letters", "rm", "f") == (0, "removed every dead letter of f\n", "")
    assert cli(daemon, "dead-letters", "replay", "f") == (0, "replayed 0 dead letter(s)\n", "")
    rc, out, err = cli(daemon, "invoke", "f", '{"bg": 1}', "--async")
    assert rc == 0 and err == "" and out.startswith("accepted ") and len(out.split()[1]) == 36, (out, err)
    assert cli(daemon, "concurrency", "f") == (0, "f: at most 10 calls at once\n", "")
    assert cli(daemon, "concurrency", "f", "0") == (0, "f: at most 0 calls at once\n", "")
    assert cli(daemon, "invoke", "f")[2] == ("impuls: the function's concurrency is 0: every call is throttled "
                                             "(TooManyRequestsException, HTTP 429)\n")
    assert cli(daemon, "concurrency", "rm", "f") == (0, "f: at most 10 calls at once\n", "")
    rc, out, err = cli(daemon, "dead-letters", "rm", "f", "nope")
    assert (rc, err) == (1, "impuls: function 'f' has no dead letter 'nope' (ResourceNotFoundException, HTTP 404)\n")


def test_bad_usage_is_exit_2_and_names_the_problem(daemon):
    for args, err in (
            (("publish",), "usage: impuls publish NAME"),
            (("publish", "f", "extra"), "usage: impuls publish NAME"),
            (("publish", "bad name"), "impuls: function name 'bad name' must match"),
            (("alias", "set", "f", "a"), "usage: impuls publish NAME"),
            (("alias", "set", "f", "a", "x"), "impuls: VERSION is a published version's number or $LATEST, not 'x'"),
            (("alias", "set", "f", "a", "1", "--routing", "1=2"), "impuls: --routing takes VERSION=WEIGHT"),
            (("provision", "f", "1", "0"), "impuls: N is a number of instances from 1 to 1000, not '0'"),
            (("event-config", "f", "--retries", "3"), "impuls: --retries takes 0, 1 or 2, not '3'"),
            (("event-config", "f", "--max-age", "59"), "impuls: --max-age takes seconds from 60 to 21600, not '59'"),
            (("versions", "f", "--routing", "1=0.5"), "usage: impuls publish NAME"),
            (("dead-letters", "replay", "f", "a", "b"), "usage: impuls publish NAME"),
            (("concurrency", "f", "1001"), "impuls: N is a number of calls from 0 to 1000, not '1001'"),
            (("concurrency", "f", "1", "2"), "usage: impuls publish NAME")):
        rc, out, e = cli(daemon, *args)
        assert (rc, out) == (2, "") and e.startswith(err), (args, e)
