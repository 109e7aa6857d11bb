/* Builds of a function's source, for the API's create and update (see the
 * header). One child process per build, forked from the daemon:
 *
 *   daemon ──fork──▶ child: the source into <data>/build/<fn>/work-<pid>/task,
 *     │                 build_box_* steps (go build; mcs, --check), the result moved to
 *     │                 tasks/<key>, one word back on the pipe, exit
 *     │◀── "O" | "R<why>" | "L<why>" ── (read on the loop; EOF ends it)
 *
 * The child holds no fd of the daemon's but the pipe, and dies with it
 * (PDEATHSIG; the build sandbox's own init dies with the child). The daemon's
 * SIGCHLD reaper collects it; its word, not its exit status, is the result.
 * Each function has its own build dir, so one function's source never shares
 * a compiler cache with another's. */
#include "api/source_build.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/build.h"
#include "pool/daemon.h"
#include "runtime_api/runtimes.h"
#include "store/zip_extract.h"
#include "util/log.h"
#include "util/util.h"

enum { WORD_MAX = 64 << 10, BUILD_VERSION = 2 };

typedef struct sbuild {
    pid_t pid;
    int pidfd; /* signals reach this child even once its pid is reaped and reused */
    int fd;
    struct event *ev;
    struct event *timer; /* the whole build's time limit, beyond the steps' own */
    int timeouts;
    struct evbuffer *word;
    char task_key[65];
    char fn_name[128];
    source_built_fn done;
    void *arg;
    struct sbuild *next;
} sbuild_t;

static sbuild_t *builds;
static int n_builds;
static uint64_t n_finished[3]; /* by source_build_counts's order: built, refused, failed */

bool source_needs_build(const char *runtime) { return runtime && runtime_builds_source(runtime_find(runtime)); }

const char *source_no_http_mode(const char *runtime)
{
    const runtime_def_t *rt = runtime_find(runtime);
    return rt && rt->lang == LANG_CSHARP
               ? "runtime 'csharp' builds handlers; an HTTP server in C# is a provided function (or impuls up with a "
                 "Dockerfile)"
               : "runtime 'go' builds handlers; an HTTP server in Go is a provided function (or impuls up with a go.mod)";
}

bool source_is_zip(const void *data, size_t len)
{
    return len >= 4 && (!memcmp(data, "PK\3\4", 4) || !memcmp(data, "PK\5\6", 4));
}

/* How each built runtime is built. */
typedef struct builder {
    enum runtime_lang lang;
    const char *dir;         /* runtimes/<dir>: what the build links against */
    const char *compiler[3]; /* the toolchain's files (NULL-ended) */
    const char *inline_name; /* inline code is written to this file */
    int (*build)(const build_ctx_t *ctx, build_job_t *job, const char *handler);
    bool keep_task; /* the whole task dir is the code; else only its bootstrap */
    char toolchain_sha[65];
} builder_t;

static int go_build(const build_ctx_t *ctx, build_job_t *job, const char *handler)
{
    return build_go_handler(ctx, job, handler) == 0 ? 0 : -1;
}

static builder_t BUILDERS[] = {
    {LANG_GO, "go", {"/usr/bin/go", NULL}, "main.go", go_build, false, ""},
    {LANG_CSHARP, "csharp", {"/usr/bin/mono", "/usr/lib/mono/4.5/mcs.exe", NULL}, "Function.cs",
     build_csharp_handler, true, ""},
};

static builder_t *builder_of(const char *runtime)
{
    const runtime_def_t *rt = runtime_find(runtime);
    for (size_t i = 0; rt && i < sizeof BUILDERS / sizeof *BUILDERS; i++)
        if (BUILDERS[i].lang == rt->lang)
            return &BUILDERS[i];
    return NULL;
}

/* What else goes into a build: the runtime's package sources (runtimes/<dir>,
 * by name and content, its .go, go.mod, go.sum and .cs files, in nftw's order: fixed
 * for one tree; not what make compiles from them) and the toolchain (where
 * its binary leads, e.g. /usr/lib/go-1.19/bin/go, with its size and time).
 * Read once: a new package or toolchain comes with a new daemon. */
static struct evbuffer *tree_text;

static int add_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    const char *ext = strrchr(path, '.');
    bool source = ext && (!strcmp(ext, ".go") || !strcmp(ext, ".mod") || !strcmp(ext, ".sum") || !strcmp(ext, ".cs"));
    if (flag != FTW_F || !source)
        return 0;
    size_t len;
    cleanup_free char *text = read_file(path, 1 << 20, &len);
    evbuffer_add_printf(tree_text, "%s%c%zu%c", path, 0, text ? len : 0, 0);
    if (text)
        evbuffer_add(tree_text, text, len);
    return 0;
}

static const char *toolchain(builder_t *b)
{
    if (b->toolchain_sha[0])
        return b->toolchain_sha;
    char dir[PATH_MAX], real[PATH_MAX] = "";
    tree_text = evbuffer_new();
    if (fmt_path(dir, sizeof dir, "%s/%s", D->cfg.runtime_dir, b->dir))
        nftw(dir, add_file, 16, FTW_PHYS);
    for (int i = 0; b->compiler[i]; i++) {
        struct stat st = {0};
        if (!realpath(b->compiler[i], real) || stat(real, &st) < 0)
            real[0] = '\0';
        evbuffer_add_printf(tree_text, "compiler=%s:%lld:%lld", real, (long long)st.st_size, (long long)st.st_mtime);
    }
    size_t len = evbuffer_get_length(tree_text);
    sha256_hex(evbuffer_pullup(tree_text, -1), len, b->toolchain_sha);
    evbuffer_free(tree_text);
    tree_text = NULL;
    return b->toolchain_sha;
}

static void build_key(builder_t *b, const char *runtime, const char *handler, const void *src, size_t len,
                      bool is_zip, char out[65])
{
    char src_sha[65], text[512];
    sha256_hex(src, len, src_sha);
    int n = snprintf(text, sizeof text, "build:%d:%s:%s:%s:%s:%s", BUILD_VERSION, toolchain(b), runtime, handler,
                     is_zip ? "zip" : "inline", src_sha);
    sha256_hex(text, (size_t)n, out);
}

static int chown_box(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return lchown(path, BOX_UID, BOX_UID) < 0 ? -1 : 0;
}

/* Puts the source at task (which must not exist), owned by the build uid.
 * -1 refused (a bad zip), -2 local failure; why set. */
static int unpack_source(const char *task, const builder_t *b, const void *src, size_t len, bool is_zip, char *why,
                         size_t whylen)
{
    if (is_zip) {
        int rc = zip_extract(src, len, task, why, whylen);
        if (rc < 0)
            return rc;
    } else {
        char file[PATH_MAX];
        if (mkdir(task, 0755) < 0 || !fmt_path(file, sizeof file, "%s/%s", task, b->inline_name) ||
            write_file_atomic(file, src, len, 0644) < 0) {
            snprintf(why, whylen, "cannot write the source: %s", strerror(errno));
            return -2;
        }
    }
    if (nftw(task, chown_box, 16, FTW_PHYS) < 0) {
        snprintf(why, whylen, "cannot hand the source to the build: %s", strerror(errno));
        return -2;
    }
    return 0;
}

/* No process of the build is left to change the tree under this walk (the
 * box's pid namespace died with its init); links are never followed. */
static int chown_root(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if ((flag != FTW_F && flag != FTW_D && flag != FTW_SL) || lchown(path, 0, 0) < 0)
        return -1;
    return flag == FTW_SL ? 0 : chmod(path, (st->st_mode & 0111 ? 0755 : 0644) | (flag == FTW_D ? 0111 : 0));
}

/* Moves what the build made to tasks/<key> (whole, or not at all), owned
 * by root, read-only to others: the bootstrap alone, or the task dir. */
static int keep_output(const builder_t *b, const char *task, const char *key, char *why, size_t whylen)
{
    char from[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX], to[PATH_MAX];
    bool ok = fmt_path(dir, sizeof dir, "%s/tasks/%s", D->cfg.data_dir, key) &&
              fmt_path(tmp, sizeof tmp, "%s.tmp-%d", dir, (int)getpid());
    if (ok && b->keep_task)
        ok = rename(task, tmp) == 0;
    else if (ok)
        ok = fmt_path(from, sizeof from, "%s/bootstrap", task) && fmt_path(to, sizeof to, "%s/bootstrap", tmp) &&
             mkdir_p(tmp, 0755) == 0 && rename(from, to) == 0;
    if (!ok || nftw(tmp, chown_root, 16, FTW_PHYS) != 0) {
        snprintf(why, whylen, "cannot keep the build's output: %s", strerror(errno));
        rm_rf(tmp);
        return -2;
    }
    if (rename(tmp, dir) < 0) {
        bool there = errno == EEXIST || errno == ENOTEMPTY; /* another build of the same got there first */
        rm_rf(tmp);
        if (!there) {
            snprintf(why, whylen, "cannot keep the build's output: %s", strerror(errno));
            return -2;
        }
    }
    return 0;
}

/* The child: build, say how it went on fd 3, exit. */
static void child_main(const char *fn_name, builder_t *b, const char *handler, const void *src, size_t len,
                       bool is_zip, const char *key)
{
    char why[1024] = "";
    char state[PATH_MAX], work[PATH_MAX], task[PATH_MAX];
    int rc = -2;
    build_box_t box;
    memset(&box, 0, sizeof box);
    build_job_t job;
    memset(&job, 0, sizeof job);
    if (!fmt_path(state, sizeof state, "%s/build/%s", D->cfg.data_dir, fn_name) ||
        !fmt_path(work, sizeof work, "%s/work-%d", state, (int)getpid()) ||
        !fmt_path(task, sizeof task, "%s/task", work)) {
        snprintf(why, sizeof why, "the data dir path is too long");
    } else if (rm_rf(work), mkdir_p(work, 0700) < 0) {
        snprintf(why, sizeof why, "cannot make %s: %s", work, strerror(errno));
    } else if ((rc = unpack_source(task, b, src, len, is_zip, why, sizeof why)) == 0) {
        rc = -2;
        if (build_box_open(&box, state, SOURCE_BUILD_TIMEOUT_S, why, sizeof why) == 0) {
            box.runtime_dir = D->cfg.runtime_dir;
            box.no_network = true;
            build_ctx_t ctx = {.box = &box, .state_dir = state};
            job.name = fn_name;
            snprintf(job.task, sizeof job.task, "%s", task);
            snprintf(job.work, sizeof job.work, "%s", work);
            int built = b->build(&ctx, &job, handler);
            if (built == 0)
                rc = keep_output(b, task, key, why, sizeof why);
            else if (built == 1 || job.log) /* the compiler spoke, or the source lacks something */
                rc = -1;
            if (rc != 0 && job.why[0])
                snprintf(why, sizeof why, "%s%s", rc == -1 ? "the source does not build: " : "", job.why);
            build_box_close(&box);
        }
    }
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out, "%c%s", rc == 0 ? 'O' : rc == -1 ? 'R' : 'L', rc == 0 ? "" : why);
    if (rc != 0 && job.log) {
        size_t n = strlen(job.log), keep = n > WORD_MAX / 2 ? WORD_MAX / 2 : n;
        evbuffer_add_printf(out, "\n%s", job.log + (n - keep));
    }
    size_t n = evbuffer_get_length(out);
    const char *p = (const char *)evbuffer_pullup(out, -1);
    while (n > 0) {
        ssize_t w = write(3, p, n);
        if (w <= 0)
            break;
        p += w;
        n -= (size_t)w;
    }
    free(job.log);
    rm_rf(work);
    _exit(0);
}

static void build_free(sbuild_t *b)
{
    for (sbuild_t **p = &builds; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            break;
        }
    n_builds--;
    event_free(b->ev);
    event_free(b->timer);
    if (b->pidfd >= 0)
        close(b->pidfd);
    close(b->fd);
    evbuffer_free(b->word);
    free(b);
}

static void signal_build(sbuild_t *b, int sig)
{
    if (b->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, b->pidfd, sig, NULL, 0);
}

/* A build past its time: SIGTERM (the box stops its step and cleans up),
 * then SIGKILL. Its pipe's end reports it as a local failure. */
static void on_build_timeout(evutil_socket_t fd, short what, void *arg)
{
    sbuild_t *b = arg;
    log_warn("build %s: over %d s, stopping it", b->task_key, SOURCE_BUILD_TIMEOUT_S);
    signal_build(b, b->timeouts++ ? SIGKILL : SIGTERM);
    struct timeval again = {10, 0};
    evtimer_add(b->timer, &again);
}

static void on_word(evutil_socket_t fd, short what, void *arg)
{
    sbuild_t *b = arg;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
        if (evbuffer_get_length(b->word) < WORD_MAX)
            evbuffer_add(b->word, buf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    size_t len = evbuffer_get_length(b->word);
    char *word = len ? (char *)evbuffer_pullup(b->word, -1) : NULL;
    int rc = len && word[0] == 'O' ? 0 : len && word[0] == 'R' ? -1 : -2;
    char *message = NULL;
    if (rc != 0) {
        message = len > 1 ? strndup(word + 1, len - 1) : strdup("the build process ended without a word");
        log_info("build %s: %s", b->task_key, rc == -1 ? "the source does not build" : message);
    }
    n_finished[rc == 0 ? 0 : rc == -1 ? 1 : 2]++;
    source_built_fn done = b->done;
    void *done_arg = b->arg;
    char key[65];
    snprintf(key, sizeof key, "%s", b->task_key);
    build_free(b);
    done(done_arg, rc, key, message ? message : "");
    free(message);
}

int source_build_start(const char *fn_name, const char *runtime, const char *handler, const void *src, size_t len,
                       bool is_zip, source_built_fn done, void *arg, char task_key[65], char *err, size_t errlen)
{
    builder_t *how = builder_of(runtime);
    if (!how) {
        snprintf(err, errlen, "runtime '%s' has no build", runtime);
        return -1;
    }
    build_key(how, runtime, handler, src, len, is_zip, task_key);
    char built[PATH_MAX];
    if (fmt_path(built, sizeof built, "%s/tasks/%s", D->cfg.data_dir, task_key) && path_exists(built))
        return 1;
    if (n_builds >= SOURCE_BUILDS_MAX) {
        snprintf(err, errlen, "%d builds are running; try again when one has ended", n_builds);
        return -1;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* The daemon's signal handlers (libevent's) go before any signal can
         * be taken; its own session, so a terminal's ^C is the daemon's. */
        int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE};
        for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
            signal(sigs[i], SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setsid();
        prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
        if (dup2(p[1], 3) < 0)
            _exit(126);
        close_range(4, ~0u, 0); /* no client's connection, no listener, stays open in here */
        child_main(fn_name, how, handler, src, len, is_zip, task_key);
    }
    close(p[1]);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(p[0]);
        return -1;
    }
    sbuild_t *b = calloc(1, sizeof *b);
    b->pid = pid;
    b->fd = p[0];
    b->word = evbuffer_new();
    snprintf(b->task_key, sizeof b->task_key, "%s", task_key);
    snprintf(b->fn_name, sizeof b->fn_name, "%s", fn_name);
    b->done = done;
    b->arg = arg;
    evutil_make_socket_nonblocking(p[0]);
    b->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    b->ev = event_new(D->base, p[0], EV_READ | EV_PERSIST, on_word, b);
    event_add(b->ev, NULL);
    b->timer = evtimer_new(D->base, on_build_timeout, b);
    struct timeval limit = {SOURCE_BUILD_TIMEOUT_S + 30, 0};
    evtimer_add(b->timer, &limit);
    b->next = builds;
    builds = b;
    n_builds++;
    log_info("function %s: building its source (pid %d)", fn_name, (int)pid);
    return 0;
}

void source_build_forget(const char *fn_name)
{
    for (sbuild_t *b = builds; b; b = b->next)
        if (!strcmp(b->fn_name, fn_name))
            return; /* its dir is in use */
    char state[PATH_MAX];
    if (fmt_path(state, sizeof state, "%s/build/%s", D->cfg.data_dir, fn_name))
        rm_rf(state);
}

void source_builds_shutdown(void)
{
    while (builds) {
        sbuild_t *b = builds;
        source_built_fn done = b->done;
        void *arg = b->arg;
        char key[65];
        snprintf(key, sizeof key, "%s", b->task_key);
        signal_build(b, SIGTERM);
        build_free(b);
        done(arg, -2, key, "the daemon is shutting down");
    }
}

void source_build_counts(uint64_t *built, uint64_t *refused, uint64_t *failed, int *running)
{
    *built = n_finished[0];
    *refused = n_finished[1];
    *failed = n_finished[2];
    *running = n_builds;
}
