#pragma once
/* Content hashes of `impuls up`: a function's source (what decides whether
 * it is built again), a subset of it (a Dockerfile COPY's sources), a file
 * (the artifact). All SHA-256, lower-case hex. */
#include <stddef.h>

#include "builder/srcwalk.h"

/* Over every entry of l in order: its path, type and permission bits, and
 * its content (a file's bytes, a symlink's target text). dir is where l was
 * walked. Returns 0, or -1 with err set. */
int src_hash(const char *dir, const src_list_t *l, char out[65], char *err, size_t errlen);
/* The same over the entries that are `prefix` or below it ("" or "." is
 * all). Returns the number of entries hashed, or -1 with err set. */
long src_hash_under(const char *dir, const src_list_t *l, const char *prefix, char out[65], char *err,
                    size_t errlen);
int sha256_file(const char *path, char out[65]);
