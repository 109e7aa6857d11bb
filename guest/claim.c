/* The guest's end of a claim (see the header). The host is trusted (it made
 * this VM); the checks keep a mistake from writing outside dir. */
#include "claim.h"

#include <ctype.h>
#include <errno.h>
#include <linux/random.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/vm_channel.h"

static unsigned long hex8(const char *p)
{
    char b[9];
    memcpy(b, p, 8);
    b[8] = '\0';
    return strtoul(b, NULL, 16);
}

/* A relative path of plain components: no "", ".", ".." or leading '/'. */
static int name_ok(const char *name)
{
    if (!*name || name[0] == '/')
        return 0;
    for (const char *c = name; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += n + (c[n] == '/');
    }
    return 1;
}

static int unpack(const char *p, size_t len, const char *dir, char *why, size_t whylen)
{
    size_t off = 0;
    for (;;) {
        if (off > len || len - off < 110 || memcmp(p + off, "070701", 6)) {
            snprintf(why, whylen, "the code is not a newc archive (at byte %zu)", off);
            return -1;
        }
        const char *h = p + off;
        unsigned long mode = hex8(h + 14), size = hex8(h + 54), namesize = hex8(h + 94);
        size_t name_at = off + 110, data_at = (name_at + namesize + 3) & ~(size_t)3;
        if (namesize == 0 || namesize > 4096 || data_at > len || size > len - data_at ||
            p[name_at + namesize - 1] != '\0') {
            snprintf(why, whylen, "a truncated archive entry (at byte %zu)", off);
            return -1;
        }
        const char *name = p + name_at;
        if (!strcmp(name, "TRAILER!!!"))
            return 0;
        char path[4200];
        if (!name_ok(name) || snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
            snprintf(why, whylen, "the code names a path outside /var/task: %.200s", name);
            return -1;
        }
        if (S_ISDIR(mode)) {
            if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                snprintf(why, whylen, "mkdir %.200s: %s", name, strerror(errno));
                return -1;
            }
        } else if (S_ISREG(mode)) {
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0111 ? 0755 : 0644);
            const char *d = p + data_at;
            size_t left = size;
            while (fd >= 0 && left > 0) {
                ssize_t w = write(fd, d, left);
                if (w <= 0)
                    break;
                d += w;
                left -= (size_t)w;
            }
            if (fd < 0 || left > 0 || close(fd) < 0) {
                snprintf(why, whylen, "write %.200s: %s", name, strerror(errno));
                return -1;
            }
        } else if (S_ISLNK(mode) && size > 0 && size < 4096) {
            /* (The store keeps a zip's links inside its code directory.) */
            char target[4096];
            memcpy(target, p + data_at, size);
            target[size] = '\0';
            if (strlen(target) != size || symlink(target, path) < 0) {
                snprintf(why, whylen, "symlink %.200s: %s", name, strlen(target) != size ? "a NUL in its target" : strerror(errno));
                return -1;
            }
        } else {
            snprintf(why, whylen, "the code holds %.200s, neither a directory, a regular file nor a link", name);
            return -1;
        }
        off = (data_at + size + 3) & ~(size_t)3;
    }
}

/* Strings each ended by a NUL, then an empty one, from buf[*off..len) into
 * out (at most max, NULL-ended). Returns 0, or -1 when malformed. */
static int take_list(char *buf, size_t len, size_t *off, char **out, int max, int need_eq)
{
    int k = 0;
    while (*off < len && buf[*off] != '\0') {
        char *e = buf + *off;
        size_t n = strnlen(e, len - *off);
        if (*off + n >= len || (need_eq && !strchr(e, '=')) || k == max)
            return -1;
        out[k++] = e;
        *off += n + 1;
    }
    out[k] = NULL;
    if (*off >= len)
        return -1;
    (*off)++; /* the empty string */
    return 0;
}

/* The host's seed (hex) mixed into the kernel's random pool, counted as
 * entropy, and its generator reseeded from it at once: a VM restored from
 * a saved one starts with the saved generator's state, the same in every
 * instance. */
static int seed_random(const char *hex, size_t n, char *why, size_t whylen)
{
    struct {
        int entropy_count, buf_size;
        unsigned char buf[256];
    } in;
    if (n == 0 || n % 2 || n / 2 > sizeof in.buf) {
        snprintf(why, whylen, "a malformed seed in the claim");
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)hex[2 * i]) ||
            !isxdigit((unsigned char)hex[2 * i + 1])) {
            snprintf(why, whylen, "a malformed seed in the claim");
            return -1;
        }
        in.buf[i] = (unsigned char)v;
    }
    in.buf_size = (int)(n / 2);
    in.entropy_count = in.buf_size * 8;
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && ioctl(fd, RNDADDENTROPY, &in) == 0 && ioctl(fd, RNDRESEEDCRNG) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        snprintf(why, whylen, "cannot seed the random numbers: %s", strerror(e));
        return -1;
    }
    return 0;
}

int claim_receive(int chan, const char *dir, long long *clock_ns, char **env, char **argv, char **net, char *why,
                  size_t whylen)
{
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    vmc_frame_t f;
    struct timespec first = {0}; /* when its first frame came: the host's clock was read just before */
    for (;;) {
        int rc = buf ? vmc_read_header(chan, &f) : -1;
        if (rc == -1) {
            snprintf(why, whylen, "the channel ended before the claim");
            return -1;
        }
        if (!first.tv_sec && !first.tv_nsec)
            clock_gettime(CLOCK_MONOTONIC, &first);
        uint32_t n = f.len;
        if (rc < 0 || f.type == VMC_OPEN || f.stream != 0 || len + n > CLAIM_MAX) {
            snprintf(why, whylen, "a claim frame that is not one (type %u, stream %u, %u bytes)", f.type, f.stream,
                     n);
            return -1;
        }
        if (f.type == VMC_CLOSE)
            break;
        while (len + n > cap && buf)
            buf = realloc(buf, cap *= 2);
        if (!buf || vmc_read_full(chan, buf + len, n) < 0) {
            snprintf(why, whylen, "the channel ended in the claim");
            return -1;
        }
        len += n;
    }
    /* The host's clock, the environment, the command, then the archive. */
    size_t off = 0;
    size_t n = strnlen(buf, len);
    if (n >= len) {
        snprintf(why, whylen, "a claim without code");
        return -1;
    }
    /* The network after the first newline, if any; the clock and seed before. */
    char *nl = memchr(buf, '\n', n);
    *net = nl ? nl + 1 : buf + n;
    size_t head = nl ? (size_t)(nl - buf) : n;
    char *end = buf;
    *clock_ns = head ? strtoll(buf, &end, 10) : 0;
    if (*clock_ns < 0 || (end != buf + head && *end != ' ')) {
        snprintf(why, whylen, "a malformed clock in the claim");
        return -1;
    }
    if (*end == ' ' && seed_random(end + 1, (size_t)(buf + head - end - 1), why, whylen) < 0)
        return -1;
    off = n + 1;
    /* The host's clock as of the send, plus the time the rest of the claim
     * took to come (a large one takes a while): else the guest's clock
     * would lag the host's, and a deadline set by the host would seem
     * further away in the guest than it is. Set before the unpacking. */
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    long long at = *clock_ns + (mono.tv_sec - first.tv_sec) * 1000000000LL + (mono.tv_nsec - first.tv_nsec);
    struct timespec now = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000};
    if (*clock_ns > 0 && clock_settime(CLOCK_REALTIME, &now) < 0) {
        snprintf(why, whylen, "cannot set the clock: %s", strerror(errno));
        return -1;
    }
    if (take_list(buf, len, &off, env, CLAIM_ENV_MAX, 1) < 0) {
        snprintf(why, whylen, off >= len ? "a claim without code" : "a malformed environment in the claim");
        return -1;
    }
    if (take_list(buf, len, &off, argv, CLAIM_ARGV_MAX, 0) < 0) {
        snprintf(why, whylen, off >= len ? "a claim without code" : "a malformed command in the claim");
        return -1;
    }
    return unpack(buf + off, len - off, dir, why, whylen);
}
