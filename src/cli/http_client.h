#pragma once
/* A small blocking HTTP/1.1 client for the CLI: one request per connection. */
#include <stddef.h>

typedef struct http_response {
    int status;         /* 0 when no answer was received */
    char *body;         /* NUL-terminated, owned */
    size_t body_len;
    char request_id[64];
    long long log_offset; /* X-Impuls-Log-Offset (GET .../logs), or -1 */
} http_response_t;

/* addr is "HOST:PORT". Sends the API token (http_api_token), when there is
 * one. Returns 0, or -1 with err set when the daemon could not be reached,
 * its answer was not HTTP or the token cannot be used. */
int http_call(const char *addr, const char *method, const char *path, const char *content_type,
              const char *body, size_t body_len, http_response_t *out, char *err, size_t errlen);
void http_response_clear(http_response_t *r);
/* The API token the commands send: IMPULS_TOKEN, else the first line of
 * IMPULS_TOKEN_FILE (which only its owner may read), else none (""). -1
 * with err for one that cannot be used (main.c checks it before a command). */
int http_api_token(char out[128], char *err, size_t errlen);
