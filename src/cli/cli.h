#pragma once
/* Subcommands of the impuls binary, one file each. */
int cmd_serve(int argc, char **argv);
/* The client commands (deploy, invoke, ls, get, rm, logs, instances). */
int cmd_client(int argc, char **argv);
