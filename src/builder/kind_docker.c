/* Dockerfile: the image is the Impuls base (the host's system dirs, read
 * only, as in every sandbox) plus the tree at /var/task the steps make.
 * Every step that changes the tree (RUN, COPY, ADD) is cached: its key is
 * sha256(previous key, the instruction, for COPY/ADD the content hash of its
 * sources), its result a tar of the tree in cache/steps/<name>/<key>.tar. A
 * build restores the last step whose result is cached and runs the rest. */
#include <dirent.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/dockerfile.h"
#include "builder/hash.h"
#include "builder/tree.h"
#include "sandbox/sandbox.h"
#include "util/util.h"

#define DOCKERFILE "Dockerfile"
#define WHOLE_CONTEXT SIZE_MAX
#define MATCHES_MAX SRC_MAX_ENTRIES

static bool changes_tree(enum df_op op) { return op == DF_RUN || op == DF_COPY || op == DF_ADD; }

static bool has_wildcard(const char *s) { return strpbrk(s, "*?[") != NULL; }

static bool under(const char *rel, const char *top)
{
    size_t n = strlen(top);
    return !strncmp(rel, top, n) && (rel[n] == '\0' || rel[n] == '/');
}

/* What a COPY source names: indexes of the topmost matching entries of the
 * source list (a directory stands for everything below it), or
 * WHOLE_CONTEXT for ".". Returns how many; 0 when nothing matches. */
static size_t matches(const src_list_t *src, const char *pattern, size_t *out)
{
    if (!strcmp(pattern, ".")) {
        out[0] = WHOLE_CONTEXT;
        return 1;
    }
    size_t n = 0;
    const char *top = NULL;
    for (size_t i = 0; i < src->n && n < MATCHES_MAX; i++) {
        const char *rel = src->v[i].rel;
        if (top && under(rel, top))
            continue;
        bool hit = has_wildcard(pattern) ? fnmatch(pattern, rel, FNM_PATHNAME | FNM_PERIOD) == 0
                                         : !strcmp(rel, pattern);
        if (hit) {
            out[n++] = i;
            top = rel;
        }
    }
    return n;
}

/* a + "/" + b, without a leading "/" when a is the tree's root. */
static bool join(char *out, size_t size, const char *a, const char *b)
{
    return fmt_path(out, size, "%s%s%s", a, a[0] && b[0] ? "/" : "", b);
}

static const char *task_rel(const char *abs)
{
    const char *r = abs + strlen(SANDBOX_TASK_DIR);
    return *r == '/' ? r + 1 : r;
}

/* Every key, before anything runs: a COPY whose sources are missing fails
 * here, and the cache lookup needs them all. */
static int compute_keys(build_job_t *job, const dockerfile_t *df, char (*keys)[65], size_t *idx)
{
    char key[65];
    sha256_hex("impuls dockerfile 1", 19, key);
    for (size_t i = 0; i < df->n; i++) {
        const df_instr_t *in = &df->v[i];
        size_t cap = 200 + strlen(in->text) + (in->dest ? strlen(in->dest) : 0), len = 0;
        for (size_t a = 0; in->op != DF_RUN && in->args && in->args[a]; a++)
            cap += strlen(in->args[a]) + 80;
        char *m = malloc(cap);
        if (!m) {
            snprintf(job->why, sizeof job->why, "out of memory");
            return -1;
        }
        len += (size_t)snprintf(m, cap, "%s\n%s %s\n", key, df_op_name(in->op), in->text);
        for (size_t a = 0; (in->op == DF_COPY || in->op == DF_ADD) && in->args[a]; a++) {
            size_t n = matches(job->src, in->args[a], idx);
            if (n == 0) {
                snprintf(job->why, sizeof job->why,
                         "Dockerfile line %d: %s %s: no such file in the function directory (dot-files and "
                         "node_modules are not part of it)", in->line, df_op_name(in->op), in->args[a]);
                free(m);
                return -1;
            }
            /* One hash over all it names: what COPY would bring. */
            char h[65], err[512];
            src_list_t sub = {0};
            for (size_t k = 0; k < n; k++) {
                for (size_t e = 0; e < job->src->n; e++)
                    if (idx[k] == WHOLE_CONTEXT || under(job->src->v[e].rel, job->src->v[idx[k]].rel)) {
                        if (sub.n == sub.cap) {
                            sub.cap = sub.cap ? sub.cap * 2 : 64;
                            src_entry_t *v = realloc(sub.v, sub.cap * sizeof *v);
                            if (!v) {
                                free(sub.v);
                                free(m);
                                snprintf(job->why, sizeof job->why, "out of memory");
                                return -1;
                            }
                            sub.v = v;
                        }
                        sub.v[sub.n++] = job->src->v[e]; /* borrowed */
                    }
            }
            long hashed = src_hash_under(job->src_dir, &sub, "", h, err, sizeof err);
            free(sub.v);
            if (hashed < 0) {
                snprintf(job->why, sizeof job->why, "%s", err);
                free(m);
                return -1;
            }
            len += (size_t)snprintf(m + len, cap - len, "%s %s\n", in->args[a], h);
        }
        sha256_hex(m, len, key);
        free(m);
        memcpy(keys[i], key, 65);
    }
    return 0;
}

/* One matched entry (or, for a directory, what is in it) to dest. */
static int copy_match(int root, build_job_t *job, const df_instr_t *in, size_t m, bool into_dir, char *err,
                      size_t errlen)
{
    const src_list_t *src = job->src;
    char dst[PATH_MAX];
    if (m == WHOLE_CONTEXT || S_ISDIR(src->v[m].mode)) {
        const char *top = m == WHOLE_CONTEXT ? NULL : src->v[m].rel;
        if (tree_mkdirs(root, in->dest, err, errlen) < 0)
            return -1;
        for (size_t e = 0; e < src->n; e++) {
            const char *rel = src->v[e].rel;
            if (top && (!under(rel, top) || !strcmp(rel, top)))
                continue;
            if (!join(dst, sizeof dst, in->dest, top ? rel + strlen(top) + 1 : rel) ||
                tree_put(root, dst, job->src_dir, &src->v[e], err, errlen) < 0)
                return err[0] ? -1 : (snprintf(err, errlen, "path too long: %s", rel), -1);
        }
        return 0;
    }
    const char *rel = src->v[m].rel, *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    if (into_dir ? !join(dst, sizeof dst, in->dest, base) : !fmt_path(dst, sizeof dst, "%s", in->dest)) {
        snprintf(err, errlen, "path too long: %s", rel);
        return -1;
    }
    return tree_put(root, dst, job->src_dir, &src->v[m], err, errlen);
}

static int copy_step(int root, build_job_t *job, const df_instr_t *in, size_t *idx)
{
    char err[512] = "";
    size_t total = 0;
    for (size_t a = 0; in->args[a]; a++)
        total += matches(job->src, in->args[a], idx);
    bool into_dir = in->dest_dir || total > 1 || !in->dest[0] || job_has_dir(job->task, in->dest);
    for (size_t a = 0; in->args[a]; a++) {
        size_t n = matches(job->src, in->args[a], idx);
        for (size_t k = 0; k < n; k++)
            if (copy_match(root, job, in, idx[k], into_dir, err, sizeof err) < 0) {
                snprintf(job->why, sizeof job->why, "Dockerfile line %d: %s: %s", in->line, df_op_name(in->op), err);
                return -1;
            }
    }
    return 0;
}

/* Drops the cached steps of this function that its Dockerfile no longer
 * has, so the cache does not grow with every edit. */
static void prune(const char *steps, const dockerfile_t *df, char (*keys)[65])
{
    DIR *d = opendir(steps);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        bool keep = false;
        for (size_t i = 0; i < df->n && !keep; i++)
            keep = changes_tree(df->v[i].op) && !strncmp(e->d_name, keys[i], 64) && !strcmp(e->d_name + 64, ".tar");
        char path[PATH_MAX];
        if (!keep && fmt_path(path, sizeof path, "%s/%s", steps, e->d_name))
            unlink(path);
    }
    closedir(d);
}

/* CMD and ENTRYPOINT as Docker combines them; the server starts in
 * /var/task, so another WORKDIR is entered first. */
static json_t *command(const df_instr_t *entry, const df_instr_t *cmd, const char *workdir)
{
    json_t *argv = json_array();
    const df_instr_t *parts[2] = {entry, entry && !entry->args ? NULL : cmd};
    for (int p = 0; p < 2; p++) {
        const df_instr_t *in = parts[p];
        if (!in)
            continue;
        if (!in->args) {
            json_array_append_new(argv, json_string("/bin/sh"));
            json_array_append_new(argv, json_string("-c"));
            json_array_append_new(argv, json_string(in->text));
        }
        for (size_t i = 0; in->args && in->args[i]; i++)
            json_array_append_new(argv, json_string(in->args[i]));
    }
    if (strcmp(workdir, SANDBOX_TASK_DIR)) {
        json_t *wrapped = json_pack("[s,s,s,s]", "/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", workdir);
        json_array_extend(wrapped, argv);
        json_decref(argv);
        argv = wrapped;
    }
    return argv;
}

static int run(const build_ctx_t *ctx, build_job_t *job, const dockerfile_t *df, char (*keys)[65], size_t *idx,
               const char *steps)
{
    char err[512], tar[PATH_MAX];
    /* The last step whose result is cached. */
    long restored = -1;
    for (long i = (long)df->n - 1; i >= 0 && restored < 0; i--)
        if (changes_tree(df->v[i].op) && fmt_path(tar, sizeof tar, "%s/%s.tar", steps, keys[i]) &&
            path_exists(tar))
            restored = i;
    if (restored >= 0 && fmt_path(tar, sizeof tar, "%s/%s.tar", steps, keys[restored]) &&
        tree_restore(tar, job->task, err, sizeof err) < 0) {
        snprintf(job->why, sizeof job->why, "%s", err);
        return -1;
    }
    int root = tree_open(job->task, err, sizeof err);
    if (root < 0) {
        snprintf(job->why, sizeof job->why, "%s", err);
        return -1;
    }
    envlist_t env = {0};
    const df_instr_t *entry = NULL, *cmd = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < df->n; i++) {
        const df_instr_t *in = &df->v[i];
        bool cached = changes_tree(in->op) && (long)i <= restored;
        if (ctx->verbose) {
            printf("    step %zu/%zu: %s %s%s\n", i + 1, df->n, df_op_name(in->op), in->text, cached ? " (cached)" : "");
            fflush(stdout);
        }
        if (in->op == DF_ENV)
            for (size_t a = 0; rc == 0 && in->args[a]; a += 2)
                rc = env_set(&env, in->args[a], in->args[a + 1]);
        if (in->op == DF_CMD)
            cmd = in;
        if (in->op == DF_ENTRYPOINT)
            entry = in;
        if (rc < 0)
            snprintf(job->why, sizeof job->why, "out of memory");
        if (rc < 0 || !changes_tree(in->op) || cached)
            continue;
        /* Docker makes the WORKDIR when a step needs it. */
        if (tree_mkdirs(root, task_rel(in->workdir), err, sizeof err) < 0) {
            snprintf(job->why, sizeof job->why, "Dockerfile line %d: WORKDIR %s: %s", in->line, in->workdir, err);
            rc = -1;
        } else if (in->op == DF_RUN) {
            const char *shell[] = {"/bin/sh", "-c", in->text, NULL};
            char label[64];
            snprintf(label, sizeof label, "Dockerfile line %d: RUN", in->line);
            rc = build_step(ctx, job, label, in->args ? (const char *const *)in->args : shell, &env, in->workdir,
                            NULL) == 0 ? 0 : -1;
        } else {
            rc = copy_step(root, job, in, idx);
        }
        if (rc == 0 && (!fmt_path(tar, sizeof tar, "%s/%s.tar", steps, keys[i]) ||
                        tree_snapshot(job->task, tar, err, sizeof err) < 0)) {
            snprintf(job->why, sizeof job->why, "cannot cache step %zu: %s", i + 1, err);
            rc = -1;
        }
    }
    const char *workdir = df->v[df->n - 1].workdir;
    if (rc == 0 && tree_mkdirs(root, task_rel(workdir), err, sizeof err) < 0) {
        snprintf(job->why, sizeof job->why, "WORKDIR %s: %s", workdir, err);
        rc = -1;
    }
    close(root);
    if (rc == 0) {
        json_object_set_new(job->spec, "runtime", json_string("provided"));
        json_object_set_new(job->spec, "mode", json_string("http"));
        json_object_set_new(job->spec, "command", command(entry, cmd, workdir));
        if (env.n) {
            json_t *e = json_object();
            for (size_t i = 0; i < env.n; i++) {
                char *eq = strchr(env.v[i], '=');
                *eq = '\0';
                json_object_set_new(e, env.v[i], json_string(eq + 1));
                *eq = '=';
            }
            json_object_set_new(job->spec, "env", e);
        }
    }
    env_free(&env);
    return rc;
}

int build_dockerfile(const build_ctx_t *ctx, build_job_t *job)
{
    char path[PATH_MAX], steps[PATH_MAX];
    size_t len = 0;
    char *text = fmt_path(path, sizeof path, "%s/" DOCKERFILE, job->src_dir) ? read_file(path, DF_MAX_BYTES, &len)
                                                                            : NULL;
    if (!text) {
        snprintf(job->why, sizeof job->why, "cannot read the Dockerfile (or it is over %d bytes)", DF_MAX_BYTES);
        return -1;
    }
    dockerfile_t df;
    int rc = dockerfile_parse(text, len, &df, job->why, sizeof job->why);
    free(text);
    if (rc < 0)
        return -1;
    char (*keys)[65] = calloc(df.n, sizeof *keys);
    size_t *idx = calloc(MATCHES_MAX, sizeof *idx);
    if (!keys || !idx) {
        snprintf(job->why, sizeof job->why, "out of memory");
        rc = -1;
    }
    if (rc == 0)
        rc = compute_keys(job, &df, keys, idx);
    if (rc == 0 && (!fmt_path(steps, sizeof steps, "%s/cache/steps/%s", ctx->state_dir, job->name) ||
                    mkdir_p(steps, 0700) < 0)) {
        snprintf(job->why, sizeof job->why, "cannot create the step cache %s", steps);
        rc = -1;
    }
    if (rc == 0)
        rc = run(ctx, job, &df, keys, idx, steps);
    if (rc == 0)
        prune(steps, &df, keys);
    free(keys);
    free(idx);
    dockerfile_free(&df);
    return rc;
}
