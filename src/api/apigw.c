/* API Gateway's HTTP API payload, version 2.0, built from a request. */
#include "api/apigw.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http_util.h"
#include "util/base64.h"
#include "util/utf8.h"
#include "util/util.h"

static bool valid_utf8(const char *s, size_t n)
{
    char *clean = utf8_sanitize(s, n, n);
    bool ok = clean && strlen(clean) == n && memcmp(clean, s, n) == 0;
    free(clean);
    return ok;
}

/* API Gateway's HTTP API payload, version 2.0: what Lambda handlers behind a
 * function URL or an HTTP API expect. rest is the path after /invoke/<name>. */
struct evbuffer *apigw_event(struct evhttp_request *req, const char *rest, const char *domain,
                            const char *request_id)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = evhttp_uri_get_query(uri);
    json_t *headers = http_headers_json(req);
    static const char *methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *method = "GET";
    for (int i = 0; i < 9; i++)
        if ((unsigned)cmd == (1u << i))
            method = methods[i];
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *raw = len ? (const char *)evbuffer_pullup(in, -1) : "";
    json_t *body;
    bool b64 = !valid_utf8(raw, len);
    if (b64) {
        char *enc = malloc(len / 3 * 4 + 8);
        base64_encode((const unsigned char *)raw, len, enc);
        body = json_string(enc);
        free(enc);
    } else {
        body = json_stringn(raw, len);
    }
    const char *ua = evhttp_find_header(evhttp_request_get_input_headers(req), "User-Agent");
    char *peer = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:I, s:{s:s, s:s, s:s, s:s, s:s}},"
                           " s:o, s:b}",
                           "version", "2.0", "routeKey", "$default", "rawPath", rest, "rawQueryString",
                           query ? query : "", "headers", headers, "requestContext", "accountId", "000000000000",
                           "apiId", "impuls", "domainName", domain, "requestId", request_id, "stage",
                           "$default", "timeEpoch", (json_int_t)now_ms(), "http", "method", method, "path", rest,
                           "protocol", "HTTP/1.1", "sourceIp", peer ? peer : "", "userAgent", ua ? ua : "",
                           "body", body, "isBase64Encoded", b64);
    char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    struct evbuffer *out = evbuffer_new();
    if (s)
        evbuffer_add(out, s, strlen(s));
    free(s);
    return out;
}

