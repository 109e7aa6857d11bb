/* impuls: the daemon and its command-line client in one binary. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/http_client.h"
#include "sandbox/microvm.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: impuls <command> [options]\n"
               "commands:\n"
               "  serve       run the daemon (impuls serve --help)\n"
               "  deploy PATH  create or update a function from a .js/.py file, a .zip or a directory\n"
               "  invoke NAME[:QUALIFIER] [JSON|-]   ls   get NAME   rm NAME   logs NAME [-f]   instances NAME\n"
               "  chambers [start APP VERSION [--runtime R] | get ID | rm ID]\n"
               "  up [-d DIR] [-a HOST]   down [NAME...] [--force]   check   (SmolFaaS's workflow: docs/build.md)\n"
               "  token create --scope admin|deploy|invoke|read [--functions PATTERN] [--expires 30d] | ls | rm ID\n"
               "  schedule put FUNCTION ID EXPRESSION [--input JSON] [--disabled] | ls FUNCTION | rm FUNCTION ID\n"
               "  publish NAME   versions NAME | rm NAME N   alias set|ls|rm   provision NAME QUALIFIER N | ls | rm\n"
               "  event-config NAME [--retries N] [--max-age S] [--on-success F] [--on-failure F] | rm NAME\n"
               "  dead-letters NAME | replay NAME [ID] | rm NAME [ID]   concurrency NAME [N] | rm NAME\n"
               "  (impuls publish --help for the details of these)\n"
               "client options: --addr HOST:PORT (or IMPULS_ADDR; default 127.0.0.1:8080), --json;\n"
               "  the API token sent: IMPULS_TOKEN, or the first line of IMPULS_TOKEN_FILE (mode 0600)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], MICROVM_VMM_COMMAND)) /* a VM's supervisor (src/sandbox/microvm.c) */
        return microvm_vmm_main(argc, argv);
    if (!strcmp(argv[1], "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "help") && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) {
        /* Every other command talks to the daemon: a token it cannot send is bad usage. */
        char token[128], err[512];
        if (http_api_token(token, err, sizeof err) < 0) {
            fprintf(stderr, "impuls: %s\n", err);
            return 2;
        }
    }
    if (!strcmp(argv[1], "up"))
        return cmd_up(argc - 1, argv + 1);
    if (!strcmp(argv[1], "down"))
        return cmd_down(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "token"))
        return cmd_token(argc - 1, argv + 1);
    if (!strcmp(argv[1], "schedule"))
        return cmd_schedule(argc - 1, argv + 1);
    static const char *const MANAGE[] = {"publish",      "versions",     "alias",      "provision",
                                         "event-config", "dead-letters", "concurrency"};
    for (size_t i = 0; i < sizeof MANAGE / sizeof *MANAGE; i++)
        if (!strcmp(argv[1], MANAGE[i]))
            return cmd_manage(argc - 1, argv + 1);
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    return cmd_client(argc, argv);
}
