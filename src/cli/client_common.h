#pragma once
/* What the client commands share (client.c, up.c, down.c, check.c): exit
 * codes, one request to the daemon with its failure put into words, and
 * creating-or-updating a function. */
#include <jansson.h>
#include <stddef.h>

#include "cli/http_client.h"

/* 0 done; 1 the daemon refused; 2 bad usage or input; 3 unreachable. */
enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* A string field of an answer, or `none` when it has none (an answer
 * without it prints as that, not a crash). */
const char *cli_str(json_t *j, const char *key, const char *none);
/* The daemon's address: IMPULS_ADDR, else 127.0.0.1:8080. */
const char *cli_default_addr(void);
/* An answer of 400 or more: prints "impuls: MESSAGE (TYPE, HTTP N)" and
 * returns EXIT_REFUSED; else EXIT_OK. */
int cli_report(const http_response_t *r);
/* The errorMessage of a refusal (or its body). */
void cli_error_message(const http_response_t *r, char *out, size_t size);
/* One request, JSON body when body is not NULL. Returns EXIT_OK,
 * EXIT_REFUSED (r holds the refusal) or EXIT_UNREACHABLE (why says so).
 * Prints nothing. */
int cli_request(const char *addr, const char *method, const char *path, const char *body, size_t len,
                http_response_t *r, char *why, size_t whylen);
/* The same, printing the failure as client commands do. */
int cli_call(const char *addr, const char *method, const char *path, const char *body, size_t len,
             http_response_t *r);
/* Creates function name with the fields of spec (name added here), or when
 * it exists (409) updates it with them. Same returns as cli_request; r is
 * the last answer (201 created, 200 updated). */
int cli_deploy(const char *addr, const char *name, json_t *spec, http_response_t *r, char *why, size_t whylen);
/* spec.zip = base64 of the zip. Returns 0 or -1 (out of memory). */
int cli_spec_set_zip(json_t *spec, const char *zip, size_t len);
