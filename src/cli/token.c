/* impuls token create|ls|rm: the API's tokens, over the API (an admin
 * token's work: docs/api.md, "Tokens"). `create` prints the token alone,
 * once, so that a script can keep it: TOKEN=$(impuls token create ...). */
#include <event2/http.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client_common.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: impuls token create --scope admin|deploy|invoke|read [--functions PATTERN] [--expires 30d]\n"
               "       impuls token create --aws --scope S [--expires 30d]   (an AWS access key for the Lambda API)\n"
               "       impuls token ls\n"
               "       impuls token rm ID\n"
               "  (with --addr HOST:PORT and --json as the other client commands; the token sent is\n"
               "   IMPULS_TOKEN's, or IMPULS_TOKEN_FILE's first line)\n");
}

static void when(json_int_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "%s", t ? "?" : "never");
}

static int create(const char *addr, bool json, const char *scope, const char *functions, const char *expires,
                  bool aws)
{
    json_t *body = json_pack("{s:s}", "scope", scope);
    if (body && aws)
        json_object_set_new(body, "aws", json_true());
    if (functions)
        json_object_set_new(body, "functions", json_string(functions));
    if (expires)
        json_object_set_new(body, "expires_in", json_string(expires));
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!s) {
        fprintf(stderr, "impuls: --scope, --functions and --expires must be UTF-8 text\n");
        return EXIT_USAGE;
    }
    http_response_t r;
    int rc = cli_call(addr, "POST", "/api/v1/tokens", s, strlen(s), &r);
    free(s);
    if (rc == EXIT_OK) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        if (json)
            printf("%s\n", r.body);
        else if (aws) /* a profile's lines of an AWS credentials file */
            printf("aws_access_key_id = %s\naws_secret_access_key = %s\n", cli_str(j, "aws_access_key_id", ""),
                   cli_str(j, "aws_secret_access_key", ""));
        else
            printf("%s\n", cli_str(j, "token", ""));
        json_decref(j);
    }
    http_response_clear(&r);
    return rc;
}

static int list(const char *addr, bool json)
{
    http_response_t r;
    int rc = cli_call(addr, "GET", "/api/v1/tokens", NULL, 0, &r);
    if (rc == EXIT_OK && json) {
        printf("%s\n", r.body);
    } else if (rc == EXIT_OK) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        printf("%-12s %-7s %-20s %-20s %s\n", "ID", "SCOPE", "FUNCTIONS", "CREATED", "EXPIRES");
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(j, "tokens"), i, t)
        {
            char created[32], expires[32];
            const char *fns = cli_str(t, "functions", "");
            when(json_integer_value(json_object_get(t, "created_at")), created);
            when(json_integer_value(json_object_get(t, "expires_at")), expires);
            printf("%-12s %-7s %-20s %-20s %s\n", cli_str(t, "id", ""), cli_str(t, "scope", ""), *fns ? fns : "*", created, expires);
        }
        json_decref(j);
    }
    http_response_clear(&r);
    return rc;
}

static int remove_token(const char *addr, const char *id)
{
    char *enc = evhttp_encode_uri(id);
    char path[512];
    snprintf(path, sizeof path, "/api/v1/tokens/%s", enc ? enc : "");
    free(enc);
    http_response_t r;
    int rc = cli_call(addr, "DELETE", path, NULL, 0, &r);
    if (rc == EXIT_OK)
        printf("revoked %s\n", id);
    http_response_clear(&r);
    return rc;
}

int cmd_token(int argc, char **argv)
{
    const char *addr = cli_default_addr(), *scope = NULL, *functions = NULL, *expires = NULL;
    bool json = false, aws = false;
    static struct option opts[] = {
        {"addr", required_argument, 0, 'a'},      {"json", no_argument, 0, 'j'},
        {"scope", required_argument, 0, 's'},     {"functions", required_argument, 0, 'f'},
        {"expires", required_argument, 0, 'e'},   {"help", no_argument, 0, 'h'},
        {"aws", no_argument, 0, 'w'},
        {0, 0, 0, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': addr = optarg; break;
        case 'j': json = true; break;
        case 's': scope = optarg; break;
        case 'f': functions = optarg; break;
        case 'e': expires = optarg; break;
        case 'w': aws = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    int n = argc - optind;
    char **a = argv + optind;
    if (n == 1 && !strcmp(a[0], "create") && scope)
        return create(addr, json, scope, functions, expires, aws);
    if (n == 1 && !strcmp(a[0], "ls") && !scope && !functions && !expires && !aws)
        return list(addr, json);
    if (n == 2 && !strcmp(a[0], "rm") && !scope && !functions && !expires && !aws)
        return remove_token(addr, a[1]);
    usage(stderr);
    return EXIT_USAGE;
}
