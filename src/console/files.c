/* The web console's files (console.h). Only names of one plain form, from
 * the one folder: no path reaches anything else. Every answer carries a
 * Content-Security-Policy that lets the page run its own scripts only, so a
 * function's name or log line can never become code, even if the console
 * had a bug that put it into the page as markup. */
#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console/console.h"
#include "http/http_util.h"
#include "pool/daemon.h"

enum { CONSOLE_FILE_MAX = 1 << 20 };

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* The Content-Type of a name of the form [a-z0-9][a-z0-9-]*.ext, or NULL
 * when the name has another form or extension. */
static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } TYPES[] = {{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
                 {".png", "image/png"}};
    size_t stem = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-");
    if (stem == 0 || name[0] == '-' || name[stem] != '.')
        return NULL;
    for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
        if (!strcmp(name + stem, TYPES[i].ext))
            return TYPES[i].type;
    return NULL;
}

/* The file's bytes into out; an errno, or EFBIG past CONSOLE_FILE_MAX. */
static int read_file(const char *path, struct evbuffer *out)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC); /* (a FIFO would block) */
    if (fd < 0)
        return errno;
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) < 0)
        err = errno;
    else if (!S_ISREG(st.st_mode))
        err = ENOENT;
    else if (st.st_size > CONSOLE_FILE_MAX)
        err = EFBIG;
    for (off_t got = 0, n; !err && got < st.st_size; got += n)
        if ((n = evbuffer_read(out, fd, (int)(st.st_size - got))) <= 0)
            err = n < 0 ? errno : EIO; /* (0: it shrank as we read) */
    close(fd);
    return err;
}

void console_file(struct evhttp_request *req, const char *file)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!file[0] && path && path[strlen(path) - 1] != '/') {
        /* /console: its pages name their files relative to /console/ */
        evhttp_add_header(h, "Location", "/console/");
        return http_send(req, 301, NULL, 0);
    }
    const char *name = file[0] ? file : "index.html";
    const char *type = content_type(name);
    if (!type)
        return http_error(req, 404, "NotFound", "no such console file");
    if (!D->cfg.console_dir[0])
        return http_error(req, 404, "NotFound", "this daemon has no console/ directory beside its binary");
    char full[sizeof D->cfg.console_dir + 300];
    snprintf(full, sizeof full, "%s/%s", D->cfg.console_dir, name);
    struct evbuffer *body = evbuffer_new();
    int err = body ? read_file(full, body) : ENOMEM;
    if (err) {
        if (body)
            evbuffer_free(body);
        if (err == ENOENT || err == ELOOP)
            return http_error(req, 404, "NotFound", "no such console file");
        return http_error(req, 500, "ServiceException", "cannot read the console's %s: %s", name, strerror(err));
    }
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "Content-Security-Policy", CSP);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    http_send(req, 200, (const char *)evbuffer_pullup(body, -1), evbuffer_get_length(body));
    evbuffer_free(body);
}
