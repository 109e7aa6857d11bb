#include "cli/client_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"

const char *cli_default_addr(void)
{
    const char *a = getenv("IMPULS_ADDR");
    return a && *a ? a : "127.0.0.1:8080";
}

void cli_error_message(const http_response_t *r, char *out, size_t size)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    const char *msg = json_string_value(json_object_get(j, "errorMessage"));
    snprintf(out, size, "%s", msg ? msg : r->body ? r->body : "");
    json_decref(j);
}

int cli_report(const http_response_t *r)
{
    if (r->status < 400)
        return EXIT_OK;
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    const char *msg = json_string_value(json_object_get(j, "errorMessage"));
    const char *type = json_string_value(json_object_get(j, "errorType"));
    fprintf(stderr, "impuls: %s (%s, HTTP %d)\n", msg ? msg : r->body, type ? type : "error", r->status);
    json_decref(j);
    return EXIT_REFUSED;
}

int cli_request(const char *addr, const char *method, const char *path, const char *body, size_t len,
                http_response_t *r, char *why, size_t whylen)
{
    if (http_call(addr, method, path, body ? "application/json" : NULL, body, len, r, why, whylen) < 0)
        return EXIT_UNREACHABLE;
    return r->status >= 400 ? EXIT_REFUSED : EXIT_OK;
}

int cli_call(const char *addr, const char *method, const char *path, const char *body, size_t len,
             http_response_t *r)
{
    char err[512];
    int rc = cli_request(addr, method, path, body, len, r, err, sizeof err);
    if (rc == EXIT_UNREACHABLE)
        fprintf(stderr, "impuls: %s\n", err);
    return rc == EXIT_REFUSED ? cli_report(r) : rc;
}

int cli_deploy(const char *addr, const char *name, json_t *spec, http_response_t *r, char *why, size_t whylen)
{
    memset(r, 0, sizeof *r);
    json_object_set_new(spec, "name", json_string(name));
    char *body = json_dumps(spec, JSON_COMPACT);
    json_object_del(spec, "name");
    if (!body) {
        snprintf(why, whylen, "out of memory");
        return EXIT_USAGE;
    }
    int rc = cli_request(addr, "POST", "/api/v1/functions", body, strlen(body), r, why, whylen);
    free(body);
    if (rc != EXIT_REFUSED || r->status != 409)
        return rc;
    /* It exists: replace its code and the fields given. */
    http_response_clear(r);
    body = json_dumps(spec, JSON_COMPACT);
    if (!body) {
        snprintf(why, whylen, "out of memory");
        return EXIT_USAGE;
    }
    char path[128];
    snprintf(path, sizeof path, "/api/v1/functions/%s", name);
    rc = cli_request(addr, "PUT", path, body, strlen(body), r, why, whylen);
    free(body);
    return rc;
}

int cli_spec_set_zip(json_t *spec, const char *zip, size_t len)
{
    char *b64 = malloc(len / 3 * 4 + 8);
    if (!b64)
        return -1;
    base64_encode((const unsigned char *)zip, len, b64);
    int rc = json_object_set_new(spec, "zip", json_string(b64));
    free(b64);
    return rc;
}

const char *cli_str(json_t *j, const char *key, const char *none)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v ? v : none;
}
