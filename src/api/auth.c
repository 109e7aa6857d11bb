/* Bearer tokens for the API (see auth.h). */
#include "api/auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <nettle/chacha-poly1305.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/lambda_shape.h"
#include "api/sigv4.h"
#include "http/http_util.h"
#include "store/tokens.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/util.h"

#define TOKEN_PREFIX "impuls_"
enum {
    KEY_LEN = 32,
    SECRET_BYTES = 24,
    TOKEN_LEN = sizeof TOKEN_PREFIX - 1 + TOKEN_ID_LEN + 1 + 2 * SECRET_BYTES,
    /* Failed authentications: at most FAIL_MAX per client address in
     * FAIL_WINDOW_S, then 429 until the window is over. */
    FAIL_SLOTS = 256,
    FAIL_MAX = 10,
    FAIL_WINDOW_S = 60,
};

static enum auth_mode mode;
static unsigned char key[KEY_LEN];
static store_t *tokens;

/* Refused credentials per client address (an IPv6 one by its /64), on the
 * monotonic clock (s); a slot is taken only by a failure. */
static struct {
    char addr[64];
    int count;
    double since;
} fails[FAIL_SLOTS];

bool auth_enabled(void) { return mode == AUTH_TOKENS; }

/* An AWS key's secret sealed for the store under a key derived from the
 * data dir's (ChaCha20-Poly1305, the key id as associated data): hex of
 * nonce, ciphertext and tag. The daemon must keep the secret to check a
 * signature, as AWS does; the store alone does not give it away. */
enum { SEAL_NONCE = CHACHA_POLY1305_NONCE_SIZE, SEAL_TAG = CHACHA_POLY1305_DIGEST_SIZE, AWS_SECRET_LEN = 40 };

static void seal_key(unsigned char out[32])
{
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, sizeof key, key);
    hmac_sha256_update(&ctx, 18, (const uint8_t *)"impuls aws secrets");
    hmac_sha256_digest(&ctx, 32, out);
}

static int seal(const char *key_id, const char *secret, char *out, size_t size)
{
    size_t n = strlen(secret);
    unsigned char k[32], buf[SEAL_NONCE + AWS_SECRET_LEN + SEAL_TAG];
    if (n != AWS_SECRET_LEN || size < 2 * sizeof buf + 1 || getrandom(buf, SEAL_NONCE, 0) != SEAL_NONCE)
        return -1;
    struct chacha_poly1305_ctx ctx;
    seal_key(k);
    chacha_poly1305_set_key(&ctx, k);
    chacha_poly1305_set_nonce(&ctx, buf);
    chacha_poly1305_update(&ctx, strlen(key_id), (const uint8_t *)key_id);
    chacha_poly1305_encrypt(&ctx, n, buf + SEAL_NONCE, (const uint8_t *)secret);
    chacha_poly1305_digest(&ctx, SEAL_TAG, buf + SEAL_NONCE + n);
    hex_encode(buf, sizeof buf, out);
    return 0;
}

static int unseal(const char *key_id, const char *sealed, char *out, size_t size)
{
    unsigned char k[32], buf[SEAL_NONCE + AWS_SECRET_LEN + SEAL_TAG], tag[SEAL_TAG];
    if (strlen(sealed) != 2 * sizeof buf || size < AWS_SECRET_LEN + 1)
        return -1;
    for (size_t i = 0; i < sizeof buf; i++) {
        unsigned v;
        if (sscanf(sealed + 2 * i, "%2x", &v) != 1)
            return -1;
        buf[i] = (unsigned char)v;
    }
    struct chacha_poly1305_ctx ctx;
    seal_key(k);
    chacha_poly1305_set_key(&ctx, k);
    chacha_poly1305_set_nonce(&ctx, buf);
    chacha_poly1305_update(&ctx, strlen(key_id), (const uint8_t *)key_id);
    chacha_poly1305_decrypt(&ctx, AWS_SECRET_LEN, (uint8_t *)out, buf + SEAL_NONCE);
    chacha_poly1305_digest(&ctx, SEAL_TAG, tag);
    out[AWS_SECRET_LEN] = '\0';
    if (!memeql_sec(tag, buf + SEAL_NONCE + AWS_SECRET_LEN, SEAL_TAG)) {
        memset(out, 0, AWS_SECRET_LEN);
        return -1;
    }
    return 0;
}

static void token_hash(const char *token, char out[65])
{
    struct hmac_sha256_ctx ctx;
    unsigned char mac[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, sizeof key, key);
    hmac_sha256_update(&ctx, strlen(token), (const uint8_t *)token);
    hmac_sha256_digest(&ctx, sizeof mac, mac);
    hex_encode(mac, sizeof mac, out);
}

/* The data dir's key: read, or made (written whole to a temp file, then
 * renamed into place) when there is none: 1 then, else 0, or -1. */
static int load_key(const char *data_dir, char *err, size_t errlen)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/auth.key", data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        struct stat st;
        bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 077) && st.st_uid == geteuid() &&
                  st.st_size == KEY_LEN && read(fd, key, sizeof key) == (ssize_t)sizeof key;
        close(fd);
        if (!ok) {
            snprintf(err, errlen, "%s must be a regular file of %d bytes, mode 0600, of this daemon's user", path,
                     KEY_LEN);
            return -1;
        }
        return 0;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    if (errno != ENOENT || getrandom(key, sizeof key, 0) != (ssize_t)sizeof key ||
        (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        snprintf(err, errlen, "cannot make %s: %s", path, strerror(errno));
        return -1;
    }
    bool ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 1;
}

/* A new token of scope (and functions, expiry) into the store; its text in
 * out (TOKEN_LEN + 1 bytes), its row in row. With aws_secret, an AWS access
 * key instead (row->aws_key_id, its secret in aws_secret: AWS_SECRET_LEN + 1
 * bytes), whose bearer token (out) nobody is shown. A store_* code. */
static int mint(const char *scope, const char *functions, int64_t expires_at, char *out, store_token_t *row,
                char *aws_secret)
{
    unsigned char id[TOKEN_ID_LEN / 2], secret[SECRET_BYTES];
    if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id || getrandom(secret, sizeof secret, 0) != (ssize_t)sizeof secret)
        return STORE_ERR;
    memset(row, 0, sizeof *row);
    hex_encode(id, sizeof id, row->id);
    char s[2 * SECRET_BYTES + 1];
    hex_encode(secret, sizeof secret, s);
    snprintf(out, TOKEN_LEN + 1, TOKEN_PREFIX "%s_%s", row->id, s);
    token_hash(out, row->hash);
    snprintf(row->scope, sizeof row->scope, "%s", scope);
    snprintf(row->functions, sizeof row->functions, "%s", functions);
    row->created_at = (int64_t)time(NULL);
    row->expires_at = expires_at;
    if (aws_secret) {
        /* AWS's shapes: "AKIA" and 16 of A-Z2-7; 40 of base64's alphabet. */
        unsigned char idb[16], sb[30];
        if (getrandom(idb, sizeof idb, 0) != (ssize_t)sizeof idb || getrandom(sb, sizeof sb, 0) != (ssize_t)sizeof sb)
            return STORE_ERR;
        memcpy(row->aws_key_id, "AKIA", 4);
        for (int i = 0; i < 16; i++)
            row->aws_key_id[4 + i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[idb[i] & 31];
        row->aws_key_id[20] = '\0';
        base64_encode(sb, sizeof sb, aws_secret);
        aws_secret[AWS_SECRET_LEN] = '\0';
        if (seal(row->aws_key_id, aws_secret, row->aws_secret, sizeof row->aws_secret) < 0)
            return STORE_ERR;
    }
    return store_token_add(tokens, row);
}

/* sigv4.c's lookup of a key not in --aws-credentials: an AWS key token's,
 * unexpired, its secret unsealed. */
static bool aws_key(const char *key_id, char *secret, size_t size, char scope[8])
{
    store_token_t t;
    if (strlen(key_id) != TOKEN_AWS_ID_LEN || store_token_get_aws(tokens, key_id, &t) != STORE_OK ||
        (t.expires_at && (int64_t)time(NULL) >= t.expires_at) || unseal(key_id, t.aws_secret, secret, size) < 0)
        return false;
    snprintf(scope, 8, "%s", t.scope);
    return true;
}

static int first_admin_token(const char *data_dir, bool new_key, char *err, size_t errlen)
{
    int n = store_token_count(tokens);
    if (n > 0 && new_key) {
        /* Its key is gone (removed to start again, or lost): no token of the
         * store can be checked any more. They go, and a new admin comes. */
        log_warn("--auth tokens: %s/auth.key is new: the %d tokens made under the one before are removed", data_dir,
                 n);
        n = store_tokens_clear(tokens) == STORE_OK ? 0 : -1;
    }
    if (n != 0) {
        if (n < 0)
            snprintf(err, errlen, "cannot read the tokens: %s", store_last_error(tokens));
        return n < 0 ? -1 : 0;
    }
    char token[TOKEN_LEN + 1], path[4200];
    store_token_t row;
    if (mint("admin", "", 0, token, &row, NULL) != STORE_OK) {
        snprintf(err, errlen, "cannot make the first admin token: %s", store_last_error(tokens));
        return -1;
    }
    snprintf(path, sizeof path, "%s/admin-token", data_dir);
    unlink(path); /* (one of a data dir whose tokens were removed: not ours to write through) */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    bool ok = fd >= 0 && dprintf(fd, "%s\n", token) == TOKEN_LEN + 1 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        store_token_delete(tokens, row.id);
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    log_warn("--auth tokens: the first admin token is %s (shown once; also in %s, mode 0600)", token, path);
    return 0;
}

int auth_init(enum auth_mode m, const char *data_dir, store_t *store, char *err, size_t errlen)
{
    mode = m;
    tokens = store;
    if (m == AUTH_NONE)
        return 0; /* (no key, no tokens: the routes say the API takes none) */
    int made = load_key(data_dir, err, errlen);
    if (made < 0 || first_admin_token(data_dir, made == 1, err, errlen) < 0)
        return -1;
    sigv4_set_lookup(aws_key); /* the Lambda API takes signatures by these keys, and needs one or a token */
    return 0;
}

int64_t auth_parse_lifetime(const char *s)
{
    char *end;
    errno = 0;
    long long v = s && *s >= '0' && *s <= '9' ? strtoll(s, &end, 10) : -1;
    if (v <= 0 || errno)
        return -1;
    long long unit = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600
                                                                   : !strcmp(end, "d") ? 86400 : 0;
    if (!unit || v > 100LL * 365 * 86400 / unit)
        return -1; /* (at most a hundred years) */
    return v * unit;
}

/* ---- checking a request ---- */

/* The client's address as failures are counted: IPv4 (a v4-mapped IPv6
 * one too), or an IPv6 one's /64 (a host has a whole /64 to pick from). */
static void peer_of(struct evhttp_request *req, char out[64])
{
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    const struct sockaddr *sa = c ? evhttp_connection_get_addr(c) : NULL;
    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
    } else if (sa && sa->sa_family == AF_INET6) {
        struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            inet_ntop(AF_INET, &a.s6_addr[12], out, 64);
        } else {
            memset(a.s6_addr + 8, 0, 8);
            inet_ntop(AF_INET6, &a, out, 60);
            strcat(out, "/64");
        }
    }
    if (!out[0])
        snprintf(out, 64, "unknown");
}

/* addr's slot of failures, its window started again when it is over. A
 * new one takes a free slot or else the one whose window started longest
 * ago, a locked one last. */
static int fail_slot(const char *addr, double now)
{
    int slot = -1, victim = 0;
    for (int i = 0; i < FAIL_SLOTS && slot < 0; i++) {
        if (fails[i].addr[0] && !strcmp(fails[i].addr, addr))
            slot = i;
        bool locked_i = fails[i].count >= FAIL_MAX && now - fails[i].since < FAIL_WINDOW_S;
        bool locked_v = fails[victim].count >= FAIL_MAX && now - fails[victim].since < FAIL_WINDOW_S;
        if (!fails[i].addr[0] || (locked_v && !locked_i) ||
            (locked_v == locked_i && fails[victim].addr[0] && fails[i].since < fails[victim].since))
            victim = i;
    }
    if (slot < 0) {
        slot = victim;
        snprintf(fails[slot].addr, sizeof fails[slot].addr, "%s", addr);
        fails[slot].count = 0;
        fails[slot].since = now;
    }
    if (now - fails[slot].since >= FAIL_WINDOW_S) {
        fails[slot].count = 0;
        fails[slot].since = now;
    }
    return slot;
}

/* The token of req's Authorization header, checked: 0 with its row, -1
 * with why, or -2 when the store cannot be read. */
static int verify(struct evhttp_request *req, store_token_t *t, const char **why)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h) {
        *why = "this API needs a token: Authorization: Bearer <token>";
        return -1;
    }
    const char *token = strncasecmp(h, "Bearer ", 7) ? NULL : h + 7;
    *why = "the token is not valid";
    if (!token || strlen(token) != TOKEN_LEN || strncmp(token, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1) ||
        token[sizeof TOKEN_PREFIX - 1 + TOKEN_ID_LEN] != '_')
        return -1;
    char id[TOKEN_ID_LEN + 1], hash[65];
    memcpy(id, token + sizeof TOKEN_PREFIX - 1, TOKEN_ID_LEN);
    id[TOKEN_ID_LEN] = '\0';
    for (const char *p = token + sizeof TOKEN_PREFIX - 1; *p; p++)
        if (!strchr("0123456789abcdef_", *p))
            return -1;
    int rc = store_token_get(tokens, id, t);
    token_hash(token, hash);
    if (rc == STORE_ERR) {
        *why = "the tokens cannot be read now";
        return -2;
    }
    if (rc != STORE_OK || !memeql_sec(hash, t->hash, 64))
        return -1;
    if (t->expires_at && (int64_t)time(NULL) >= t->expires_at) {
        *why = "the token has expired";
        return -1;
    }
    return 0;
}

static bool covers(int have, enum route_scope need)
{
    return need == SCOPE_ANY || have == SCOPE_ADMIN || have == (int)need ||
           (have == SCOPE_DEPLOY && need == SCOPE_READ);
}

/* auth_allow's work; url: a function URL of the router's (its query is the function's). */
static bool allow(struct evhttp_request *req, const route_t *r, const char *signed_scope, bool url)
{
    enum route_scope need = route_scope(r->id);
    if (need == SCOPE_OPEN || (mode == AUTH_NONE && !signed_scope))
        return true;
    char addr[64];
    peer_of(req, addr);
    double now = mono_ms() / 1000;
    store_token_t t = {0};
    const char *why;
    int rc = 0;
    if (signed_scope) /* a SigV4 signature checked: the key's scope, and no pattern */
        snprintf(t.scope, sizeof t.scope, "%s", signed_scope);
    else
        rc = verify(req, &t, &why);
    if (rc == -2) {
        http_error(req, 503, "ServiceUnavailable", "%s", why);
        return false;
    }
    if (rc < 0) {
        /* Only a credential counts (a request without one guesses nothing),
         * and a valid token is never refused for its address's failures:
         * one client behind a shared address cannot lock out the rest. */
        bool credential = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        int slot = credential ? fail_slot(addr, now) : -1;
        if (slot >= 0 && fails[slot].count >= FAIL_MAX) {
            char wait[16];
            snprintf(wait, sizeof wait, "%d", (int)(fails[slot].since + FAIL_WINDOW_S - now) + 1);
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", wait);
            http_error(req, 429, "TooManyRequestsException",
                       "too many failed authentications from %s; try again in %s s", addr, wait);
            return false;
        }
        if (slot >= 0 && ++fails[slot].count == FAIL_MAX)
            log_warn("auth: %d refused credentials from %s within %d s: its next ones are 429 until then", FAIL_MAX,
                     addr, FAIL_WINDOW_S);
        log_warn("auth: %s from %s refused (401): %s", evhttp_request_get_uri(req), addr, why);
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer realm=\"impuls\"");
        http_error(req, 401, "Unauthorized", "%s", why);
        return false;
    }
    int have = route_scope_parse(t.scope);
    if (!covers(have, need)) {
        char who[40];
        snprintf(who, sizeof who, signed_scope ? "this AWS key" : "token %s", t.id);
        http_error(req, 403, signed_scope ? "AccessDeniedException" : "Forbidden", "%s has scope %s; this route needs %s",
                   who, t.scope, route_scope_name(need));
        return false;
    }
    /* Unsandboxed code runs as the daemon's user and could read the tokens' key. */
    char q[16];
    const char *local = r->id == ROUTE_FN_INVOKE && !url ? api_query(req, "local", q, sizeof q) : NULL;
    if (local && !strcmp(local, "true") && have != SCOPE_ADMIN) {
        http_error(req, 403, "Forbidden", "?local=true runs the function unsandboxed: it needs an admin token");
        return false;
    }
    if (t.functions[0] && need != SCOPE_ANY) {
        char name[FN_NAME_MAX + 1] = "";
        if (!route_names_function(r->id))
            name[0] = '\0';
        else if (!route_is_lambda(r->id))
            snprintf(name, sizeof name, "%s", r->name);
        else if (!lambda_function_name(r->name, name))
            name[0] = '\0';
        if (!name[0] || fnmatch(t.functions, name, 0) != 0) {
            http_error(req, 403, "Forbidden", "token %s may only be used for functions matching '%s'", t.id,
                       t.functions);
            return false;
        }
    }
    return true;
}

bool auth_allow(struct evhttp_request *req, const route_t *r, const char *signed_scope)
{
    return allow(req, r, signed_scope, false);
}

bool auth_allow_url(struct evhttp_request *req, const char *name)
{
    if (mode == AUTH_NONE) {
        http_error(req, 401, "Unauthorized",
                   "function %s's URL needs a token, and this daemon takes none (it runs without --auth tokens)", name);
        return false;
    }
    route_t r = {.id = ROUTE_FN_INVOKE};
    snprintf(r.name, sizeof r.name, "%s", name);
    if (!allow(req, &r, NULL, true))
        return false;
    /* The token is the caller's to the platform, not the function's to read. */
    evhttp_remove_header(evhttp_request_get_input_headers(req), "Authorization");
    return true;
}

/* ---- the token routes ---- */

/* A pattern of function names: their characters and the shell's * ? [ ] ! */
static bool pattern_valid(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > TOKEN_PATTERN_MAX)
        return false;
    for (; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-*?[]!", *p))
            return false;
    return true;
}

/* The token routes answer only under --auth tokens. */
static bool taking_tokens(struct evhttp_request *req)
{
    if (mode == AUTH_TOKENS)
        return true;
    http_error(req, 409, "ResourceConflictException",
               "this daemon takes no tokens: it runs without --auth tokens (docs/api.md, \"Tokens\")");
    return false;
}

void api_tokens_create(struct evhttp_request *req)
{
    if (!taking_tokens(req))
        return;
    json_t *j = api_json_object_body(req);
    if (!j)
        return;
    const char *key_name;
    json_t *v;
    json_object_foreach(j, key_name, v)
    {
        if (strcmp(key_name, "scope") && strcmp(key_name, "functions") && strcmp(key_name, "expires_in") &&
            strcmp(key_name, "aws")) {
            http_error(req, 400, "InvalidParameterValueException", "unknown field '%.64s'", key_name);
            return json_decref(j);
        }
    }
    const char *scope = json_string_value(json_object_get(j, "scope"));
    json_t *fv = json_object_get(j, "functions"), *ev = json_object_get(j, "expires_in");
    const char *functions = fv && !json_is_null(fv) ? json_string_value(fv) : "";
    json_t *aws = json_object_get(j, "aws");
    int64_t life = 0;
    const char *bad = NULL;
    int sc = route_scope_parse(scope);
    if (sc < 0)
        bad = "scope must be one of admin, deploy, invoke, read";
    else if (!functions || (*functions && !pattern_valid(functions)))
        bad = "functions must be a pattern of function names (letters, digits, '_', '-', and * ? [ ] !), "
              "at most 128 characters";
    else if (*functions && sc != SCOPE_INVOKE && sc != SCOPE_READ)
        bad = "functions limits invoke and read tokens only";
    else if (aws && !json_is_boolean(aws))
        bad = "aws must be true or false";
    else if (json_is_true(aws) && *functions)
        bad = "an AWS key cannot be limited to functions";
    if (!bad && ev && !json_is_null(ev)) {
        char text[32];
        if (json_is_integer(ev))
            snprintf(text, sizeof text, "%lld", (long long)json_integer_value(ev));
        else
            snprintf(text, sizeof text, "%.31s", json_is_string(ev) ? json_string_value(ev) : "");
        life = auth_parse_lifetime(text);
        if (life < 0)
            bad = "expires_in must be a lifetime such as \"90s\", \"15m\", \"12h\" or \"30d\" (or seconds), "
                  "at most 100 years";
    }
    if (bad) {
        http_error(req, 400, "InvalidParameterValueException", "%s", bad);
        return json_decref(j);
    }
    char token[TOKEN_LEN + 1], secret[AWS_SECRET_LEN + 1];
    store_token_t row;
    bool aws_key = json_is_true(aws);
    int rc = mint(scope, functions, life ? (int64_t)time(NULL) + life : 0, token, &row, aws_key ? secret : NULL);
    json_decref(j);
    if (rc != STORE_OK)
        return http_error(req, 500, "StorageException", "cannot save the token: %s", store_last_error(tokens));
    log_info("auth: token %s made (scope %s%s%s)", row.id, row.scope, row.functions[0] ? ", functions " : "",
             row.functions);
    json_t *out = json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", row.id, "scope", row.scope, "functions", row.functions,
                            "created_at", (json_int_t)row.created_at, "expires_at", (json_int_t)row.expires_at);
    if (out && aws_key) { /* (its bearer token is nobody's) */
        json_object_set_new(out, "aws_access_key_id", json_string(row.aws_key_id));
        json_object_set_new(out, "aws_secret_access_key", json_string(secret));
    } else if (out) {
        json_object_set_new(out, "token", json_string(token));
    }
    memset(secret, 0, sizeof secret);
    http_json(req, 201, out);
}

void api_tokens_list(struct evhttp_request *req)
{
    if (!taking_tokens(req))
        return;
    json_t *list = store_tokens_json(tokens);
    if (!list)
        return http_error(req, 500, "StorageException", "cannot read the tokens: %s", store_last_error(tokens));
    http_json(req, 200, json_pack("{s:o}", "tokens", list));
}

void api_token_delete(struct evhttp_request *req, const char *id)
{
    if (!taking_tokens(req))
        return;
    int rc = store_token_delete(tokens, id);
    if (rc == STORE_NOT_FOUND)
        return http_error(req, 404, "ResourceNotFoundException", "no token %.64s", id);
    if (rc != STORE_OK)
        return http_error(req, 500, "StorageException", "cannot delete the token: %s", store_last_error(tokens));
    log_info("auth: token %s revoked", id);
    http_send(req, 204, NULL, 0);
}
