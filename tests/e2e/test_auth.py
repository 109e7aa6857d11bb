"""Who may call the API (docs/api.md, "Tokens"): `--auth tokens` and its
scopes, the first admin token, what the store keeps, expiry and revocation,
the limit on failed attempts, the CLI's token, the policy on --addr, and
docs/api.md's route table walked with a token of each scope."""
import json
import os
import re
import sqlite3
import stat
import subprocess
import time

import pytest

from cli_helpers import cli
from conftest import running_daemon
from impuls_daemon import BIN, ROOT, Daemon, free_port
from lambda_helpers import NODE_ZIP, aws, aws_error, aws_invoke

CLIENT_ERROR = 254  # awscli's exit code for an error the service answered

TOKEN = re.compile(r"impuls_[0-9a-f]{12}_[0-9a-f]{48}")
SCOPES = ("admin", "deploy", "invoke", "read")
COVERS = {"admin": {"admin", "deploy", "invoke", "read"}, "deploy": {"deploy", "read"},
          "invoke": {"invoke"}, "read": {"read"}}
HELLO = "exports.handler = async (e) => ({ hello: e.who || 'world' });"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def admin_token(d):
    with open(os.path.join(d.data_dir, "admin-token")) as f:
        return f.read().strip()


def make_token(d, admin, **body):
    r = d.request("POST", "/api/v1/tokens", body, headers=bearer(admin))
    assert r.status == 201, r
    return r.json()


@pytest.fixture(scope="module")
def d():
    with running_daemon(["--auth", "tokens"]) as daemon:
        yield daemon


def test_the_first_admin_token_is_logged_once_and_kept_0600(d):
    token = admin_token(d)
    assert TOKEN.fullmatch(token), token
    path = os.path.join(d.data_dir, "admin-token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = os.path.join(d.data_dir, "auth.key")
    assert (stat.S_IMODE(os.stat(key).st_mode), os.path.getsize(key)) == (0o600, 32)
    log = d.read_log()
    assert log.count(f"--auth tokens: the first admin token is {token} (shown once; also in {path}, mode 0600)") == 1
    # Kept as a keyed hash, never the token: not in the database's files.
    for name in os.listdir(d.data_dir):
        if name.startswith("impuls.db"):
            with open(os.path.join(d.data_dir, name), "rb") as f:
                assert token.split("_")[2].encode() not in f.read()
    db = sqlite3.connect(os.path.join(d.data_dir, "impuls.db"))
    try:
        (row,) = db.execute("SELECT id, scope, functions, expires_at, length(hash) FROM tokens").fetchall()
    finally:
        db.close()
    assert row == (token.split("_")[1], "admin", "", 0, 64)


def test_no_token_or_a_bad_one_is_a_401_and_healthz_is_open(d):
    assert d.request("GET", "/healthz").status == 200
    r = d.request("GET", "/api/v1/functions")
    assert (r.status, r.json()) == (401, {"errorType": "Unauthorized",
                                          "errorMessage": "this API needs a token: Authorization: Bearer <token>"})
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="impuls"'
    good = admin_token(d)
    for bad in ("Bearer " + good[:-1] + ("0" if good[-1] != "0" else "1"),  # one digit off
                "Bearer impuls_000000000000_" + "0" * 48,  # no such id
                "Basic " + good, "Bearer " + good + "x", "Bearer ", "Bearer " + "\u00e9" * 4000):
        r = d.request("GET", "/api/v1/functions", headers={"Authorization": bad})
        assert (r.status, r.json()["errorMessage"]) == (401, "the token is not valid"), bad
    # A path that is no route needs a token too (it does not say what exists).
    assert d.request("GET", "/nothing/here").status == 401
    assert d.request("GET", "/nothing/here", headers=bearer(good)).status == 404
    # The Lambda API takes a signature (by an AWS key token) or a bearer
    # token: with neither, SigV4's refusal, in Lambda's shape.
    r = d.request("GET", "/2015-03-31/functions")
    assert (r.status, r.headers["x-amzn-ErrorType"], r.json()) == \
        (403, "MissingAuthenticationTokenException", {"Type": "User", "Message": "Missing Authentication Token"})
    r = d.request("GET", "/2015-03-31/functions", headers={"Authorization": "Bearer impuls_x"})
    assert (r.status, r.headers["x-amzn-ErrorType"], r.json()["Type"]) == (401, "Unauthorized", "User")
    log = d.read_log()
    assert "auth: /api/v1/functions from 127.0.0.1 refused (401): the token is not valid" in log


def test_scopes_and_a_function_pattern(d):
    admin = admin_token(d)
    for name in ("team-a-fn", "other"):
        r = d.request("POST", "/api/v1/functions", {"name": name, "runtime": "nodejs20", "code": HELLO},
                      headers=bearer(admin))
        assert r.status == 201, r
    read = make_token(d, admin, scope="read")
    assert (read["scope"], read["functions"], read["expires_at"]) == ("read", "", 0)
    assert TOKEN.fullmatch(read["token"]) and read["token"].split("_")[1] == read["id"]
    r = d.request("GET", "/api/v1/functions/other", headers=bearer(read["token"]))
    assert r.status == 200
    r = d.request("POST", "/api/v1/functions/other/invoke", {}, headers=bearer(read["token"]))
    assert (r.status, r.json()["errorMessage"]) == (403, f"token {read['id']} has scope read; this route needs invoke")
    deploy = make_token(d, admin, scope="deploy")["token"]
    r = d.request("PUT", "/api/v1/functions/other", {"memory_mb": 256}, headers=bearer(deploy))
    assert r.status == 200, r
    assert d.request("GET", "/api/v1/functions/other/logs", headers=bearer(deploy)).status == 200
    assert d.request("GET", "/api/v1/tokens", headers=bearer(deploy)).status == 403
    team = make_token(d, admin, scope="invoke", functions="team-a-*")
    r = d.request("POST", "/api/v1/functions/team-a-fn/invoke", {"who": "a"}, headers=bearer(team["token"]))
    assert (r.status, r.json()) == (200, {"hello": "a"})
    r = d.request("POST", "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:team-a-fn/invocations",
                  {"who": "arn"}, headers=bearer(team["token"]))
    assert (r.status, r.json()) == (200, {"hello": "arn"})
    for method, path in (("POST", "/api/v1/functions/other/invoke"), ("POST", "/invoke/other"),
                         ("POST", "/2015-03-31/functions/other/invocations")):
        r = d.request(method, path, {}, headers=bearer(team["token"]))
        assert (r.status, r.json().get("errorMessage", r.json().get("Message"))) == \
            (403, f"token {team['id']} may only be used for functions matching 'team-a-*'"), path
    # A limited token calls only routes that name one of its functions; it
    # cannot set their destinations (a deploy route), which could name another.
    assert d.request("GET", "/api/v1/functions", headers=bearer(team["token"])).status == 403
    r = d.request("PUT", "/api/v1/functions/team-a-fn/event-invoke-config", {"on_failure": "other"},
                  headers=bearer(team["token"]))
    assert (r.status, r.json()["errorMessage"]) == (403, f"token {team['id']} has scope invoke; this route needs deploy")
    assert d.request("GET", "/no/such/route", headers=bearer(team["token"])).status == 404
    # ?local=true runs unsandboxed, as the daemon's user: admin only.
    anyone = make_token(d, admin, scope="invoke")["token"]
    r = d.request("POST", "/api/v1/functions/team-a-fn/invoke?local=true", {}, headers=bearer(anyone))
    assert (r.status, r.json()["errorMessage"]) == \
        (403, "?local=true runs the function unsandboxed: it needs an admin token")
    r = d.request("POST", "/api/v1/functions/team-a-fn/invoke?local=true", {"who": "local"}, headers=bearer(admin))
    assert (r.status, r.json()) == (200, {"hello": "local"})


def test_tokens_expire_are_revoked_and_are_listed_without_secrets(d):
    admin = admin_token(d)
    brief = make_token(d, admin, scope="read", expires_in="1s")
    assert brief["expires_at"] == brief["created_at"] + 1
    time.sleep(2.1)  # (past its expiry: only how long the test waits, nothing is timed)
    r = d.request("GET", "/api/v1/functions", headers=bearer(brief["token"]))
    assert (r.status, r.json()["errorMessage"]) == (401, "the token has expired")
    long = make_token(d, admin, scope="read", expires_in=86400)
    assert long["expires_at"] == long["created_at"] + 86400
    listed = d.request("GET", "/api/v1/tokens", headers=bearer(admin)).json()["tokens"]
    mine = [t for t in listed if t["id"] == long["id"]]
    assert mine == [{"id": long["id"], "scope": "read", "functions": "", "created_at": long["created_at"],
                     "expires_at": long["expires_at"]}]
    assert all(set(t) == {"id", "scope", "functions", "created_at", "expires_at"} for t in listed)
    assert d.request("DELETE", f"/api/v1/tokens/{long['id']}", headers=bearer(admin)).status == 204
    r = d.request("GET", "/api/v1/functions", headers=bearer(long["token"]))
    assert (r.status, r.json()["errorMessage"]) == (401, "the token is not valid")
    r = d.request("DELETE", f"/api/v1/tokens/{long['id']}", headers=bearer(admin))
    assert (r.status, r.json()["errorMessage"]) == (404, f"no token {long['id']}")


@pytest.mark.parametrize("body, message", [
    (b"[]", None),
    (b"not json", None),
    ({"scope": "root"}, "scope must be one of admin, deploy, invoke, read"),
    ({}, "scope must be one of admin, deploy, invoke, read"),
    ({"scope": "read", "functions": "a/b"}, "functions must be a pattern of function names (letters, digits, '_', "
                                            "'-', and * ? [ ] !), at most 128 characters"),
    ({"scope": "read", "functions": "x" * 129}, "functions must be a pattern of function names (letters, digits, "
                                                "'_', '-', and * ? [ ] !), at most 128 characters"),
    ({"scope": "read", "expires_in": "soon"}, "expires_in must be a lifetime such as \"90s\", \"15m\", \"12h\" or "
                                              "\"30d\" (or seconds), at most 100 years"),
    ({"scope": "read", "expires_in": 0}, "expires_in must be a lifetime such as \"90s\", \"15m\", \"12h\" or "
                                         "\"30d\" (or seconds), at most 100 years"),
    ({"scope": "read", "expires_in": "101y"}, "expires_in must be a lifetime such as \"90s\", \"15m\", \"12h\" or "
                                              "\"30d\" (or seconds), at most 100 years"),
    ({"scope": "read", "expires_in": "36501d"}, "expires_in must be a lifetime such as \"90s\", \"15m\", \"12h\" or "
                                                "\"30d\" (or seconds), at most 100 years"),
    ({"scope": "read", "owner": "me"}, "unknown field 'owner'"),
    ({"scope": "deploy", "functions": "team-*"}, "functions limits invoke and read tokens only"),
    ({"scope": "admin", "functions": "team-*"}, "functions limits invoke and read tokens only"),
])
def test_a_bad_token_request_is_a_400_and_makes_none(d, body, message):
    admin = admin_token(d)
    before = d.request("GET", "/api/v1/tokens", headers=bearer(admin)).json()["tokens"]
    r = d.request("POST", "/api/v1/tokens", body, headers=bearer(admin))
    assert r.status == 400, r
    if message:
        assert r.json() == {"errorType": "InvalidParameterValueException", "errorMessage": message}
    else:
        assert r.json()["errorType"] in ("InvalidRequestContentException", "InvalidParameterValueException"), r
    assert d.request("GET", "/api/v1/tokens", headers=bearer(admin)).json()["tokens"] == before


def test_the_cli_sends_its_token_and_manages_tokens(d, tmp_path):
    admin = admin_token(d)
    code, out, err = cli(d, "ls")
    assert (code, out) == (1, "") and err == \
        "impuls: this API needs a token: Authorization: Bearer <token> (Unauthorized, HTTP 401)\n"
    env = dict(os.environ, IMPULS_ADDR=f"127.0.0.1:{d.port}", IMPULS_TOKEN=admin)

    def run(*args, **extra):
        p = subprocess.run([BIN, *args], capture_output=True, text=True, env=dict(env, **extra), timeout=60)
        return p.returncode, p.stdout, p.stderr

    code, out, err = run("token", "create", "--scope", "invoke", "--functions", "team-a-*", "--expires", "30d")
    assert (code, err) == (0, "") and TOKEN.fullmatch(out.strip()), (out, err)
    made = out.strip()
    code, out, err = run("token", "ls")
    assert code == 0 and out.splitlines()[0].split() == ["ID", "SCOPE", "FUNCTIONS", "CREATED", "EXPIRES"]
    (line,) = [l for l in out.splitlines() if l.startswith(made.split("_")[1])]
    assert line.split()[1:3] == ["invoke", "team-a-*"], line
    assert made.split("_")[2] not in out
    # The token from a file only its owner may read.
    path = tmp_path / "token"
    path.write_text(made + "\n")
    path.chmod(0o644)
    code, out, err = run("invoke", "team-a-fn", '{"who": "file"}', IMPULS_TOKEN="", IMPULS_TOKEN_FILE=str(path))
    assert (code, out, err) == (2, "", f"impuls: IMPULS_TOKEN_FILE {path}: others may read it: chmod 600 it\n")
    path.chmod(0o600)
    code, out, err = run("invoke", "team-a-fn", '{"who": "file"}', IMPULS_TOKEN="", IMPULS_TOKEN_FILE=str(path))
    assert (code, json.loads(out)) == (0, {"hello": "file"}), err
    code, out, err = run("token", "rm", made.split("_")[1])
    assert (code, out) == (0, f"revoked {made.split('_')[1]}\n")
    code, out, err = run("token", "create")
    assert code == 2 and err.startswith("usage: impuls token create --scope")


def routes_of_the_docs():
    """(method, path, scope) of every row of docs/api.md's route table."""
    rows, inside = [], False
    with open(os.path.join(ROOT, "docs", "api.md")) as f:
        for line in f:
            if line.startswith("| Method | Path | Scope |"):
                inside = True
                continue
            if not inside or line.startswith("|---"):
                continue
            if not line.startswith("|"):
                break
            methods, path, scopes = (c.strip() for c in line.split("|")[1:4])
            path = path.strip("`").replace("{name}", "fn").replace("{host}", "h.localhost").replace("{id}", "x")
            scopes = [s.strip() for s in scopes.split(",")]
            for i, m in enumerate(m.strip() for m in methods.split(",")):
                rows.append((m, path, scopes[i] if len(scopes) > 1 else scopes[0]))
    return rows


def test_the_route_table_walked_with_each_scope(d):
    admin = admin_token(d)
    tokens = {s: make_token(d, admin, scope=s)["token"] for s in SCOPES}
    rows = routes_of_the_docs()
    assert len(rows) > 25
    for method, path, scope in rows:
        r = d.request(method, path, b"")
        lambda_api = path.startswith(("/2015-03-31/", "/2017-10-31/", "/2019-09-25/", "/2019-09-30/"))  # (unsigned: SigV4's 403)
        assert r.status == (200 if scope == "open" else 403 if lambda_api else 401), (method, path, r)
        for have in SCOPES:
            r = d.request(method, path, b"", headers=bearer(tokens[have]))
            if scope == "open" or scope in COVERS[have]:
                assert r.status not in (401, 403), (method, path, have, r)
            else:
                body = r.json()  # (the Lambda API's in Lambda's shape)
                assert (r.status, body.get("errorMessage", body.get("Message"))) == \
                    (403, f"token {tokens[have].split('_')[1]} has scope {have}; this route needs {scope}"), \
                    (method, path, have)


def test_tokens_outlive_a_restart_and_a_new_key_starts_again(tmp_path):
    d = Daemon(extra_args=["--auth", "tokens"])
    try:
        d.start()
        admin = admin_token(d)
        read = make_token(d, admin, scope="read")["token"]
        assert d.stop() == 0
        d.start()
        assert d.request("GET", "/api/v1/functions", headers=bearer(read)).status == 200
        assert admin_token(d) == admin and d.read_log().count("the first admin token is") == 1
        assert d.stop() == 0
        # Every admin token lost: a new key, and every token of the old one goes.
        os.unlink(os.path.join(d.data_dir, "auth.key"))
        d.start()
        assert "auth.key is new: the 2 tokens made under the one before are removed" in d.read_log()
        assert d.request("GET", "/api/v1/functions", headers=bearer(read)).status == 401
        fresh = admin_token(d)
        assert fresh != admin and d.request("GET", "/api/v1/functions", headers=bearer(fresh)).status == 200
        assert d.stop() == 0
        # A key file another user may read stops the daemon.
        os.chmod(os.path.join(d.data_dir, "auth.key"), 0o644)
        with pytest.raises(RuntimeError, match="auth.key must be a regular file of 32 bytes, mode 0600"):
            d.start()
        assert d.leftovers() == []
    finally:
        d.stop()
        d.cleanup()


def test_failed_authentications_are_limited_per_address():
    with running_daemon(["--auth", "tokens"]) as d:
        admin = admin_token(d)
        for _ in range(30):  # without a credential: nothing guessed, nothing counted
            assert d.request("GET", "/api/v1/functions").status == 401
        for _ in range(10):
            assert d.request("GET", "/api/v1/functions", headers=bearer("impuls_guess")).status == 401
        r = d.request("GET", "/api/v1/functions", headers=bearer("impuls_guess"))
        assert r.status == 429 and 0 < int(r.headers["Retry-After"]) <= 61, r
        assert r.json()["errorMessage"].startswith("too many failed authentications from 127.0.0.1; try again in ")
        # A valid token from the same address still works: one client cannot lock out the rest.
        assert d.request("GET", "/api/v1/functions", headers=bearer(admin)).status == 200
        assert d.request("GET", "/healthz").status == 200  # (needs no token)
        assert d.read_log().count("auth: 10 refused credentials from 127.0.0.1 within 60 s") == 1


def test_without_auth_tokens_the_token_routes_are_a_409(daemon):
    for method, path in (("GET", "/api/v1/tokens"), ("POST", "/api/v1/tokens"), ("DELETE", "/api/v1/tokens/x")):
        r = daemon.request(method, path, {"scope": "admin"})
        assert (r.status, r.json()["errorMessage"]) == \
            (409, 'this daemon takes no tokens: it runs without --auth tokens (docs/api.md, "Tokens")'), path
    assert not os.path.exists(os.path.join(daemon.data_dir, "auth.key"))


@pytest.mark.once  # awscli's own start is most of its time: the same under ASan
def test_aws_keys_with_a_scope_sign_for_awscli(d, tmp_path):
    admin = admin_token(d)
    r = d.request("POST", "/api/v1/tokens", {"scope": "invoke", "aws": True}, headers=bearer(admin))
    assert r.status == 201, r
    key = r.json()
    assert set(key) == {"id", "scope", "functions", "created_at", "expires_at", "aws_access_key_id",
                        "aws_secret_access_key"}
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key["aws_access_key_id"]), key
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", key["aws_secret_access_key"]), key
    creds = dict(key_id=key["aws_access_key_id"], secret=key["aws_secret_access_key"])
    r = d.request("POST", "/api/v1/functions", {"name": "signed-fn", "runtime": "nodejs20", "code": HELLO},
                  headers=bearer(admin))
    assert r.status == 201, r
    out, payload = aws_invoke(d, "signed-fn", '{"who": "aws"}', tmp_path / "out.json", **creds)
    assert (out["StatusCode"], json.loads(payload)) == (200, {"hello": "aws"})
    # Its scope is invoke: no create, no list.
    zip_path = tmp_path / "fn.zip"
    zip_path.write_bytes(NODE_ZIP)
    rc, out, err = aws(d, "create-function", "--function-name", "nope", "--runtime", "nodejs20.x", "--handler",
                       "index.handler", "--zip-file", f"fileb://{zip_path}", "--role", "r", **creds)
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error("CreateFunction", "AccessDeniedException",
                                                          "this AWS key has scope invoke; this route needs deploy"))
    # The secret is kept sealed: not in the database's files.
    for name in os.listdir(d.data_dir):
        if name.startswith("impuls.db"):
            with open(os.path.join(d.data_dir, name), "rb") as f:
                assert key["aws_secret_access_key"].encode() not in f.read()
    # A wrong secret, an unknown key, a revoked key.
    rc, out, err = aws(d, "list-functions", key_id=key["aws_access_key_id"], secret="x" * 40)
    assert rc == CLIENT_ERROR and "InvalidSignatureException" in err, err
    rc, out, err = aws(d, "list-functions", key_id="AKIA" + "A" * 16, secret="x" * 40)
    assert rc == CLIENT_ERROR and "UnrecognizedClientException" in err, err
    assert d.request("DELETE", f"/api/v1/tokens/{key['id']}", headers=bearer(admin)).status == 204
    rc, out, err = aws(d, "invoke", "--function-name", "signed-fn", str(tmp_path / "o2.json"), **creds)
    assert rc == CLIENT_ERROR and "UnrecognizedClientException" in err, err
    r = d.request("POST", "/api/v1/tokens", {"scope": "invoke", "aws": True, "functions": "a*"}, headers=bearer(admin))
    assert (r.status, r.json()["errorMessage"]) == (400, "an AWS key cannot be limited to functions")
    # The CLI prints a profile's lines.
    env = dict(os.environ, IMPULS_ADDR=f"127.0.0.1:{d.port}", IMPULS_TOKEN=admin)
    p = subprocess.run([BIN, "token", "create", "--aws", "--scope", "read"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 0 and re.fullmatch(r"aws_access_key_id = AKIA[A-Z2-7]{16}\n"
                                              r"aws_secret_access_key = [A-Za-z0-9+/]{40}\n", p.stdout), p


def test_a_profile_of_aws_credentials_may_name_a_scope(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("[reader]\nscope = read\naws_access_key_id = AKIDREADER\naws_secret_access_key = rsecret\n"
                     "[boss]\naws_access_key_id = AKIDBOSS\naws_secret_access_key = bsecret\n")
    with running_daemon(["--aws-credentials", str(creds)]) as d:
        rc, out, err = aws(d, "list-functions", key_id="AKIDREADER", secret="rsecret")
        assert (rc, out, err) == (0, {"Functions": []}, "")
        zip_path = tmp_path / "fn.zip"
        zip_path.write_bytes(NODE_ZIP)
        args = ("create-function", "--function-name", "f", "--runtime", "nodejs20.x", "--handler", "index.handler",
                "--zip-file", f"fileb://{zip_path}", "--role", "r")
        rc, out, err = aws(d, *args, key_id="AKIDREADER", secret="rsecret")
        assert (rc, err) == (CLIENT_ERROR, aws_error("CreateFunction", "AccessDeniedException",
                                                     "this AWS key has scope read; this route needs deploy"))
        rc, out, err = aws(d, *args, key_id="AKIDBOSS", secret="bsecret")
        assert (rc, err) == (0, ""), out
    bad = tmp_path / "bad"
    bad.write_text("[x]\naws_access_key_id = A\naws_secret_access_key = s\nscope = root\n")
    p = serve("--addr", f"127.0.0.1:{free_port()}", "--aws-credentials", str(bad))
    assert (p.returncode, p.stderr) == (2, f"impuls: --aws-credentials: {bad}: scope must be one of admin, deploy, "
                                           "invoke, read, not 'root'\n")


def test_a_bearer_token_stands_in_for_a_signature_on_the_lambda_api(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n")
    with running_daemon(["--auth", "tokens", "--aws-credentials", str(creds)]) as d:
        admin = admin_token(d)
        r = d.request("GET", "/2015-03-31/functions", headers=bearer(admin))
        assert (r.status, r.json()) == (200, {"Functions": []})
        r = d.request("GET", "/2015-03-31/functions")  # neither: SigV4's refusal
        assert (r.status, r.headers["x-amzn-ErrorType"]) == (403, "MissingAuthenticationTokenException")
        r = d.request("GET", "/%32015-03-31/functions")  # (spelled otherwise: the same route, the same check)
        assert (r.status, r.json()["errorType"]) == (403, "MissingAuthenticationTokenException")


ECHO_AUTH = "exports.handler = async (e) => ({ authz: e.headers.authorization || null, path: e.rawPath });"


def via_router(port, path, token=None):
    args = ["curl", "-s", "-w", "\n%{http_code}", "--resolve", f"fn.localhost:{port}:127.0.0.1"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*args, f"http://fn.localhost:{port}{path}"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code), json.loads(body)


def test_a_function_url_with_auth_token_needs_an_invoke_token():
    # Lambda function URLs' AuthType: the router's URL of a function is
    # public unless the function says "auth": "token".
    port = free_port()
    with running_daemon(["--auth", "tokens", "--router-addr", f"127.0.0.1:{port}"]) as d:
        admin = admin_token(d)
        for name, auth in (("open-fn", None), ("closed-fn", "token")):
            spec = {"name": name, "runtime": "nodejs20", "code": ECHO_AUTH} | ({"auth": auth} if auth else {})
            r = d.request("POST", "/api/v1/functions", spec, headers=bearer(admin))
            assert (r.status, r.json()["auth"]) == (201, auth or "none"), r
        assert via_router(port, "/invoke/open-fn/x") == (200, {"authz": None, "path": "/x"})
        code, body = via_router(port, "/invoke/closed-fn/x")
        assert (code, body["errorType"]) == (401, "Unauthorized")
        reader = make_token(d, admin, scope="read")["token"]
        code, body = via_router(port, "/invoke/closed-fn/x", reader)
        assert (code, body["errorMessage"]) == (403, f"token {reader.split('_')[1]} has scope read; this route "
                                                     "needs invoke")
        other = make_token(d, admin, scope="invoke", functions="open-*")
        code, body = via_router(port, "/invoke/closed-fn/x", other["token"])
        assert (code, body["errorMessage"]) == (403, f"token {other['id']} may only be used for functions matching "
                                                     "'open-*'")
        caller = make_token(d, admin, scope="invoke", functions="closed-*")["token"]
        # The token is the platform's: the function does not see it.
        assert via_router(port, "/invoke/closed-fn/x", caller) == (200, {"authz": None, "path": "/x"})
        # Back to public, by an update.
        r = d.request("PUT", "/api/v1/functions/closed-fn", {"auth": "none"}, headers=bearer(admin))
        assert (r.status, r.json()["auth"]) == (200, "none")
        assert via_router(port, "/invoke/closed-fn/y")[0] == 200
        r = d.request("PUT", "/api/v1/functions/closed-fn", {"auth": "iam"}, headers=bearer(admin))
        assert (r.status, r.json()["errorMessage"]) == (400, 'auth must be "none" (its router URL is public) or '
                                                             '"token" (it needs a token that may invoke it)')


def test_a_function_url_with_auth_token_on_a_daemon_without_tokens_is_a_401(routed):
    routed.create(name="closed", runtime="nodejs20", code=ECHO_AUTH, auth="token")
    code, body = via_router(routed.router_port, "/invoke/closed")
    assert (code, body["errorMessage"]) == (401, "function closed's URL needs a token, and this daemon takes none "
                                                 "(it runs without --auth tokens)")


def serve(*args):
    """Runs `impuls serve ARGS` on a data dir of its own until it exits (at most 20 s)."""
    data = Daemon().data_dir
    try:
        return subprocess.run([BIN, "serve", "--data-dir", data, "--isolation", "process", *args],
                              capture_output=True, text=True, timeout=20)
    finally:
        Daemon(data_dir=data).cleanup()


def test_an_api_beyond_loopback_needs_auth_said():
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: a daemon that
    # got past the policy fails to listen there, so none ever serves.
    port = free_port()
    p = serve("--addr", f"192.0.2.1:{port}")
    assert (p.returncode, p.stderr) == (2, f"impuls: --addr 192.0.2.1:{port} is not a loopback address: start with "
                                           "--auth tokens (or --auth none to let anyone who reaches it deploy and "
                                           "run code)\n")
    p = serve("--addr", f"192.0.2.1:{port}", "--auth", "none")
    assert p.returncode == 1
    assert f"--auth none: the API on 192.0.2.1:{port} takes no token: anyone who reaches it may deploy and run " \
           "code" in p.stderr and f"cannot listen on 192.0.2.1:{port}" in p.stderr, p.stderr
    p = serve("--addr", f"127.0.0.1:{port}", "--auth", "maybe")
    assert (p.returncode, p.stderr) == (2, "impuls: --auth takes tokens or none\n")
