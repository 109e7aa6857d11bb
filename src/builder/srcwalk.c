#include "builder/srcwalk.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

bool src_excluded(const char *name)
{
    /* Dot-files are editors', VCS's and tools' (.git, .impuls, .venv);
     * node_modules and .deps are build output, made again by the build. */
    return name[0] == '.' || !strcmp(name, "node_modules");
}

bool src_link_inside(const char *rel, const char *target)
{
    if (!target[0] || target[0] == '/')
        return false;
    /* Depth of the link's own directory, then walk the target lexically. */
    int depth = 0;
    for (const char *p = rel; *p; p++)
        depth += *p == '/';
    const char *p = target;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && !strncmp(p, "..", 2)) {
            if (--depth < 0)
                return false;
        } else if (n > 0 && !(n == 1 && *p == '.')) {
            depth++;
        }
        p += n + (slash ? 1 : 0);
    }
    return true;
}

static int push(src_list_t *l, const char *rel, const struct stat *st, const char *link)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        src_entry_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    src_entry_t *e = &l->v[l->n];
    e->rel = strdup(rel);
    e->link = link ? strdup(link) : NULL;
    e->mode = st->st_mode;
    e->size = st->st_size;
    if (!e->rel || (link && !e->link)) {
        free(e->rel);
        free(e->link);
        return -1;
    }
    l->n++;
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int walk(const char *root, const char *rel, const char *skip, src_list_t *l, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (!fmt_path(path, sizeof path, "%s%s%s", root, rel[0] ? "/" : "", rel)) {
        snprintf(err, errlen, "path too long: %s", rel);
        return -1;
    }
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "cannot read %s: %s", rel[0] ? rel : root, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (src_excluded(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
        if (l->n + n > SRC_MAX_ENTRIES)
            break; /* reported below */
    }
    closedir(d);
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
    if (rc == 0 && n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (l->n >= SRC_MAX_ENTRIES) {
            snprintf(err, errlen, "more than %d files and directories (the most a function may have)",
                     SRC_MAX_ENTRIES);
            rc = -1;
            break;
        }
        char child[PATH_MAX], full[PATH_MAX];
        if (!fmt_path(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", names[i]) ||
            !fmt_path(full, sizeof full, "%s/%s", root, child)) {
            snprintf(err, errlen, "path too long: %s/%s", rel, names[i]);
            rc = -1;
            break;
        }
        struct stat st;
        if (lstat(full, &st) < 0) {
            snprintf(err, errlen, "cannot read %s: %s", child, strerror(errno));
            rc = -1;
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            char real[PATH_MAX];
            if (skip && realpath(full, real) && !strcmp(real, skip))
                continue;
            rc = push(l, child, &st, NULL) < 0 ? -1 : walk(root, child, skip, l, err, errlen);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t tn = readlink(full, target, sizeof target - 1);
            if (tn < 0) {
                snprintf(err, errlen, "cannot read the symlink %s: %s", child, strerror(errno));
                rc = -1;
                break;
            }
            target[tn] = '\0';
            if (!src_link_inside(child, target)) {
                snprintf(err, errlen, "symlink %s points outside the function directory (%s)", child, target);
                rc = -1;
                break;
            }
            rc = push(l, child, &st, target);
        } else if (S_ISREG(st.st_mode)) {
            rc = push(l, child, &st, NULL);
        } else {
            snprintf(err, errlen, "%s is not a regular file, directory or symlink", child);
            rc = -1;
        }
        if (rc < 0 && !err[0])
            snprintf(err, errlen, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int src_walk(const char *dir, const char *skip, src_list_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    if (walk(dir, "", skip, out, err, errlen) < 0) {
        src_list_free(out);
        return -1;
    }
    return 0;
}

void src_list_free(src_list_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].rel);
        free(l->v[i].link);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}
