#!/bin/sh
# The server: Python's http.server answering with $GREETING.
exec python3 -c '
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"message": os.environ["GREETING"], "runtime": "dockerfile",
                           "method": self.command, "path": self.path.split("?")[0]},
                          separators=(",", ":")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_GET
    def log_message(self, *a):
        pass
HTTPServer(("", int(os.environ.get("PORT", "8000"))), H).serve_forever()
'
