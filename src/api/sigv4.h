#pragma once
/* AWS Signature Version 4 checks for the Lambda API (sigv4.c). */
#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>

/* Reads the keys of an AWS shared-credentials file and turns checking on.
 * A profile's keys are admin unless it says `scope = deploy|invoke|read`. */
int sigv4_load(const char *path, char *err, size_t errlen);
/* Where keys not in the file are found (api/auth.c: the keys of --auth
 * tokens): true with the key's secret and scope. Setting one turns checking on. */
typedef bool (*sigv4_lookup_fn)(const char *key_id, char *secret, size_t secret_size, char scope[8]);
void sigv4_set_lookup(sigv4_lookup_fn fn);
bool sigv4_enabled(void);
/* 0 when req is signed by a known key, with the key's scope; else -1 with
 * Lambda's error type (MissingAuthenticationTokenException,
 * UnrecognizedClientException, InvalidSignatureException,
 * IncompleteSignatureException) and message. */
int sigv4_check(struct evhttp_request *req, const char **type, char *msg, size_t msglen, char scope[8]);
