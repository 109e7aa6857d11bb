#include "builder/dockerfile.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TASK "/var/task"

static const struct {
    const char *name;
    enum df_op op;
} OPS[] = {
    {"FROM", DF_FROM}, {"RUN", DF_RUN}, {"COPY", DF_COPY}, {"ADD", DF_ADD}, {"ENV", DF_ENV},
    {"WORKDIR", DF_WORKDIR}, {"CMD", DF_CMD}, {"ENTRYPOINT", DF_ENTRYPOINT}, {"EXPOSE", DF_EXPOSE}, {NULL, 0},
};

/* Docker's other instructions: known, and refused by name. */
static const char *UNSUPPORTED[] = {"ARG", "LABEL", "USER", "VOLUME", "HEALTHCHECK", "SHELL", "ONBUILD",
                                    "STOPSIGNAL", "MAINTAINER", NULL};

const char *df_op_name(enum df_op op)
{
    for (int i = 0; OPS[i].name; i++)
        if (OPS[i].op == op)
            return OPS[i].name;
    return "?";
}

typedef struct parser {
    dockerfile_t *df;
    char workdir[PATH_MAX];
    bool from, cmd;
    char *err;
    size_t errlen;
    int line;
} parser_t;

static int fail(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser_t *p, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "Dockerfile line %d: ", p->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Folds ".", ".." and "//" lexically. A relative path that climbs above
 * where it starts is refused (false); an absolute one stops at "/". */
static bool norm(const char *in, bool absolute, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            break;
        if (n == 1 && p[0] == '.') {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (len == 0 && !absolute)
                return false;
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the '/' before it */
            out[len] = '\0';
        } else {
            if (len + n + 2 > size)
                return false;
            if (len > 0 || absolute)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
            out[len] = '\0';
        }
        p += n;
    }
    if (absolute && len == 0)
        snprintf(out, size, "/");
    else if (!absolute && len == 0)
        snprintf(out, size, ".");
    return true;
}

/* An absolute path of the image: relative ones are below the WORKDIR. It
 * must be /var/task or below; rel gets the part below /var/task. */
static bool in_task(const char *workdir, const char *path, char abs[PATH_MAX], const char **rel)
{
    char joined[PATH_MAX * 2];
    snprintf(joined, sizeof joined, "%s%s%s", path[0] == '/' ? "" : workdir, path[0] == '/' ? "" : "/", path);
    if (!norm(joined, true, abs, PATH_MAX))
        return false;
    size_t t = strlen(TASK);
    if (strncmp(abs, TASK, t) || (abs[t] != '\0' && abs[t] != '/'))
        return false;
    *rel = abs[t] ? abs + t + 1 : abs + t;
    return true;
}

static int push_arg(df_instr_t *in, const char *s, size_t n)
{
    char **v = realloc(in->args, (in->nargs + 2) * sizeof *v);
    if (!v)
        return -1;
    in->args = v;
    if (!(v[in->nargs] = strndup(s, n)))
        return -1;
    v[++in->nargs] = NULL;
    return 0;
}

/* The exec form: a JSON array of strings. Anything else is the shell form
 * (as Docker reads it). */
static int exec_form(df_instr_t *in)
{
    if (in->text[0] != '[')
        return 0;
    json_t *a = json_loads(in->text, 0, NULL);
    size_t i;
    json_t *v;
    bool ok = json_is_array(a) && json_array_size(a) > 0;
    json_array_foreach(a, i, v) ok = ok && json_is_string(v);
    int rc = 0;
    if (ok) {
        in->args = calloc(1, sizeof *in->args);
        if (!in->args)
            rc = -1;
        json_array_foreach(a, i, v)
        {
            if (rc == 0)
                rc = push_arg(in, json_string_value(v), json_string_length(v));
        }
    }
    json_decref(a);
    return rc;
}

/* Whitespace-separated words (COPY, ADD, EXPOSE, FROM), or a JSON array. */
static int words(df_instr_t *in, char ***out, size_t *n)
{
    df_instr_t tmp = {.text = in->text};
    if (exec_form(&tmp) < 0)
        return -1;
    if (!tmp.args) {
        for (const char *p = in->text; *p;) {
            while (isspace((unsigned char)*p))
                p++;
            size_t len = 0;
            while (p[len] && !isspace((unsigned char)p[len]))
                len++;
            if (len && push_arg(&tmp, p, len) < 0)
                return -1;
            p += len;
        }
    }
    *out = tmp.args;
    *n = tmp.nargs;
    return 0;
}

static void free_words(char **w)
{
    for (size_t i = 0; w && w[i]; i++)
        free(w[i]);
    free(w);
}

static int parse_from(parser_t *p, df_instr_t *in)
{
    if (p->from)
        return fail(p, "a second FROM (multi-stage builds are not supported)");
    char **w;
    size_t n;
    if (words(in, &w, &n) < 0)
        return fail(p, "out of memory");
    static const char *ok[] = {"scratch", "impuls", "impuls:latest", "impuls/base", "impuls/base:latest", NULL};
    bool good = false;
    for (int i = 0; n == 1 && ok[i]; i++)
        good = good || !strcmp(w[0], ok[i]);
    free_words(w);
    if (!good)
        return fail(p, "FROM %s: only FROM scratch or FROM impuls can be built (the host's system directories, "
                       "read-only; no image is pulled from a registry)", in->text);
    p->from = true;
    return 0;
}

static int parse_copy(parser_t *p, df_instr_t *in)
{
    const char *op = df_op_name(in->op);
    char **w;
    size_t n;
    if (words(in, &w, &n) < 0)
        return fail(p, "out of memory");
    int rc = 0;
    if (n > 0 && !strncmp(w[0], "--", 2))
        rc = fail(p, "%s %s is not supported", op, w[0]);
    else if (n < 2)
        rc = fail(p, "%s needs a source and a destination", op);
    for (size_t i = 0; rc == 0 && i + 1 < n; i++) {
        char src[PATH_MAX];
        if (strstr(w[i], "://"))
            rc = fail(p, "%s %s: downloading is not supported (put the file in the function directory)", op, w[i]);
        else if (!norm(w[i], false, src, sizeof src))
            rc = fail(p, "%s %s: the source is outside the build context", op, w[i]);
        else
            rc = push_arg(in, src, strlen(src)) < 0 ? fail(p, "out of memory") : 0;
    }
    if (rc == 0) {
        const char *dest = w[n - 1], *rel;
        char abs[PATH_MAX];
        size_t dl = strlen(dest);
        if (!in_task(p->workdir, dest, abs, &rel))
            rc = fail(p, "%s destination %s is outside /var/task", op, dest);
        else if (!(in->dest = strdup(rel)))
            rc = fail(p, "out of memory");
        in->dest_dir = n > 2 || dest[dl - 1] == '/' || !strcmp(dest, ".") || (dl >= 2 && !strcmp(dest + dl - 2, "/."));
    }
    free_words(w);
    return rc;
}

/* One ENV word: quotes and backslashes resolved; *eq is where the first
 * unquoted '=' fell in the result (-1: none). */
static const char *env_word(const char *s, char *out, size_t size, long *eq)
{
    size_t n = 0;
    char quote = 0;
    *eq = -1;
    for (; *s && (quote || !isspace((unsigned char)*s)); s++) {
        char c = *s;
        if (quote && c == quote) {
            quote = 0;
            continue;
        }
        if (!quote && (c == '"' || c == '\'')) {
            quote = c;
            continue;
        }
        if (c == '\\' && quote != '\'' && s[1])
            c = *++s;
        else if (c == '=' && !quote && *eq < 0)
            *eq = (long)n;
        if (n + 1 < size)
            out[n++] = c;
    }
    out[n] = '\0';
    return s;
}

static bool env_key_valid(const char *k, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)k[0]) || k[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)k[i]) || k[i] == '_'))
            return false;
    return true;
}

static int parse_env(parser_t *p, df_instr_t *in)
{
    const char *s = in->text;
    size_t size = strlen(s) + 1;
    char *word = malloc(size);
    if (!word)
        return fail(p, "out of memory");
    long eq;
    int rc = 0;
    const char *after = env_word(s, word, size, &eq);
    if (eq < 0) {
        /* ENV KEY VALUE: the rest of the line is the value. */
        while (isspace((unsigned char)*after))
            after++;
        if (!*after)
            rc = fail(p, "ENV needs KEY=VALUE");
        else if (!env_key_valid(word, strlen(word)))
            rc = fail(p, "ENV: '%.64s' is not a valid variable name", word);
        else if (push_arg(in, word, strlen(word)) < 0 || push_arg(in, after, strlen(after)) < 0)
            rc = fail(p, "out of memory");
        free(word);
        return rc;
    }
    while (rc == 0 && *s) {
        s = env_word(s, word, size, &eq);
        if (eq < 0)
            rc = fail(p, "ENV: '%.64s' is not KEY=VALUE", word);
        else if (!env_key_valid(word, (size_t)eq))
            rc = fail(p, "ENV: '%.*s' is not a valid variable name", (int)(eq > 64 ? 64 : eq), word);
        else if (push_arg(in, word, (size_t)eq) < 0 || push_arg(in, word + eq + 1, strlen(word + eq + 1)) < 0)
            rc = fail(p, "out of memory");
        while (isspace((unsigned char)*s))
            s++;
    }
    free(word);
    return rc;
}

static int parse_workdir(parser_t *p, df_instr_t *in)
{
    char path[PATH_MAX], abs[PATH_MAX];
    size_t n = strlen(in->text);
    if (n >= 2 && in->text[0] == '"' && in->text[n - 1] == '"')
        snprintf(path, sizeof path, "%.*s", (int)n - 2, in->text + 1);
    else
        snprintf(path, sizeof path, "%s", in->text);
    const char *rel;
    if (!in_task(p->workdir, path, abs, &rel))
        return fail(p, "WORKDIR %s is outside /var/task", in->text);
    snprintf(p->workdir, sizeof p->workdir, "%s", abs);
    return 0;
}

static int parse_expose(parser_t *p, df_instr_t *in)
{
    char **w;
    size_t n;
    if (words(in, &w, &n) < 0)
        return fail(p, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (strcmp(w[i], "8000") && strcmp(w[i], "8000/tcp"))
            rc = fail(p, "EXPOSE %s: the function's server must listen on port 8000", w[i]);
    free_words(w);
    return rc;
}

static int instruction(parser_t *p, char *line)
{
    char *kw = line;
    size_t kn = 0;
    while (kw[kn] && !isspace((unsigned char)kw[kn]))
        kn++;
    char *rest = kw + kn;
    while (isspace((unsigned char)*rest))
        rest++;
    size_t rn = strlen(rest);
    while (rn > 0 && isspace((unsigned char)rest[rn - 1]))
        rest[--rn] = '\0';
    kw[kn] = '\0';
    int op = -1;
    for (int i = 0; OPS[i].name; i++)
        if (!strcasecmp(kw, OPS[i].name))
            op = (int)OPS[i].op;
    if (op < 0) {
        for (int i = 0; UNSUPPORTED[i]; i++)
            if (!strcasecmp(kw, UNSUPPORTED[i]))
                return fail(p, "%s is not supported (impuls up builds FROM, RUN, COPY, ADD, ENV, WORKDIR, CMD, "
                               "ENTRYPOINT and EXPOSE)", UNSUPPORTED[i]);
        return fail(p, "unknown instruction '%.64s'", kw);
    }
    if (op != DF_FROM && !p->from)
        return fail(p, "%s before FROM", df_op_name((enum df_op)op));
    if (!*rest)
        return fail(p, "%s needs arguments", df_op_name((enum df_op)op));
    dockerfile_t *df = p->df;
    if (df->n >= DF_MAX_INSTRUCTIONS)
        return fail(p, "more than %d instructions", DF_MAX_INSTRUCTIONS);
    df_instr_t *v = realloc(df->v, (df->n + 1) * sizeof *v);
    if (!v)
        return fail(p, "out of memory");
    df->v = v;
    df_instr_t *in = &df->v[df->n++];
    memset(in, 0, sizeof *in);
    in->op = (enum df_op)op;
    in->line = p->line;
    in->text = strdup(rest);
    if (!in->text)
        return fail(p, "out of memory");
    int rc = 0;
    switch (in->op) {
    case DF_FROM: rc = parse_from(p, in); break;
    case DF_COPY:
    case DF_ADD: rc = parse_copy(p, in); break;
    case DF_ENV: rc = parse_env(p, in); break;
    case DF_WORKDIR: rc = parse_workdir(p, in); break;
    case DF_EXPOSE: rc = parse_expose(p, in); break;
    case DF_CMD:
    case DF_ENTRYPOINT: p->cmd = true; /* fall through */
    case DF_RUN: rc = exec_form(in) < 0 ? fail(p, "out of memory") : 0; break;
    }
    if (rc == 0 && !(in->workdir = strdup(p->workdir)))
        rc = fail(p, "out of memory");
    return rc;
}

int dockerfile_parse(const char *text, size_t len, dockerfile_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    parser_t p = {.df = out, .err = err, .errlen = errlen};
    snprintf(p.workdir, sizeof p.workdir, TASK);
    if (len > DF_MAX_BYTES || memchr(text, '\0', len)) {
        snprintf(err, errlen, "Dockerfile is larger than %d bytes or holds a NUL byte", DF_MAX_BYTES);
        return -1;
    }
    char *cur = malloc(len + 1);
    if (!cur) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t cn = 0;
    bool open = false; /* inside a continued instruction */
    int rc = 0, lineno = 0;
    const char *s = text, *end = text + len;
    while (rc == 0 && s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        const char *line = s;
        s += n + (nl ? 1 : 0);
        lineno++;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        size_t lead = 0;
        while (lead < n && isspace((unsigned char)line[lead]))
            lead++;
        /* Comments and blank lines are dropped, also inside a
         * continuation (Docker does the same). */
        if (lead == n || line[lead] == '#')
            continue;
        if (!open)
            p.line = lineno;
        bool more = line[n - 1] == '\\';
        memcpy(cur + cn, line, n - (more ? 1 : 0));
        cn += n - (more ? 1 : 0);
        open = more;
        if (!more) {
            cur[cn] = '\0';
            rc = instruction(&p, cur);
            cn = 0;
        }
    }
    if (rc == 0 && open) {
        cur[cn] = '\0';
        rc = instruction(&p, cur);
    }
    free(cur);
    if (rc == 0 && !p.from) {
        snprintf(err, errlen, "Dockerfile has no FROM");
        rc = -1;
    } else if (rc == 0 && !p.cmd) {
        snprintf(err, errlen, "Dockerfile has no CMD or ENTRYPOINT (the command that starts the server on port 8000)");
        rc = -1;
    }
    if (rc < 0)
        dockerfile_free(out);
    return rc;
}

void dockerfile_free(dockerfile_t *df)
{
    for (size_t i = 0; i < df->n; i++) {
        free(df->v[i].text);
        free_words(df->v[i].args);
        free(df->v[i].workdir);
        free(df->v[i].dest);
    }
    free(df->v);
    memset(df, 0, sizeof *df);
}
