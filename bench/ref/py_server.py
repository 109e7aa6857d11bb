# Reference: a bare Python http.server running the same handler in-process
# (HTTP/1.1 keep-alive, as wrk expects). Usage: python3 py_server.py PORT
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from hello import handler  # noqa: E402


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        r = handler(json.loads(raw) if raw else {}, None)
        body = r["body"].encode()
        self.send_response(r["statusCode"])
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
