/* HTTPS for the router (--router-https), as SmolFaaS's Caddy served it:
 * TLS 1.2 and later through OpenSSL and libevent's bufferevent_openssl, a
 * certificate for each router host picked by SNI. Without --router-cert the
 * certificates are self-signed (an EC P-256 key, SAN = the host), made the
 * first time a host is seen and kept in <data-dir>/tls/<host>.pem, so a
 * client that pinned one keeps it across restarts. No crypto is written here:
 * OpenSSL makes the keys, the certificates and the handshakes. */
#include "router/router_tls.h"

#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "router/router.h"
#include "util/log.h"
#include "util/util.h"

enum { TLS_HOSTS_MAX = 64, CERT_DAYS = 825 };

static SSL_CTX *default_ctx; /* the first host's, or the given certificate's */
static struct {
    char host[254];
    SSL_CTX *ctx;
} per_host[TLS_HOSTS_MAX];
static int n_per_host;
static char tls_dir[4096];
static bool own_cert; /* --router-cert: one certificate for every host */

static void ssl_error(char *err, size_t errlen, const char *what)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    snprintf(err, errlen, "%s: %s", what, buf);
    ERR_clear_error();
}

static SSL_CTX *new_ctx(char *err, size_t errlen);

/* A self-signed certificate for host, with its key, written to path. */
static int make_cert(const char *host, const char *path, char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    char san[300];
    snprintf(san, sizeof san, "DNS:%s", host);
    uint64_t serial;
    int ok = key && x && RAND_bytes((unsigned char *)&serial, sizeof serial) == 1 && X509_set_version(x, 2) &&
             ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 86400) && X509_set_pubkey(x, key);
    X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)host, -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Impuls (self-signed)", -1, -1,
                                    0) &&
         X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    const struct {
        int nid;
        const char *value;
    } exts[] = {{NID_subject_alt_name, san},
                {NID_basic_constraints, "critical,CA:FALSE"},
                {NID_key_usage, "critical,digitalSignature"},
                {NID_ext_key_usage, "serverAuth"}};
    for (size_t i = 0; ok && i < sizeof exts / sizeof *exts; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
        ok = e && X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = NULL;
    if (ok) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
        ok = f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) && PEM_write_X509(f, x);
        ok = (f && fclose(f) == 0) && ok;
        ok = ok && rename(tmp, path) == 0;
        if (!ok)
            unlink(tmp);
    }
    if (!ok)
        ssl_error(err, errlen, "cannot make a certificate");
    X509_free(x);
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}

/* The context of host: its kept certificate, made first if there is none. */
static SSL_CTX *host_ctx(const char *host, char *err, size_t errlen)
{
    for (int i = 0; i < n_per_host; i++)
        if (!strcasecmp(per_host[i].host, host))
            return per_host[i].ctx;
    if (n_per_host == TLS_HOSTS_MAX) {
        snprintf(err, errlen, "at most %d hosts have certificates", TLS_HOSTS_MAX);
        return NULL;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.pem", tls_dir, host);
    if (!path_exists(path)) {
        if (make_cert(host, path, err, errlen) < 0)
            return NULL;
        log_info("router: a self-signed certificate for %s in %s", host, path);
    }
    SSL_CTX *ctx = new_ctx(err, errlen);
    if (!ctx)
        return NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ssl_error(err, errlen, path);
        SSL_CTX_free(ctx);
        return NULL;
    }
    snprintf(per_host[n_per_host].host, sizeof per_host[0].host, "%s", host);
    per_host[n_per_host++].ctx = ctx;
    return ctx;
}

/* SNI: a router host gets its own certificate; any other name the default
 * one (the router then answers 404 for the host, over TLS). */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (own_cert || !name || !router_serves_host(name))
        return SSL_TLSEXT_ERR_OK;
    char err[256];
    SSL_CTX *ctx = host_ctx(name, err, sizeof err);
    if (!ctx) {
        log_warn("router: no certificate for %s: %s", name, err);
        return SSL_TLSEXT_ERR_OK;
    }
    SSL_set_SSL_CTX(ssl, ctx);
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *new_ctx(char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        ssl_error(err, errlen, "cannot make a TLS context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
    return ctx;
}

int router_tls_init(const char *data_dir, const char *default_host, const char *cert_file, const char *key_file,
                    char *err, size_t errlen)
{
    if (!fmt_path(tls_dir, sizeof tls_dir, "%s/tls", data_dir) || mkdir_p(tls_dir, 0700) < 0) {
        snprintf(err, errlen, "cannot make %s: %s", tls_dir, strerror(errno));
        return -1;
    }
    if (!!cert_file != !!key_file) {
        snprintf(err, errlen, "--router-cert and --router-key go together");
        return -1;
    }
    if (cert_file) {
        own_cert = true;
        default_ctx = new_ctx(err, errlen);
        if (!default_ctx)
            return -1;
        if (SSL_CTX_use_certificate_chain_file(default_ctx, cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(default_ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(default_ctx) != 1) {
            ssl_error(err, errlen, "--router-cert/--router-key");
            SSL_CTX_free(default_ctx);
            default_ctx = NULL;
            return -1;
        }
        return 0;
    }
    default_ctx = host_ctx(default_host, err, errlen);
    return default_ctx ? 0 : -1;
}

struct bufferevent *router_tls_bev(struct event_base *base, void *arg)
{
    SSL *ssl = default_ctx ? SSL_new(default_ctx) : NULL;
    if (!ssl)
        return NULL;
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev) /* a client that closes without close_notify is no error */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void router_tls_free(void)
{
    for (int i = 0; i < n_per_host; i++)
        SSL_CTX_free(per_host[i].ctx);
    if (own_cert)
        SSL_CTX_free(default_ctx);
    n_per_host = 0;
    default_ctx = NULL;
}
