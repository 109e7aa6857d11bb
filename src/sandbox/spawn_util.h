#pragma once
/* Pieces both backends use between fork and exec. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"

/* Moves fd to exactly target (even if fd == target), clearing close-on-exec. */
int move_fd(int fd, int target);
/* A copy of envp with AWS_LAMBDA_RUNTIME_API=addr (and, with unix_socket,
 * SANDBOX_RAPI_UNIX_ENV) appended; free() the array (the added strings are
 * static: the daemon is single-threaded where it spawns). */
char **env_with_rapi(const char *const *envp, const char *addr, bool unix_socket);
void set_runtime_rlimits(int nproc);
struct iovec;
/* One message of iov with nfds (at most 4) fds passed along (SCM_RIGHTS);
 * the bytes sent, or -1 with errno. */
ssize_t send_with_fds(int sock, struct iovec *iov, int iovlen, const int *fds, int nfds);
/* One message into buf (recvmsg's flags, EINTR retried), and the fds that
 * came with it into fds (close-on-exec; those beyond max_fds, at most 4,
 * closed): its length, or -1 with errno. */
ssize_t recv_with_fds(int sock, void *buf, size_t len, int flags, int *fds, int max_fds, int *nfds);
int namespace_spawn(const struct sandbox_spec *spec, struct sandbox *sb, char *err, size_t errlen);
int process_spawn(const struct sandbox_spec *spec, struct sandbox *sb, char *err, size_t errlen);
