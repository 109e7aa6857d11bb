"""A Lambda custom runtime written in C (the `provided` convention): a static
`bootstrap` that speaks the Runtime API over a plain socket, compiled by the
test with the machine's compiler and shipped in a zip. The same function is
driven through the REST API and through awscli-free Lambda API calls."""
import base64
import io
import os
import shutil
import subprocess
import tempfile
import zipfile

BOOTSTRAP_C = r'''
/* A minimal Lambda runtime: GET /next, answer {"echo": <event>, "id": "<request id>"},
 * or post an error when the event is "fail". */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_api(void)
{
    char addr[64];
    snprintf(addr, sizeof addr, "%s", getenv("AWS_LAMBDA_RUNTIME_API"));
    char *colon = strchr(addr, ':');
    *colon = '\0';
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
    inet_pton(AF_INET, addr, &a.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(1); }
    return s;
}

/* One exchange on a new connection: returns the body, the request id header in id. */
static char *exchange(const char *method, const char *path, const char *extra, const char *body, char id[128])
{
    int s = connect_api();
    char head[1024];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: rapi\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
                     method, path, extra, body ? strlen(body) : 0);
    write(s, head, (size_t)n);
    if (body) write(s, body, strlen(body));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while ((r = read(s, buf + len, cap - len - 1)) > 0) {
        len += (size_t)r;
        if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    close(s);
    if (id) {
        id[0] = '\0';
        static const char name[] = "\r\nLambda-Runtime-Aws-Request-Id: ";
        char *h = strcasestr(buf, name);
        if (h) sscanf(h + sizeof name - 1, "%127[^\r]", id);
    }
    char *b = strstr(buf, "\r\n\r\n");
    char *out = strdup(b ? b + 4 : "");
    free(buf);
    return out;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("C runtime up, handler %s\n", getenv("_HANDLER"));
    for (;;) {
        char id[128], path[256];
        char *event = exchange("GET", "/2018-06-01/runtime/invocation/next", "", NULL, id);
        if (!strcmp(event, "\"fail\"")) {
            snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", id);
            free(exchange("POST", path, "Lambda-Runtime-Function-Error-Type: C.Failure\r\n",
                          "{\"errorType\":\"C.Failure\",\"errorMessage\":\"asked to fail\",\"stackTrace\":[\"main.c\"]}", NULL));
        } else {
            char *answer = malloc(strlen(event) + 256);
            sprintf(answer, "{\"echo\":%s,\"id\":\"%s\"}", event, id);
            snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/response", id);
            free(exchange("POST", path, "", answer, NULL));
            free(answer);
        }
        free(event);
    }
}
'''


def build_zip():
    d = tempfile.mkdtemp(prefix="impuls-cbootstrap-")
    try:
        src = os.path.join(d, "bootstrap.c")
        with open(src, "w") as f:
            f.write(BOOTSTRAP_C)
        out = os.path.join(d, "bootstrap")
        subprocess.run(["cc", "-O2", "-static", "-o", out, src], check=True, capture_output=True, timeout=120)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o100755 << 16
            with open(out, "rb") as f:
                z.writestr(info, f.read())
        return base64.b64encode(buf.getvalue()).decode()
    finally:
        shutil.rmtree(d)


def test_a_static_c_bootstrap_is_a_lambda_runtime(daemon):
    daemon.create(name="cfn", runtime="provided.al2023", handler="function.handler", zip=build_zip())
    r = daemon.invoke("cfn", {"x": [1, 2]})
    assert r.status == 200, r
    assert r.json() == {"echo": {"x": [1, 2]}, "id": r.headers["X-Impuls-Request-Id"]}
    r = daemon.invoke("cfn", "fail")
    assert r.status == 500
    assert r.json() == {"errorType": "C.Failure", "errorMessage": "asked to fail", "stackTrace": ["main.c"],
                        "requestId": r.headers["X-Impuls-Request-Id"]}
    r = daemon.request("POST", "/2015-03-31/functions/cfn/invocations", '"fail"')
    assert (r.status, r.headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    assert r.json() == {"errorType": "C.Failure", "errorMessage": "asked to fail", "stackTrace": ["main.c"]}
    log = daemon.request("GET", "/api/v1/functions/cfn/logs").body.decode()
    assert "C runtime up, handler function.handler\n" in log
    assert len(daemon.instances("cfn")) == 1  # one warm instance served all three
