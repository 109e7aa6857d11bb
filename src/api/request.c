/* What the front ends share of a request (api.h): its body as JSON, its
 * query, the 404 of an unknown function; and the collection of code that
 * nothing refers to any more. */
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "api/api.h"
#include "http/http_util.h"
#include "pool/pool.h"
#include "store/store.h"
#include "util/util.h"

enum { API_JSON_MAX_VALUES = 200000 };

static bool json_values_over(const char *s, size_t len, long max)
{
    long n = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if ((c == ',' || c == '[' || c == '{') && ++n > max) {
            return true;
        }
    }
    return false;
}

json_t *api_json_body(struct evhttp_request *req)
{
    size_t len;
    cleanup_free char *body = http_body(req, &len);
    if (!body) {
        http_error(req, 500, "ServiceException", "out of memory");
        return NULL;
    }
    /* A spec has a few thousand values at most; millions would keep the
     * loop parsing for seconds. Count separators (outside strings) first. */
    if (json_values_over(body, len, API_JSON_MAX_VALUES)) {
        http_error(req, 400, "InvalidRequestContentException", "request body has more than %d JSON values",
                   API_JSON_MAX_VALUES);
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        http_error(req, 400, "InvalidRequestContentException", "request body is not valid JSON: %s (line %d, column %d)",
                   e.text, e.line, e.column);
    return j;
}

json_t *api_json_object_body(struct evhttp_request *req)
{
    json_t *j = api_json_body(req);
    if (j && !json_is_object(j)) {
        json_decref(j);
        http_error(req, 400, "InvalidParameterValueException", "request body must be a JSON object");
        return NULL;
    }
    return j;
}

void api_not_found(struct evhttp_request *req, const char *name)
{
    http_error(req, 404, "ResourceNotFoundException", "function '%s' not found", name);
}

const char *api_query(struct evhttp_request *req, const char *key, char *buf, size_t size)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (!q)
        return NULL;
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    if (evhttp_parse_query_str(q, &params) < 0)
        return NULL;
    const char *v = evhttp_find_header(&params, key);
    const char *out = NULL;
    if (v) {
        snprintf(buf, size, "%s", v);
        out = buf;
    }
    evhttp_clear_headers(&params);
    return out;
}

void api_collect_code(const char *code_sha256, const char *task_key, void *arg)
{
    (void)arg;
    store_gc_code(D->store, code_sha256, pool_task_in_use(task_key) ? "" : task_key);
}

