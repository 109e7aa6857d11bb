"""The function the egress tests run (tests/e2e/test_egress.py, and with
isolation "microvm" tests/microvm/test_egress.py): one handler whose event
says what to try from inside the sandbox, answering with the result or the
errno's name."""

PROBE = r'''
import errno, socket, threading, time, urllib.request

held = []

def connect(host, port):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((host, port))
        return s, "ok"
    except OSError as e:
        s.close()
        return None, errno.errorcode.get(e.errno, str(e))

def listen_forever(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    while True:
        held.append(srv.accept()[0])

def handler(event, context):
    op = event["op"]
    if op == "get":
        time.sleep(event.get("sleep", 0))
        t = time.monotonic()
        try:
            body = urllib.request.urlopen(event["url"], timeout=20).read()
        except Exception as e:
            reason = getattr(e, "reason", e)
            return {"error": errno.errorcode.get(getattr(reason, "errno", None), str(reason))}
        return {"text": body[:40].decode(), "bytes": len(body), "seconds": time.monotonic() - t}
    if op == "connect":
        s, result = connect(event["host"], event["port"])
        if s:
            s.close()
        return result
    if op == "hold":
        results = []
        for _ in range(event["n"]):
            s, result = connect(event["host"], event["port"])
            if s:
                held.append(s)
            results.append(result)
        return results
    if op == "resolve":
        try:
            return socket.gethostbyname(event["name"])
        except OSError as e:
            return "error: " + str(e)
    if op == "resolv.conf":
        return open("/etc/resolv.conf").read()
    if op == "address":
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.connect((event["towards"], 9))
        return u.getsockname()[0]
    if op == "listen":
        threading.Thread(target=listen_forever, args=(event["port"],), daemon=True).start()
        time.sleep(0.2)
        return "listening"
'''
