#include "store/zip_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/util.h"

static struct archive *open_zip(const void *data, size_t len)
{
    struct archive *a = archive_read_new();
    /* The seekable reader trusts only the central directory: a zip without
     * one (truncated) is refused instead of streamed. */
    archive_read_support_format_zip_seekable(a);
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
        return a; /* the first next_header reports the error */
    return a;
}

/* 1 with the next entry in e, 0 at the end, -1 (err set) on a broken zip. */
static int next_entry(struct archive *a, struct archive_entry **e, char *err, size_t errlen)
{
    int r = archive_read_next_header(a, e);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r < ARCHIVE_WARN) {
        const char *why = archive_error_string(a);
        snprintf(err, errlen, "zip is not a valid zip archive: %s", why ? why : "unreadable");
        return -1;
    }
    return 1;
}

/* Normalises an entry path ("./a//b/" -> "a/b"); false if it leaves the root. */
static bool clean_path(const char *in, char *out, size_t outlen)
{
    if (!in || in[0] == '/' || !*in)
        return false;
    size_t o = 0;
    const char *p = in;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (o + n + 2 > outlen)
                return false;
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    out[o] = '\0';
    return o > 0;
}

/* Does a symlink at `path` with `target` stay inside the root? */
static bool link_inside(const char *path, const char *target)
{
    if (!target || !*target || target[0] == '/')
        return false;
    int depth = 0;
    for (const char *p = path; *p; p++) /* directories above the link */
        depth += *p == '/';
    const char *p = target;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0)
                return false;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    return true;
}

static int refuse(char *err, size_t errlen, const char *fmt, const char *name)
{
    snprintf(err, errlen, fmt, name);
    return -1;
}

/* Pass 1: every header, before anything touches the disk. */
static int check_headers(const void *data, size_t len, char *err, size_t errlen)
{
    struct archive *a = open_zip(data, len);
    struct archive_entry *e;
    long long declared = 0;
    int n = 0, rc = 0;
    char clean[4096];
    for (;;) {
        int r = next_entry(a, &e, err, errlen);
        if (r <= 0) {
            rc = r;
            break;
        }
        const char *name = archive_entry_pathname(e);
        if (!name) { /* not decodable in our locale (UTF-8) */
            rc = refuse(err, errlen, "zip is not a valid zip archive: %s", "an entry name is not valid UTF-8");
            break;
        }
        if (++n > ZIP_MAX_ENTRIES) {
            rc = refuse(err, errlen, "zip has more than %s entries", "10000");
            break;
        }
        if (!clean_path(name, clean, sizeof clean)) {
            rc = refuse(err, errlen, "zip entry '%.200s' escapes the code directory", name ? name : "");
            break;
        }
        mode_t type = archive_entry_filetype(e);
        if (archive_entry_hardlink(e) || (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)) {
            rc = refuse(err, errlen, "zip entry '%.200s' is not a regular file, directory or symlink", name);
            break;
        }
        if (type == AE_IFLNK && !link_inside(clean, archive_entry_symlink(e))) {
            rc = refuse(err, errlen, "zip entry '%.200s' is a symlink that points outside the code directory", name);
            break;
        }
        if (archive_entry_size_is_set(e))
            declared += archive_entry_size(e);
        if (declared > ZIP_MAX_UNPACKED) {
            snprintf(err, errlen, "zip unpacks to more than %lld bytes", ZIP_MAX_UNPACKED);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && n == 0)
        rc = refuse(err, errlen, "%s", "zip is empty");
    if (rc == 0 && declared > ZIP_RATIO_FLOOR && declared > (long long)len * ZIP_MAX_RATIO)
        rc = refuse(err, errlen, "zip compression ratio is above %s:1", "200");
    archive_read_free(a);
    return rc;
}

static int write_data(struct archive *a, int fd, long long *total, size_t len, char *err, size_t errlen)
{
    char buf[65536];
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0) {
            const char *why = archive_error_string(a);
            snprintf(err, errlen, "zip is not a valid zip archive: %s", why ? why : "bad data");
            return -1;
        }
        *total += n;
        /* The same limits again, on what the data really unpacks to. */
        if (*total > ZIP_MAX_UNPACKED) {
            snprintf(err, errlen, "zip unpacks to more than %lld bytes", ZIP_MAX_UNPACKED);
            return -1;
        }
        if (*total > ZIP_RATIO_FLOOR && *total > (long long)len * ZIP_MAX_RATIO) {
            snprintf(err, errlen, "zip compression ratio is above 200:1");
            return -1;
        }
        for (char *p = buf; n > 0;) {
            ssize_t w = write(fd, p, (size_t)n);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                snprintf(err, errlen, "cannot write the code: %s", strerror(errno));
                return -2;
            }
            p += w;
            n -= w;
        }
    }
}

static int make_parents(const char *root, const char *rel)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    return mkdir_p(path, 0755);
}

/* Pass 2: directories and files; symlinks last, so that no file is ever
 * written through one. */
static int extract(const void *data, size_t len, const char *dest, char *err, size_t errlen)
{
    struct archive *a = open_zip(data, len);
    struct archive_entry *e;
    long long total = 0;
    int rc = 0;
    char clean[4096], path[8192];
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        if (pass == 1) {
            archive_read_free(a);
            a = open_zip(data, len);
        }
        while (rc == 0) {
            int r = next_entry(a, &e, err, errlen);
            if (r <= 0) {
                rc = r;
                break;
            }
            clean_path(archive_entry_pathname(e), clean, sizeof clean);
            mode_t type = archive_entry_filetype(e);
            snprintf(path, sizeof path, "%s/%s", dest, clean);
            if ((type == AE_IFLNK) != (pass == 1))
                continue;
            if (make_parents(dest, clean) < 0) {
                snprintf(err, errlen, "cannot write the code: %s", strerror(errno));
                rc = -2;
            } else if (type == AE_IFDIR) {
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                    rc = -2;
            } else if (type == AE_IFLNK) {
                if (symlink(archive_entry_symlink(e), path) < 0)
                    rc = refuse(err, errlen, "zip entry '%.200s' is duplicated", clean);
            } else {
                mode_t mode = (archive_entry_perm(e) & 0111) ? 0755 : 0644;
                int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (fd < 0) {
                    rc = errno == EEXIST || errno == EISDIR || errno == ELOOP
                             ? refuse(err, errlen, "zip entry '%.200s' is duplicated", clean)
                             : -2;
                } else {
                    rc = write_data(a, fd, &total, len, err, errlen);
                    if (close(fd) < 0 && rc == 0)
                        rc = -2;
                    fchmodat(AT_FDCWD, path, mode, 0); /* whatever the umask */
                }
            }
            if (rc == -2 && !*err)
                snprintf(err, errlen, "cannot write the code: %s", strerror(errno));
        }
    }
    archive_read_free(a);
    return rc;
}

/* Pass 3: the text of each link target was checked, but a target may pass
 * through another link of the archive ("s -> ." then "l -> s/../x"). Let the
 * kernel resolve every link beneath dest: EXDEV means it leaves, ELOOP that
 * it never ends. A dangling link that stays beneath is fine. */
static int verify_links(const void *data, size_t len, const char *dest, char *err, size_t errlen)
{
    int dfd = open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", dest, strerror(errno));
        return -2;
    }
    struct archive *a = open_zip(data, len);
    struct archive_entry *e;
    char clean[4096];
    int rc = 0;
    while (rc == 0 && next_entry(a, &e, err, errlen) > 0) {
        if (archive_entry_filetype(e) != AE_IFLNK)
            continue;
        clean_path(archive_entry_pathname(e), clean, sizeof clean);
        struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
        int fd = (int)syscall(SYS_openat2, dfd, clean, &how, sizeof how);
        if (fd >= 0)
            close(fd);
        else if (errno == EXDEV || errno == ELOOP)
            rc = refuse(err, errlen, "zip entry '%.200s' is a symlink that points outside the code directory", clean);
        else if (errno == ENOSYS) /* fail closed: the check needs openat2 (Linux 5.6) */
            rc = refuse(err, errlen, "zip entry '%.200s' is a symlink, which this kernel cannot check", clean);
    }
    archive_read_free(a);
    close(dfd);
    return rc;
}

int zip_extract(const void *data, size_t len, const char *dest, char *err, size_t errlen)
{
    err[0] = '\0';
    /* Only an end record: a valid zip with no entries (the seekable reader
     * calls it unrecognised). */
    if (len >= 22 && len <= 22 + 65535 && !memcmp(data, "PK\5\6", 4)) {
        snprintf(err, errlen, "zip is empty");
        return -1;
    }
    int rc = check_headers(data, len, err, errlen);
    if (rc < 0)
        return rc;
    if (mkdir(dest, 0755) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dest, strerror(errno));
        return -2;
    }
    chmod(dest, 0755);
    rc = extract(data, len, dest, err, errlen);
    if (rc == 0)
        rc = verify_links(data, len, dest, err, errlen);
    if (rc < 0)
        rm_rf(dest);
    return rc;
}
