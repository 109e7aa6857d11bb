#include "api/fn_spec.h"
#include "api/source_build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/egress.h"
#include "util/base64.h"

bool fn_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > FN_NAME_MAX || !isalnum((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool ident_char(unsigned char c) { return isalnum(c) || c == '_' || c == '$'; }

/* "a/b.c": below the code dir, no "..", no hidden or empty segments. */
static bool relative_path_valid(const char *p)
{
    if (!*p || *p == '/' || *p == '.' || p[strlen(p) - 1] == '/' || strstr(p, "/.") || strstr(p, "//"))
        return false;
    for (const char *c = p; *c; c++)
        if (!(ident_char((unsigned char)*c) || *c == '-' || *c == '.' || *c == '/'))
            return false;
    return true;
}

/* "command": the argv that starts an HTTP-server function. */
static int parse_command(json_t *v, fn_input_t *in, char *err, size_t errlen)
{
    size_t n = json_array_size(v), total = 0;
    if (!json_is_array(v) || n < 1 || n > FN_COMMAND_MAX_ARGS) {
        snprintf(err, errlen, "command must be an array of 1 to %d strings", FN_COMMAND_MAX_ARGS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(v, i);
        if (!json_is_string(a) || (i == 0 && json_string_length(a) == 0)) {
            snprintf(err, errlen, "command[%zu] must be a%s string", i, i == 0 ? " non-empty" : "");
            return -1;
        }
        if (memchr(json_string_value(a), '\0', json_string_length(a))) {
            snprintf(err, errlen, "command[%zu] must not contain NUL", i);
            return -1;
        }
        total += json_string_length(a) + 1;
    }
    if (total > FN_COMMAND_MAX_BYTES) {
        snprintf(err, errlen, "command is larger than %d bytes", FN_COMMAND_MAX_BYTES);
        return -1;
    }
    in->cfg.command = json_deep_copy(v);
    in->has_command = true;
    return 0;
}

static int parse_label(json_t *v, fn_input_t *in, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    bool ok = n >= 1 && n <= FN_LABEL_MAX && n == json_string_length(v) && isalnum((unsigned char)s[0]);
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)s[i]) || strchr("._+-", s[i]);
    /* All digits would be read as a version number. */
    if (ok && strspn(s, "0123456789") == n)
        ok = false;
    if (!ok) {
        snprintf(err, errlen, "version_label must be 1 to %d letters, digits, '.', '_', '+' or '-', "
                              "start with a letter or digit and not be a number", FN_LABEL_MAX);
        return -1;
    }
    snprintf(in->cfg.version_label, sizeof in->cfg.version_label, "%s", s);
    in->has_label = true;
    return 0;
}

/* Lambda's .NET handler, Assembly::Namespace.Class::Method: the assembly a
 * file name (letters, digits, '_', '-', '.'), the type a dotted name ('+'
 * for a nested class), the method an identifier. module: the assembly. */
static bool csharp_handler_split(const char *handler, char module[FN_HANDLER_MAX + 1], char func[FN_HANDLER_MAX + 1],
                                 char *err, size_t errlen)
{
    const char *a = strstr(handler, "::"), *b = a ? strstr(a + 2, "::") : NULL;
    bool ok = a && b && a > handler && b > a + 2 && b[2] && !strstr(b + 2, "::") && handler[0] != '.';
    for (const char *p = handler; ok && p < a; p++)
        ok = isalnum((unsigned char)*p) || strchr("_-.", *p);
    for (const char *p = a ? a + 2 : handler; ok && p < b; p++)
        ok = isalnum((unsigned char)*p) || strchr("_.+", *p);
    ok = ok && !isdigit((unsigned char)b[2]);
    for (const char *p = b ? b + 2 : handler; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_';
    if (!ok) {
        snprintf(err, errlen, "handler '%s': Assembly::Namespace.Class::Method (the assembly a file name of letters, "
                              "digits, '_', '-' and '.'; the method a C# name)", handler);
        return false;
    }
    snprintf(module, FN_HANDLER_MAX + 1, "%.*s", (int)(a - handler), handler);
    snprintf(func, FN_HANDLER_MAX + 1, "%s", b + 2);
    return true;
}

bool handler_split(const char *handler, const runtime_def_t *rt, char module[FN_HANDLER_MAX + 1],
                   char func[FN_HANDLER_MAX + 1], char *err, size_t errlen)
{
    size_t n = strlen(handler);
    if (n == 0 || n > FN_HANDLER_MAX) {
        snprintf(err, errlen, "handler must be 1 to %d characters", FN_HANDLER_MAX);
        return false;
    }
    if (rt && rt->lang == LANG_PROVIDED) {
        /* A custom runtime reads _HANDLER as it likes; an HTTP server names
         * its executable by it. Either way: a relative path below the code. */
        if (!relative_path_valid(handler)) {
            snprintf(err, errlen, "handler '%s': must be a relative path of letters, digits, '_', '-', '.', '$' and '/'",
                     handler);
            return false;
        }
        snprintf(module, FN_HANDLER_MAX + 1, "%s", handler);
        func[0] = '\0';
        return true;
    }
    if (rt && rt->lang == LANG_GO) {
        /* The Go function the daemon's build makes the entry point. */
        bool ok = !isdigit((unsigned char)handler[0]);
        for (const char *p = handler; *p; p++)
            ok = ok && (isalnum((unsigned char)*p) || *p == '_');
        if (!ok) {
            snprintf(err, errlen, "handler '%s': a Go function name (letters, digits and '_', not starting with a digit)",
                     handler);
            return false;
        }
        snprintf(module, FN_HANDLER_MAX + 1, "%s", rt->default_module);
        snprintf(func, FN_HANDLER_MAX + 1, "%s", handler);
        return true;
    }
    if (rt && rt->lang == LANG_CSHARP)
        return csharp_handler_split(handler, module, func, err, errlen);
    const char *dot = strrchr(handler, '.');
    const char *fn = dot ? dot + 1 : handler;
    size_t mlen = dot ? (size_t)(dot - handler) : 0;
    if (*fn == '\0' || isdigit((unsigned char)*fn)) {
        snprintf(err, errlen, "handler '%s': the function name after the last '.' is missing or invalid", handler);
        return false;
    }
    for (const char *p = fn; *p; p++)
        if (!ident_char((unsigned char)*p)) {
            snprintf(err, errlen, "handler '%s': function name may only hold letters, digits, '_' and '$'", handler);
            return false;
        }
    if (dot) {
        /* A module is a relative path below the code dir: no "..", no leading '/'. */
        if (mlen == 0 || handler[0] == '/' || handler[0] == '.') {
            snprintf(err, errlen, "handler '%s': module name is missing or not relative", handler);
            return false;
        }
        for (size_t i = 0; i < mlen; i++) {
            unsigned char c = (unsigned char)handler[i];
            bool ok = ident_char(c) || c == '-' || c == '/' || c == '.';
            if (!ok || (c == '.' && i + 1 < mlen && handler[i + 1] == '.') ||
                (c == '/' && i + 1 < mlen && handler[i + 1] == '/')) {
                snprintf(err, errlen, "handler '%s': module may only hold letters, digits, '_', '-', '.' and '/'", handler);
                return false;
            }
        }
        if (strstr(handler, "/.") || handler[mlen - 1] == '/') {
            snprintf(err, errlen, "handler '%s': module path is not allowed", handler);
            return false;
        }
        memcpy(module, handler, mlen);
        module[mlen] = '\0';
    } else {
        snprintf(module, FN_HANDLER_MAX + 1, "%s", rt ? rt->default_module : "index");
    }
    snprintf(func, FN_HANDLER_MAX + 1, "%s", fn);
    return true;
}

static int get_int(json_t *body, const char *key, int lo, int hi, int *out, bool *has, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return 0;
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "%s must be an integer", key);
        return -1;
    }
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        snprintf(err, errlen, "%s must be between %d and %d", key, lo, hi);
        return -1;
    }
    *out = (int)x;
    *has = true;
    return 0;
}

static bool env_key_valid(const char *k)
{
    if (!(isalpha((unsigned char)k[0]) || k[0] == '_'))
        return false;
    for (const char *p = k; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    /* Keys the platform sets itself may not be overridden. */
    static const char *reserved[] = {"_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT",
                                     "LAMBDA_RUNTIME_DIR", "AWS_REGION", "AWS_DEFAULT_REGION",
                                     "AWS_EXECUTION_ENV", NULL};
    for (int i = 0; reserved[i]; i++)
        if (!strcmp(k, reserved[i]))
            return false;
    return strncmp(k, "AWS_LAMBDA_", 11) != 0 && strncmp(k, "IMPULS_", 7) != 0;
}

static int parse_env(json_t *v, fn_input_t *in, char *err, size_t errlen)
{
    if (!json_is_object(v)) {
        snprintf(err, errlen, "env must be an object of string values");
        return -1;
    }
    size_t total = 0;
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val)
    {
        if (!json_is_string(val)) {
            snprintf(err, errlen, "env.%.64s must be a string", k);
            return -1;
        }
        if (!env_key_valid(k)) {
            snprintf(err, errlen, "env key '%.64s' is not allowed (letters, digits and '_'; reserved Lambda names refused)", k);
            return -1;
        }
        if (memchr(json_string_value(val), '\0', json_string_length(val))) {
            snprintf(err, errlen, "env.%.64s must not contain NUL", k);
            return -1;
        }
        total += strlen(k) + json_string_length(val) + 2;
    }
    if (total > FN_ENV_MAX_BYTES) {
        snprintf(err, errlen, "env is larger than %d bytes", FN_ENV_MAX_BYTES);
        return -1;
    }
    json_decref(in->cfg.env);
    in->cfg.env = json_deep_copy(v);
    in->has_env = true;
    return 0;
}

static int get_string(json_t *body, const char *key, const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

/* network: "none" (its own loopback) or "egress"; egress_allow: the
 * destinations beyond the policy (net/egress.h), as rules it parses. */
static int parse_network(json_t *body, fn_input_t *in, char *err, size_t errlen)
{
    json_t *net = json_object_get(body, "network");
    if (net) {
        const char *v = json_string_value(net);
        if (!v || (strcmp(v, "none") && strcmp(v, "egress"))) {
            snprintf(err, errlen, "network must be \"none\" (a sandbox has only its own loopback) or \"egress\" "
                                  "(connections out, under the egress policy)");
            return -1;
        }
        snprintf(in->cfg.network, sizeof in->cfg.network, "%s", v);
        in->has_network = true;
    }
    json_t *allow = json_object_get(body, "egress_allow");
    if (!allow)
        return 0;
    if (!json_is_array(allow) || json_array_size(allow) > EGRESS_ALLOW_MAX) {
        snprintf(err, errlen, "egress_allow must be an array of at most %d strings (\"10.0.0.0/8\", "
                              "\"192.168.1.20:5432\")", EGRESS_ALLOW_MAX);
        return -1;
    }
    const char *texts[EGRESS_ALLOW_MAX];
    egress_rule_t rules[EGRESS_ALLOW_MAX];
    size_t i;
    json_t *v;
    json_array_foreach(allow, i, v)
    {
        texts[i] = json_string_value(v);
        if (!texts[i]) {
            snprintf(err, errlen, "egress_allow must be an array of strings");
            return -1;
        }
    }
    if (egress_rules_parse_list(texts, (int)json_array_size(allow), rules, err, errlen) < 0)
        return -1;
    json_decref(in->cfg.egress_allow);
    in->cfg.egress_allow = json_deep_copy(allow);
    in->has_egress_allow = true;
    return 0;
}

int fn_input_parse(json_t *body, bool create, fn_input_t *in, char *err, size_t errlen)
{
    memset(in, 0, sizeof *in);
    fn_config_init_defaults(&in->cfg);
    if (!json_is_object(body)) {
        snprintf(err, errlen, "request body must be a JSON object");
        return -1;
    }
    static const char *known[] = {"name", "runtime", "handler", "code", "env", "memory_mb",
                                  "timeout_s", "concurrency", "idle_timeout_s", "network", "zip", "style", "reuse", "mode",
                                  "command", "version_label", "description", "isolation", "auth", "egress_allow", NULL};
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        bool ok = false;
        for (int i = 0; known[i]; i++)
            ok = ok || !strcmp(key, known[i]);
        if (!ok) {
            snprintf(err, errlen, "unknown field '%.64s'", key);
            return -1;
        }
    }
    const char *s;
    int r = get_string(body, "name", &s, err, errlen);
    if (r < 0)
        return -1;
    if (r == 0 && create) {
        snprintf(err, errlen, "name is required");
        return -1;
    }
    if (r == 1) {
        if (!fn_name_valid(s)) {
            snprintf(err, errlen, "name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
            return -1;
        }
        snprintf(in->cfg.name, sizeof in->cfg.name, "%s", s);
    }
    if ((r = get_string(body, "runtime", &s, err, errlen)) < 0)
        return -1;
    if (r == 0 && create) {
        snprintf(err, errlen, "runtime is required");
        return -1;
    }
    const runtime_def_t *rt = NULL;
    if (r == 1) {
        rt = runtime_find(s);
        if (!rt) {
            snprintf(err, errlen, "unknown runtime '%.32s' (see GET /api/v1/runtimes)", s);
            return -1;
        }
        if (json_object_get(body, "code") && rt->lang == LANG_PROVIDED) {
            snprintf(err, errlen, "runtime '%s' needs a zip holding its executable, not inline code", rt->name);
            return -1;
        }
        if (!runtime_available(rt)) {
            snprintf(err, errlen, "runtime '%s' needs %s, which is not installed", rt->name,
                     rt->lang == LANG_CSHARP ? "Mono (/usr/bin/mono and /usr/bin/mcs)"
                     : rt->interpreter       ? rt->interpreter
                                             : "/usr/bin/go (to build it)");
            return -1;
        }
        snprintf(in->cfg.runtime, sizeof in->cfg.runtime, "%s", rt->name);
        in->has_runtime = true;
    }
    /* An HTTP-server function's "handler" is the file that starts it. */
    bool http = json_is_string(json_object_get(body, "mode")) &&
                !strcmp(json_string_value(json_object_get(body, "mode")), "http");
    if ((r = get_string(body, "handler", &s, err, errlen)) < 0)
        return -1;
    if (r == 1) {
        char module[FN_HANDLER_MAX + 1], func[FN_HANDLER_MAX + 1];
        /* A server's file is a relative path, as a custom runtime's handler is.
         * An update naming no runtime: the form its "::" suggests (C#'s, or
         * module.function); the write checks it against the function's own. */
        const runtime_def_t *form = http ? runtime_find("provided")
                                    : rt ? rt
                                    : strstr(s, "::") ? runtime_find("csharp")
                                                      : NULL;
        if (!handler_split(s, form, module, func, err, errlen))
            return -1;
        snprintf(in->cfg.handler, sizeof in->cfg.handler, "%s", s);
        in->has_handler = true;
    } else if (create) {
        snprintf(in->cfg.handler, sizeof in->cfg.handler, "%s",
                 rt && rt->lang == LANG_PROVIDED ? rt->default_handler
                 : http ? (rt && rt->lang == LANG_PYTHON ? "main.py" : "index.js")
                      : rt ? rt->default_handler : "index.handler");
        in->has_handler = true;
    }
    json_t *code = json_object_get(body, "code");
    json_t *zip = json_object_get(body, "zip");
    if (code && zip) {
        snprintf(err, errlen, "give either code or zip, not both");
        return -1;
    }
    if (zip) {
        if (!json_is_string(zip)) {
            snprintf(err, errlen, "zip must be a base64 string");
            return -1;
        }
        size_t n = json_string_length(zip);
        in->zip = malloc(n / 4 * 3 + 3);
        ssize_t m = in->zip ? base64_decode(json_string_value(zip), n, in->zip) : -1;
        if (m < 0) {
            snprintf(err, errlen, "zip is not valid base64");
            return -1;
        }
        in->zip_len = (size_t)m;
        if (in->zip_len == 0) {
            snprintf(err, errlen, "zip is empty");
            return -1;
        }
    } else if (code) {
        if (!json_is_string(code)) {
            snprintf(err, errlen, "code must be a string");
            return -1;
        }
        in->code = json_string_value(code);
        in->code_len = json_string_length(code);
        if (in->code_len == 0) {
            snprintf(err, errlen, "code must not be empty");
            return -1;
        }
        if (in->code_len > FN_CODE_MAX) {
            snprintf(err, errlen, "code is larger than %u bytes", FN_CODE_MAX);
            return -1;
        }
    } else if (create) {
        snprintf(err, errlen, "code or zip is required");
        return -1;
    }
    json_t *mode = json_object_get(body, "mode");
    if (mode) {
        const char *m = json_string_value(mode);
        if (!m || (strcmp(m, "handler") && strcmp(m, "http"))) {
            snprintf(err, errlen, "mode must be \"handler\" or \"http\"");
            return -1;
        }
        if (!strcmp(m, "http") && runtime_builds_source(rt)) {
            snprintf(err, errlen, "%s", source_no_http_mode(rt->name));
            return -1;
        }
        snprintf(in->cfg.mode, sizeof in->cfg.mode, "%s", m);
        in->has_mode = true;
    }
    json_t *command = json_object_get(body, "command");
    if (command && parse_command(command, in, err, errlen) < 0)
        return -1;
    if (create && command && strcmp(in->cfg.mode, "http")) {
        snprintf(err, errlen, "command is only for mode \"http\" (the server to start)");
        return -1;
    }
    json_t *desc = json_object_get(body, "description");
    if (desc) {
        const char *d = json_string_value(desc);
        if (!d || json_string_length(desc) > FN_DESCRIPTION_MAX || strlen(d) != json_string_length(desc)) {
            snprintf(err, errlen, "description must be a string of at most %d bytes", FN_DESCRIPTION_MAX);
            return -1;
        }
        snprintf(in->cfg.description, sizeof in->cfg.description, "%s", d);
        in->has_description = true;
    }
    json_t *label = json_object_get(body, "version_label");
    if (label && parse_label(label, in, err, errlen) < 0)
        return -1;
    json_t *style = json_object_get(body, "style");
    if (style) {
        const char *st = json_string_value(style);
        if (!st || (strcmp(st, "lambda") && strcmp(st, "glambdar"))) {
            snprintf(err, errlen, "style must be \"lambda\" or \"glambdar\"");
            return -1;
        }
        if (!strcmp(st, "glambdar") && rt && rt->lang != LANG_NODE) {
            snprintf(err, errlen, "style \"glambdar\" needs a Node.js runtime");
            return -1;
        }
        snprintf(in->cfg.style, sizeof in->cfg.style, "%s", st);
        in->has_style = true;
    }
    json_t *isolation = json_object_get(body, "isolation");
    if (isolation) {
        const char *v = json_string_value(isolation);
        if (!v || (strcmp(v, "namespace") && strcmp(v, "microvm"))) {
            snprintf(err, errlen, "isolation must be \"namespace\" or \"microvm\"");
            return -1;
        }
        snprintf(in->cfg.isolation, sizeof in->cfg.isolation, "%s", v);
        in->has_isolation = true;
    }
    json_t *auth = json_object_get(body, "auth");
    if (auth) {
        const char *v = json_string_value(auth);
        if (!v || (strcmp(v, "none") && strcmp(v, "token"))) {
            snprintf(err, errlen, "auth must be \"none\" (its router URL is public) or \"token\" (it needs a token "
                                  "that may invoke it)");
            return -1;
        }
        snprintf(in->cfg.auth, sizeof in->cfg.auth, "%s", v);
        in->has_auth = true;
    }
    json_t *reuse = json_object_get(body, "reuse");
    if (reuse) {
        if (!json_is_boolean(reuse)) {
            snprintf(err, errlen, "reuse must be true or false");
            return -1;
        }
        in->cfg.reuse = json_is_true(reuse);
        in->has_reuse = true;
    }
    if (parse_network(body, in, err, errlen) < 0)
        return -1;
    json_t *env = json_object_get(body, "env");
    if (env && parse_env(env, in, err, errlen) < 0)
        return -1;
    if (get_int(body, "memory_mb", FN_MEMORY_MIN, FN_MEMORY_MAX, &in->cfg.memory_mb, &in->has_memory, err, errlen) ||
        get_int(body, "timeout_s", FN_TIMEOUT_MIN, FN_TIMEOUT_MAX, &in->cfg.timeout_s, &in->has_timeout, err, errlen) ||
        get_int(body, "concurrency", FN_CONCURRENCY_MIN, FN_CONCURRENCY_MAX, &in->cfg.concurrency, &in->has_concurrency, err, errlen) ||
        get_int(body, "idle_timeout_s", FN_IDLE_MIN, FN_IDLE_MAX, &in->cfg.idle_timeout_s, &in->has_idle, err, errlen))
        return -1;
    return 0;
}

void fn_input_clear(fn_input_t *in)
{
    fn_config_clear(&in->cfg);
    free(in->zip);
    in->zip = NULL;
}
