#include "api/lambda_shape.h"

#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/fn_spec.h"
#include "http/http_util.h"
#include "pool/pool.h"
#include "runtime_api/runtimes.h"
#include "util/base64.h"
#include "util/util.h"

/* The API versions Lambda's operations are under (each its own). */
static const char *const LAMBDA_VERSIONS[] = {"/2015-03-31/", "/2017-10-31/", "/2019-09-25/", "/2019-09-30/"};

bool lambda_request(struct evhttp_request *req)
{
    const char *uri = req ? evhttp_request_get_uri(req) : NULL;
    for (size_t i = 0; uri && i < sizeof LAMBDA_VERSIONS / sizeof *LAMBDA_VERSIONS; i++)
        if (!strncmp(uri, LAMBDA_VERSIONS[i], 12))
            return true;
    return false;
}

bool lambda_concurrency_request(struct evhttp_request *req)
{
    const char *uri = lambda_request(req) ? evhttp_request_get_uri(req) : NULL;
    size_t n = uri ? strcspn(uri, "?") : 0;
    return n > 12 && !strncmp(uri + n - 12, "/concurrency", 12);
}

json_t *lambda_concurrency_json(const fn_config_t *c)
{
    if (c->concurrency == FN_CONCURRENCY_DEFAULT)
        return json_object();
    return json_pack("{s:i}", "ReservedConcurrentExecutions", c->concurrency);
}

json_t *lambda_error_shape(struct evhttp_request *req, int status, const char *type, const char *message)
{
    if (!lambda_request(req))
        return NULL;
    /* Lambda's shape: the type in a header, {Type, Message} in the body. */
    if (!strcmp(type, "ServiceUnavailable") || !strcmp(type, "StorageException"))
        type = "ServiceException";
    evhttp_add_header(evhttp_request_get_output_headers(req), "x-amzn-ErrorType", type);
    return json_pack("{s:s, s:s}", "Type", status >= 500 ? "Service" : "User", "Message", message);
}

/* Lambda's runtime identifiers for ours. */
static const char *lambda_runtime(const char *ours)
{
    static const struct {
        const char *ours, *lambda;
    } map[] = {{"nodejs20", "nodejs20.x"}, {"nodejs18", "nodejs18.x"}, {"python311", "python3.11"},
               {"python39", "python3.9"},  {"provided", "provided.al2023"}, {"go", "go1.x"},
               {"csharp", "dotnet8"},      {NULL, NULL}};
    for (int i = 0; map[i].ours; i++)
        if (!strcmp(map[i].ours, ours))
            return map[i].lambda;
    return ours;
}

/* "2026-11-25T15:00:00.123+0000", Lambda's LastModified. */
void lambda_time(char out[40], uint64_t ms)
{
    char iso[32];
    iso8601(iso, ms); /* 2026-11-25T15:00:00.123Z */
    size_t n = strlen(iso);
    if (n && iso[n - 1] == 'Z')
        iso[n - 1] = '\0';
    snprintf(out, 40, "%s+0000", iso);
}

void lambda_sha_base64(const char *hex, char out[48])
{
    unsigned char bin[32];
    size_t n = strlen(hex) == 64 ? 32 : 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            n = 0;
            break;
        }
        bin[i] = (unsigned char)v;
    }
    base64_encode(bin, n, out);
}

json_t *lambda_config_json(const fn_config_t *c)
{
    char arn[LAMBDA_ARN_MAX], modified[40], sha[48], revision[48];
    lambda_function_arn(arn, c->name, NULL);
    lambda_time(modified, c->updated_at);
    lambda_sha_base64(c->code_sha256, sha);
    /* Changes with every version, as Lambda's RevisionId does. */
    snprintf(revision, sizeof revision, "%.8s-%04x-4000-8000-%012llx", c->code_sha256, (unsigned)(c->version & 0xffff),
             (unsigned long long)(c->updated_at & 0xffffffffffffULL));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:i, s:i, s:s, s:s, s:s, s:{s:O}, s:{s:s}, s:s, s:s,"
                     " s:s, s:s, s:[s], s:{s:i}}",
                     "FunctionName", c->name, "FunctionArn", arn, "Runtime", lambda_runtime(c->runtime), "Role",
                     "arn:aws:iam::" LAMBDA_ACCOUNT ":role/impuls", "Handler", c->handler, "CodeSize",
                     (json_int_t)c->code_size, "Description", c->description, "Timeout", c->timeout_s, "MemorySize",
                     c->memory_mb, "LastModified", modified, "CodeSha256", sha, "Version", "$LATEST", "Environment",
                     "Variables", c->env, "TracingConfig", "Mode", "PassThrough", "RevisionId", revision, "State",
                     "Active", "LastUpdateStatus", "Successful", "PackageType", "Zip", "Architectures", "x86_64",
                     "EphemeralStorage", "Size", 512);
}

json_t *lambda_version_json(const fn_config_t *c, const char *description)
{
    json_t *j = lambda_config_json(c);
    char arn[LAMBDA_ARN_MAX], v[16];
    snprintf(v, sizeof v, "%d", c->version);
    lambda_function_arn(arn, c->name, v);
    json_object_set_new(j, "Version", json_string(v));
    json_object_set_new(j, "FunctionArn", json_string(arn));
    json_object_set_new(j, "Description", json_string(description ? description : ""));
    return j;
}

bool lambda_function_name(const char *given, char out[FN_NAME_MAX + 1])
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", given);
    /* A qualifier: only $LATEST exists here. */
    char *q = strstr(buf, ":$LATEST");
    if (q && q[8] == '\0')
        *q = '\0';
    const char *name = buf;
    char *fn = strstr(buf, ":function:");
    if (fn) {
        /* arn:aws:lambda:REGION:ACCOUNT:function:NAME or ACCOUNT:function:NAME,
         * of this daemon's (only) region and account. */
        *fn = '\0';
        name = fn + 10;
        if (strcmp(buf, "arn:aws:lambda:" LAMBDA_REGION ":" LAMBDA_ACCOUNT) && strcmp(buf, LAMBDA_ACCOUNT))
            return false;
    }
    if (!fn_name_valid(name))
        return false;
    snprintf(out, FN_NAME_MAX + 1, "%s", name);
    return true;
}

/* The function a route names, or NULL after a 404 that quotes it as Lambda
 * does (an ARN as given; a name as its ARN; a qualifier appended). Only
 * $LATEST exists: any other qualifier names nothing (api.h). */
fn_t *lambda_find(struct evhttp_request *req, const char *given)
{
    char name[FN_NAME_MAX + 1], q[80];
    const char *qual = api_query(req, "Qualifier", q, sizeof q);
    bool latest = !qual || !strcmp(qual, "$LATEST");
    fn_t *fn = latest && lambda_function_name(given, name) ? registry_find(name) : NULL;
    if (!fn)
        http_error(req, 404, "ResourceNotFoundException", "Function not found: %s%.200s%s%.64s",
                   strstr(given, ":function:") ? "" : "arn:aws:lambda:" LAMBDA_REGION ":" LAMBDA_ACCOUNT ":function:", given,
                   qual ? ":" : "", qual ? qual : "");
    return fn;
}
