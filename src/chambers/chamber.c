#include "chambers/chamber.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/apigw.h"
#include "api/invoke_answer.h"
#include "chambers/tcp_splice.h"
#include "http/conn_limit.h"
#include "http/http_util.h"
#include "pool/pool.h"
#include "util/log.h"
#include "util/util.h"

enum chamber_status { CH_STARTING, CH_RUNNING, CH_STOPPED, CH_FAILED };
static const char *STATUS[] = {"STARTING", "RUNNING", "STOPPED", "FAILED"};

enum { HTTP_PORT_INSIDE = 8000, CHAMBER_MAX_BODY = 6 * 1024 * 1024 };

struct chamber {
    char id[FN_NAME_MAX + FN_LABEL_MAX + 16];
    json_t *spec;
    enum chamber_status status;
    char reason[256]; /* why it stopped or failed */
    uint64_t created_ms;
    int port;
    int listen_fd;    /* bound at once; served from RUNNING on */
    bool raw;         /* mode "http": forward bytes; else HTTP events */
    fn_t *fn;         /* pinned: holds the instance */
    int netns_fd;
    struct evconnlistener *tcp;
    struct evhttp *web;
    struct evhttp_bound_socket *bound;
    conn_limit_t *web_conns;
    splice_t *splices;
    chamber_t *next;
};

static chamber_t *chambers;
static int n_chambers;
static int port_lo = 6000, port_hi = 6999;

void chambers_configure(int lo, int hi)
{
    port_lo = lo;
    port_hi = hi;
}

/* The lowest free port of the range, bound and listening on 127.0.0.1. */
static int reserve_port(int *fd_out)
{
    for (int port = port_lo; port <= port_hi; port++) {
        bool taken = false;
        for (chamber_t *c = chambers; c; c = c->next)
            taken = taken || c->port == port;
        if (taken)
            continue;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 128) == 0) {
            *fd_out = fd;
            return port;
        }
        close(fd); /* another program has it */
    }
    return -1;
}

/* No new connections; a handler chamber's requests in flight still get
 * their answers (a 502 when the instance died under them). */
static void stop_listening(chamber_t *c)
{
    tcp_splice_close_all(&c->splices);
    if (c->tcp)
        evconnlistener_free(c->tcp); /* closes listen_fd */
    else if (c->web && c->bound) {
        conn_limit_unlisten(c->web_conns);
        evhttp_del_accept_socket(c->web, c->bound); /* likewise */
    }
    else if (c->listen_fd >= 0)
        close(c->listen_fd);
    c->tcp = NULL;
    c->bound = NULL;
    c->listen_fd = -1;
    if (c->netns_fd >= 0)
        close(c->netns_fd);
    c->netns_fd = -1;
}

static void close_port(chamber_t *c)
{
    stop_listening(c);
    if (c->web)
        evhttp_free(c->web);
    c->web = NULL;
    conn_limit_free(c->web_conns);
    c->web_conns = NULL;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    chamber_t *c = arg;
    if (tcp_splice_count(c->splices) >= CHAMBER_CONNS_MAX) {
        close(fd); /* bounded: a flood of connections costs the chamber, not the daemon */
        return;
    }
    int up = sandbox_connect_inside(c->netns_fd, HTTP_PORT_INSIDE);
    if (up < 0) {
        log_warn("chamber %s: cannot connect to its server: %s", c->id, strerror(errno));
        close(fd);
        return;
    }
    tcp_splice_start(&c->splices, fd, up);
}

static void on_web_request(struct evhttp_request *req, void *arg)
{
    chamber_t *c = arg;
    if (c->status != CH_RUNNING)
        return http_error(req, 503, "ServiceUnavailable", "the chamber is not running");
    if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > CHAMBER_MAX_BODY)
        return http_error(req, 413, "RequestTooLargeException", "the request is larger than %d bytes",
                          CHAMBER_MAX_BODY);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    char id[37];
    uuid4(id);
    answer_invoke(c->fn, SANDBOX_NAMESPACE, req, apigw_event(req, path && *path ? path : "/", "localhost", id), false,
               ANSWER_APIGW);
}

/* The instance is ready: open the port to clients. */
static void on_ready(void *arg, int sandbox_pid)
{
    chamber_t *c = arg;
    if (c->status != CH_STARTING)
        return;
    if (c->raw) {
        c->netns_fd = sandbox_open_netns(sandbox_pid);
        c->tcp = c->netns_fd < 0 ? NULL
                                 : evconnlistener_new(D->base, on_accept, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                                      0, c->listen_fd);
        if (!c->tcp) {
            snprintf(c->reason, sizeof c->reason, "cannot forward its port: %s", strerror(errno));
            c->status = CH_FAILED;
            log_error("chamber %s: %s", c->id, c->reason);
            return;
        }
    } else {
        c->web = evhttp_new(D->base);
        evhttp_set_max_body_size(c->web, CHAMBER_MAX_BODY + 1);
        evhttp_set_max_headers_size(c->web, 64 * 1024);
        evhttp_set_timeout(c->web, 60);
        evhttp_set_allowed_methods(c->web, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                               EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
        evhttp_set_gencb(c->web, on_web_request, c);
        c->bound = evhttp_accept_socket_with_handle(c->web, c->listen_fd);
        if (!c->bound) {
            evhttp_free(c->web);
            c->web = NULL;
            snprintf(c->reason, sizeof c->reason, "cannot serve its port");
            c->status = CH_FAILED;
            return;
        }
        c->web_conns = conn_limit_install(c->web, c->bound, CHAMBER_CONNS_MAX);
    }
    c->status = CH_RUNNING;
    log_info("chamber %s running on 127.0.0.1:%d", c->id, c->port);
}

static void on_exited(void *arg, bool clean, const char *how)
{
    chamber_t *c = arg;
    c->status = clean || D->draining ? CH_STOPPED : CH_FAILED;
    snprintf(c->reason, sizeof c->reason, "%s%s", c->status == CH_FAILED ? "the instance exited: " : "", how);
    log_info("chamber %s %s (%s)", c->id, STATUS[c->status], how);
    stop_listening(c); /* its function (and log) stay until the chamber is destroyed */
}

static void make_id(chamber_t *c, const char *app, const char *version)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (;;) {
        unsigned char r[5];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            memset(r, n_chambers, sizeof r);
        char suffix[6];
        for (int i = 0; i < 5; i++)
            suffix[i] = alphabet[r[i] % 36];
        suffix[5] = '\0';
        snprintf(c->id, sizeof c->id, "%s-%s-%s", app, version, suffix);
        if (!chamber_find(c->id))
            return;
    }
}

chamber_t *chamber_start(const fn_config_t *cfg, json_t *spec, int *status, char *err, size_t errlen)
{
    if (n_chambers >= CHAMBERS_MAX) {
        *status = 503;
        snprintf(err, errlen, "there are already %d chambers; destroy some first", CHAMBERS_MAX);
        return NULL;
    }
    chamber_t *c = calloc(1, sizeof *c);
    c->listen_fd = c->netns_fd = -1;
    c->port = reserve_port(&c->listen_fd);
    if (c->port < 0) {
        free(c);
        *status = 503;
        snprintf(err, errlen, "no free port in %d-%d", port_lo, port_hi);
        return NULL;
    }
    make_id(c, json_string_value(json_object_get(spec, "app")), json_string_value(json_object_get(spec, "version")));
    c->spec = json_incref(spec);
    c->created_ms = now_ms();
    c->raw = !strcmp(cfg->mode, "http");
    fn_config_t pinned;
    fn_config_copy(&pinned, cfg);
    pinned.concurrency = 1; /* one instance: the chamber */
    pinned.reuse = true;
    char log_name[sizeof c->id + 16];
    snprintf(log_name, sizeof log_name, "chamber-%s", c->id);
    fn_watch_t watch = {.ready = on_ready, .exited = on_exited, .arg = c};
    c->fn = registry_add_pinned(&pinned, log_name, &watch);
    fn_config_clear(&pinned);
    c->next = chambers;
    chambers = c;
    n_chambers++;
    if (pool_start_instance(c->fn) < 0) {
        chamber_destroy(c);
        *status = 502;
        snprintf(err, errlen, "cannot start the chamber's instance (see the daemon's log)");
        return NULL;
    }
    log_info("chamber %s starting (port %d)", c->id, c->port);
    return c;
}

chamber_t *chamber_find(const char *id)
{
    for (chamber_t *c = chambers; c; c = c->next)
        if (!strcmp(c->id, id))
            return c;
    return NULL;
}

json_t *chamber_json(const chamber_t *c)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:i, s:O}", "id", c->id, "status", STATUS[c->status],
                          "createdTimeMillis", (json_int_t)c->created_ms, "port", c->port, "spec", c->spec);
    if (c->reason[0])
        json_object_set_new(j, "reason", json_string(c->reason));
    return j;
}

json_t *chambers_json(void)
{
    /* Oldest first, as they were made. */
    json_t *arr = json_array();
    for (chamber_t *c = chambers; c; c = c->next)
        json_array_insert_new(arr, 0, chamber_json(c));
    return arr;
}

void chamber_destroy(chamber_t *c)
{
    for (chamber_t **p = &chambers; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    n_chambers--;
    close_port(c);
    if (c->fn) {
        fn_unwatch(c->fn);
        registry_remove(c->fn);
    }
    log_info("chamber %s destroyed", c->id);
    json_decref(c->spec);
    free(c);
}

void chambers_shutdown(void)
{
    while (chambers)
        chamber_destroy(chambers);
}
