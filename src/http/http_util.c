#include "http/http_util.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <ctype.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/utf8.h"
#include "util/util.h"

bool http_header_name_ok(const char *k)
{
    if (!*k)
        return false;
    for (const char *p = k; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p)))
            return false;
    return true;
}

/* Headers that frame the HTTP message or belong to the platform: the daemon
 * sets them, a function's value would corrupt the response. */
bool http_header_reserved(const char *k)
{
    static const char *names[] = {"content-length", "transfer-encoding", "connection", "keep-alive",
                                  "upgrade", "te", "trailer", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcasecmp(k, names[i]))
            return true;
    return strncasecmp(k, "x-impuls-", 9) == 0;
}

bool http_header_value_ok(const char *v)
{
    for (const char *p = v; *p; p++)
        if (*p == '\r' || *p == '\n')
            return false;
    return true;
}

bool http_header_allowed(const char *name, const char *value)
{
    return http_header_name_ok(name) && !http_header_reserved(name) && http_header_value_ok(value);
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 507: return "Insufficient Storage";
    default: return "Status";
    }
}

void http_reply(struct evhttp_request *req, int status, const char *reason, struct evbuffer *body)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    evhttp_send_reply(req, status, reason, body);
    if (!conn)
        return;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
    if (bufferevent_openssl_get_ssl(bev))
        return; /* TLS: only its bufferevent may write, encrypted */
    struct evbuffer *out = bufferevent_get_output(bev);
    /* Only the bufferevent drains its output (its start is frozen); this is
     * the write it would make on the next loop turn. */
    evbuffer_unfreeze(out, 1);
    int written = evbuffer_write(out, bufferevent_getfd(bev));
    evbuffer_freeze(out, 1);
    /* All of it went: run evhttp's write callback (it finishes the request
     * and reads the next one on a kept-alive connection) deferred, later in
     * this loop turn. Otherwise the bufferevent writes the rest, as before. */
    if (written > 0 && evbuffer_get_length(out) == 0)
        bufferevent_trigger(bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
}

void http_send(struct evhttp_request *req, int status, const char *body, size_t len)
{
    /* Every answer names a request id; invocations set their own first. */
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    /* libevent 2.1 does not keep pipelined requests in order: if the client
     * already sent more, close after this answer (it may retry them). */
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    if (bev && evbuffer_get_length(bufferevent_get_input(bev)) > 0 && !evhttp_find_header(h, "Connection"))
        evhttp_add_header(h, "Connection", "close");
    if (!evhttp_find_header(h, "X-Impuls-Request-Id")) {
        char id[37];
        uuid4(id);
        evhttp_add_header(h, "X-Impuls-Request-Id", id);
    }
    struct evbuffer *b = evbuffer_new();
    if (body && len)
        evbuffer_add(b, body, len);
    http_reply(req, status, http_reason(status), b);
    evbuffer_free(b);
}

void http_json(struct evhttp_request *req, int status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!s) /* never an empty answer */
        s = strdup("{\"errorType\":\"ServiceException\",\"errorMessage\":\"the answer could not be encoded\"}");
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (!evhttp_find_header(h, "Content-Type"))
        evhttp_add_header(h, "Content-Type", "application/json");
    http_send(req, status, s, s ? strlen(s) : 0);
    free(s);
}

static http_error_shape_fn error_shape;

void http_set_error_shape(http_error_shape_fn shape)
{
    error_shape = shape;
}

void http_error(struct evhttp_request *req, int status, const char *type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Messages quote the client's input, cut to a length: keep them UTF-8. */
    char *clean = utf8_sanitize(msg, strlen(msg), sizeof msg);
    json_t *body = error_shape ? error_shape(req, status, type, clean ? clean : "") : NULL;
    http_json(req, status,
              body ? body : json_pack("{s:s, s:s}", "errorType", type, "errorMessage", clean ? clean : ""));
    free(clean);
}

char *http_body(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    evbuffer_copyout(in, s, n);
    s[n] = '\0';
    *len = n;
    return s;
}

json_t *http_headers_json(struct evhttp_request *req)
{
    json_t *headers = json_object();
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
    {
        char key[256];
        size_t i = 0;
        for (; h->key[i] && i < sizeof key - 1; i++)
            key[i] = (char)tolower((unsigned char)h->key[i]);
        key[i] = '\0';
        char *v = utf8_sanitize(h->value, strlen(h->value), 8192);
        /* Repeated headers are joined with commas, as API Gateway does. */
        json_t *prev = json_object_get(headers, key);
        char *joined = NULL;
        if (prev && asprintf(&joined, "%s,%s", json_string_value(prev), v ? v : "") >= 0)
            json_object_set_new(headers, key, json_string(joined));
        else if (!prev)
            json_object_set_new(headers, key, json_string(v ? v : ""));
        free(joined);
        free(v);
    }
    return headers;
}

void http_hold(struct evhttp_request *req)
{
    /* libevent 2.1 keeps reading a connection whose request had no body while
     * the answer is pending: its timeout then drops the request, a close
     * detaches it, and one more byte from the peer makes libevent exit the
     * process ("illegal connection state"). Stop reading until we answer;
     * libevent turns reading back on when it writes the reply. */
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    if (bev)
        bufferevent_disable(bev, EV_READ);
}
