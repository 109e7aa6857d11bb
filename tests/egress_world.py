"""The stand-in for the world in the egress tests (tests/netns_world.py runs
it inside the test's "world" network namespace, which no packet leaves):
HTTP on every address it owns at ports 80, 8080 and 8081, a port that
accepts and holds connections (7000), and a DNS server.

    python3 egress_world.py serve DNS_ADDR NAME=ADDR ...

GET /bytes/N answers N bytes; anything else answers "world <port>". The DNS
server answers A queries for the names given, NXDOMAIN for the rest."""
import http.server
import socket
import socketserver
import struct
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        port = self.server.server_address[1]
        if self.path.startswith("/bytes/"):
            n = int(self.path[len("/bytes/"):])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"x" * 65536
            while n > 0:
                self.wfile.write(chunk[:n])
                n -= len(chunk)
            return
        body = f"world {port}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def hold_connections(port):
    """Accepts and keeps every connection open (the connection-count tests)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(512)
    held = []
    while True:
        held.append(s.accept()[0])


def dns_answer(query, names):
    """The answer to one query: an A record for a known name, else NXDOMAIN."""
    qid, flags, qd = struct.unpack(">HHH", query[:6])
    pos, labels = 12, []
    while query[pos]:
        n = query[pos]
        labels.append(query[pos + 1:pos + 1 + n].decode())
        pos += 1 + n
    qtype = struct.unpack(">H", query[pos + 1:pos + 3])[0]
    question = query[12:pos + 5]
    addr = names.get(".".join(labels).lower())
    if addr and qtype == 1:
        header = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0)
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
        return header + question + answer
    rcode = 0x8183 if not addr else 0x8180  # NXDOMAIN, or no record of that type
    return struct.pack(">HHHHHH", qid, rcode, 1, 0, 0, 0) + question


def serve_dns(addr, names):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        query, client = s.recvfrom(4096)
        try:
            s.sendto(dns_answer(query, names), client)
        except (IndexError, struct.error, UnicodeDecodeError):
            pass


def main():
    if len(sys.argv) < 3 or sys.argv[1] != "serve":
        sys.exit(__doc__)
    dns_addr = sys.argv[2]
    names = dict(a.split("=", 1) for a in sys.argv[3:])
    for port in (80, 8080, 8081):
        srv = Server(("0.0.0.0", port), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Thread(target=hold_connections, args=(7000,), daemon=True).start()
    if dns_addr != "-":
        threading.Thread(target=serve_dns, args=(dns_addr, names), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
