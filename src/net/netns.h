#pragma once
/* Sockets of another network namespace. A socket belongs to the namespace
 * it was made in for its whole life; the calling thread enters netns_fd
 * (setns affects that thread only), makes it, and goes straight back. */

/* socket(domain, type, proto) inside netns_fd; -1 with errno. Aborts if the
 * thread cannot return to its own namespace (it would serve from the
 * sandbox's). */
int net_socket_in(int netns_fd, int domain, int type, int proto);
