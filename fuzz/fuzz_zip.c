/* libFuzzer: the zip reader. Whatever the bytes, extraction either refuses
 * with a message or leaves only regular files, directories and symlinks that
 * stay inside the destination. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/zip_extract.h"
#include "util/util.h"

static char root[64];

static void check_tree(const char *dir, const char *real_root)
{
    DIR *d = opendir(dir);
    if (!d)
        abort();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) < 0)
            abort();
        if (S_ISDIR(st.st_mode)) {
            check_tree(p, real_root);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX], resolved[PATH_MAX];
            ssize_t n = readlink(p, target, sizeof target - 1);
            if (n < 0 || target[0] == '/')
                abort();
            /* A dangling link is fine; one that resolves must stay inside. */
            if (realpath(p, resolved) && strncmp(resolved, real_root, strlen(real_root)) != 0)
                abort();
        } else if (!S_ISREG(st.st_mode) || (st.st_mode & (S_ISUID | S_ISGID))) {
            abort();
        }
    }
    closedir(d);
}

/* The run's scratch dir goes when libFuzzer exits (a crash leaves it, beside its input). */
static void remove_root(void)
{
    rm_rf(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0]) {
        snprintf(root, sizeof root, "/tmp/impuls-fuzz-zip-%d", (int)getpid());
        mkdir(root, 0700);
        atexit(remove_root);
    }
    char dest[128], err[512] = "";
    snprintf(dest, sizeof dest, "%s/out", root);
    rm_rf(dest);
    int rc = zip_extract(data, size, dest, err, sizeof err);
    if (rc < 0 && !err[0])
        abort();
    if (rc == 0) {
        char real_root[PATH_MAX];
        if (!realpath(dest, real_root))
            abort();
        check_tree(dest, real_root);
    } else if (path_exists(dest)) {
        abort(); /* a refused zip leaves nothing behind */
    }
    rm_rf(dest);
    return 0;
}
