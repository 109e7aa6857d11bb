/* API Gateway's HTTP API payload, version 2.0, built from a request: the
 * event Lambda function URLs send, field for field, as the adapters that run
 * web frameworks on Lambda (serverless-http, @codegenie/serverless-express)
 * read it. The route is always "$default", so there are no pathParameters. */
#include "api/apigw.h"

#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http_util.h"
#include "util/base64.h"
#include "util/lambda_arn.h"
#include "util/utf8.h"
#include "util/util.h"

static bool valid_utf8(const char *s, size_t n)
{
    char *clean = utf8_sanitize(s, n, n);
    bool ok = clean && strlen(clean) == n && memcmp(clean, s, n) == 0;
    free(clean);
    return ok;
}

/* Content types whose bodies an event carries as text; any other body is
 * base64 (isBase64Encoded), as function URLs do. No type: text if UTF-8. */
bool apigw_text_type(const char *ct)
{
    if (!ct)
        return true;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    static const char *exact[] = {"application/json", "application/javascript", "application/xml",
                                  "application/x-www-form-urlencoded", "application/graphql",
                                  "application/ld+json", "application/yaml", "application/x-yaml", NULL};
    for (int i = 0; exact[i]; i++)
        if (strlen(exact[i]) == n && !strncasecmp(ct, exact[i], n))
            return true;
    if (!strncasecmp(ct, "text/", 5))
        return true;
    return (n > 5 && !strncasecmp(ct + n - 5, "+json", 5)) || (n > 4 && !strncasecmp(ct + n - 4, "+xml", 4));
}

/* "a=1; b=2" (and further Cookie headers) -> ["a=1", "b=2"]. */
static void add_cookies(json_t *cookies, const char *header)
{
    const char *p = header;
    while (*p) {
        p += strspn(p, " \t;");
        size_t n = strcspn(p, ";");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m > 0)
            json_array_append_new(cookies, json_stringn_nocheck(p, m));
        p += n;
    }
}

/* The query as API Gateway gives it: keys and values %-decoded, a repeated
 * key's values joined with commas in the order given; NULL for no query.
 * Bounded: the first QUERY_PAIRS_MAX pairs, a joined value cut at
 * QUERY_VALUE_MAX bytes (a request of one key repeated 30,000 times must
 * not cost the loop a quadratic join). rawQueryString has it all. */
enum { QUERY_PAIRS_MAX = 1000, QUERY_VALUE_MAX = 8192 };

static json_t *query_parameters(const char *query)
{
    if (!query || !*query)
        return NULL;
    json_t *params = json_object();
    char *copy = strdup(query);
    char *save = NULL;
    int pairs = 0;
    for (char *pair = strtok_r(copy, "&", &save); pair && pairs++ < QUERY_PAIRS_MAX;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = '\0';
        size_t klen, vlen;
        char *k = evhttp_uridecode(pair, 0, &klen);
        char *v = evhttp_uridecode(eq ? eq + 1 : "", 0, &vlen);
        char *ks = k ? utf8_sanitize(k, klen, 1024) : NULL;
        char *vs = v ? utf8_sanitize(v, vlen, 8192) : NULL;
        if (ks && vs && *ks) {
            json_t *prev = json_object_get(params, ks);
            char *joined = NULL;
            if (!prev)
                json_object_set_new(params, ks, json_string(vs));
            else if (json_string_length(prev) + strlen(vs) < QUERY_VALUE_MAX &&
                     asprintf(&joined, "%s,%s", json_string_value(prev), vs) >= 0)
                json_object_set_new(params, ks, json_string(joined));
            free(joined);
        }
        free(k);
        free(v);
        free(ks);
        free(vs);
    }
    free(copy);
    return params;
}

/* s as valid UTF-8 (bad bytes replaced), "" for NULL; owned. */
static char *safe_text(const char *s)
{
    char *t = s ? utf8_sanitize(s, strlen(s), 65536) : NULL;
    return t ? t : strdup("");
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    static const char *methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    for (int i = 0; i < 9; i++)
        if ((unsigned)cmd == (1u << i))
            return methods[i];
    return "GET";
}

/* rest is the path after /invoke/<name> (or the chamber's path). */
struct evbuffer *apigw_event(struct evhttp_request *req, const char *rest, const char *domain,
                            const char *request_id)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = evhttp_uri_get_query(uri);
    struct evkeyvalq *in_headers = evhttp_request_get_input_headers(req);
    json_t *headers = http_headers_json(req);
    json_t *cookies = json_array();
    struct evkeyval *h;
    TAILQ_FOREACH(h, in_headers, next)
    {
        if (strcasecmp(h->key, "Cookie"))
            continue;
        char *v = utf8_sanitize(h->value, strlen(h->value), 8192);
        if (v)
            add_cookies(cookies, v);
        free(v);
    }
    if (json_array_size(cookies) > 0)
        json_object_del(headers, "cookie"); /* they are in "cookies" instead */

    uint64_t now = now_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char when[40];
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%.*s", (int)strcspn(domain, "."), domain);
    /* Request bytes need not be UTF-8; JSON strings must be. */
    cleanup_free char *ua = safe_text(evhttp_find_header(in_headers, "User-Agent"));
    cleanup_free char *path = safe_text(rest);
    cleanup_free char *raw_query = safe_text(query);
    char *peer = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
    const char *method = method_name(evhttp_request_get_command(req));

    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:s,"
                           " s:s, s:s, s:s, s:I}}",
                           "version", "2.0", "routeKey", "$default", "rawPath", path, "rawQueryString",
                           raw_query, "headers", headers, "requestContext", "accountId", LAMBDA_ACCOUNT,
                           "apiId", "impuls", "domainName", domain, "domainPrefix", prefix, "http", "method",
                           method, "path", path, "protocol", "HTTP/1.1", "sourceIp", peer ? peer : "",
                           "userAgent", ua, "requestId", request_id, "routeKey", "$default", "stage",
                           "$default", "time", when, "timeEpoch", (json_int_t)now);
    if (json_array_size(cookies) > 0)
        json_object_set(ev, "cookies", cookies);
    json_decref(cookies);
    json_t *params = query_parameters(query);
    if (params)
        json_object_set_new(ev, "queryStringParameters", params);

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    bool b64 = false;
    if (len > 0) {
        const char *raw = (const char *)evbuffer_pullup(in, -1);
        b64 = !apigw_text_type(evhttp_find_header(in_headers, "Content-Type")) || !valid_utf8(raw, len);
        if (b64) {
            char *enc = malloc(len / 3 * 4 + 8);
            base64_encode((const unsigned char *)raw, len, enc);
            json_object_set_new(ev, "body", json_string(enc));
            free(enc);
        } else {
            json_object_set_new(ev, "body", json_stringn(raw, len));
        }
    }
    json_object_set_new(ev, "isBase64Encoded", json_boolean(b64));

    char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    struct evbuffer *out = evbuffer_new();
    if (s)
        evbuffer_add(out, s, strlen(s));
    free(s);
    return out;
}
