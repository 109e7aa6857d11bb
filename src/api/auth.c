/* Bearer tokens for the API (see auth.h). */
#include "api/auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <nettle/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/lambda_shape.h"
#include "http/http_util.h"
#include "pool/daemon.h"
#include "store/tokens.h"
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

static struct {
    char addr[64];
    int count;
    time_t since;
} fails[FAIL_SLOTS];

bool auth_enabled(void) { return mode == AUTH_TOKENS; }

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void token_hash(const char *token, char out[65])
{
    struct hmac_sha256_ctx ctx;
    unsigned char mac[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, sizeof key, key);
    hmac_sha256_update(&ctx, strlen(token), (const uint8_t *)token);
    hmac_sha256_digest(&ctx, sizeof mac, mac);
    hex(mac, sizeof mac, out);
}

/* Equal, in a time that does not depend on where they differ. */
static bool same_secret(const char *a, const char *b, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static int load_key(const char *data_dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/auth.key", data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        struct stat st;
        ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 077) ? read(fd, key, sizeof key) : -1;
        close(fd);
        if (n != (ssize_t)sizeof key) {
            snprintf(err, errlen, "%s must be %d bytes, a regular file of mode 0600", path, KEY_LEN);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT || getrandom(key, sizeof key, 0) != (ssize_t)sizeof key ||
        (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        snprintf(err, errlen, "cannot make %s: %s", path, strerror(errno));
        return -1;
    }
    bool ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        unlink(path);
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}

/* A new token of scope (and functions, expiry) into the store; its text in
 * out (TOKEN_LEN + 1 bytes), its row in row. A store_* code. */
static int mint(const char *scope, const char *functions, int64_t expires_at, char *out, store_token_t *row)
{
    unsigned char id[TOKEN_ID_LEN / 2], secret[SECRET_BYTES];
    if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id || getrandom(secret, sizeof secret, 0) != (ssize_t)sizeof secret)
        return STORE_ERR;
    memset(row, 0, sizeof *row);
    hex(id, sizeof id, row->id);
    char s[2 * SECRET_BYTES + 1];
    hex(secret, sizeof secret, s);
    snprintf(out, TOKEN_LEN + 1, TOKEN_PREFIX "%s_%s", row->id, s);
    token_hash(out, row->hash);
    snprintf(row->scope, sizeof row->scope, "%s", scope);
    snprintf(row->functions, sizeof row->functions, "%s", functions);
    row->created_at = (int64_t)time(NULL);
    row->expires_at = expires_at;
    return store_token_add(tokens, row);
}

static int first_admin_token(const char *data_dir, char *err, size_t errlen)
{
    int n = store_token_count(tokens);
    if (n != 0) {
        if (n < 0)
            snprintf(err, errlen, "cannot read the tokens: %s", store_last_error(tokens));
        return n < 0 ? -1 : 0;
    }
    char token[TOKEN_LEN + 1], path[4200];
    store_token_t row;
    if (mint("admin", "", 0, token, &row) != STORE_OK) {
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
    if (load_key(data_dir, err, errlen) < 0)
        return -1;
    return m == AUTH_TOKENS ? first_admin_token(data_dir, err, errlen) : 0;
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

static void peer_of(struct evhttp_request *req, char out[64])
{
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    const struct sockaddr *sa = c ? evhttp_connection_get_addr(c) : NULL;
    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, 64);
    if (!out[0])
        snprintf(out, 64, "unknown");
}

/* The failures slot of addr (a new one when it has none: a free one or
 * the oldest), its window started again when it is over. */
static int fail_slot(const char *addr, time_t now)
{
    int slot = 0;
    for (int i = 0; i < FAIL_SLOTS; i++) {
        if (!strcmp(fails[i].addr, addr)) {
            slot = i;
            goto found;
        }
        if (fails[i].since < fails[slot].since)
            slot = i;
    }
    snprintf(fails[slot].addr, sizeof fails[slot].addr, "%s", addr);
    fails[slot].count = 0;
    fails[slot].since = now;
found:
    if (now - fails[slot].since >= FAIL_WINDOW_S) {
        fails[slot].count = 0;
        fails[slot].since = now;
    }
    return slot;
}

/* The token of req's Authorization header, checked: 0 with its row, or -1
 * with why. */
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
    if (rc != STORE_OK || !same_secret(hash, t->hash, 64)) {
        if (rc == STORE_ERR)
            *why = "the tokens cannot be read now";
        return -1;
    }
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

bool auth_allow(struct evhttp_request *req, const route_t *r, bool signed_by_aws)
{
    enum route_scope need = route_scope(r->id);
    if (mode == AUTH_NONE || need == SCOPE_OPEN || signed_by_aws)
        return true;
    char addr[64];
    peer_of(req, addr);
    time_t now = time(NULL);
    int slot = fail_slot(addr, now);
    if (fails[slot].count >= FAIL_MAX) {
        char wait[16];
        snprintf(wait, sizeof wait, "%ld", (long)(fails[slot].since + FAIL_WINDOW_S - now));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", wait);
        http_error(req, 429, "TooManyRequestsException",
                   "too many failed authentications from %s; try again in %s s", addr, wait);
        return false;
    }
    store_token_t t;
    const char *why;
    if (verify(req, &t, &why) < 0) {
        /* (Only a credential counts: a request without one guesses nothing.) */
        if (evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization") && fails[slot].count++ == 0)
            fails[slot].since = now;
        log_warn("auth: %s from %s refused (401): %s", evhttp_request_get_uri(req), addr, why);
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer realm=\"impuls\"");
        http_error(req, 401, "Unauthorized", "%s", why);
        return false;
    }
    int have = route_scope_parse(t.scope);
    if (!covers(have, need)) {
        http_error(req, 403, "Forbidden", "token %s has scope %s; this route needs %s", t.id, t.scope,
                   route_scope_name(need));
        return false;
    }
    if (t.functions[0]) {
        char name[FN_NAME_MAX + 1] = "";
        bool lambda = r->id >= ROUTE_L_LIST && r->id <= ROUTE_L_INVOKE;
        if (route_names_function(r->id)) {
            if (!lambda || !lambda_function_name(r->name, name))
                snprintf(name, sizeof name, "%s", r->name);
        }
        if (!name[0] || fnmatch(t.functions, name, 0) != 0) {
            http_error(req, 403, "Forbidden", "token %s may only be used for functions matching '%s'", t.id,
                       t.functions);
            return false;
        }
    }
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

void api_tokens_create(struct evhttp_request *req)
{
    size_t len;
    char *body = http_body(req, &len);
    json_error_t je;
    json_t *j = body ? json_loadb(body, len, 0, &je) : NULL;
    free(body);
    if (!json_is_object(j)) {
        json_decref(j);
        return http_error(req, 400, "InvalidRequestContentException",
                          "the body must be a JSON object: {\"scope\": \"admin|deploy|invoke|read\", "
                          "\"functions\"?: \"pattern\", \"expires_in\"?: \"30d\"}");
    }
    const char *key_name;
    json_t *v;
    json_object_foreach(j, key_name, v)
    {
        if (strcmp(key_name, "scope") && strcmp(key_name, "functions") && strcmp(key_name, "expires_in")) {
            http_error(req, 400, "InvalidParameterValueException", "unknown field '%.64s'", key_name);
            return json_decref(j);
        }
    }
    const char *scope = json_string_value(json_object_get(j, "scope"));
    json_t *fv = json_object_get(j, "functions"), *ev = json_object_get(j, "expires_in");
    const char *functions = fv && !json_is_null(fv) ? json_string_value(fv) : "";
    int64_t life = 0;
    const char *bad = NULL;
    if (route_scope_parse(scope) < 0)
        bad = "scope must be one of admin, deploy, invoke, read";
    else if (!functions || (*functions && !pattern_valid(functions)))
        bad = "functions must be a pattern of function names (letters, digits, '_', '-', and * ? [ ] !), "
              "at most 128 characters";
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
    char token[TOKEN_LEN + 1];
    store_token_t row;
    int rc = mint(scope, functions, life ? (int64_t)time(NULL) + life : 0, token, &row);
    json_decref(j);
    if (rc != STORE_OK)
        return http_error(req, 500, "StorageException", "cannot save the token: %s", store_last_error(tokens));
    log_info("auth: token %s made (scope %s%s%s)", row.id, row.scope, row.functions[0] ? ", functions " : "",
             row.functions);
    http_json(req, 201, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "id", row.id, "token", token, "scope", row.scope,
                                  "functions", row.functions, "created_at", (json_int_t)row.created_at,
                                  "expires_at", (json_int_t)row.expires_at));
}

void api_tokens_list(struct evhttp_request *req)
{
    json_t *list = store_tokens_json(tokens);
    if (!list)
        return http_error(req, 500, "StorageException", "cannot read the tokens: %s", store_last_error(tokens));
    http_json(req, 200, json_pack("{s:o}", "tokens", list));
}

void api_token_delete(struct evhttp_request *req, const char *id)
{
    int rc = store_token_delete(tokens, id);
    if (rc == STORE_NOT_FOUND)
        return http_error(req, 404, "ResourceNotFoundException", "no token %.64s", id);
    if (rc != STORE_OK)
        return http_error(req, 500, "StorageException", "cannot delete the token: %s", store_last_error(tokens));
    log_info("auth: token %s revoked", id);
    http_send(req, 204, NULL, 0);
}
