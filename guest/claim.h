#pragma once
/* A claim: what makes a generic guest (booted, or restored from a saved VM,
 * with no function yet) an instance of one function. The host sends it on
 * the channel's stream 0 (VMC_DATA frames, then VMC_CLOSE):
 *   - the host's clock (CLOCK_REALTIME in decimal nanoseconds, or nothing),
 *     optionally a space and a seed for the kernel's random numbers (hex,
 *     at most 256 bytes), optionally a newline and the guest's network:
 *     "INNER GATEWAY" (eth0's address in a /31 and its default route; none:
 *     eth0 stays down), a newline, then the text of its /etc/resolv.conf;
 *     the whole ended by a NUL. A saved VM's own clock stopped when it was
 *     saved, and its random generator's state is the same in every VM
 *     restored from it;
 *   - the function's environment as "NAME=value" strings each ended by a
 *     NUL, an empty one after the last;
 *   - the runtime's command line the same way (none: the function's own
 *     /var/task/bootstrap);
 *   - its code as a newc cpio archive (directories, regular files and
 *     symbolic links only) to unpack at /var/task. */
#include <stddef.h>

#include "sandbox/vm_channel.h"

enum { CLAIM_MAX = VMC_CLAIM_MAX, CLAIM_ENV_MAX = 256, CLAIM_ARGV_MAX = 16, CLAIM_JSON_MAX = 64 << 10 };

/* Reads the claim off chan (which must carry nothing else until it ends),
 * sets the clock to the host's (*clock_ns, 0: none), reseeds the kernel's
 * random numbers with the host's seed, unpacks its code under
 * dir and fills env and argv (NULL-ended, at most
 * CLAIM_ENV_MAX and CLAIM_ARGV_MAX) and *net (the network part, "" when
 * none), all pointing into memory that stays.
 * Returns 0, or -1 with why set. */
int claim_receive(int chan, const char *dir, long long *clock_ns, char **env, char **argv, char **net, char *why,
                  size_t whylen);
