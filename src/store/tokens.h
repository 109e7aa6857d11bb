#pragma once
/* API tokens' rows (the tokens table): what a token may do, never the token
 * itself, only a keyed hash of it (api/auth.c makes and checks them). */
#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

enum { TOKEN_ID_LEN = 12, TOKEN_PATTERN_MAX = 128, TOKEN_AWS_ID_LEN = 20, TOKEN_AWS_SECRET_MAX = 256 };

typedef struct store_token {
    char id[TOKEN_ID_LEN + 1]; /* public: names the token (impuls token rm ID) */
    char hash[65];             /* HMAC-SHA256 of the whole token under the data dir's key, hex */
    char scope[8];             /* "admin", "deploy", "invoke" or "read" */
    char functions[TOKEN_PATTERN_MAX + 1]; /* a shell pattern of function names, or "" for all */
    int64_t created_at, expires_at;        /* Unix seconds; expires_at 0: never */
    /* An AWS access key's (SigV4 on the Lambda API): its id, and its secret
     * sealed under the data dir's key (hex); "" for a bearer token. */
    char aws_key_id[TOKEN_AWS_ID_LEN + 1];
    char aws_secret[TOKEN_AWS_SECRET_MAX + 1];
} store_token_t;

int store_token_add(store_t *s, const store_token_t *t);
/* STORE_OK, STORE_NOT_FOUND or STORE_ERR. */
int store_token_get(store_t *s, const char *id, store_token_t *out);
/* The same, by its AWS access key id. */
int store_token_get_aws(store_t *s, const char *aws_key_id, store_token_t *out);
int store_token_delete(store_t *s, const char *id);
/* Removes them all. */
int store_tokens_clear(store_t *s);
/* How many there are (expired ones too), or -1. */
int store_token_count(store_t *s);
/* [{id, scope, functions, created_at, expires_at, aws_access_key_id?}],
 * oldest first; NULL on an error. */
json_t *store_tokens_json(store_t *s);
