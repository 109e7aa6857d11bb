#pragma once
/* A function's stored configuration: one row of the functions table. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define FN_NAME_MAX 64
#define FN_HANDLER_MAX 128
#define FN_LABEL_MAX 64
#define FN_DESCRIPTION_MAX 256

typedef struct fn_config {
    char name[FN_NAME_MAX + 1];
    char runtime[32];
    char handler[FN_HANDLER_MAX + 1];
    json_t *env; /* object of string values; owned */
    int memory_mb;
    int timeout_s;
    int concurrency;
    int idle_timeout_s;
    char style[16]; /* "lambda": handler(event, context); "glambdar": handler(req) */
    bool reuse;     /* false: a fresh sandbox for every call (Glambdar's way) */
    char mode[8];   /* "handler", or "http": a server on port 8000 started from `handler` */
    char isolation[12]; /* "namespace" or "microvm": the sandbox its instances get */
    char auth[8];       /* its router URL: "none" (public) or "token" (an invoke token: docs/api.md) */
    char network[8];    /* "none" (its own loopback only) or "egress" (out under a policy: net/egress.h) */
    json_t *egress_allow; /* array of "CIDR[:port]" strings its egress may reach beyond the policy; owned */
    json_t *command; /* mode "http": the argv that starts the server, or NULL; owned */
    char version_label[FN_LABEL_MAX + 1]; /* the user's name for this version ("1.0.0"), or "" */
    char description[FN_DESCRIPTION_MAX + 1]; /* free text (Lambda's Description), or "" */
    char code_sha256[65];
    int64_t code_size;
    char task_key[65]; /* names the materialised code dir under tasks/ */
    int version;       /* bumped on every code or configuration change */
    uint64_t created_at, updated_at; /* ms since the epoch */
} fn_config_t;

/* Limits of the fields, shared by validation and docs. */
enum {
    FN_MEMORY_MIN = 64, FN_MEMORY_MAX = 10240, FN_MEMORY_DEFAULT = 128,
    FN_TIMEOUT_MIN = 1, FN_TIMEOUT_MAX = 900, FN_TIMEOUT_DEFAULT = 30,
    /* 0: every call throttled (Lambda's reserved concurrency 0) */
    FN_CONCURRENCY_MIN = 0, FN_CONCURRENCY_MAX = 1000, FN_CONCURRENCY_DEFAULT = 10,
    FN_IDLE_MIN = 1, FN_IDLE_MAX = 86400, FN_IDLE_DEFAULT = 300,
    FN_ENV_MAX_BYTES = 4096,
};

void fn_config_init_defaults(fn_config_t *c);
void fn_config_clear(fn_config_t *c);
void fn_config_copy(fn_config_t *dst, const fn_config_t *src);
/* "zip" or "inline". */
const char *fn_config_code_kind(const fn_config_t *c);
/* The public JSON view of a function (no code). */
json_t *fn_config_to_json(const fn_config_t *c);
/* The configuration back from its public view (a stored version); task_key is
 * not part of the view and is left empty. Returns -1 when a field is missing. */
int fn_config_from_json(json_t *j, fn_config_t *c);
