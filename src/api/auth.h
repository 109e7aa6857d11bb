#pragma once
/* Who may call the API (--auth tokens): bearer tokens with a scope
 * (route.h's route_scope), optionally limited to functions whose names
 * match a pattern and to a lifetime. A token is "impuls_<id>_<secret>";
 * the store keeps its id and an HMAC-SHA256 of it under a key of the data
 * dir's (auth.key, 0600), never the token. Failed attempts are limited per
 * client address. docs/api.md, "Tokens". */
#include <event2/http.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/route.h"
#include "store/store.h"

enum auth_mode { AUTH_NONE, AUTH_TOKENS };

/* Loads (or makes) the data dir's key; under AUTH_TOKENS with no token in
 * the store, makes the first admin token, writes it to DATA_DIR/admin-token
 * (0600) and logs it once. 0, or -1 with err. */
int auth_init(enum auth_mode mode, const char *data_dir, store_t *store, char *err, size_t errlen);
bool auth_enabled(void);
/* Before a route's handler: true when req may go on; else it has been
 * answered (401 no or a bad token, 403 a scope that does not cover it,
 * 429 too many failures from its address). signed_scope: the scope of the
 * key a Lambda API request's SigV4 signature was checked with (a profile of
 * --aws-credentials, or an AWS key token), NULL when it was not signed. */
bool auth_allow(struct evhttp_request *req, const route_t *r, const char *signed_scope);

/* A router URL of a function whose auth is "token" (router.c): true when
 * req's token may invoke name (and then its Authorization header is taken
 * out of what the function sees), else false after answering 401 or 403
 * (401 on a daemon without --auth tokens, which can check no token). */
bool auth_allow_url(struct evhttp_request *req, const char *name);

/* "30d", "12h", "15m", "90s" (or plain seconds): seconds, or -1. */
int64_t auth_parse_lifetime(const char *s);

/* The token routes (admin): POST /api/v1/tokens {scope, functions?,
 * expires_in?, aws?} answers the token (or with aws, an AWS access key id
 * and secret), once; GET lists them (never a token);
 * DELETE /api/v1/tokens/{id} revokes one. */
void api_tokens_create(struct evhttp_request *req);
void api_tokens_list(struct evhttp_request *req);
void api_token_delete(struct evhttp_request *req, const char *id);
