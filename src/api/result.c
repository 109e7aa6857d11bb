#include "api/result.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_util.h"
#include "util/base64.h"
#include "util/utf8.h"

void http_result_clear(http_result_t *r)
{
    json_decref(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int malformed(http_result_t *out, const char *why)
{
    http_result_clear(out);
    out->error = why;
    return -1;
}

static int map_http_shape(json_t *root, http_result_t *out)
{
    json_t *sc = json_object_get(root, "statusCode");
    /* 1xx would let a function write its own framing after our headers. */
    if (!json_is_integer(sc) || json_integer_value(sc) < 200 || json_integer_value(sc) > 599)
        return malformed(out, "statusCode must be an integer from 200 to 599");
    out->status = (int)json_integer_value(sc);
    json_t *hdrs = json_object_get(root, "headers");
    bool has_ct = false;
    if (hdrs && !json_is_null(hdrs)) {
        if (!json_is_object(hdrs))
            return malformed(out, "headers must be an object");
        const char *k;
        json_t *v;
        json_object_foreach(hdrs, k, v)
        {
            char num[64];
            const char *s = NULL;
            if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
                s = json_string_value(v);
            else if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
                char *d = json_dumps(v, JSON_ENCODE_ANY);
                snprintf(num, sizeof num, "%s", d ? d : "");
                free(d);
                s = num;
            }
            if (!s || !http_header_name_ok(k) || !http_header_value_ok(s))
                return malformed(out, "headers must map header names to strings without line breaks");
            if (http_header_reserved(k))
                continue;
            json_object_set_new(out->headers, k, json_string(s));
            has_ct = has_ct || !strcasecmp(k, "content-type");
        }
    }
    json_t *cookies = json_object_get(root, "cookies");
    if (cookies && !json_is_null(cookies)) {
        /* Payload 2.0's answer: each cookie its own Set-Cookie header, after
         * any the headers object gave. */
        if (!json_is_array(cookies))
            return malformed(out, "cookies must be an array of strings");
        json_t *all = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(out->headers, k, v)
        {
            if (!strcasecmp(k, "set-cookie")) {
                json_array_append(all, v);
                json_object_del(out->headers, k);
                break;
            }
        }
        size_t i;
        json_array_foreach(cookies, i, v)
        {
            const char *c = json_string_value(v);
            if (!c || strlen(c) != json_string_length(v) || !http_header_value_ok(c)) {
                json_decref(all);
                return malformed(out, "cookies must be an array of strings without line breaks");
            }
            json_array_append(all, v);
        }
        json_object_set_new(out->headers, "Set-Cookie", all);
    }
    json_t *body = json_object_get(root, "body");
    json_t *b64 = json_object_get(root, "isBase64Encoded");
    const char *ct = "text/plain; charset=utf-8";
    if (!body || json_is_null(body)) {
        out->body = strdup("");
    } else if (json_is_string(body)) {
        const char *s = json_string_value(body);
        size_t n = json_string_length(body);
        if (json_is_true(b64)) {
            out->body = malloc(n / 4 * 3 + 4);
            ssize_t m = base64_decode(s, n, (unsigned char *)out->body);
            if (m < 0)
                return malformed(out, "body is not valid base64 though isBase64Encoded is true");
            out->body_len = (size_t)m;
            ct = "application/octet-stream";
        } else {
            out->body = malloc(n + 1);
            memcpy(out->body, s, n + 1);
            out->body_len = n;
        }
    } else {
        out->body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        out->body_len = strlen(out->body);
        ct = "application/json";
    }
    if (out->status == 204 || out->status == 304) {
        /* These carry no body: one sent anyway would be read as the start of
         * the next response on the connection. */
        out->body[0] = '\0';
        out->body_len = 0;
    }
    if (!has_ct)
        json_object_set_new(out->headers, "Content-Type", json_string(ct));
    return 0;
}

int result_map(const char *body, size_t len, bool apigw, http_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->headers = json_object();
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return malformed(out, "the function's response is not valid JSON");
    int rc = 0;
    if (json_is_object(root) && json_object_get(root, "statusCode")) {
        rc = map_http_shape(root, out);
    } else if (apigw && json_is_string(root)) {
        /* API Gateway sends a bare string as the body itself. */
        out->status = 200;
        out->body_len = json_string_length(root);
        out->body = malloc(out->body_len + 1);
        memcpy(out->body, json_string_value(root), out->body_len + 1);
        json_object_set_new(out->headers, "Content-Type", json_string("application/json"));
    } else {
        out->status = 200;
        out->body = malloc(len + 1);
        memcpy(out->body, body, len);
        out->body[len] = '\0';
        out->body_len = len;
        json_object_set_new(out->headers, "Content-Type", json_string("application/json"));
    }
    json_decref(root);
    return rc;
}

char *error_body(const char *type, const char *message, json_t *stack, const char *request_id)
{
    /* Type and message come from the function: any bytes, any length. */
    char *t = utf8_sanitize(type ? type : "Unhandled", strlen(type ? type : "Unhandled"), 256);
    char *m = utf8_sanitize(message ? message : "", strlen(message ? message : ""), 64 * 1024);
    json_t *trace = json_is_array(stack) ? json_incref(stack) : json_array();
    json_t *o = json_object();
    json_object_set_new(o, "errorType", json_string(t && *t ? t : "Unhandled"));
    json_object_set_new(o, "errorMessage", json_string(m ? m : ""));
    json_object_set_new(o, "stackTrace", trace);
    json_object_set_new(o, "requestId", json_string(request_id));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(t);
    free(m);
    return s;
}

int error_map(const char *body, size_t len, const char *type_hint, const char *request_id,
              char **out_body)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *type = NULL;
    json_t *stack = NULL;
    char *msg = NULL;
    if (json_is_object(root)) {
        type = json_string_value(json_object_get(root, "errorType"));
        const char *m = json_string_value(json_object_get(root, "errorMessage"));
        msg = m ? strdup(m) : NULL;
        stack = json_object_get(root, "stackTrace");
    } else {
        msg = utf8_sanitize(body, len, 4096); /* not JSON: the start of it */
    }
    if (!type || !*type)
        type = type_hint && *type_hint ? type_hint : "Unhandled";
    int status = strncmp(type, "Runtime.", 8) == 0 ? 502 : 500;
    *out_body = error_body(type, msg, stack, request_id);
    json_decref(root);
    free(msg);
    return status;
}
