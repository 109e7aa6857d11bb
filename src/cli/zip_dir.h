#pragma once
/* Packs a directory of function code into a zip in memory (libarchive), for
 * `impuls deploy DIR`. */
#include <stdbool.h>
#include <stddef.h>

/* Returns the malloc'd zip, or NULL with err set. Files, directories and
 * symlinks; .git and other dot-directories at any depth are left out. */
char *zip_dir(const char *dir, size_t max, size_t *len, char *err, size_t errlen);
/* The same; with dotfiles nothing is left out (a build's output: .deps). */
char *zip_tree(const char *dir, bool dotfiles, size_t max, size_t *len, char *err, size_t errlen);
/* Has the directory Python code and no JavaScript? (the default runtime) */
bool zip_dir_is_python(const char *dir);
