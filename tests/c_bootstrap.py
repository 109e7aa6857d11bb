"""A static Lambda custom runtime in C (the `provided` convention): a
`bootstrap` that speaks the Runtime API over a plain socket, compiled with
the machine's compiler and shipped in a zip (tests/e2e/test_provided_c.py,
bench/soak.py)."""
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
