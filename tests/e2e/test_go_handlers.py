"""Go handlers (runtime "go", also spelled "go1.x"): the runtime guide's
`func Handler(ctx, event)` as inline code or a zip of .go files, and programs
that call aws-lambda-go's `lambda.Start` themselves, built by the daemon in
its build sandbox (Debian's Go, no module proxy) against Impuls's own lambda
package (runtimes/go/aws-lambda-go). docs/runtimes.md, "Go"."""
import base64
import os
import threading

import pytest

from conftest import log_tail, running_daemon
from lambda_helpers import b64zip, zip_bytes

# The runtime guide's example, as written there (tabs are Go's own).
GUIDE = """package main

import (
    "context"
)

func Handler(ctx context.Context, event map[string]interface{}) (interface{}, error) {
    name := "World"
    if n, ok := event["name"].(string); ok {
        name = n
    }
    return map[string]string{
        "message": "Hello, " + name + "!",
    }, nil
}
"""

# aws-lambda-go's own style: main calls lambda.Start; typed events; the
# context's request id; errors and panics.
OWN_MAIN = """package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type Order struct {
	Item string `json:"item"`
	Qty  int    `json:"qty"`
}

type Receipt struct {
	Text      string `json:"text"`
	RequestID string `json:"request_id"`
	Function  string `json:"function"`
	Memory    int    `json:"memory"`
	Deadline  bool   `json:"deadline"`
}

func handle(ctx context.Context, o Order) (*Receipt, error) {
	switch o.Item {
	case "":
		return nil, errors.New("no item")
	case "bomb":
		var m map[string]int
		m["x"] = 1 // a nil map: panics
	}
	fmt.Println("ordering", o.Qty, o.Item)
	fmt.Fprintln(os.Stderr, "to stderr")
	lc, _ := lambdacontext.FromContext(ctx)
	_, has := ctx.Deadline()
	return &Receipt{Text: fmt.Sprintf("%d x %s", o.Qty, o.Item), RequestID: lc.AwsRequestID,
		Function: lambdacontext.FunctionName, Memory: lambdacontext.MemoryLimitInMB, Deadline: has}, nil
}

func main() {
	lambda.Start(handle)
}
"""


@pytest.fixture(scope="module")
def d():
    with running_daemon() as d:
        yield d


def build_dirs(d):
    root = os.path.join(d.data_dir, "build")
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_the_same_source_and_handler_is_built_once(d):
    # The build is kept by a key of runtime, handler and source: a second
    # function of the same code reuses it (no build dir of its own).
    d.create(name="first", runtime="go", code=GUIDE + "// shared\n")
    d.create(name="second", runtime="go", code=GUIDE + "// shared\n")
    assert "first" in build_dirs(d) and "second" not in build_dirs(d)
    assert d.request("GET", "/api/v1/functions/first").json()["code_sha256"] == \
        d.request("GET", "/api/v1/functions/second").json()["code_sha256"]
    assert d.invoke("second", {"name": "2"}).json() == {"message": "Hello, 2!"}


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_the_runtime_guides_handler_verbatim(d):
    f = d.create(name="guide", runtime="go", code=GUIDE)
    assert (f["runtime"], f["handler"], f["code_kind"]) == ("go", "Handler", "inline")
    assert d.invoke("guide", {"name": "Go"}).json() == {"message": "Hello, Go!"}
    assert d.invoke("guide", {}).json() == {"message": "Hello, World!"}
    r = d.request("GET", "/api/v1/runtimes")
    assert {"name": "go", "language": "go", "interpreter": None, "available": True} in r.json()["runtimes"]


@pytest.mark.once  # a Go build (some 9 s): the same under ASan
def test_a_compile_error_is_a_400_with_file_and_line_and_nothing_is_kept(d):
    before = sorted(os.listdir(os.path.join(d.data_dir, "tasks")))
    r = d.request("POST", "/api/v1/functions", {"name": "broken", "runtime": "go1.x",
                                                 "code": "package main\n\nfunc Handler() error {\n\treturn nope\n}\n"})
    assert r.status == 400, r.body
    assert r.json() == {"errorType": "InvalidParameterValueException",
                        "errorMessage": "the source does not build: go build failed (exit status 2)\n"
                                        "# function\n./main.go:4:9: undefined: nope\n"}
    assert d.request("GET", "/api/v1/functions/broken").status == 404
    assert sorted(os.listdir(os.path.join(d.data_dir, "tasks"))) == before
    assert "broken" not in build_dirs(d)


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_a_program_that_starts_itself_with_lambda_start(d):
    d.create(name="orders", runtime="go", code=OWN_MAIN, memory_mb=192)
    r = d.invoke("orders", {"item": "pen", "qty": 3}, headers={"X-Impuls-Log-Type": "Tail"})
    assert r.status == 200, r.body
    assert r.json() == {"text": "3 x pen", "request_id": r.headers["X-Impuls-Request-Id"], "function": "orders",
                        "memory": 192, "deadline": True}
    assert "ordering 3 pen\nto stderr\n" in log_tail(r)


@pytest.mark.once  # a Go build (some 12 s): the same under ASan
def test_an_error_and_a_panic_come_back_with_type_message_and_stack(d):
    d.create(name="failing", runtime="go", code=OWN_MAIN)
    r = d.invoke("failing", {"qty": 1})
    assert r.status == 500
    assert (r.json()["errorType"], r.json()["errorMessage"], r.json()["stackTrace"]) == \
        ("errorString", "no item", [])
    r = d.invoke("failing", {"item": "bomb"})
    assert r.status == 500
    e = r.json()
    assert (e["errorType"], e["errorMessage"]) == ("plainError", "assignment to entry in nil map")
    assert any("main.handle" in line for line in e["stackTrace"]), e["stackTrace"]
    # The instance lives on after a panic.
    assert d.invoke("failing", {"item": "cup", "qty": 2}).json()["text"] == "2 x cup"


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_a_zip_of_go_files_with_its_own_go_mod_and_another_handler_name(d):
    z = b64zip({"go.mod": "module example.com/shop\n\ngo 1.19\n",
                "greet.go": "package main\n\nimport \"strings\"\n\n"
                            "func Greet(e map[string]string) (string, error) { return shout(e[\"who\"]), nil }\n\n"
                            "func shout(s string) string { return strings.ToUpper(s) + \"!\" }\n",
                "other.go": "package main\n\nfunc Other() (int, error) { return 42, nil }\n"})
    f = d.create(name="shop", runtime="go", handler="Greet", zip=z)
    assert f["handler"] == "Greet"
    assert d.invoke("shop", {"who": "you"}).json() == "YOU!"
    # A new handler builds the stored source again.
    r = d.request("PUT", "/api/v1/functions/shop", {"handler": "Other"})
    assert (r.status, r.json()["version"]) == (200, 2)
    assert d.invoke("shop", {}).json() == 42


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_a_handler_of_a_shape_lambda_does_not_take_is_an_init_error(d):
    d.create(name="shape", runtime="go", code="package main\n\nfunc Handler(a, b, c int) {}\n")
    r = d.invoke("shape", {})
    assert r.status == 502
    assert (r.json()["errorType"], r.json()["errorMessage"]) == \
        ("Runtime.InvalidEntrypoint", "handlers may not take more than two arguments, but handler takes 3")


@pytest.mark.parametrize("spec,message", [
    ({"handler": "9lives"}, "handler '9lives': a Go function name (letters, digits and '_', not starting with a digit)"),
    ({"handler": "main.Handler"}, "handler 'main.Handler': a Go function name (letters, digits and '_', not starting "
                                  "with a digit)"),
    ({"mode": "http"}, "runtime 'go' builds handlers; an HTTP server in Go is a provided function (or impuls up "
                       "with a go.mod)"),
])
def test_bad_go_fields_are_refused(d, spec, message):
    r = d.request("POST", "/api/v1/functions", {"name": "badgo", "runtime": "go", "code": GUIDE, **spec})
    assert (r.status, r.json()["errorMessage"]) == (400, message)
    assert d.request("GET", "/api/v1/functions/badgo").status == 404


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_leaving_go_needs_the_code_again_and_delete_removes_the_build_dir(d):
    d.create(name="leaving", runtime="go", code=GUIDE + "// leaving\n")  # not built before: a build dir
    assert "leaving" in build_dirs(d)
    r = d.request("PUT", "/api/v1/functions/leaving", {"runtime": "python311"})
    assert (r.status, r.json()["errorMessage"]) == \
        (400, "give the code again (code or zip) when the runtime changes from go")
    r = d.request("PUT", "/api/v1/functions/leaving",
                  {"runtime": "python311", "handler": "main.handler", "code": "def handler(e, c):\n    return 'py'\n"})
    assert r.status == 200, r.body
    assert d.invoke("leaving").json() == "py"
    assert d.request("DELETE", "/api/v1/functions/leaving").status == 204
    assert "leaving" not in build_dirs(d)


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_other_requests_are_served_while_a_build_runs(d):
    # A build takes seconds (a cold compiler cache); the loop keeps serving:
    # health and another function's calls answer before the create does.
    d.create(name="quick", runtime="nodejs20", code="exports.handler = async () => 'quick'")
    done = []

    def create():
        done.append(d.request("POST", "/api/v1/functions",
                              {"name": "slowbuild", "runtime": "go", "code": GUIDE + "// a new build\n"}, timeout=300))
    t = threading.Thread(target=create)
    t.start()
    try:
        answered_during = 0
        for _ in range(20):
            if done:
                break
            assert d.request("GET", "/healthz").status == 200
            assert d.invoke("quick").json() == "quick"
            answered_during += 1 if not done else 0
    finally:
        t.join(300)
    assert done and done[0].status == 201, done
    assert answered_during > 0
    assert d.invoke("slowbuild", {"name": "again"}).json() == {"message": "Hello, again!"}


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_awscli_creates_and_invokes_a_go1x_function_from_a_zip_of_source(d, tmp_path):
    from lambda_helpers import aws_create, aws_invoke
    z = tmp_path / "go.zip"
    z.write_bytes(zip_bytes({"main.go": GUIDE}))
    f = aws_create(d, "gocli", "go1.x", "Handler", z)
    assert (f["Runtime"], f["Handler"], f["State"]) == ("go1.x", "Handler", "Active")
    meta, payload = aws_invoke(d, "gocli", '{"name": "awscli"}', tmp_path / "out.json")
    assert (meta["StatusCode"], payload) == (200, b'{"message":"Hello, awscli!"}')


@pytest.mark.parametrize("runtime", ["go", "nodejs20"])
def test_a_bad_zip_is_refused_the_same_way_for_go(d, runtime):
    r = d.request("POST", "/api/v1/functions", {"name": "badzip", "runtime": runtime,
                                                 "zip": base64.b64encode(b"PK\x03\x04 not really").decode()})
    assert r.status == 400
    assert r.json()["errorMessage"] == "zip is not a valid zip archive: Unrecognized archive format"
    assert d.request("GET", "/api/v1/functions/badzip").status == 404
    assert "badzip" not in build_dirs(d)


def test_a_zip_escaping_its_dir_is_refused_for_go(d):
    r = d.request("POST", "/api/v1/functions", {"name": "slip", "runtime": "go",
                                                 "zip": b64zip({"../evil.go": "package main\n"})})
    assert r.status == 400
    assert "evil" not in " ".join(os.listdir(os.path.join(d.data_dir, "build")))


@pytest.mark.once  # a Go build (some 15 s): the same under ASan
def test_an_oversized_result_is_a_clear_502(d):
    # As for Node and Python (docs/runtimes.md, the Runtime API's limits): 7 MiB
    # is refused by the Runtime API (413) and the instance goes on; 9 MiB is
    # over its body limit, refused by the HTTP layer with the connection
    # closed, and the runtime's call can never be answered: it exits.
    d.create(name="big", runtime="go", code=(
        "package main\n\nimport \"strings\"\n\n"
        "func Handler(e map[string]int) (string, error) { return strings.Repeat(\"x\", e[\"n\"]), nil }\n"))
    assert d.invoke("big", {"n": 3}).json() == "xxx"
    (inst,) = d.instances("big")
    r = d.invoke("big", {"n": 7 * 1024 * 1024})
    assert (r.status, r.json()["errorType"]) == (502, "Function.ResponseSizeTooLarge")
    assert d.invoke("big", {"n": 3}).json() == "xxx"
    assert [i["id"] for i in d.instances("big")] == [inst["id"]]
    r = d.invoke("big", {"n": 9 * 1024 * 1024})
    assert (r.status, r.json()["errorType"]) == (502, "Runtime.ExitError")
    assert d.invoke("big", {"n": 3}).json() == "xxx"


@pytest.mark.once  # Go builds (some 9 s): the same under ASan
def test_updates_of_a_go_function_keep_its_build_and_its_rules(d):
    d.create(name="upd", runtime="go", code=GUIDE)
    # A field that does not touch the code: the same build goes on serving.
    r = d.request("PUT", "/api/v1/functions/upd", {"mode": "handler", "memory_mb": 256})
    assert r.status == 200, r.body
    assert d.invoke("upd", {"name": "still"}).json() == {"message": "Hello, still!"}
    for body, message in (
            ({"mode": "http"}, "runtime 'go' builds handlers; an HTTP server in Go is a provided function "
                               "(or impuls up with a go.mod)"),
            ({"handler": "not.go"}, "handler 'not.go': a Go function name (letters, digits and '_', not starting "
                                    "with a digit)")):
        r = d.request("PUT", "/api/v1/functions/upd", body)
        assert (r.status, r.json()["errorMessage"]) == (400, message)
    assert d.request("GET", "/api/v1/functions/upd").json()["version"] == 2
    assert d.invoke("upd", {}).json() == {"message": "Hello, World!"}
