#pragma once
/* What belongs to a function's source: every file, directory and symlink
 * below its dir except dot-files and dot-dirs, node_modules, .deps and the
 * state dir, in a fixed order (each directory's entries sorted by name,
 * depth first). Symlinks are kept as links, never followed; one that points
 * outside the dir is refused, as are devices, fifos and sockets. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The most entries a function may have: the daemon takes zips of at most
 * 10000 entries. */
#define SRC_MAX_ENTRIES 10000

typedef struct src_entry {
    char *rel;  /* relative path, '/'-separated */
    mode_t mode; /* from lstat */
    off_t size;
    char *link; /* a symlink's target, else NULL */
} src_entry_t;

typedef struct src_list {
    src_entry_t *v;
    size_t n, cap;
} src_list_t;

/* skip: a path (realpath) never to enter, e.g. the state dir, or NULL.
 * Returns 0, or -1 with err set (the list is then empty). */
int src_walk(const char *dir, const char *skip, src_list_t *out, char *err, size_t errlen);
void src_list_free(src_list_t *l);
/* Is a directory entry of this name left out of a function's source? */
bool src_excluded(const char *name);
/* Does a symlink at rel (inside the dir) with this target stay inside? */
bool src_link_inside(const char *rel, const char *target);
