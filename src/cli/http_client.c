#include "cli/http_client.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

enum { RESPONSE_MAX = 64 << 20, TIMEOUT_S = 960 }; /* > the longest function timeout */

static int dial(const char *addr, char *err, size_t errlen)
{
    char host[256];
    snprintf(host, sizeof host, "%s", addr);
    char *colon = strrchr(host, ':');
    if (!colon) {
        snprintf(err, errlen, "address '%s' must be HOST:PORT", addr);
        return -1;
    }
    *colon = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot reach impuls at %s: %s", addr, strerror(errno));
        return -1;
    }
    struct timeval tv = {.tv_sec = TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void http_response_clear(http_response_t *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

int http_api_token(char out[128], char *err, size_t errlen)
{
    out[0] = '\0';
    const char *t = getenv("IMPULS_TOKEN"), *file = getenv("IMPULS_TOKEN_FILE");
    if ((!t || !*t) && file && *file) {
        FILE *f = fopen(file, "re");
        struct stat st;
        if (!f || fstat(fileno(f), &st) < 0 || (st.st_mode & 077)) {
            snprintf(err, errlen, "IMPULS_TOKEN_FILE %s: %s", file,
                     !f ? strerror(errno) : "others may read it: chmod 600 it");
            if (f)
                fclose(f);
            return -1;
        }
        if (!fgets(out, 128, f))
            out[0] = '\0';
        fclose(f);
        if (!strchr(out, '\n') && strlen(out) == 127) {
            snprintf(err, errlen, "IMPULS_TOKEN_FILE %s: its first line is longer than any token", file);
            return -1;
        }
        out[strcspn(out, "\r\n")] = '\0';
    } else if (t) {
        if (strlen(t) > 127) {
            snprintf(err, errlen, "IMPULS_TOKEN is longer than any token");
            return -1;
        }
        snprintf(out, 128, "%s", t);
    }
    for (const char *p = out; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", *p)) {
            snprintf(err, errlen, "the API token (IMPULS_TOKEN or IMPULS_TOKEN_FILE) has characters a token never has");
            return -1;
        }
    return 0;
}

int http_call(const char *addr, const char *method, const char *path, const char *content_type,
              const char *body, size_t body_len, http_response_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char token[128];
    if (http_api_token(token, err, errlen) < 0)
        return -1;
    int fd = dial(addr, err, errlen);
    if (fd < 0)
        return -1;
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: impuls-cli\r\n"
                     "Content-Length: %zu\r\n%s%s%s%s%s%s\r\n",
                     method, path, addr, body_len, content_type ? "Content-Type: " : "",
                     content_type ? content_type : "", content_type ? "\r\n" : "",
                     token[0] ? "Authorization: Bearer " : "", token, token[0] ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof head || send_all(fd, head, (size_t)n) < 0 ||
        (body_len && send_all(fd, body, body_len) < 0)) {
        snprintf(err, errlen, "cannot send the request to %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    /* Connection: close: the answer ends where the stream does. */
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (len == cap) {
            if (cap >= RESPONSE_MAX)
                break;
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    char *hend = strstr(buf, "\r\n\r\n");
    if (!hend || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        snprintf(err, errlen, "impuls at %s gave no HTTP answer", addr);
        free(buf);
        return -1;
    }
    *hend = '\0';
    out->log_offset = -1;
    for (char *line = strstr(buf, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (!strncasecmp(line + 2, "X-Impuls-Request-Id:", 20))
            sscanf(line + 22, " %63[^\r\n]", out->request_id);
        else if (!strncasecmp(line + 2, "X-Impuls-Log-Offset:", 20))
            sscanf(line + 22, " %lld", &out->log_offset);
    }
    out->body_len = len - (size_t)(hend + 4 - buf);
    out->body = malloc(out->body_len + 1);
    memcpy(out->body, hend + 4, out->body_len);
    out->body[out->body_len] = '\0';
    free(buf);
    return 0;
}
