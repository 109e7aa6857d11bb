#pragma once
/* HTTPS for the router: certificates (self-signed per router host, kept in
 * <data-dir>/tls/, or one given with --router-cert/--router-key) and the
 * TLS connections' bufferevents for its listener. */
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stddef.h>

/* Loads or makes the default host's certificate (or loads the given one).
 * Returns 0, or -1 with err set. */
int router_tls_init(const char *data_dir, const char *default_host, const char *cert_file, const char *key_file,
                    char *err, size_t errlen);
/* A TLS server bufferevent for a new connection (evhttp's bevcb shape). */
struct bufferevent *router_tls_bev(struct event_base *base, void *arg);
void router_tls_free(void);
