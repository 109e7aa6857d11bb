#include "builder/tree.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/box.h"
#include "util/util.h"

static int fail(char *err, size_t errlen, const char *what, const char *path, int e)
{
    snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
    return -1;
}

int tree_reset(const char *dir, char *err, size_t errlen)
{
    int rc = rm_rf(dir);
    if (rc == 0)
        rc = mkdir_p(dir, 0755);
    if (rc == 0 && chown(dir, BOX_UID, BOX_UID) < 0)
        rc = -errno;
    return rc < 0 ? fail(err, errlen, "cannot prepare", dir, -rc) : 0;
}

int tree_open(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? fail(err, errlen, "cannot open", dir, errno) : fd;
}

/* Walks rel's directories below root (creating them when missing) and
 * returns an fd of the last one; *leaf points at rel's last component. */
static int open_parent(int root, char *rel, char **leaf, char *err, size_t errlen)
{
    int fd = dup(root);
    if (fd < 0)
        return fail(err, errlen, "dup", "", errno);
    char *p = rel;
    for (;;) {
        char *slash = strchr(p, '/');
        if (!slash) {
            *leaf = p;
            return fd;
        }
        *slash = '\0';
        if (!*p || !strcmp(p, ".")) {
            *slash = '/';
            p = slash + 1;
            continue;
        }
        int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(fd, p, 0755) < 0 || fchownat(fd, p, BOX_UID, BOX_UID, AT_SYMLINK_NOFOLLOW) < 0) {
                *slash = '/';
                close(fd);
                return fail(err, errlen, "cannot create", rel, errno);
            }
            next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int e = errno;
        *slash = '/';
        close(fd);
        if (next < 0) {
            if (e == ELOOP || e == ENOTDIR) {
                snprintf(err, errlen, "%s passes through a symlink or a file", rel);
                return -1;
            }
            return fail(err, errlen, "cannot open", rel, e);
        }
        fd = next;
        p = slash + 1;
    }
}

static int copy_fd(int from, int to)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(from, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(to, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return -errno;
            off += w;
        }
    }
}

static int put_file(int dir, const char *leaf, const char *src, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return -errno;
    int out = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = out < 0 ? -errno : copy_fd(in, out);
    if (rc == 0 && (fchown(out, BOX_UID, BOX_UID) < 0 || fchmod(out, mode & 0777) < 0))
        rc = -errno;
    close(in);
    if (out >= 0)
        close(out);
    return rc;
}

int tree_put(int root, const char *dst_rel, const char *src_dir, const src_entry_t *e, char *err, size_t errlen)
{
    char rel[PATH_MAX], src[PATH_MAX];
    if (!fmt_path(rel, sizeof rel, "%s", dst_rel) || !fmt_path(src, sizeof src, "%s/%s", src_dir, e->rel)) {
        snprintf(err, errlen, "path too long: %s", dst_rel);
        return -1;
    }
    size_t n = strlen(rel);
    while (n > 0 && rel[n - 1] == '/')
        rel[--n] = '\0';
    if (!rel[0] || !strcmp(rel, "."))
        return 0; /* the tree's root itself: there already */
    char *leaf;
    int dir = open_parent(root, rel, &leaf, err, errlen);
    if (dir < 0)
        return -1;
    int rc = 0;
    struct stat st;
    bool exists = fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISDIR(st.st_mode) && !S_ISDIR(e->mode)) {
        snprintf(err, errlen, "cannot replace the directory %s with a file", dst_rel);
        rc = -1;
    } else if (exists && S_ISDIR(st.st_mode)) {
        /* already a directory: keep it */
    } else {
        if (exists && unlinkat(dir, leaf, 0) < 0)
            rc = fail(err, errlen, "cannot replace", dst_rel, errno);
        else if (S_ISDIR(e->mode) && (mkdirat(dir, leaf, 0755) < 0 ||
                                      fchownat(dir, leaf, BOX_UID, BOX_UID, AT_SYMLINK_NOFOLLOW) < 0))
            rc = fail(err, errlen, "cannot create", dst_rel, errno);
        else if (S_ISLNK(e->mode) && (symlinkat(e->link, dir, leaf) < 0 ||
                                      fchownat(dir, leaf, BOX_UID, BOX_UID, AT_SYMLINK_NOFOLLOW) < 0))
            rc = fail(err, errlen, "cannot create", dst_rel, errno);
        else if (S_ISREG(e->mode)) {
            int r = put_file(dir, leaf, src, e->mode);
            if (r < 0)
                rc = fail(err, errlen, "cannot copy to", dst_rel, -r);
        }
    }
    close(dir);
    return rc;
}

int tree_mkdirs(int root, const char *rel, char *err, size_t errlen)
{
    src_entry_t dir = {.rel = "", .mode = S_IFDIR | 0755};
    return tree_put(root, rel, "", &dir, err, errlen);
}

int tree_put_all(int root, const char *src_dir, const src_list_t *l, char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++)
        if (tree_put(root, l->v[i].rel, src_dir, &l->v[i], err, errlen) < 0)
            return -1;
    return 0;
}

static int archive_fail(char *err, size_t errlen, const char *what, struct archive *a)
{
    snprintf(err, errlen, "%s: %s", what, archive_error_string(a) ? archive_error_string(a) : "failed");
    return -1;
}

int tree_snapshot(const char *dir, const char *tar_path, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if (!fmt_path(tmp, sizeof tmp, "%s.tmp%d", tar_path, (int)getpid())) {
        snprintf(err, errlen, "path too long: %s", tar_path);
        return -1;
    }
    struct archive *w = archive_write_new(), *r = archive_read_disk_new();
    archive_write_set_format_pax_restricted(w);
    /* Links are saved as links, never followed. */
    archive_read_disk_set_symlink_physical(r);
    int rc = 0;
    if (archive_write_open_filename(w, tmp) != ARCHIVE_OK)
        rc = archive_fail(err, errlen, "cannot write the step cache", w);
    else if (archive_read_disk_open(r, dir) != ARCHIVE_OK)
        rc = archive_fail(err, errlen, "cannot read the build tree", r);
    size_t dlen = strlen(dir);
    struct archive_entry *e = archive_entry_new();
    while (rc == 0) {
        archive_entry_clear(e);
        int h = archive_read_next_header2(r, e);
        if (h == ARCHIVE_EOF)
            break;
        if (h < ARCHIVE_WARN) {
            rc = archive_fail(err, errlen, "cannot read the build tree", r);
            break;
        }
        archive_read_disk_descend(r);
        const char *path = archive_entry_pathname(e);
        if (strncmp(path, dir, dlen) || (path[dlen] != '/' && path[dlen] != '\0')) {
            snprintf(err, errlen, "unexpected path %s in the build tree", path);
            rc = -1;
            break;
        }
        if (!path[dlen])
            continue; /* the root: made by tree_reset on restore */
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s", path + dlen + 1);
        archive_entry_set_pathname(e, rel);
        if (archive_write_header(w, e) != ARCHIVE_OK) {
            rc = archive_fail(err, errlen, "cannot write the step cache", w);
            break;
        }
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        char buf[65536];
        la_ssize_t n;
        while ((n = archive_read_data(r, buf, sizeof buf)) > 0)
            if (archive_write_data(w, buf, (size_t)n) != n) {
                n = -1;
                break;
            }
        if (n < 0)
            rc = archive_fail(err, errlen, "cannot save the step cache", n == -1 ? w : r);
    }
    archive_entry_free(e);
    archive_read_free(r);
    if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
        rc = archive_fail(err, errlen, "cannot write the step cache", w);
    archive_write_free(w);
    if (rc == 0 && rename(tmp, tar_path) < 0)
        rc = fail(err, errlen, "cannot save", tar_path, errno);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int tree_restore(const char *tar_path, const char *dir, char *err, size_t errlen)
{
    if (tree_reset(dir, err, errlen) < 0)
        return -1;
    /* libarchive's secure extraction refuses absolute paths, "..", and
     * writing through symlinks: it works relative to the cwd. */
    int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0 || chdir(dir) < 0) {
        int e = errno;
        if (cwd >= 0)
            close(cwd);
        return fail(err, errlen, "cannot enter", dir, e);
    }
    struct archive *r = archive_read_new(), *w = archive_write_disk_new();
    archive_read_support_format_tar(r);
    archive_write_disk_set_options(w, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_TIME |
                                          ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                          ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
    int rc = archive_read_open_filename(r, tar_path, 65536) == ARCHIVE_OK
                 ? 0
                 : archive_fail(err, errlen, "cannot read the step cache", r);
    struct archive_entry *e;
    while (rc == 0) {
        int h = archive_read_next_header(r, &e);
        if (h == ARCHIVE_EOF)
            break;
        if (h < ARCHIVE_WARN || archive_write_header(w, e) < ARCHIVE_WARN) {
            rc = archive_fail(err, errlen, "cannot restore the step cache", h < ARCHIVE_WARN ? r : w);
            break;
        }
        const void *buf;
        size_t size;
        la_int64_t off;
        int d;
        while ((d = archive_read_data_block(r, &buf, &size, &off)) == ARCHIVE_OK)
            if (archive_write_data_block(w, buf, size, off) < ARCHIVE_OK) {
                d = ARCHIVE_FATAL;
                break;
            }
        if (d != ARCHIVE_EOF || archive_write_finish_entry(w) < ARCHIVE_WARN)
            rc = archive_fail(err, errlen, "cannot restore the step cache", w);
    }
    archive_read_free(r);
    if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
        rc = archive_fail(err, errlen, "cannot restore the step cache", w);
    archive_write_free(w);
    if (fchdir(cwd) < 0 && rc == 0)
        rc = fail(err, errlen, "cannot return to", "the working directory", errno);
    close(cwd);
    return rc;
}
