#pragma once
/* Byte-for-byte forwarding between two connected sockets (a chamber's port
 * and its server inside the sandbox), with back-pressure: a side stops being
 * read while the other has more than SPLICE_BUF bytes waiting to be written. */
typedef struct splice splice_t;

enum { SPLICE_BUF = 256 * 1024 };

/* Starts forwarding; both fds are taken over. *head collects the live splices
 * of one owner so they can all be closed together. Returns 0 or -1. */
int tcp_splice_start(splice_t **head, int client_fd, int upstream_fd);
void tcp_splice_close_all(splice_t **head);
int tcp_splice_count(splice_t *head);
