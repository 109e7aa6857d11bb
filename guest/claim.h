#pragma once
/* A claim: what makes a generic guest (booted, or restored from a saved VM,
 * with no function yet) an instance of one function. The host sends it on
 * the channel's stream 0 (VMC_DATA frames, then VMC_CLOSE): the function's
 * environment as "NAME=value" strings each ended by a NUL, an empty one
 * after the last, then its code as a newc cpio archive (directories and
 * regular files only) to unpack at /var/task. */
#include <stddef.h>

enum { CLAIM_MAX = 64 << 20, CLAIM_ENV_MAX = 256 };

/* Reads the claim off chan (which must carry nothing else until it ends),
 * unpacks its code under dir and fills env (NULL-ended, at most
 * CLAIM_ENV_MAX, pointing into memory that stays). Returns 0, or -1 with
 * why set. */
int claim_receive(int chan, const char *dir, char **env, char *why, size_t whylen);
