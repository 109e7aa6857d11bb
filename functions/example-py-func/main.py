"""SmolFaaS's example Python function, as its README shows it answering: an
HTTP server on port 8000 (the standard library's http.server)."""
import datetime
import json
import os
import socket
from http.server import BaseHTTPRequestHandler, HTTPServer


class Example(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"message": "Hello from SmolFaaS Python function!", "runtime": "python",
                           "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                           "hostname": socket.gethostname()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


HTTPServer(("", int(os.environ.get("PORT", "8000"))), Example).serve_forever()
