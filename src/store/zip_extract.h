#pragma once
/* Safe extraction of a function's zip into a fresh directory: no path outside
 * it, no symlink pointing out of it, only regular files, directories and
 * symlinks, and bounds on entry count, unpacked size and compression ratio
 * (zip bombs). Entry headers are checked first, then the data is written
 * while counting the bytes really produced (headers may lie). */
#include <stddef.h>

enum {
    ZIP_MAX_ENTRIES = 10000,
    ZIP_MAX_RATIO = 200,            /* unpacked : packed, above ZIP_RATIO_FLOOR */
    ZIP_RATIO_FLOOR = 10 << 20,     /* small archives may compress as they like */
};
#define ZIP_MAX_UNPACKED 262144000LL /* 250 MiB, Lambda's unzipped limit */

/* Returns 0; -1 when the zip is refused (err says why, for the caller); -2 on
 * a local failure (disk full, ...). dest must not exist; it exists only on 0. */
int zip_extract(const void *data, size_t len, const char *dest, char *err, size_t errlen);
