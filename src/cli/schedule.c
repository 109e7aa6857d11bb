/* impuls schedule put|ls|rm: a function's schedules, over the API
 * (docs/api.md, "Schedules"). */
#include <event2/http.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client_common.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: impuls schedule put FUNCTION ID 'rate(5 minutes)'|'cron(0 12 * * ? *)' [--input JSON] [--disabled]\n"
               "       impuls schedule ls FUNCTION\n"
               "       impuls schedule rm FUNCTION ID\n"
               "  (with --addr HOST:PORT and --json as the other client commands)\n");
}

/* /api/v1/functions/FN/schedules[/ID], each part encoded. */
static void path_of(char *out, size_t size, const char *fn, const char *id)
{
    char *f = evhttp_encode_uri(fn), *i = id ? evhttp_encode_uri(id) : NULL;
    snprintf(out, size, "/api/v1/functions/%s/schedules%s%s", f ? f : "", id ? "/" : "", i ? i : "");
    free(f);
    free(i);
}

static int put(const char *addr, bool json, char **a, const char *input, bool disabled)
{
    json_t *body = json_pack("{s:s, s:b}", "expression", a[2], "enabled", !disabled);
    if (body && input) {
        json_error_t jerr;
        json_t *v = json_loads(input, JSON_DECODE_ANY, &jerr);
        if (!v) {
            fprintf(stderr, "impuls: --input is not JSON: %s\n", jerr.text);
            json_decref(body);
            return EXIT_USAGE;
        }
        json_object_set_new(body, "input", v);
    }
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!s) {
        fprintf(stderr, "impuls: the expression must be UTF-8 text\n");
        return EXIT_USAGE;
    }
    char path[1024];
    path_of(path, sizeof path, a[0], a[1]);
    http_response_t r;
    int rc = cli_call(addr, "PUT", path, s, strlen(s), &r);
    free(s);
    if (rc == EXIT_OK) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        if (json)
            printf("%s\n", r.body);
        else
            printf("%s %s/%s: %s, next at %s\n", r.status == 201 ? "scheduled" : "rescheduled", a[0], a[1],
                   cli_str(j, "expression", "-"), cli_str(j, "next_fire_at", "-"));
        json_decref(j);
    }
    http_response_clear(&r);
    return rc;
}

static int list(const char *addr, bool json, const char *fn)
{
    char path[1024];
    path_of(path, sizeof path, fn, NULL);
    http_response_t r;
    int rc = cli_call(addr, "GET", path, NULL, 0, &r);
    if (rc == EXIT_OK && json) {
        printf("%s\n", r.body);
    } else if (rc == EXIT_OK) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        printf("%-20s %-28s %-7s %-24s %s\n", "ID", "EXPRESSION", "ENABLED", "NEXT", "LAST");
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(j, "schedules"), i, s)
        {
            printf("%-20s %-28s %-7s %-24s %s\n", cli_str(s, "id", "-"), cli_str(s, "expression", "-"),
                   json_is_true(json_object_get(s, "enabled")) ? "yes" : "no", cli_str(s, "next_fire_at", "-"),
                   cli_str(s, "last_fired_at", "-"));
        }
        json_decref(j);
    }
    http_response_clear(&r);
    return rc;
}

static int remove_schedule(const char *addr, const char *fn, const char *id)
{
    char path[1024];
    path_of(path, sizeof path, fn, id);
    http_response_t r;
    int rc = cli_call(addr, "DELETE", path, NULL, 0, &r);
    if (rc == EXIT_OK)
        printf("removed %s/%s\n", fn, id);
    http_response_clear(&r);
    return rc;
}

int cmd_schedule(int argc, char **argv)
{
    const char *addr = cli_default_addr(), *input = NULL;
    bool json = false, disabled = false;
    static struct option opts[] = {
        {"addr", required_argument, 0, 'a'}, {"json", no_argument, 0, 'j'},      {"input", required_argument, 0, 'i'},
        {"disabled", no_argument, 0, 'd'},   {"help", no_argument, 0, 'h'},      {0, 0, 0, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': addr = optarg; break;
        case 'j': json = true; break;
        case 'i': input = optarg; break;
        case 'd': disabled = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    int n = argc - optind;
    char **a = argv + optind;
    bool plain = !input && !disabled;
    if (n == 4 && !strcmp(a[0], "put"))
        return put(addr, json, a + 1, input, disabled);
    if (n == 2 && !strcmp(a[0], "ls") && plain)
        return list(addr, json, a[1]);
    if (n == 3 && !strcmp(a[0], "rm") && plain)
        return remove_schedule(addr, a[1], a[2]);
    usage(stderr);
    return EXIT_USAGE;
}
