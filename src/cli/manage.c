/* The client commands for a function's versions, aliases, provisioned
 * concurrency and Event settings, over the REST API (docs/compat.md, "The
 * CLI"):
 *   publish NAME [--description TEXT]
 *   versions NAME | versions rm NAME N
 *   alias set NAME ALIAS VERSION [--routing VERSION=WEIGHT] [--description TEXT] | alias ls NAME | alias rm NAME ALIAS
 *   provision NAME QUALIFIER N | provision ls NAME | provision rm NAME QUALIFIER
 *   event-config NAME [--retries N] [--max-age SECONDS] [--on-success F] [--on-failure F] | event-config rm NAME
 *   dead-letters NAME | dead-letters replay NAME [ID] | dead-letters rm NAME [ID]
 *   concurrency NAME [N] | concurrency rm NAME
 * Each prints a line saying what was done, a table, or with --json the
 * daemon's answer. Exit codes as the other client commands. */
#include <event2/http.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fn_spec.h"
#include "cli/cli.h"
#include "cli/client_common.h"

typedef struct manage_opts {
    const char *addr, *description, *routing, *on_success, *on_failure;
    int retries, max_age; /* -1: not given */
    bool json;
} manage_opts_t;

static void usage(FILE *f)
{
    fprintf(f, "usage: impuls publish NAME [--description TEXT]\n"
               "       impuls versions NAME | versions rm NAME N\n"
               "       impuls alias set NAME ALIAS VERSION [--routing VERSION=WEIGHT] [--description TEXT]\n"
               "       impuls alias ls NAME | alias rm NAME ALIAS\n"
               "       impuls provision NAME QUALIFIER N | provision ls NAME | provision rm NAME QUALIFIER\n"
               "       impuls event-config NAME [--retries 0-2] [--max-age SECONDS] [--on-success F] [--on-failure F]\n"
               "       impuls event-config rm NAME\n"
               "       impuls dead-letters NAME | dead-letters replay NAME [ID] | dead-letters rm NAME [ID]\n"
               "       impuls concurrency NAME [N] | concurrency rm NAME   (N 0-1000; rm: the default, 10)\n"
               "  (with --addr HOST:PORT and --json as the other client commands)\n");
}

/* /api/v1/functions/NAME/WHAT[/ID][TAIL], the parts encoded. */
static void path_of(char *out, size_t size, const char *name, const char *what, const char *id, const char *tail)
{
    char *n = evhttp_encode_uri(name), *i = id ? evhttp_encode_uri(id) : NULL;
    snprintf(out, size, "/api/v1/functions/%s%s%s%s%s%s", n ? n : "", *what ? "/" : "", what, id ? "/" : "",
             i ? i : "", tail ? tail : "");
    free(n);
    free(i);
}

/* One call; on success `say` prints its line (or the body with --json).
 * body: JSON to send, or NULL. */
typedef void (*say_fn)(json_t *answer, int status, void *arg);
static int call(const manage_opts_t *o, const char *method, const char *path, json_t *body, say_fn say, void *arg)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    http_response_t r;
    int rc = cli_call(o->addr, method, path, s, s ? strlen(s) : 0, &r);
    free(s);
    if (rc == EXIT_OK) {
        json_t *j = r.body_len ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
        if (o->json && r.body_len)
            printf("%s\n", r.body);
        else if (!o->json && say)
            say(j, r.status, arg);
        json_decref(j);
    }
    http_response_clear(&r);
    return rc;
}

static void say_line(json_t *j, int status, void *arg) { printf("%s\n", (const char *)arg); }

static int bad_usage(void)
{
    usage(stderr);
    return EXIT_USAGE;
}

static int name_ok(const char *name)
{
    if (fn_name_valid(name))
        return 1;
    fprintf(stderr, "impuls: function name '%s' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$\n", name);
    return 0;
}

/* ---- publish, versions ---- */

static void say_published(json_t *j, int status, void *arg)
{
    int v = (int)json_integer_value(json_object_get(j, "version"));
    if (status == 201)
        printf("published %s version %d\n", (const char *)arg, v);
    else
        printf("%s version %d was published already\n", (const char *)arg, v);
}

static void say_versions(json_t *j, int status, void *arg)
{
    printf("%-8s %-10s %-20s %s\n", "VERSION", "PUBLISHED", "LABEL", "UPDATED");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "versions"), i, v)
    {
        printf("%-8d %-10s %-20s %s\n", (int)json_integer_value(json_object_get(v, "version")),
               json_is_true(json_object_get(v, "published")) ? "yes" : "no", cli_str(v, "version_label", "-"),
               cli_str(v, "updated_at", "-"));
    }
}

/* ---- aliases ---- */

static void say_alias(json_t *a, const char *fn)
{
    json_t *v = json_object_get(a, "version"), *routing = json_object_get(a, "routing");
    char version[16];
    if (json_is_integer(v))
        snprintf(version, sizeof version, "%d", (int)json_integer_value(v));
    else
        snprintf(version, sizeof version, "%s", cli_str(a, "version", "-"));
    printf("%s:%s -> version %s", fn, cli_str(a, "name", "-"), version);
    if (json_is_object(routing))
        printf(", %g%% to version %d", json_number_value(json_object_get(routing, "weight")) * 100,
               (int)json_integer_value(json_object_get(routing, "version")));
    printf("\n");
}

static void say_one_alias(json_t *j, int status, void *arg) { say_alias(j, arg); }

static void say_aliases(json_t *j, int status, void *arg)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(j, "aliases"), i, a) say_alias(a, arg);
}

/* VERSION=WEIGHT into {"version": V, "weight": W}; NULL when malformed. */
static json_t *routing_of(const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '=' || v < 1)
        return NULL;
    char *wend;
    double w = strtod(end + 1, &wend);
    if (wend == end + 1 || *wend || !(w >= 0 && w <= 1))
        return NULL;
    return json_pack("{s:i, s:f}", "version", (int)v, "weight", w);
}

static int alias_set(const manage_opts_t *o, const char *fn, const char *alias, const char *version)
{
    json_t *v = strcmp(version, "$LATEST") ? NULL : json_string("$LATEST");
    if (!v) {
        char *end;
        long n = strtol(version, &end, 10);
        if (end == version || *end || n < 1) {
            fprintf(stderr, "impuls: VERSION is a published version's number or $LATEST, not '%s'\n", version);
            return EXIT_USAGE;
        }
        v = json_integer(n);
    }
    json_t *body = json_pack("{s:o}", "version", v);
    if (o->routing) {
        json_t *r = routing_of(o->routing);
        if (!r) {
            json_decref(body);
            fprintf(stderr, "impuls: --routing takes VERSION=WEIGHT (a weight from 0 to 1), not '%s'\n", o->routing);
            return EXIT_USAGE;
        }
        json_object_set_new(body, "routing", r);
    }
    if (o->description)
        json_object_set_new(body, "description", json_string(o->description));
    /* An update of the alias, or (it has none of that name) its create. */
    char path[1024];
    path_of(path, sizeof path, fn, "aliases", alias, NULL);
    http_response_t r;
    char *s = json_dumps(body, JSON_COMPACT);
    char why[512];
    int rc = cli_request(o->addr, "PUT", path, s, strlen(s), &r, why, sizeof why);
    free(s);
    if (rc == EXIT_REFUSED && r.status == 404 && strstr(r.body, "has no alias")) {
        http_response_clear(&r);
        json_object_set_new(body, "name", json_string(alias));
        path_of(path, sizeof path, fn, "aliases", NULL, NULL);
        return call(o, "POST", path, body, say_one_alias, (void *)fn);
    }
    json_decref(body);
    if (rc == EXIT_UNREACHABLE)
        fprintf(stderr, "impuls: %s\n", why);
    else if (rc == EXIT_REFUSED)
        cli_report(&r);
    else if (o->json)
        printf("%s\n", r.body);
    else {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        say_alias(j, fn);
        json_decref(j);
    }
    http_response_clear(&r);
    return rc;
}

/* ---- provisioned concurrency ---- */

static void say_provisioned_one(json_t *p, const char *fn)
{
    printf("%s:%s (version %d): %d of %d ready, %s\n", fn, cli_str(p, "qualifier", "-"),
           (int)json_integer_value(json_object_get(p, "version")),
           (int)json_integer_value(json_object_get(p, "available")),
           (int)json_integer_value(json_object_get(p, "requested")), cli_str(p, "status", "-"));
}

static void say_provisioned(json_t *j, int status, void *arg) { say_provisioned_one(j, arg); }

static void say_provisioned_list(json_t *j, int status, void *arg)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(j, "provisioned"), i, p) say_provisioned_one(p, arg);
}

/* ---- Event settings and dead letters ---- */

static void say_event_config(json_t *j, int status, void *arg)
{
    printf("%s: %d retries, events kept %d s, on success %s, on failure %s\n", (const char *)arg,
           (int)json_integer_value(json_object_get(j, "max_retry_attempts")),
           (int)json_integer_value(json_object_get(j, "max_event_age_s")), cli_str(j, "on_success", "-"),
           cli_str(j, "on_failure", "-"));
}

static void say_letters(json_t *j, int status, void *arg)
{
    printf("%-36s %-18s %-8s %s\n", "ID", "CONDITION", "ATTEMPTS", "FAILED");
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(j, "dead_letters"), i, l)
    {
        printf("%-36s %-18s %-8d %s\n", cli_str(l, "id", "-"), cli_str(l, "condition", "-"),
               (int)json_integer_value(json_object_get(l, "attempts")), cli_str(l, "failed_at", "-"));
    }
    printf("%d dropped (at most %d kept)\n", (int)json_integer_value(json_object_get(j, "dropped")),
           (int)json_integer_value(json_object_get(j, "max")));
}

static void say_replayed(json_t *j, int status, void *arg)
{
    json_t *ids = json_object_get(j, "request_ids");
    if (!ids && json_object_get(j, "request_id"))
        printf("replayed as %s\n", cli_str(j, "request_id", "-"));
    else
        printf("replayed %d dead letter(s)\n", (int)json_array_size(ids));
}

static int event_config(const manage_opts_t *o, const char *fn)
{
    char path[1024];
    path_of(path, sizeof path, fn, "event-invoke-config", NULL, NULL);
    if (o->retries < 0 && o->max_age < 0 && !o->on_success && !o->on_failure)
        return call(o, "GET", path, NULL, say_event_config, (void *)fn);
    json_t *body = json_object();
    if (o->retries >= 0)
        json_object_set_new(body, "max_retry_attempts", json_integer(o->retries));
    if (o->max_age >= 0)
        json_object_set_new(body, "max_event_age_s", json_integer(o->max_age));
    if (o->on_success)
        json_object_set_new(body, "on_success", json_string(o->on_success));
    if (o->on_failure)
        json_object_set_new(body, "on_failure", json_string(o->on_failure));
    return call(o, "PUT", path, body, say_event_config, (void *)fn);
}

/* ---- reserved concurrency: the function's concurrency ---- */

static void say_concurrency(json_t *j, int status, void *arg)
{
    printf("%s: at most %d calls at once\n", (const char *)arg,
           (int)json_integer_value(json_object_get(j, "concurrency")));
}

/* ---- the commands ---- */

static bool parse_count(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int cmd_manage(int argc, char **argv)
{
    manage_opts_t o = {.addr = cli_default_addr(), .retries = -1, .max_age = -1};
    static struct option opts[] = {
        {"addr", required_argument, 0, 'a'},       {"json", no_argument, 0, 'j'},
        {"description", required_argument, 0, 'd'}, {"routing", required_argument, 0, 'r'},
        {"retries", required_argument, 0, 'R'},    {"max-age", required_argument, 0, 'A'},
        {"on-success", required_argument, 0, 's'}, {"on-failure", required_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': o.addr = optarg; break;
        case 'j': o.json = true; break;
        case 'd': o.description = optarg; break;
        case 'r': o.routing = optarg; break;
        case 's': o.on_success = optarg; break;
        case 'f': o.on_failure = optarg; break;
        case 'R':
            if (!parse_count(optarg, 0, 2, &o.retries)) {
                fprintf(stderr, "impuls: --retries takes 0, 1 or 2, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'A':
            if (!parse_count(optarg, 60, 21600, &o.max_age)) {
                fprintf(stderr, "impuls: --max-age takes seconds from 60 to 21600, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return bad_usage();
        }
    }
    /* cmd [sub] NAME [more]: argv[0] is the command; a the words after it. */
    const char *cmd = argv[0];
    int n = argc - optind;
    char **a = argv + optind;
    bool sub = n >= 2 && (!strcmp(a[0], "ls") || !strcmp(a[0], "rm") || !strcmp(a[0], "set") ||
                          !strcmp(a[0], "replay"));
    if (n < 1)
        return bad_usage();
    const char *fn = a[sub ? 1 : 0];
    if (!name_ok(fn))
        return EXIT_USAGE;
    bool only_fn_opts = !o.routing && o.retries < 0 && o.max_age < 0 && !o.on_success && !o.on_failure;
    char path[1024], line[512];
    if (!strcmp(cmd, "publish") && n == 1 && only_fn_opts) {
        path_of(path, sizeof path, fn, "publish", NULL, NULL);
        json_t *body = o.description ? json_pack("{s:s}", "description", o.description) : NULL;
        return call(&o, "POST", path, body, say_published, (void *)fn);
    }
    if (o.description && strcmp(cmd, "alias"))
        return bad_usage();
    if (!strcmp(cmd, "versions") && n == 1 && only_fn_opts) {
        path_of(path, sizeof path, fn, "versions", NULL, NULL);
        return call(&o, "GET", path, NULL, say_versions, NULL);
    }
    if (!strcmp(cmd, "versions") && n == 3 && !strcmp(a[0], "rm") && only_fn_opts) {
        path_of(path, sizeof path, fn, "versions", a[2], NULL);
        snprintf(line, sizeof line, "deleted version %s of %s", a[2], fn);
        return call(&o, "DELETE", path, NULL, say_line, line);
    }
    if (!strcmp(cmd, "alias") && n == 4 && !strcmp(a[0], "set") && o.retries < 0 && o.max_age < 0 && !o.on_success &&
        !o.on_failure)
        return alias_set(&o, fn, a[2], a[3]);
    if (!strcmp(cmd, "alias") && n == 2 && !strcmp(a[0], "ls") && only_fn_opts && !o.description) {
        path_of(path, sizeof path, fn, "aliases", NULL, NULL);
        return call(&o, "GET", path, NULL, say_aliases, (void *)fn);
    }
    if (!strcmp(cmd, "alias") && n == 3 && !strcmp(a[0], "rm") && only_fn_opts && !o.description) {
        path_of(path, sizeof path, fn, "aliases", a[2], NULL);
        snprintf(line, sizeof line, "removed alias %s:%s", fn, a[2]);
        return call(&o, "DELETE", path, NULL, say_line, line);
    }
    if (!strcmp(cmd, "provision") && n == 3 && !sub && only_fn_opts) {
        int count;
        if (!parse_count(a[2], 1, 1000, &count)) {
            fprintf(stderr, "impuls: N is a number of instances from 1 to 1000, not '%s'\n", a[2]);
            return EXIT_USAGE;
        }
        path_of(path, sizeof path, fn, "provisioned", a[1], NULL);
        return call(&o, "PUT", path, json_pack("{s:i}", "instances", count), say_provisioned, (void *)fn);
    }
    if (!strcmp(cmd, "provision") && n == 2 && !strcmp(a[0], "ls") && only_fn_opts) {
        path_of(path, sizeof path, fn, "provisioned", NULL, NULL);
        return call(&o, "GET", path, NULL, say_provisioned_list, (void *)fn);
    }
    if (!strcmp(cmd, "provision") && n == 3 && !strcmp(a[0], "rm") && only_fn_opts) {
        path_of(path, sizeof path, fn, "provisioned", a[2], NULL);
        snprintf(line, sizeof line, "no instances provisioned for %s:%s", fn, a[2]);
        return call(&o, "DELETE", path, NULL, say_line, line);
    }
    if (!strcmp(cmd, "event-config") && n == 1 && !o.routing)
        return event_config(&o, fn);
    if (!strcmp(cmd, "event-config") && n == 2 && !strcmp(a[0], "rm") && only_fn_opts) {
        path_of(path, sizeof path, fn, "event-invoke-config", NULL, NULL);
        snprintf(line, sizeof line, "%s: Event settings back to the defaults", fn);
        return call(&o, "DELETE", path, NULL, say_line, line);
    }
    if (!strcmp(cmd, "concurrency") && only_fn_opts && (n == 1 || n == 2)) {
        path_of(path, sizeof path, fn, "", NULL, NULL);
        int count = FN_CONCURRENCY_DEFAULT;
        if (n == 1 && !sub)
            return call(&o, "GET", path, NULL, say_concurrency, (void *)fn);
        if (n == 2 && !sub && !parse_count(a[1], 0, 1000, &count)) {
            fprintf(stderr, "impuls: N is a number of calls from 0 to 1000, not '%s'\n", a[1]);
            return EXIT_USAGE;
        }
        if (n == 2 && sub && strcmp(a[0], "rm"))
            return bad_usage();
        return call(&o, "PUT", path, json_pack("{s:i}", "concurrency", count), say_concurrency, (void *)fn);
    }
    if (!strcmp(cmd, "dead-letters") && only_fn_opts) {
        if (n == 1) {
            path_of(path, sizeof path, fn, "dead-letters", NULL, NULL);
            return call(&o, "GET", path, NULL, say_letters, NULL);
        }
        const char *id = n == 3 ? a[2] : NULL;
        if ((n == 2 || n == 3) && !strcmp(a[0], "replay")) {
            path_of(path, sizeof path, fn, "dead-letters", id ? id : "replay", id ? "/replay" : NULL);
            return call(&o, "POST", path, NULL, say_replayed, NULL);
        }
        if ((n == 2 || n == 3) && !strcmp(a[0], "rm")) {
            path_of(path, sizeof path, fn, "dead-letters", id, NULL);
            if (id)
                snprintf(line, sizeof line, "removed dead letter %s of %s", id, fn);
            else
                snprintf(line, sizeof line, "removed every dead letter of %s", fn);
            return call(&o, "DELETE", path, NULL, say_line, line);
        }
    }
    return bad_usage();
}
