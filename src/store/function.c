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
    snprintf(c->isolation, sizeof c->isolation, "namespace");
    snprintf(c->auth, sizeof c->auth, "none");
    snprintf(c->network, sizeof c->network, "none");
    c->egress_allow = json_array();
    c->version = 1;
}

void fn_config_clear(fn_config_t *c)
{
    json_decref(c->env);
    c->env = NULL;
    json_decref(c->command);
    c->command = NULL;
    json_decref(c->egress_allow);
    c->egress_allow = NULL;
}

void fn_config_copy(fn_config_t *dst, const fn_config_t *src)
{
    *dst = *src;
    dst->env = src->env ? json_deep_copy(src->env) : json_object();
    dst->command = src->command ? json_deep_copy(src->command) : NULL;
    dst->egress_allow = src->egress_allow ? json_deep_copy(src->egress_allow) : json_array();
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
    return json_pack("{s:s, s:s, s:s, s:s, s:O, s:i, s:i, s:i, s:i, s:s, s:O?, s:s, s:b, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:i, s:s?, s:s, s:s}",
                     "name", c->name, "description", c->description, "runtime", c->runtime, "handler", c->handler, "env",
                     c->env, "memory_mb", c->memory_mb, "timeout_s",
                     c->timeout_s, "concurrency", c->concurrency, "idle_timeout_s",
                     c->idle_timeout_s, "mode", c->mode, "command", c->command, "style", c->style, "reuse", c->reuse, "isolation", c->isolation, "auth", c->auth, "network", c->network[0] ? c->network : "none", "egress_allow", c->egress_allow ? json_deep_copy(c->egress_allow) : json_array(), "code_kind", fn_config_code_kind(c), "code_sha256", c->code_sha256, "code_size",
                     (json_int_t)c->code_size, "version", c->version, "version_label",
                     c->version_label[0] ? c->version_label : NULL, "created_at", created,
                     "updated_at", updated);
}

static void copy_str(char *dst, size_t size, json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    snprintf(dst, size, "%s", v ? v : "");
}

int fn_config_from_json(json_t *j, fn_config_t *c)
{
    fn_config_init_defaults(c);
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "name")) ||
        !json_is_string(json_object_get(j, "runtime")) || !json_is_string(json_object_get(j, "handler")))
        return -1;
    copy_str(c->name, sizeof c->name, j, "name");
    copy_str(c->runtime, sizeof c->runtime, j, "runtime");
    copy_str(c->handler, sizeof c->handler, j, "handler");
    json_t *env = json_object_get(j, "env");
    if (json_is_object(env)) {
        json_decref(c->env);
        c->env = json_deep_copy(env);
    }
    json_t *cmd = json_object_get(j, "command");
    c->command = json_is_array(cmd) ? json_deep_copy(cmd) : NULL;
    c->memory_mb = (int)json_integer_value(json_object_get(j, "memory_mb"));
    c->timeout_s = (int)json_integer_value(json_object_get(j, "timeout_s"));
    c->concurrency = (int)json_integer_value(json_object_get(j, "concurrency"));
    c->idle_timeout_s = (int)json_integer_value(json_object_get(j, "idle_timeout_s"));
    if (json_is_string(json_object_get(j, "mode")))
        copy_str(c->mode, sizeof c->mode, j, "mode");
    if (json_is_string(json_object_get(j, "isolation")))
        copy_str(c->isolation, sizeof c->isolation, j, "isolation");
    if (json_is_string(json_object_get(j, "auth")))
        copy_str(c->auth, sizeof c->auth, j, "auth");
    if (json_is_string(json_object_get(j, "network")))
        copy_str(c->network, sizeof c->network, j, "network");
    json_t *allow = json_object_get(j, "egress_allow");
    if (json_is_array(allow)) {
        json_decref(c->egress_allow);
        c->egress_allow = json_deep_copy(allow);
    }
    if (json_is_string(json_object_get(j, "style")))
        copy_str(c->style, sizeof c->style, j, "style");
    c->reuse = !json_is_false(json_object_get(j, "reuse"));
    copy_str(c->code_sha256, sizeof c->code_sha256, j, "code_sha256");
    c->code_size = json_integer_value(json_object_get(j, "code_size"));
    c->version = (int)json_integer_value(json_object_get(j, "version"));
    copy_str(c->version_label, sizeof c->version_label, j, "version_label");
    copy_str(c->description, sizeof c->description, j, "description");
    if (c->memory_mb < FN_MEMORY_MIN || c->timeout_s < FN_TIMEOUT_MIN || c->concurrency < FN_CONCURRENCY_MIN ||
        c->idle_timeout_s < FN_IDLE_MIN || c->version < 1)
        return -1;
    return 0;
}
