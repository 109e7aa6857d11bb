#pragma once
/* Subcommands of the impuls binary, one file each. */
int cmd_serve(int argc, char **argv);
