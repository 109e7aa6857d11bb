#include "store/function.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

void fn_config_init_defaults(fn_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->env = json_object();
    c->memory_mb = FN_MEMORY_DEFAULT;
    c->timeout_s = FN_TIMEOUT_DEFAULT;
    c->concurrency = FN_CONCURRENCY_DEFAULT;
    c->idle_timeout_s = FN_IDLE_DEFAULT;
    snprintf(c->style, sizeof c->style, "lambda");
    c->reuse = true;
    snprintf(c->mode, sizeof c->mode, "handler");
    c->version = 1;
}

void fn_config_clear(fn_config_t *c)
{
    json_decref(c->env);
    c->env = NULL;
}

void fn_config_copy(fn_config_t *dst, const fn_config_t *src)
{
    *dst = *src;
    dst->env = src->env ? json_deep_copy(src->env) : json_object();
}

const char *fn_config_code_kind(const fn_config_t *c)
{
    /* A zip's code dir is named by the zip's hash; inline code's by the hash
     * of code and file name. */
    return strcmp(c->task_key, c->code_sha256) == 0 ? "zip" : "inline";
}

json_t *fn_config_to_json(const fn_config_t *c)
{
    char created[32], updated[32];
    iso8601(created, c->created_at);
    iso8601(updated, c->updated_at);
    return json_pack("{s:s, s:s, s:s, s:O, s:i, s:i, s:i, s:i, s:s, s:s, s:b, s:s, s:s, s:s, s:I, s:i, s:s, s:s}",
                     "name", c->name, "runtime", c->runtime, "handler", c->handler, "env",
                     c->env, "memory_mb", c->memory_mb, "timeout_s",
                     c->timeout_s, "concurrency", c->concurrency, "idle_timeout_s",
                     c->idle_timeout_s, "mode", c->mode, "style", c->style, "reuse", c->reuse, "network", "none", "code_kind", fn_config_code_kind(c), "code_sha256", c->code_sha256, "code_size",
                     (json_int_t)c->code_size, "version", c->version, "created_at", created,
                     "updated_at", updated);
}
