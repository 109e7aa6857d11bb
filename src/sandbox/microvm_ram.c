/* The saved VMs' memory, shared copy-on-write by every VM restored from it.
 *
 * A saved VM's file (microvm_snapshot_path) is its guest RAM, sparse, in
 * the first VM-memory MiB, then QEMU's migration stream of its devices
 * (saved with x-ignore-shared, so without the RAM). One file, renamed into
 * place once complete, so that a RAM and a device state of two different
 * boots can never be paired.
 *
 * A restored VM maps that RAM private (QEMU's memory-backend-file,
 * share=off): it reads the saved pages, and only the pages it writes
 * become its own. QEMU 7.2 opens a memory backend's file read-write even
 * for a private mapping, and it runs as an unprivileged uid: so the RAM it
 * gets is not the file on disk (writable by root only) but a memfd with
 * the same bytes, sealed against writes (F_SEAL_WRITE: a private mapping
 * is allowed, a write() or a shared writable mapping is not). One memfd per
 * saved VM, made by the daemon on its first restore and kept (at most
 * MICROVM_SAVED_MAX), is what all its VMs share. It is copied on a thread
 * of its own, not on the event loop that spawns (100-200 MiB); the VMs
 * spawned meanwhile get it over their control socket when it is done. This is Kata Containers'
 * "VM templating", with the template sealed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/microvm.h"
#include "sandbox/spawn_util.h"

int microvm_copy_data(int from, int to, off_t len)
{
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    if (!buf)
        return -1;
    off_t off = 0;
    int rc = 0;
    while (rc == 0 && off < len) {
        /* Only the data: the holes (pages the guest never touched) stay holes. */
        off_t data = lseek(from, off, SEEK_DATA);
        if (data < 0 && errno != ENXIO)
            rc = -1;
        if (data < 0 || data >= len)
            break; /* (ENXIO: no data after off) */
        off_t hole = lseek(from, data, SEEK_HOLE);
        if (hole < 0 || hole > len)
            hole = len;
        for (off = data; rc == 0 && off < hole;) {
            size_t want = (size_t)(hole - off < CHUNK ? hole - off : CHUNK);
            ssize_t n = pread(from, buf, want, off);
            if (n <= 0 || pwrite(to, buf, (size_t)n, off) != n)
                rc = -1;
            else
                off += n;
        }
    }
    int e = errno;
    free(buf);
    errno = e;
    return rc;
}

/* ---- the daemon's memfds ---- */

typedef struct shared_ram {
    char path[4300];
    int file; /* the saved VM's file: held, so that its inode is not reused while kept */
    dev_t dev;
    ino_t ino;
    int fd; /* its RAM, sealed */
    unsigned long used; /* 0: a free slot */
} shared_ram_t;

/* A copy under way, on a thread of its own: the spawns waiting for it
 * (their supervisors' control sockets). */
typedef struct loading {
    char path[4300];
    int file;
    dev_t dev;
    ino_t ino;
    off_t ram_len;
    int *waiters, n_waiters;
    struct loading *next;
} loading_t;

static shared_ram_t kept[MICROVM_SAVED_MAX];
static unsigned long uses;
static loading_t *loads;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static void drop(shared_ram_t *k)
{
    close(k->fd);
    close(k->file);
    k->used = 0;
}

/* The sealed memfd with file's first ram_len bytes. */
static int load(int file, off_t ram_len)
{
    int fd = memfd_create("impuls-vm-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, ram_len) < 0 || microvm_copy_data(file, fd, ram_len) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* The kept entry of path's file as it is now (st), or NULL; drops one of
 * a file that was replaced. Under kept_lock. */
static shared_ram_t *find(const char *path, const struct stat *st)
{
    for (int i = 0; i < MICROVM_SAVED_MAX; i++) {
        shared_ram_t *k = &kept[i];
        if (!k->used || strcmp(k->path, path))
            continue;
        if (st && k->dev == st->st_dev && k->ino == st->st_ino)
            return k;
        drop(k);
    }
    return NULL;
}

/* The kept entry or the load under way of the file dev/ino. Under kept_lock. */
static shared_ram_t *kept_of(dev_t dev, ino_t ino)
{
    for (int i = 0; i < MICROVM_SAVED_MAX; i++)
        if (kept[i].used && kept[i].dev == dev && kept[i].ino == ino)
            return &kept[i];
    return NULL;
}

static loading_t *load_of(dev_t dev, ino_t ino)
{
    for (loading_t *l = loads; l; l = l->next)
        if (l->dev == dev && l->ino == ino)
            return l;
    return NULL;
}

/* Keeps fd as the RAM of l's file, in the slot used longest ago. Under kept_lock. */
static void keep(const loading_t *l, int fd)
{
    int held = fcntl(l->file, F_DUPFD_CLOEXEC, 0), kept_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (held < 0 || kept_fd < 0) {
        if (held >= 0)
            close(held);
        if (kept_fd >= 0)
            close(kept_fd);
        return;
    }
    struct stat st = {.st_dev = l->dev, .st_ino = l->ino};
    if (find(l->path, &st)) { /* (never: one load per file at a time; find drops one of a file replaced since) */
        close(held);
        close(kept_fd);
        return;
    }
    shared_ram_t *slot = &kept[0];
    for (int i = 1; i < MICROVM_SAVED_MAX; i++)
        if (kept[i].used < slot->used)
            slot = &kept[i]; /* free, or the one used longest ago */
    if (slot->used)
        drop(slot);
    *slot = (shared_ram_t){.file = held, .dev = l->dev, .ino = l->ino, .fd = kept_fd, .used = ++uses};
    snprintf(slot->path, sizeof slot->path, "%s", l->path);
}

/* To a supervisor waiting for its RAM: "r", with the memfd (none: it boots). */
static void send_ram(int ctl, int fd)
{
    struct iovec iov = {.iov_base = "r", .iov_len = 1};
    if (fd >= 0)
        send_with_fds(ctl, &iov, 1, &fd, 1); /* (a supervisor gone meanwhile: nobody to tell) */
    else
        send(ctl, "r", 1, MSG_NOSIGNAL);
}

/* 100-200 MiB copied off the daemon's event loop, then handed to every
 * spawn that came meanwhile. */
static void *load_in_background(void *arg)
{
    loading_t *l = arg;
    int fd = load(l->file, l->ram_len);
    pthread_mutex_lock(&kept_lock);
    if (fd >= 0)
        keep(l, fd);
    for (loading_t **p = &loads; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            break;
        }
    pthread_mutex_unlock(&kept_lock);
    for (int i = 0; i < l->n_waiters; i++) {
        send_ram(l->waiters[i], fd);
        close(l->waiters[i]);
    }
    if (fd >= 0)
        close(fd);
    close(l->file);
    free(l->waiters);
    free(l);
    return NULL;
}

/* A load of path's file (open: file) unless one is under way. Under kept_lock. */
static int start_load(const char *path, int file, const struct stat *st, off_t ram_len)
{
    if (load_of(st->st_dev, st->st_ino))
        return 0;
    loading_t *l = calloc(1, sizeof *l);
    pthread_attr_t attr;
    pthread_t t;
    if (!l || (l->file = fcntl(file, F_DUPFD_CLOEXEC, 0)) < 0) {
        free(l);
        return -1;
    }
    snprintf(l->path, sizeof l->path, "%s", path);
    l->dev = st->st_dev;
    l->ino = st->st_ino;
    l->ram_len = ram_len;
    l->next = loads;
    loads = l;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, load_in_background, l);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        loads = l->next;
        close(l->file);
        free(l);
        return -1;
    }
    return 0;
}

int microvm_shared_ram(const char *path, int vm_memory_mb, int *file_out)
{
    *file_out = -1;
    int file = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    off_t ram_len = (off_t)vm_memory_mb << 20;
    bool usable = file >= 0 && fstat(file, &st) == 0 && st.st_size > ram_len;
    pthread_mutex_lock(&kept_lock);
    shared_ram_t *hit = find(path, usable ? &st : NULL); /* none saved (any more): its memfd goes */
    if (hit)
        hit->used = ++uses;
    int out = hit ? fcntl(hit->fd, F_DUPFD_CLOEXEC, 0) : -1;
    bool later = usable && !hit && start_load(path, file, &st, ram_len) == 0;
    pthread_mutex_unlock(&kept_lock);
    if (out < 0 && !later) {
        if (file >= 0)
            close(file);
        return -1; /* a boot */
    }
    /* The supervisor reads the devices' state from this very file: the RAM
     * and the devices of one save, whatever is renamed into place meanwhile. */
    *file_out = file;
    return out;
}

void microvm_send_ram_when_loaded(int file, int ctl)
{
    struct stat st;
    if (fstat(file, &st) < 0)
        return send_ram(ctl, -1);
    pthread_mutex_lock(&kept_lock);
    shared_ram_t *k = kept_of(st.st_dev, st.st_ino);
    loading_t *l = k ? NULL : load_of(st.st_dev, st.st_ino);
    int *more = l ? realloc(l->waiters, (size_t)(l->n_waiters + 1) * sizeof *more) : NULL;
    int waiter = more ? fcntl(ctl, F_DUPFD_CLOEXEC, 0) : -1;
    if (more)
        l->waiters = more;
    if (waiter >= 0)
        l->waiters[l->n_waiters++] = waiter;
    else
        send_ram(ctl, k ? k->fd : -1); /* loaded already, or it failed (or no memory to wait): a boot */
    pthread_mutex_unlock(&kept_lock);
}
