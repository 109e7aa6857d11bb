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
 * MICROVM_SAVED_MAX), is what all its VMs share. This is Kata Containers'
 * "VM templating", with the template sealed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/microvm.h"

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

static shared_ram_t kept[MICROVM_SAVED_MAX];
static unsigned long uses;
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
    pthread_mutex_unlock(&kept_lock);
    if (usable && !hit)
        out = load(file, ram_len);
    if (!usable || out < 0) {
        if (file >= 0)
            close(file);
        return -1; /* a boot */
    }
    if (!hit) { /* loaded outside the lock (100-200 MiB): keep it, unless another spawn kept the same */
        int held = fcntl(file, F_DUPFD_CLOEXEC, 0), kept_fd = fcntl(out, F_DUPFD_CLOEXEC, 0);
        pthread_mutex_lock(&kept_lock);
        shared_ram_t *slot = find(path, &st);
        if (!slot && held >= 0 && kept_fd >= 0) {
            slot = &kept[0];
            for (int i = 1; i < MICROVM_SAVED_MAX; i++)
                if (kept[i].used < slot->used)
                    slot = &kept[i]; /* free, or the one used longest ago */
            if (slot->used)
                drop(slot);
            *slot = (shared_ram_t){.file = held, .dev = st.st_dev, .ino = st.st_ino, .fd = kept_fd, .used = ++uses};
            snprintf(slot->path, sizeof slot->path, "%s", path);
            held = kept_fd = -1;
        }
        pthread_mutex_unlock(&kept_lock);
        if (held >= 0)
            close(held);
        if (kept_fd >= 0)
            close(kept_fd);
    }
    /* The supervisor reads the devices' state from this very file: the RAM
     * and the devices of one save, whatever is renamed into place meanwhile. */
    *file_out = file;
    return out;
}
