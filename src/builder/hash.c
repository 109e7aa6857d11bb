#include "builder/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

static int add_fd(struct sha256_ctx *ctx, int fd)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        sha256_update(ctx, (size_t)n, (const uint8_t *)buf);
    }
}

int sha256_file(const char *path, char out[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    int rc = add_fd(&ctx, fd);
    close(fd);
    if (rc == 0) {
        unsigned char md[SHA256_DIGEST_SIZE];
        sha256_digest(&ctx, sizeof md, md);
        hex_encode(md, sizeof md, out);
    }
    return rc;
}

static bool under(const char *rel, const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 0 || !strcmp(prefix, "."))
        return true;
    return !strncmp(rel, prefix, n) && (rel[n] == '\0' || rel[n] == '/');
}

/* One entry: "path\0type+perm\0length\0content". The lengths keep two
 * different trees from hashing alike by moving bytes between fields. */
static int add_entry(struct sha256_ctx *ctx, const char *dir, const src_entry_t *e, char *err, size_t errlen)
{
    char head[PATH_MAX + 64];
    char type = S_ISDIR(e->mode) ? 'd' : S_ISLNK(e->mode) ? 'l' : 'f';
    long long len = e->link ? (long long)strlen(e->link) : S_ISREG(e->mode) ? (long long)e->size : 0;
    int n = snprintf(head, sizeof head, "%s%c%c%04o%c%lld%c", e->rel, 0, type,
                     e->link ? 0777 : (unsigned)(e->mode & 0777), 0, len, 0);
    sha256_update(ctx, (size_t)n, (const uint8_t *)head);
    if (e->link) {
        sha256_update(ctx, strlen(e->link), (const uint8_t *)e->link);
        return 0;
    }
    if (!S_ISREG(e->mode))
        return 0;
    char path[PATH_MAX];
    if (!fmt_path(path, sizeof path, "%s/%s", dir, e->rel)) {
        snprintf(err, errlen, "path too long: %s", e->rel);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int rc = fd < 0 ? -errno : add_fd(ctx, fd);
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read %s: %s", e->rel, strerror(-rc));
        return -1;
    }
    return 0;
}

long src_hash_under(const char *dir, const src_list_t *l, const char *prefix, char out[65], char *err,
                    size_t errlen)
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    long count = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!under(l->v[i].rel, prefix))
            continue;
        if (add_entry(&ctx, dir, &l->v[i], err, errlen) < 0)
            return -1;
        count++;
    }
    unsigned char md[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof md, md);
    hex_encode(md, sizeof md, out);
    return count;
}

int src_hash(const char *dir, const src_list_t *l, char out[65], char *err, size_t errlen)
{
    return src_hash_under(dir, l, "", out, err, errlen) < 0 ? -1 : 0;
}
