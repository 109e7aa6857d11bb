#include "cli/zip_dir.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sink {
    char *buf;
    size_t len, cap, max;
} sink_t;

static la_ssize_t on_write(struct archive *a, void *arg, const void *data, size_t n)
{
    sink_t *s = arg;
    if (s->len + n > s->max) {
        archive_set_error(a, EFBIG, "the zip would be larger than %zu bytes", s->max);
        return -1;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1 << 16;
        while (cap < s->len + n)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return -1;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return (la_ssize_t)n;
}

static int add_tree(struct archive *a, const char *root, const char *rel, bool dotfiles, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (e->d_name[0] == '.' && !dotfiles)
            continue; /* .git, editor droppings */
        char child[4096], full[8192];
        snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, child);
        struct stat st;
        if (lstat(full, &st) < 0)
            continue;
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, child);
        archive_entry_set_mtime(ae, st.st_mtime, 0);
        if (S_ISDIR(st.st_mode)) {
            archive_entry_set_filetype(ae, AE_IFDIR);
            archive_entry_set_perm(ae, 0755);
            rc = archive_write_header(a, ae) == ARCHIVE_OK ? add_tree(a, root, child, dotfiles, err, errlen) : -1;
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlink(full, target, sizeof target - 1);
            if (n >= 0) {
                target[n] = '\0';
                archive_entry_set_filetype(ae, AE_IFLNK);
                archive_entry_set_perm(ae, 0777);
                archive_entry_set_symlink(ae, target);
                rc = archive_write_header(a, ae) == ARCHIVE_OK ? 0 : -1;
            }
        } else if (S_ISREG(st.st_mode)) {
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_perm(ae, st.st_mode & 0111 ? 0755 : 0644);
            archive_entry_set_size(ae, st.st_size);
            int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            rc = fd >= 0 && archive_write_header(a, ae) == ARCHIVE_OK ? 0 : -1;
            char buf[65536];
            ssize_t n;
            while (rc == 0 && fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
                if (archive_write_data(a, buf, (size_t)n) != n)
                    rc = -1;
            if (fd >= 0)
                close(fd);
        }
        archive_entry_free(ae);
        if (rc < 0 && !err[0])
            snprintf(err, errlen, "cannot pack %s: %s", full, archive_error_string(a) ? archive_error_string(a) : strerror(errno));
    }
    closedir(d);
    return rc;
}

char *zip_dir(const char *dir, size_t max, size_t *len, char *err, size_t errlen)
{
    return zip_tree(dir, false, max, len, err, errlen);
}

char *zip_tree(const char *dir, bool dotfiles, size_t max, size_t *len, char *err, size_t errlen)
{
    err[0] = '\0';
    sink_t s = {.max = max};
    struct archive *a = archive_write_new();
    archive_write_set_format_zip(a);
    archive_write_set_bytes_in_last_block(a, 1); /* no padding after the zip */
    int rc = archive_write_open(a, &s, NULL, on_write, NULL) == ARCHIVE_OK ? 0 : -1;
    if (rc == 0)
        rc = add_tree(a, dir, "", dotfiles, err, errlen);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0) {
        snprintf(err, errlen, "cannot pack %s: %s", dir, archive_error_string(a));
        rc = -1;
    }
    archive_write_free(a);
    if (rc < 0) {
        free(s.buf);
        return NULL;
    }
    if (s.len <= 22) { /* only the end record: no entries */
        snprintf(err, errlen, "%s holds no files", dir);
        free(s.buf);
        return NULL;
    }
    *len = s.len;
    return s.buf;
}

static int count_ext(const char *dir, const char *ext, int depth)
{
    DIR *d = opendir(dir);
    if (!d || depth > 4) {
        if (d)
            closedir(d);
        return 0;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules"))
            continue;
        size_t l = strlen(e->d_name), el = strlen(ext);
        if (l > el && !strcmp(e->d_name + l - el, ext))
            n++;
        else if (e->d_type == DT_DIR) {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            n += count_ext(sub, ext, depth + 1);
        }
    }
    closedir(d);
    return n;
}

bool zip_dir_is_python(const char *dir) { return count_ext(dir, ".py", 0) > 0 && count_ext(dir, ".js", 0) == 0; }
