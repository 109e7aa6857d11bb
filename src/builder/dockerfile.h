#pragma once
/* The Dockerfile subset `impuls up` builds without images from a registry:
 * FROM scratch | impuls | impuls/base (the host's system dirs, read-only),
 * RUN, COPY, ADD, ENV, WORKDIR, CMD, ENTRYPOINT, EXPOSE 8000. Line
 * continuations and comments as Docker reads them. Everything else, and
 * anything that would reach outside /var/task or the build context, is
 * refused with the line it is on. */
#include <stdbool.h>
#include <stddef.h>

enum df_op { DF_FROM, DF_RUN, DF_COPY, DF_ADD, DF_ENV, DF_WORKDIR, DF_CMD, DF_ENTRYPOINT, DF_EXPOSE };

#define DF_MAX_BYTES (1 << 20)
#define DF_MAX_INSTRUCTIONS 1000

typedef struct df_instr {
    enum df_op op;
    int line;       /* where it starts */
    char *text;     /* what follows the keyword, continuations joined */
    char **args;    /* NULL-terminated: RUN/CMD/ENTRYPOINT argv (exec form) or NULL for
                     * the shell form; COPY/ADD sources (relative to the context,
                     * normalised, "." for all of it); ENV key, value, key, value... */
    size_t nargs;
    char *workdir;  /* WORKDIR in effect after this instruction (absolute) */
    char *dest;     /* COPY/ADD: destination relative to /var/task ("" is /var/task) */
    bool dest_dir;  /* COPY/ADD: the destination is a directory (ends in '/', several sources) */
} df_instr_t;

typedef struct dockerfile {
    df_instr_t *v;
    size_t n;
} dockerfile_t;

/* Returns 0, or -1 with err set ("Dockerfile line N: ..."). */
int dockerfile_parse(const char *text, size_t len, dockerfile_t *out, char *err, size_t errlen);
void dockerfile_free(dockerfile_t *df);
const char *df_op_name(enum df_op op);
