#pragma once
/* Functions whose source needs a build before it runs (runtimes "go" and
 * "csharp", runtime_builds_source): the
 * daemon builds it itself, in a child process off the event loop, in the
 * build sandbox of `impuls up` (src/builder/box.c: namespaces, an
 * unprivileged uid, seccomp, a cgroup's memory and pids limits, a time limit,
 * and here no network), and keeps what it built under tasks/<key>/, a key of
 * the runtime, the handler and the source. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SOURCE_BUILDS_MAX = 2, SOURCE_BUILD_TIMEOUT_S = 300 };

/* Why a function of a built runtime cannot have mode "http". */
const char *source_no_http_mode(const char *runtime);

/* rc 0: built into tasks/<task_key>; -1: refused (message: why; a zip the
 * daemon does not take, or "the source does not build: " and the compiler's
 * words); -2: a local failure (message). */
typedef void (*source_built_fn)(void *arg, int rc, const char *task_key, const char *message);

bool source_needs_build(const char *runtime);
/* The source is a zip (is_zip) or one inline file. Returns 1 when it is built
 * already (task_key filled, done not called), 0 when the build started (done
 * is called on the loop when it ends), -1 when it cannot start (err). */
int source_build_start(const char *fn_name, const char *runtime, const char *handler, const void *src, size_t len,
                       bool is_zip, source_built_fn done, void *arg, char task_key[65], char *err, size_t errlen);
/* Removes a function's build dir (its compiler cache): once it is deleted,
 * or its create failed. Not while a build of it runs. */
void source_build_forget(const char *fn_name);
/* Stops the builds still running (shutdown); each one's callback gets -2. */
void source_builds_shutdown(void);
/* Builds since the start: built, refused (the source does not build),
 * failed (the build itself: time, space, a crash); and running now. */
void source_build_counts(uint64_t *built, uint64_t *refused, uint64_t *failed, int *running);
/* A zip, by its first bytes (a stored source blob is a zip or one file). */
bool source_is_zip(const void *data, size_t len);
