#pragma once
#include <stddef.h>

/* A malloc'd, NUL-terminated copy of at most max bytes of s, as valid UTF-8:
 * each invalid or cut-off sequence (and each NUL) becomes U+FFFD. Text from a
 * function (error messages, header values) may be any bytes; JSON needs UTF-8. */
char *utf8_sanitize(const char *s, size_t len, size_t max);
