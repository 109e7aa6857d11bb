"""A SmolFaaS-style Python function: an HTTP server on port 8000 (the
standard library's http.server; dependencies would come from wheels/)."""
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"message": "Hello from Impuls Python function!", "runtime": "python",
                           "method": self.command, "path": urlsplit(self.path).path},
                          separators=(",", ":")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


HTTPServer(("", int(os.environ.get("PORT", "8000"))), Hello).serve_forever()
