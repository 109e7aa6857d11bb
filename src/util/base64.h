#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Standard base64 with padding. encode writes 4*ceil(n/3)+1 bytes (NUL ended). */
size_t base64_encode(const unsigned char *in, size_t n, char *out);
/* Returns the decoded length, or -1 on bad input. out needs n/4*3+3 bytes. */
ssize_t base64_decode(const char *in, size_t n, unsigned char *out);
