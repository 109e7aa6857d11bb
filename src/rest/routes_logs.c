/* GET /api/v1/functions/{name}/logs: the last lines of a function's log,
 * and following it. Every answer says where the log ends
 * (X-Impuls-Log-Offset); ?follow=1&offset=N answers what was written after
 * N, waiting (a long poll, FOLLOW_WAIT_S at most) when nothing was yet, so
 * a client that asks again with the offset it got sees every line once:
 * the console and `impuls logs -f` do. docs/api.md, "Logs". */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "http/http_util.h"
#include "pool/pool.h"
#include "rest/rest.h"
#include "util/util.h"

enum {
    FOLLOW_WAIT_S = 25,          /* a follow answers (empty) after this long with nothing new */
    FOLLOW_POLL_MS = 100,        /* how often a waiting follow looks at the log's size */
    FOLLOW_CHUNK = 1 << 20,      /* the most one answer carries; the client asks again for more */
};

static void log_file(const char *name, char path[4096])
{
    snprintf(path, 4096, "%s/logs/%s.log", D->cfg.data_dir, name);
}

static long long size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static void set_offset(struct evhttp_request *req, long long offset)
{
    char v[32];
    snprintf(v, sizeof v, "%lld", offset);
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Impuls-Log-Offset", v);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
}

/* Answers the bytes from offset on (a log that shrank, rotated: from its
 * start), at most FOLLOW_CHUNK; false when there are none (yet). */
static bool answer_from(struct evhttp_request *req, const char *path, long long offset, bool even_empty)
{
    fn_logs_flush(); /* what this loop turn wrote is in the file */
    long long size = size_of(path);
    if (size < offset)
        offset = 0; /* rotated since: the new file from its start */
    if (size == offset && !even_empty)
        return false;
    long long len = size - offset > FOLLOW_CHUNK ? FOLLOW_CHUNK : size - offset;
    char *bytes = len > 0 ? malloc((size_t)len) : NULL;
    int fd = bytes ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    ssize_t got = fd >= 0 ? pread(fd, bytes, (size_t)len, offset) : 0;
    if (fd >= 0)
        close(fd);
    if (got < 0)
        got = 0;
    set_offset(req, offset + got);
    http_send(req, 200, bytes ? bytes : "", (size_t)got);
    free(bytes);
    return true;
}

/* A follow waiting for its function's next line. */
typedef struct follower {
    struct evhttp_request *req; /* NULL once its client has gone */
    struct evhttp_connection *conn;
    struct event *timer;
    char path[4096];
    long long offset;
    int polls_left;
    struct follower *next;
} follower_t;
static follower_t *followers;

static void follower_free(follower_t *f)
{
    for (follower_t **p = &followers; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    if (f->conn)
        evhttp_connection_set_closecb(f->conn, NULL, NULL);
    event_free(f->timer);
    free(f);
}

void api_logs_shutdown(void)
{
    while (followers)
        follower_free(followers);
}

static void on_gone(struct evhttp_connection *conn, void *arg)
{
    follower_t *f = arg;
    f->req = NULL; /* (libevent frees the request with its connection) */
    f->conn = NULL;
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    follower_t *f = arg;
    if (!f->req)
        return follower_free(f);
    if (answer_from(f->req, f->path, f->offset, --f->polls_left <= 0 || D->draining))
        return follower_free(f);
    struct timeval tv = {0, FOLLOW_POLL_MS * 1000};
    evtimer_add(f->timer, &tv);
}

static void follow(struct evhttp_request *req, const char *path, long long offset)
{
    if (answer_from(req, path, offset, D->draining))
        return;
    follower_t *f = calloc(1, sizeof *f);
    if (!f || !(f->timer = evtimer_new(D->base, on_poll, f))) {
        free(f);
        return http_error(req, 500, "ServiceException", "out of memory");
    }
    f->req = req;
    f->conn = evhttp_request_get_connection(req);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->offset = offset;
    f->polls_left = FOLLOW_WAIT_S * 1000 / FOLLOW_POLL_MS;
    f->next = followers;
    followers = f;
    http_hold(req);
    evhttp_connection_set_closecb(f->conn, on_gone, f);
    struct timeval tv = {0, FOLLOW_POLL_MS * 1000};
    evtimer_add(f->timer, &tv);
}

static bool parse_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

void api_function_logs(struct evhttp_request *req, const char *name)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    char q[32], path[4096];
    log_file(name, path);
    fn_logs_flush(); /* what this loop turn wrote is in the file */
    const char *fv = api_query(req, "follow", q, sizeof q);
    if (fv && strcmp(fv, "1") && strcmp(fv, "true"))
        return http_error(req, 400, "InvalidParameterValueException", "follow must be 1 or true");
    if (fv) {
        long long offset = size_of(path); /* (none given: from now on) */
        if (api_query(req, "offset", q, sizeof q) && !parse_long(q, 0, (long long)1 << 50, &offset))
            return http_error(req, 400, "InvalidParameterValueException",
                              "offset must be a whole number of bytes (X-Impuls-Log-Offset of the last answer)");
        return follow(req, path, offset);
    }
    long long tail = 100;
    if (api_query(req, "tail", q, sizeof q) && !parse_long(q, 1, 10000, &tail))
        return http_error(req, 400, "InvalidParameterValueException", "tail must be an integer from 1 to 10000");
    /* The last lines are in the last few hundred KiB at most. */
    size_t len = 0;
    cleanup_free char *all = read_file(path, 64u << 20, &len);
    const char *start = all ? all + len : "";
    if (all) {
        long lines = 0;
        const char *p = all + len;
        if (p > all && p[-1] == '\n')
            p--;
        while (p > all) {
            if (p[-1] == '\n' && ++lines == tail)
                break;
            p--;
        }
        start = p;
    }
    set_offset(req, all ? (long long)len : size_of(path));
    http_send(req, 200, start, all ? (size_t)(all + len - start) : 0);
}
