#pragma once
/* Small helpers shared by every part: time, files, hashing, ids. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Release-on-scope-exit helpers (as crun does): one exit path per function. */
static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))

uint64_t now_ms(void);          /* wall clock, ms since the epoch */
double mono_ms(void);           /* monotonic clock, ms, fractional */
void iso8601(char out[32], uint64_t epoch_ms); /* 2026-11-25T12:00:00.000Z */

int mkdir_p(const char *path, unsigned mode);
int rm_rf(const char *path);
/* Writes data to path atomically (temp file + rename). Returns 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* Reads a whole file (at most max bytes) into a malloc'd NUL-terminated buffer. */
char *read_file(const char *path, size_t max, size_t *len_out);
bool path_exists(const char *path);

void sha256_hex(const void *data, size_t len, char out[65]);
/* Lower-case hex of n bytes into out (2n characters and a NUL). */
void hex_encode(const unsigned char *in, size_t n, char *out);
void uuid4(char out[37]);
/* TCP_NODELAY on a socket (a listener passes it to the sockets it accepts):
 * the daemon writes whole messages, and Nagle's wait for an ACK that the peer
 * delays costs up to 40 ms on a large one. */
void tcp_nodelay(int fd);

/* Formats into a fixed buffer; returns false when it did not fit. */
bool fmt_path(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
