#pragma once
/* Subcommands of the impuls binary, one file each. */
int cmd_serve(int argc, char **argv);
/* The client commands (deploy, invoke, ls, get, rm, logs, instances). */
int cmd_client(int argc, char **argv);
/* SmolFaaS's workflow (up.c, down.c, check.c; docs/build.md). */
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_check(int argc, char **argv);
/* The API's tokens (token.c). */
int cmd_token(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
/* publish, versions, alias, provision, event-config, dead-letters (manage.c). */
int cmd_manage(int argc, char **argv);
