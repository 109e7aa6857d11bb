/* A function's log file (logs/<log_name>.log, one older .1 kept): what its
 * instances print and the START / END / REPORT lines around each call.
 *
 * Writes are gathered per function and written once per turn of the event
 * loop: at eight connections one turn ends several calls, and each call
 * wrote two lines (START, then END and REPORT) with a syscall each, which on
 * a virtualised machine cost more than the rest of the line's work
 * (docs/performance.md, "The warm path"). The flush runs later in the same
 * turn, after the callbacks that epoll woke together; the logs API flushes
 * before it reads, so a reader never misses a line the daemon wrote. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/internal.h"
#include "util/log.h"

enum {
    LOG_ROTATE_BYTES = 8 << 20,
    LOG_GATHER = 8 * 1024, /* the most held per function before it is written */
};

static LIST_HEAD(, fn) pending = LIST_HEAD_INITIALIZER(pending); /* functions with held bytes */
static struct event *flush_ev;
static bool loop_ended; /* fn_logs_shutdown: from then on lines are written as they come */

void fn_log_path(const fn_t *fn, char out[4096], const char *suffix)
{
    snprintf(out, 4096, "%s/logs/%s.log%s", D->cfg.data_dir, fn->log_name, suffix);
}

void fn_log_open(fn_t *fn)
{
    char path[4096];
    fn_log_path(fn, path, "");
    fn->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fn->log_fd < 0)
        log_warn("cannot open %s: %s", path, strerror(errno));
    struct stat st;
    fn->log_size = fn->log_fd >= 0 && fstat(fn->log_fd, &st) == 0 ? st.st_size : 0;
}

static void write_out(fn_t *fn, const char *data, size_t len)
{
    if (fn->log_fd < 0 || len == 0)
        return;
    if (fn->log_size > LOG_ROTATE_BYTES) { /* counted, not fstat'ed: written only here */
        /* Keep one older file: bounded disk use whatever a function prints. */
        char cur[4096], old[4096];
        fn_log_path(fn, cur, "");
        fn_log_path(fn, old, ".1");
        rename(cur, old);
        close(fn->log_fd);
        fn_log_open(fn);
        if (fn->log_fd < 0)
            return;
    }
    ssize_t n = write(fn->log_fd, data, len);
    if (n > 0) /* a full disk loses log lines, never an invocation */
        fn->log_size += n;
}

static void flush_one(fn_t *fn)
{
    if (!fn->log_buf)
        return;
    LIST_REMOVE(fn, log_pending);
    write_out(fn, fn->log_buf, fn->log_held);
    /* Freed, not kept: an idle function holds no buffer. */
    free(fn->log_buf);
    fn->log_buf = NULL;
    fn->log_held = 0;
}

void fn_logs_flush(void)
{
    while (!LIST_EMPTY(&pending))
        flush_one(LIST_FIRST(&pending));
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    fn_logs_flush();
}

/* fn gathers from now until this turn's flush; false if it cannot (then its
 * lines are written at once, as they come). */
static bool start_gathering(fn_t *fn)
{
    if (loop_ended)
        return false;
    if (!flush_ev)
        flush_ev = event_new(D->base, -1, 0, on_flush, NULL);
    if (!flush_ev || !(fn->log_buf = malloc(LOG_GATHER)))
        return false;
    LIST_INSERT_HEAD(&pending, fn, log_pending);
    event_active(flush_ev, 0, 0); /* a no-op while it is already active */
    return true;
}

void fn_log_write(fn_t *fn, const char *data, size_t len)
{
    /* A version's lines go through its function's (one file, one count of
     * its size: one rotation). */
    fn_t *owner = fn->published ? registry_find(fn->cfg.name) : NULL;
    if (owner)
        fn = owner;
    if (fn->log_fd < 0 || len == 0)
        return;
    if (fn->log_held + len > LOG_GATHER)
        flush_one(fn);
    if (len > LOG_GATHER || (!fn->log_buf && !start_gathering(fn))) {
        write_out(fn, data, len);
        return;
    }
    memcpy(fn->log_buf + fn->log_held, data, len);
    fn->log_held += len;
}

void fn_log_close(fn_t *fn)
{
    flush_one(fn);
    if (fn->log_fd >= 0)
        close(fn->log_fd);
    fn->log_fd = -1;
}

void fn_logs_shutdown(void)
{
    loop_ended = true;
    fn_logs_flush();
    if (flush_ev)
        event_free(flush_ev);
    flush_ev = NULL;
}
