/* The client commands of the impuls binary, against a running daemon at
 * --addr or IMPULS_ADDR (default 127.0.0.1:8080):
 *   deploy PATH   a .js/.py/.go/.cs file (inline code), a .zip, or a directory (zipped)
 *   invoke NAME[:QUALIFIER] [JSON|-]   ls   get NAME   rm NAME   logs NAME [--tail N] [-f]
 *   instances NAME
 *   chambers [start APP VERSION [--runtime R] | get ID | rm ID]
 * Exit codes: 0 done; 1 the daemon refused (its message is printed); 2 bad
 * usage or input; 3 the daemon could not be reached. */
#include <errno.h>
#include <event2/http.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/fn_spec.h"
#include "cli/cli.h"
#include "cli/client_common.h"
#include "cli/http_client.h"
#include "cli/zip_dir.h"
#include "util/util.h"

enum { INPUT_MAX = 50 << 20 };

typedef struct opts {
    const char *addr;
    bool json, local, follow, async;
    const char *name, *runtime, *handler, *isolation;
    int memory_mb, timeout_s, tail;
} opts_t;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "impuls: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
}

static void print_json(const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, JSON_DECODE_ANY, NULL);
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY) : NULL;
    printf("%s\n", s ? s : body);
    free(s);
    json_decref(j);
}

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot : "";
}

/* "dir/hello.zip" -> "hello" */
static void stem(const char *path, char out[FN_NAME_MAX + 2])
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *start = path;
    for (size_t i = 0; i < n; i++)
        if (path[i] == '/')
            start = path + i + 1;
    size_t len = (size_t)(path + n - start);
    const char *dot = memchr(start, '.', len);
    if (dot && dot > start)
        len = (size_t)(dot - start);
    snprintf(out, FN_NAME_MAX + 2, "%.*s", (int)(len > FN_NAME_MAX + 1 ? FN_NAME_MAX + 1 : len), start);
}

static int cmd_deploy(const opts_t *o, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return usage_error("cannot read %s", path);
    char name[FN_NAME_MAX + 2];
    if (o->name)
        snprintf(name, sizeof name, "%.*s", FN_NAME_MAX + 1, o->name);
    else
        stem(path, name);
    if (!fn_name_valid(name))
        return usage_error("function name '%s' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ (use --name)", name);
    const char *ext = ext_of(path);
    const char *runtime = o->runtime;
    char handler[FN_HANDLER_MAX + 1] = "";
    json_t *spec = json_object();
    size_t len = 0;
    char *data = NULL;
    if (S_ISDIR(st.st_mode) || !strcmp(ext, ".zip")) {
        char err[512];
        data = S_ISDIR(st.st_mode) ? zip_dir(path, INPUT_MAX, &len, err, sizeof err) : read_file(path, INPUT_MAX, &len);
        if (!data) {
            json_decref(spec);
            return usage_error("%s", S_ISDIR(st.st_mode) ? err : "cannot read the zip");
        }
        if (!runtime)
            runtime = S_ISDIR(st.st_mode) && zip_dir_is_python(path) ? "python311" : "nodejs20";
        cli_spec_set_zip(spec, data, len);
    } else if (!strcmp(ext, ".js") || !strcmp(ext, ".py") || !strcmp(ext, ".go") || !strcmp(ext, ".cs")) {
        data = read_file(path, INPUT_MAX, &len);
        if (!data || len == 0) {
            free(data);
            json_decref(spec);
            return usage_error("cannot read %s (or it is empty)", path);
        }
        if (!runtime)
            runtime = !strcmp(ext, ".py")   ? "python311"
                      : !strcmp(ext, ".go") ? "go"
                      : !strcmp(ext, ".cs") ? "csharp"
                                            : "nodejs20";
        char module[FN_NAME_MAX + 2];
        stem(path, module);
        /* Go source: the daemon builds it; its handler is the function Handler. */
        /* C#: Lambda's template names, Hello.cs -> Hello::Hello.Function::FunctionHandler. */
        if (!strcmp(ext, ".cs"))
            snprintf(handler, sizeof handler, "%s::%s.Function::FunctionHandler", module, module);
        else if (strcmp(ext, ".go"))
            snprintf(handler, sizeof handler, "%s.handler", module);
        json_object_set_new(spec, "code", json_stringn(data, len));
    } else {
        json_decref(spec);
        return usage_error("%s: deploy takes a .js, .py, .go or .cs file, a .zip, or a directory", path);
    }
    free(data);
    if (o->handler)
        snprintf(handler, sizeof handler, "%s", o->handler);
    if (handler[0])
        json_object_set_new(spec, "handler", json_string(handler));
    json_object_set_new(spec, "runtime", json_string(runtime));
    if (o->memory_mb)
        json_object_set_new(spec, "memory_mb", json_integer(o->memory_mb));
    if (o->timeout_s)
        json_object_set_new(spec, "timeout_s", json_integer(o->timeout_s));
    if (o->isolation)
        json_object_set_new(spec, "isolation", json_string(o->isolation));
    http_response_t r;
    char err[512];
    int rc = cli_deploy(o->addr, name, spec, &r, err, sizeof err);
    if (rc == EXIT_UNREACHABLE || rc == EXIT_USAGE)
        fprintf(stderr, "impuls: %s\n", err);
    else if (rc == EXIT_REFUSED)
        cli_report(&r);
    if (rc == EXIT_OK) {
        json_t *f = json_loadb(r.body, r.body_len, 0, NULL);
        if (o->json)
            print_json(r.body, r.body_len);
        else
            printf("%s %s (%s, version %d)\n", r.status == 201 ? "created" : "updated", name,
                   json_string_value(json_object_get(f, "runtime")),
                   (int)json_integer_value(json_object_get(f, "version")));
        json_decref(f);
    }
    http_response_clear(&r);
    json_decref(spec);
    return rc;
}

static int cmd_invoke(const opts_t *o, const char *name, const char *event)
{
    char *owned = NULL;
    size_t len = 0;
    if (event && !strcmp(event, "-")) {
        owned = read_file("/dev/stdin", INPUT_MAX, &len);
        if (!owned)
            return usage_error("cannot read the event from %s", "standard input");
        event = owned;
    } else {
        len = event ? strlen(event) : 0;
    }
    /* NAME:QUALIFIER runs a published version or an alias's pick. */
    char path[512], fn[FN_NAME_MAX + 1];
    const char *colon = strchr(name, ':');
    snprintf(fn, sizeof fn, "%.*s", (int)(colon ? (size_t)(colon - name) : strlen(name)), name);
    char *q = colon ? evhttp_encode_uri(colon + 1) : NULL;
    char query[400];
    snprintf(query, sizeof query, "%s%s%s%s", q ? "&qualifier=" : "", q ? q : "", o->local ? "&local=true" : "",
             o->async ? "&invocation_type=Event" : "");
    snprintf(path, sizeof path, "/api/v1/functions/%s/invoke%s%s", fn, *query ? "?" : "", *query ? query + 1 : "");
    free(q);
    http_response_t r;
    int rc = cli_call(o->addr, "POST", path, len ? event : NULL, len, &r);
    if (rc == EXIT_OK && o->async && !o->json) {
        printf("accepted %s\n", r.request_id);
    } else if (rc == EXIT_OK) {
        fwrite(r.body, 1, r.body_len, stdout);
        if (r.body_len && r.body[r.body_len - 1] != '\n')
            putchar('\n');
    }
    http_response_clear(&r);
    free(owned);
    return rc;
}

static int cmd_ls(const opts_t *o)
{
    http_response_t r;
    int rc = cli_call(o->addr, "GET", "/api/v1/functions", NULL, 0, &r);
    if (rc == EXIT_OK && o->json) {
        print_json(r.body, r.body_len);
    } else if (rc == EXIT_OK) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        printf("%-24s %-10s %-22s %7s %8s %8s  %s\n", "NAME", "RUNTIME", "HANDLER", "MEMORY", "TIMEOUT", "VERSION",
               "UPDATED");
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(j, "functions"), i, f)
        {
            printf("%-24s %-10s %-22s %5dMB %7ds %8d  %s\n", json_string_value(json_object_get(f, "name")),
                   json_string_value(json_object_get(f, "runtime")), json_string_value(json_object_get(f, "handler")),
                   (int)json_integer_value(json_object_get(f, "memory_mb")),
                   (int)json_integer_value(json_object_get(f, "timeout_s")),
                   (int)json_integer_value(json_object_get(f, "version")),
                   json_string_value(json_object_get(f, "updated_at")));
        }
        json_decref(j);
    }
    http_response_clear(&r);
    return rc;
}

/* GET and print as JSON (get, instances). */
static int cmd_show(const opts_t *o, const char *fmt, const char *name)
{
    char path[160];
    snprintf(path, sizeof path, fmt, name);
    http_response_t r;
    int rc = cli_call(o->addr, "GET", path, NULL, 0, &r);
    if (rc == EXIT_OK)
        print_json(r.body, r.body_len);
    http_response_clear(&r);
    return rc;
}

static int cmd_rm(const opts_t *o, const char *name)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/functions/%s", name);
    http_response_t r;
    int rc = cli_call(o->addr, "DELETE", path, NULL, 0, &r);
    if (rc == EXIT_OK)
        printf("deleted %s\n", name);
    http_response_clear(&r);
    return rc;
}

static int cmd_logs(const opts_t *o, const char *name)
{
    /* The last lines, then (-f) what is written after them: the daemon
     * holds each follow until there is more (a long poll), and the offset
     * it answers says where the next one goes on. */
    char path[200];
    snprintf(path, sizeof path, "/api/v1/functions/%s/logs?tail=%d", name, o->tail);
    http_response_t r;
    int rc = cli_call(o->addr, "GET", path, NULL, 0, &r);
    long long offset = r.log_offset;
    if (rc == EXIT_OK)
        fwrite(r.body, 1, r.body_len, stdout);
    http_response_clear(&r);
    while (rc == EXIT_OK && o->follow && offset >= 0) {
        fflush(stdout);
        snprintf(path, sizeof path, "/api/v1/functions/%s/logs?follow=1&offset=%lld", name, offset);
        rc = cli_call(o->addr, "GET", path, NULL, 0, &r);
        if (rc == EXIT_OK) {
            fwrite(r.body, 1, r.body_len, stdout);
            offset = r.log_offset;
        }
        http_response_clear(&r);
    }
    return rc;
}

/* impulse's chambers: list (a table or --json), start, get, rm. */
static int cmd_chambers(const opts_t *o, int n, char **a)
{
    http_response_t r;
    int rc;
    if (n == 1) {
        rc = cli_call(o->addr, "GET", "/chambers", NULL, 0, &r);
        if (rc == EXIT_OK && o->json) {
            print_json(r.body, r.body_len);
        } else if (rc == EXIT_OK) {
            json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
            printf("%-32s %-9s %6s  %-16s %-10s %-10s\n", "ID", "STATUS", "PORT", "APP", "VERSION", "RUNTIME");
            size_t i;
            json_t *c;
            json_array_foreach(j, i, c)
            {
                json_t *spec = json_object_get(c, "spec");
                printf("%-32s %-9s %6d  %-16s %-10s %-10s\n", json_string_value(json_object_get(c, "id")),
                       json_string_value(json_object_get(c, "status")), (int)json_integer_value(json_object_get(c, "port")),
                       json_string_value(json_object_get(spec, "app")),
                       json_string_value(json_object_get(spec, "version")),
                       json_string_value(json_object_get(spec, "runtime")));
            }
            json_decref(j);
        }
    } else if (!strcmp(a[1], "start") && n == 4) {
        json_t *body = json_pack("{s:s, s:s}", "app", a[2], "version", a[3]);
        if (o->runtime)
            json_object_set_new(body, "runtime", json_string(o->runtime));
        char *s = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        rc = cli_call(o->addr, "POST", "/chambers", s, strlen(s), &r);
        free(s);
        if (rc == EXIT_OK && o->json) {
            print_json(r.body, r.body_len);
        } else if (rc == EXIT_OK) {
            json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
            printf("started %s on 127.0.0.1:%d (%s)\n", json_string_value(json_object_get(j, "id")),
                   (int)json_integer_value(json_object_get(j, "port")), json_string_value(json_object_get(j, "status")));
            json_decref(j);
        }
    } else if ((!strcmp(a[1], "get") || !strcmp(a[1], "rm")) && n == 3) {
        char *id = evhttp_encode_uri(a[2]);
        char path[1024];
        snprintf(path, sizeof path, "/chambers/%s", id ? id : "");
        free(id);
        bool rm = !strcmp(a[1], "rm");
        rc = cli_call(o->addr, rm ? "DELETE" : "GET", path, NULL, 0, &r);
        if (rc == EXIT_OK && rm)
            printf("destroyed %s\n", a[2]);
        else if (rc == EXIT_OK)
            print_json(r.body, r.body_len);
    } else {
        fprintf(stderr, "impuls: chambers takes: (nothing) | start APP VERSION [--runtime R] | get ID | rm ID\n");
        return EXIT_USAGE;
    }
    http_response_clear(&r);
    return rc;
}

static void client_usage(FILE *f)
{
    fprintf(f, "usage: impuls [--addr HOST:PORT] [--json] COMMAND ...\n"
               "  deploy PATH [--name N] [--runtime R] [--handler H] [--memory MB] [--timeout S]\n"
               "              [--isolation namespace|microvm]\n"
               "  invoke NAME[:QUALIFIER] [JSON|-] [--local] [--async]\n"
               "  ls | get NAME | rm NAME | instances NAME\n"
               "  logs NAME [--tail N] [-f]\n"
               "  chambers [start APP VERSION [--runtime R] | get ID | rm ID]\n");
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int cmd_client(int argc, char **argv)
{
    opts_t o = {.addr = cli_default_addr(), .tail = 100};
    static struct option longopts[] = {
        {"addr", required_argument, 0, 'a'},    {"json", no_argument, 0, 'j'},
        {"local", no_argument, 0, 'l'},         {"follow", no_argument, 0, 'f'},
        {"async", no_argument, 0, 'A'},
        {"name", required_argument, 0, 'n'},    {"runtime", required_argument, 0, 'r'},
        {"handler", required_argument, 0, 'H'}, {"memory", required_argument, 0, 'm'},
        {"timeout", required_argument, 0, 't'}, {"tail", required_argument, 0, 'T'},
        {"isolation", required_argument, 0, 'i'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    optind = 1;
    int c;
    /* "+": options may come before the command; GNU permutation puts the
     * rest after it. */
    while ((c = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': o.addr = optarg; break;
        case 'j': o.json = true; break;
        case 'l': o.local = true; break;
        case 'A': o.async = true; break;
        case 'f': o.follow = true; break;
        case 'n': o.name = optarg; break;
        case 'r': o.runtime = optarg; break;
        case 'H': o.handler = optarg; break;
        case 'i':
            if (strcmp(optarg, "namespace") && strcmp(optarg, "microvm"))
                return usage_error("--isolation takes namespace or microvm, not '%s'", optarg);
            o.isolation = optarg;
            break;
        case 'm':
            if (!parse_int(optarg, FN_MEMORY_MIN, FN_MEMORY_MAX, &o.memory_mb))
                return usage_error("--memory takes megabytes (64 to 10240), not '%s'", optarg);
            break;
        case 't':
            if (!parse_int(optarg, FN_TIMEOUT_MIN, FN_TIMEOUT_MAX, &o.timeout_s))
                return usage_error("--timeout takes seconds (1 to 900), not '%s'", optarg);
            break;
        case 'T':
            if (!parse_int(optarg, 1, 10000, &o.tail))
                return usage_error("--tail takes a number of lines (1 to 10000), not '%s'", optarg);
            break;
        case 'h': client_usage(stdout); return EXIT_OK;
        default: client_usage(stderr); return EXIT_USAGE;
        }
    }
    int n = argc - optind;
    char **a = argv + optind;
    if (n < 1) {
        client_usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = a[0];
    if (!strcmp(cmd, "chambers"))
        return cmd_chambers(&o, n, a);
    bool needs_name = strcmp(cmd, "ls") && strcmp(cmd, "deploy");
    if (!strcmp(cmd, "ls") && n == 1)
        return cmd_ls(&o);
    if (!strcmp(cmd, "deploy") && n == 2)
        return cmd_deploy(&o, a[1]);
    char bare[FN_NAME_MAX + 2]; /* (invoke's NAME may have a :QUALIFIER) */
    snprintf(bare, sizeof bare, "%.*s", (int)strcspn(n >= 2 ? a[1] : "", !strcmp(cmd, "invoke") ? ":" : ""),
             n >= 2 ? a[1] : "");
    if (needs_name && n >= 2 && !fn_name_valid(bare))
        return usage_error("function name '%s' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", a[1]);
    if (!strcmp(cmd, "invoke") && (n == 2 || n == 3))
        return cmd_invoke(&o, a[1], n == 3 ? a[2] : NULL);
    if (!strcmp(cmd, "get") && n == 2)
        return cmd_show(&o, "/api/v1/functions/%s", a[1]);
    if (!strcmp(cmd, "instances") && n == 2)
        return cmd_show(&o, "/api/v1/functions/%s/instances", a[1]);
    if (!strcmp(cmd, "rm") && n == 2)
        return cmd_rm(&o, a[1]);
    if (!strcmp(cmd, "logs") && n == 2)
        return cmd_logs(&o, a[1]);
    fprintf(stderr, "impuls: unknown command or wrong arguments: %s\n", cmd);
    client_usage(stderr);
    return EXIT_USAGE;
}
