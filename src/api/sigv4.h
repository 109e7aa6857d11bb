#pragma once
/* AWS Signature Version 4 checks for the Lambda API (sigv4.c). */
#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>

/* Reads the keys of an AWS shared-credentials file and turns checking on. */
int sigv4_load(const char *path, char *err, size_t errlen);
bool sigv4_enabled(void);
/* 0 when req is signed by a known key; else -1 with Lambda's error type
 * (MissingAuthenticationTokenException, UnrecognizedClientException,
 * InvalidSignatureException, IncompleteSignatureException) and message. */
int sigv4_check(struct evhttp_request *req, const char **type, char *msg, size_t msglen);
