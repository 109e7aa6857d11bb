/* AWS Signature Version 4 for the Lambda API: with --aws-credentials FILE the
 * daemon checks every /2015-03-31/ request's signature against the keys in
 * FILE (the shared-credentials format of ~/.aws/credentials) the way AWS
 * does, and refuses it with 403 otherwise. Without the option any signature,
 * or none, is accepted (local use). docs/lambda.md. */
#include "api/sigv4.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/route.h"
#include "util/util.h"

enum { KEYS_MAX = 64, KEY_MAX = 128, SKEW_S = 15 * 60 };

static struct {
    char id[KEY_MAX], secret[KEY_MAX], scope[8];
} keys[KEYS_MAX];
static int n_keys;
static bool enabled;
static sigv4_lookup_fn lookup;

bool sigv4_enabled(void) { return enabled || lookup; }

void sigv4_set_lookup(sigv4_lookup_fn fn) { lookup = fn; }

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int sigv4_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = read_file(path, 1 << 20, &len);
    if (!text) {
        snprintf(err, errlen, "cannot read %s", path);
        return -1;
    }
    /* [profile] sections of aws_access_key_id / aws_secret_access_key, and
     * optionally scope (admin unless it says: docs/api.md, "Tokens"). */
    char id[KEY_MAX] = "";
    n_keys = 0;
    int first = 0;                  /* the profile's first key */
    char profile_scope[8] = "admin"; /* and its scope */
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *l = trim(line);
        if (*l == '[') {
            id[0] = '\0';
            first = n_keys;
            snprintf(profile_scope, sizeof profile_scope, "admin");
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *k = trim(l), *v = trim(eq + 1);
        if (strlen(v) >= KEY_MAX)
            continue;
        if (!strcmp(k, "aws_access_key_id")) {
            snprintf(id, sizeof id, "%s", v);
        } else if (!strcmp(k, "aws_secret_access_key") && id[0] && n_keys < KEYS_MAX) {
            snprintf(keys[n_keys].id, KEY_MAX, "%s", id);
            snprintf(keys[n_keys].secret, KEY_MAX, "%s", v);
            snprintf(keys[n_keys].scope, sizeof keys[n_keys].scope, "%s", profile_scope);
            n_keys++;
            id[0] = '\0';
        } else if (!strcmp(k, "scope")) {
            if (route_scope_parse(v) < 0) {
                snprintf(err, errlen, "%s: scope must be one of admin, deploy, invoke, read, not '%.32s'", path, v);
                free(text);
                n_keys = 0;
                return -1;
            }
            snprintf(profile_scope, sizeof profile_scope, "%s", v);
            for (int i = first; i < n_keys; i++) /* (its key may come before or after it) */
                snprintf(keys[i].scope, sizeof keys[i].scope, "%s", v);
        }
    }
    free(text);
    if (n_keys == 0) {
        snprintf(err, errlen, "%s holds no aws_access_key_id with its aws_secret_access_key", path);
        return -1;
    }
    enabled = true;
    return 0;
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, klen, key);
    hmac_sha256_update(&ctx, strlen(msg), (const uint8_t *)msg);
    hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

/* RFC 3986 encoding of everything but unreserved characters (and '/' where
 * asked): AWS's UriEncode. */
static void uri_encode(const char *in, bool keep_slash, struct evbuffer *out)
{
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (isalnum(*p) || strchr("-_.~", *p) || (keep_slash && *p == '/'))
            evbuffer_add(out, p, 1);
        else
            evbuffer_add_printf(out, "%%%02X", *p);
    }
}

/* SigV4 sorts the query by name, then by value ("a-b=1" after "a=2"). */
static int cmp_pair(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t xn = strcspn(x, "="), yn = strcspn(y, "=");
    int c = strncmp(x, y, xn < yn ? xn : yn);
    if (c == 0 && xn != yn)
        return xn < yn ? -1 : 1;
    if (c == 0)
        c = strcmp(x[xn] ? x + xn + 1 : "", y[yn] ? y + yn + 1 : "");
    return c;
}

/* The query's pairs as the client sent them (already encoded), sorted. */
static void canonical_query(const char *q, struct evbuffer *out)
{
    if (!q || !*q)
        return;
    char *copy = strdup(q);
    char *pairs[256];
    int n = 0;
    for (char *s = strtok(copy, "&"); s && n < 256; s = strtok(NULL, "&"))
        pairs[n++] = s;
    qsort(pairs, (size_t)n, sizeof pairs[0], cmp_pair);
    for (int i = 0; i < n; i++)
        evbuffer_add_printf(out, "%s%s%s", i ? "&" : "", pairs[i], strchr(pairs[i], '=') ? "" : "=");
    free(copy);
}

/* Header value as signed: trimmed, inner runs of spaces made one. */
static void header_value(const char *v, struct evbuffer *out)
{
    bool space = false, started = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = started;
            continue;
        }
        if (space)
            evbuffer_add(out, " ", 1);
        space = false;
        started = true;
        evbuffer_add(out, v, 1);
    }
}

static bool field(const char *auth, const char *name, char *out, size_t size)
{
    const char *p = strstr(auth, name);
    if (!p)
        return false;
    p += strlen(name);
    size_t n = strcspn(p, ", ");
    if (n == 0 || n >= size)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* Seconds since the epoch of "20261125T150000Z", or -1. */
static long long amz_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (strlen(s) != 16 || sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                                  &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

int sigv4_check(struct evhttp_request *req, const char **type, char *msg, size_t msglen, char scope[8])
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *auth = evhttp_find_header(h, "Authorization");
    const char *date = evhttp_find_header(h, "X-Amz-Date");
    char cred[256], signed_headers[1024], signature[80];
    *type = "IncompleteSignatureException";
    if (!auth) {
        *type = "MissingAuthenticationTokenException";
        snprintf(msg, msglen, "Missing Authentication Token");
        return -1;
    }
    if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17) || !field(auth, "Credential=", cred, sizeof cred) ||
        !field(auth, "SignedHeaders=", signed_headers, sizeof signed_headers) ||
        !field(auth, "Signature=", signature, sizeof signature) || !date) {
        snprintf(msg, msglen, "Authorization header requires AWS4-HMAC-SHA256 with Credential, SignedHeaders and "
                              "Signature, and X-Amz-Date");
        return -1;
    }
    /* Credential=ID/DATE/REGION/SERVICE/aws4_request */
    char *parts[5];
    int n = 0;
    for (char *s = strtok(cred, "/"); s && n < 5; s = strtok(NULL, "/"))
        parts[n++] = s;
    if (n != 5 || strcmp(parts[4], "aws4_request") || strncmp(date, parts[1], 8)) {
        snprintf(msg, msglen, "Credential must be ID/DATE/REGION/SERVICE/aws4_request with the date of X-Amz-Date");
        return -1;
    }
    const char *secret = NULL;
    char looked_up[KEY_MAX];
    for (int i = 0; i < n_keys && !secret; i++)
        if (!strcmp(keys[i].id, parts[0])) {
            secret = keys[i].secret;
            snprintf(scope, 8, "%s", keys[i].scope);
        }
    if (!secret && lookup && lookup(parts[0], looked_up, sizeof looked_up, scope))
        secret = looked_up;
    if (!secret) {
        *type = "UnrecognizedClientException";
        snprintf(msg, msglen, "The security token included in the request is invalid.");
        return -1;
    }
    long long t = amz_time(date);
    long long now = (long long)time(NULL);
    *type = "InvalidSignatureException";
    if (t < 0 || t < now - SKEW_S || t > now + SKEW_S) {
        snprintf(msg, msglen, "Signature expired: %s is now earlier or later than 15 minutes from the server's time",
                 date);
        return -1;
    }
    /* The canonical request. */
    struct evbuffer *cr = evbuffer_new();
    const char *uri = evhttp_request_get_uri(req);
    const char *qmark = strchr(uri, '?');
    char path[4096];
    snprintf(path, sizeof path, "%.*s", (int)(qmark ? (size_t)(qmark - uri) : strlen(uri)), uri);
    static const char *methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    int mi = 0;
    while (mi < 8 && (1 << mi) != (int)m)
        mi++;
    evbuffer_add_printf(cr, "%s\n", methods[mi]);
    uri_encode(path[0] ? path : "/", true, cr); /* the sent (encoded) path, encoded again */
    evbuffer_add(cr, "\n", 1);
    canonical_query(qmark ? qmark + 1 : NULL, cr);
    evbuffer_add(cr, "\n", 1);
    char names[1024];
    snprintf(names, sizeof names, "%s", signed_headers);
    for (char *name = strtok(names, ";"); name; name = strtok(NULL, ";")) {
        const char *v = evhttp_find_header(h, name);
        evbuffer_add_printf(cr, "%s:", name);
        header_value(v ? v : "", cr);
        evbuffer_add(cr, "\n", 1);
    }
    evbuffer_add_printf(cr, "\n%s\n", signed_headers);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    char body_sha[65];
    size_t blen = evbuffer_get_length(body);
    sha256_hex(blen ? evbuffer_pullup(body, -1) : (unsigned char *)"", blen, body_sha);
    evbuffer_add(cr, body_sha, 64);
    char cr_sha[65];
    size_t crlen = evbuffer_get_length(cr);
    sha256_hex(evbuffer_pullup(cr, -1), crlen, cr_sha);
    evbuffer_free(cr);
    /* The string to sign and the signing key. */
    char sts[512];
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", date, parts[1], parts[2], parts[3],
             cr_sha);
    char k0[KEY_MAX + 8];
    snprintf(k0, sizeof k0, "AWS4%s", secret);
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    hmac(k0, strlen(k0), parts[1], k1);
    hmac(k1, 32, parts[2], k2);
    hmac(k2, 32, parts[3], k3);
    hmac(k3, 32, "aws4_request", k4);
    hmac(k4, 32, sts, sig);
    char want[65];
    hex_encode(sig, 32, want);
    if (strlen(signature) != 64 || !memeql_sec(want, signature, 64)) {
        snprintf(msg, msglen, "The request signature we calculated does not match the signature you provided. Check "
                              "your AWS Secret Access Key and signing method.");
        return -1;
    }
    return 0;
}
