#pragma once
/* The build tree (/var/task of a build) on the host side. What the steps
 * write there is untrusted (they run as BOX_UID), so impuls up, as root,
 * never follows a symlink in it: every path is walked below an fd of the
 * tree's root with O_NOFOLLOW. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "builder/srcwalk.h"

/* Makes dir an empty tree owned by BOX_UID (removing what was there). */
int tree_reset(const char *dir, char *err, size_t errlen);
/* Opens the tree's root for tree_put. Returns the fd or -1 with err set. */
int tree_open(const char *dir, char *err, size_t errlen);
/* Copies one source entry (from src_dir/e->rel) to dst_rel below root,
 * creating its parent dirs; what is created belongs to BOX_UID. A parent
 * that is a symlink or a file is an error; an existing file or link at
 * dst_rel is replaced. */
int tree_put(int root, const char *dst_rel, const char *src_dir, const src_entry_t *e, char *err, size_t errlen);
/* Creates the directory rel (and its parents) below root. */
int tree_mkdirs(int root, const char *rel, char *err, size_t errlen);
/* Copies a whole source list to the same paths below root. */
int tree_put_all(int root, const char *src_dir, const src_list_t *l, char *err, size_t errlen);
/* Saves the tree dir to a tar file (written atomically), and back. */
int tree_snapshot(const char *dir, const char *tar_path, char *err, size_t errlen);
int tree_restore(const char *tar_path, const char *dir, char *err, size_t errlen);
