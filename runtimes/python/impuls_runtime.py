"""Impuls Python runtime (started through bootstrap.py): speaks the AWS Lambda
Runtime API (2018-06-01) to the daemon at $AWS_LAMBDA_RUNTIME_API. Standard
library only.

Imports are kept minimal because cold-start time is benchmarked; asyncio is only
imported when a handler actually returns an awaitable.
"""
import importlib
import io
import json
import os
import socket
import sys
import time


class _OnFirstUse:
    """traceback, imported when an error needs it: with linecache, tokenize
    and textwrap it costs every idle instance 0.37 MiB and its start 1.7 ms."""

    def __getattr__(self, name):
        import traceback as module
        return getattr(module, name)


traceback = _OnFirstUse()

PREFIX = "/2018-06-01/runtime"
THEN_NEXT = {"Impuls-Next": "1"}  # see main()
THIS_FILE = os.path.abspath(__file__)


class Headers(dict):
    """Response headers, looked up case-insensitively (keys stored lower-case)."""

    def get(self, key, default=None):
        return dict.get(self, key.lower(), default)

    getheader = get


class RuntimeAPI:
    """One persistent HTTP/1.1 connection over a plain socket, no timeout
    (invocation/next is a long poll). Not http.client: importing it (with
    email and ssl) costs a Python cold start some 15 ms. Loopback TCP, not
    $IMPULS_RUNTIME_API_SOCKET: over the Unix socket this runtime made two
    context switches a call instead of one and served fewer calls
    (docs/performance.md, "The warm path")."""

    def __init__(self, address):
        host, _, port = address.partition(":")
        self.host, self.port = host, int(port or 80)
        self.sock = self.rfile = None

    def _exchange(self, method, path, body, headers):
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port))
            self.rfile = self.sock.makefile("rb")
        body = body or b""
        head = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % self.host,
                "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in headers.items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        status_line = self.rfile.readline(65537)
        if not status_line:
            raise ConnectionError("the Runtime API closed the connection")
        status = int(status_line.split()[1])
        hdrs = Headers()
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            hdrs[key.strip().lower()] = value.strip()
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0], 16)
                data += self.rfile.read(size + 2)[:size]
                if size == 0:
                    break
        else:
            data = self.rfile.read(int(hdrs.get("content-length") or 0))
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, data

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                return self._exchange(method, path, body, headers)
            except (OSError, ValueError, IndexError):
                # The daemon may have closed the keep-alive connection: reconnect once.
                self.close()
                if attempt == 2:
                    raise

    def close(self):
        if self.sock is not None:
            try:
                self.rfile.close()
                self.sock.close()
            except OSError:
                pass
            self.sock = self.rfile = None

    def post_error(self, path, err, header_type=None, headers=None):
        body = json.dumps(err).encode()
        htype = (header_type or err["errorType"]).encode("ascii", "replace").decode()
        return self.request("POST", path, body, dict(headers or {}, **{"Lambda-Runtime-Function-Error-Type": htype}))


class Context:
    """Lambda's context object. It also reads as the dict the runtime guide
    gives a handler (`context['function_name']`, `context.get(...)`, `in`),
    with the attributes below as its keys."""
    KEYS = ("function_name", "function_version", "memory_limit_in_mb", "aws_request_id",
            "invoked_function_arn", "log_group_name", "log_stream_name", "client_context", "identity")

    def __init__(self, headers, deadline_ms):
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        try:
            self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"))
        except ValueError:
            self.memory_limit_in_mb = 0
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = _json_or_none(headers.get("Lambda-Runtime-Client-Context"))
        self.identity = _json_or_none(headers.get("Lambda-Runtime-Cognito-Identity"))
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __getitem__(self, key):
        if key not in self.KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key, default=None):
        return getattr(self, key) if key in self.KEYS else default

    def __contains__(self, key):
        return key in self.KEYS

    def keys(self):
        return list(self.KEYS)

    def __iter__(self):
        return iter(self.KEYS)

    def __len__(self):
        return len(self.KEYS)


def _json_or_none(s):
    try:
        return json.loads(s) if s else None
    except ValueError:
        return None


def flush_stdio():
    # stdout/stderr are pipes (block-buffered): flush so the daemon sees the
    # invocation's logs before it sees the response. The handler may have replaced
    # or closed them, hence the guard.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _user_frames(tb):
    """Traceback entries minus the bootstrap's own and importlib's frames."""
    skip = (THIS_FILE, importlib.__file__)
    frames = [f for f in traceback.extract_tb(tb)
              if f.filename not in skip and not f.filename.startswith("<frozen ")]
    return traceback.format_list(frames)


def error_body(exc, error_type=None, message=None):
    try:
        msg = str(exc)
    except Exception:
        msg = "<exception str() failed>"
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": message if message is not None else msg,
        "stackTrace": _user_frames(exc.__traceback__),
    }


def init_error(api, err):
    sys.stderr.write("%s: %s\n" % (err["errorType"], err["errorMessage"]))
    flush_stdio()
    try:
        api.post_error(PREFIX + "/init/error", err)
    except Exception as e:  # nothing else we can do; the exit status tells the daemon
        sys.stderr.write("impuls: cannot report init error: %r\n" % (e,))
    sys.exit(1)


def load_handler(api):
    spec = os.environ.get("_HANDLER", "")
    mod_name, dot, fn_name = spec.rpartition(".")
    if not dot:
        mod_name = "main"
    if not mod_name or not fn_name:
        init_error(api, {"errorType": "Runtime.MalformedHandlerName",
                         "errorMessage": "Bad handler '%s'" % spec, "stackTrace": []})
    # "src/app" -> "src.app" (src works as a namespace package without __init__.py)
    import_name = mod_name.replace("/", ".")
    try:
        module = importlib.import_module(import_name)
    except ImportError as e:  # includes ModuleNotFoundError for the module or a dependency
        init_error(api, error_body(e, "Runtime.ImportModuleError",
                                   "Unable to import module '%s': %s" % (mod_name, e)))
    except SyntaxError as e:
        # The useful location is in the exception itself, not the traceback.
        body = error_body(e, "Runtime.UserCodeSyntaxError",
                          "Syntax error in module '%s': %s" % (mod_name, e))
        body["stackTrace"] += traceback.format_exception_only(type(e), e)
        init_error(api, body)
    except Exception as e:
        init_error(api, error_body(e))
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        init_error(api, {"errorType": "Runtime.HandlerNotFound",
                         "errorMessage": "Handler '%s' %s in module '%s'" % (
                             fn_name, "missing" if fn is None else "is not callable", mod_name),
                         "stackTrace": []})
    return fn


_runner = None


def run_awaitable(aw):
    # One Runner (= one event loop) for the process lifetime, so loop-bound globals
    # (e.g. an aiohttp session created on first call) survive across invocations.
    global _runner
    import asyncio
    if _runner is None:
        _runner = asyncio.Runner()

    async def wrap():
        return await aw
    return _runner.run(aw if asyncio.iscoroutine(aw) else wrap())


def await_claim(fd):
    """A pre-made sandbox (the daemon's shells): this runtime started before
    any function was chosen. Wait until init has bound the code at /var/task
    and sends the function's environment, then carry on as usual."""
    data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    env = json.loads(data)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
    # What the interpreter takes from these only as it starts, for a runtime
    # started without them (a microVM's saved one starts with the guest's
    # base environment alone): print()s and errors reach the log at once, in
    # the order written, and no bytecode is written beside the code.
    if env.get("PYTHONUNBUFFERED"):
        for name, fd in (("stdout", 1), ("stderr", 2)):  # as CPython makes them unbuffered
            old = getattr(sys, name)
            old.flush()
            setattr(sys, name, io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding=old.encoding,
                                                errors=old.errors, write_through=True))
    if env.get("PYTHONDONTWRITEBYTECODE"):
        sys.dont_write_bytecode = True


def set_trace_id(value):
    """_X_AMZN_TRACE_ID for this call, in os.environ only. os.environ[...] = v
    would call setenv(), and glibc keeps every distinct NAME=value string it was
    ever given (so that old pointers stay valid): some 150 bytes a call for as
    long as the instance lives. os.environ and os.getenv see it; a child process
    sees it when given env=os.environ (not with the default, the C environment)."""
    key = b"_X_AMZN_TRACE_ID"
    if value:
        os.environ._data[key] = value.encode("utf-8", "surrogateescape")
    else:
        os.environ._data.pop(key, None)


def main():
    if "IMPULS_CLAIM_FD" in os.environ:
        await_claim(int(os.environ["IMPULS_CLAIM_FD"]))
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    sys.path.insert(0, task_root)
    api = RuntimeAPI(os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"))
    handler = load_handler(api)

    status, resp, body = api.request("GET", PREFIX + "/invocation/next")
    while True:
        if status != 200:
            raise RuntimeError("invocation/next returned HTTP %d: %r" % (status, body[:200]))
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        trace_id = resp.getheader("Lambda-Runtime-Trace-Id")
        set_trace_id(trace_id)
        try:
            deadline = int(resp.getheader("Lambda-Runtime-Deadline-Ms") or 0)
        except ValueError:
            deadline = 0
        if not body:
            event = {}
        else:
            try:
                event = json.loads(body)
            except ValueError:
                event = body.decode("utf-8", "replace")

        base = "%s/invocation/%s" % (PREFIX, request_id)
        context = Context(resp, deadline)
        err = payload = None
        try:
            result = handler(event, context)
            if hasattr(result, "__await__"):  # async def handler (or any awaitable)
                result = run_awaitable(result)
        except Exception as e:
            traceback.print_exc()  # also show it in the function's log, like Lambda
            err = error_body(e)
        else:
            try:
                # allow_nan=False: NaN/Infinity are not valid JSON for the daemon.
                payload = json.dumps(result, allow_nan=False).encode()
            except (TypeError, ValueError, RecursionError) as e:
                err = {"errorType": "Runtime.MalformedResult",
                       "errorMessage": "Handler result could not be serialized to JSON: %s" % e,
                       "stackTrace": []}
        flush_stdio()
        # Impuls-Next: the daemon answers the post with the next event (one
        # exchange per call). Anything else (the post refused, e.g. too
        # large, or a Runtime API without the extension): ask as usual.
        if err is not None:
            htype = err["errorType"] if err["errorType"].startswith("Runtime.") else "Unhandled"
            status, resp, body = api.post_error(base + "/error", err, htype, THEN_NEXT)
        else:
            status, resp, body = api.request("POST", base + "/response", payload, THEN_NEXT)
        if status != 200:
            status, resp, body = api.request("GET", PREFIX + "/invocation/next")


if __name__ == "__main__":
    main()
