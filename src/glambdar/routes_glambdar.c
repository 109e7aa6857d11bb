/* Glambdar's deploy route: POST /deploy with a multipart `file` field holding
 * a zip; the function is named after the zip's file name. Its other routes
 * (/invoke, /info, /del) map onto the REST handlers in route.c. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/fn_spec.h"
#include "api/multipart.h"
#include "http/http_util.h"

void api_glambdar_deploy(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    form_part_t part;
    char err[256];
    if (multipart_find(ct, body, len, "file", &part, err, sizeof err) < 0)
        return http_error(req, 400, "InvalidRequestContentException", "%s", err);
    /* "path/to/myfunc.zip" -> "myfunc" */
    const char *base = strrchr(part.filename, '/');
    base = base ? base + 1 : part.filename;
    char name[256];
    snprintf(name, sizeof name, "%s", base);
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".zip")) {
        return http_error(req, 400, "InvalidParameterValueException",
                          "the uploaded file must be named <function>.zip (got '%.100s')", part.filename);
    }
    name[n - 4] = '\0';
    if (!fn_name_valid(name))
        return http_error(req, 400, "InvalidParameterValueException",
                          "function name '%.100s' (from the file name) must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", name);
    if (part.len == 0)
        return http_error(req, 400, "InvalidParameterValueException", "zip is empty");
    api_deploy_zip(req, name, part.data, part.len);
}
