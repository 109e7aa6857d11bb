#include "api/multipart.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* memmem for the delimiter "\r\n--boundary" (the first one may lack CRLF). */
static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
    return memmem(hay, n, needle, m);
}

/* Copies the value of param (e.g. boundary=, name=, filename=) in a header
 * value, quoted or not. */
static bool param(const char *hdr, size_t hlen, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen < hlen; i++) {
        if (strncasecmp(hdr + i, key, klen) || hdr[i + klen] != '=')
            continue;
        if (i > 0 && hdr[i - 1] != ' ' && hdr[i - 1] != ';' && hdr[i - 1] != '\t')
            continue;
        const char *v = hdr + i + klen + 1, *end = hdr + hlen;
        size_t o = 0;
        if (v < end && *v == '"') {
            for (v++; v < end && *v != '"'; v++) {
                if (*v == '\\' && v + 1 < end)
                    v++;
                if (o + 1 < outlen)
                    out[o++] = *v;
            }
        } else {
            for (; v < end && *v != ';' && *v != ' ' && *v != '\r'; v++)
                if (o + 1 < outlen)
                    out[o++] = *v;
        }
        out[o] = '\0';
        return true;
    }
    return false;
}

int multipart_find(const char *content_type, const char *body, size_t len, const char *name,
                   form_part_t *out, char *err, size_t errlen)
{
    char boundary[128], delim[140];
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) ||
        !param(content_type, strlen(content_type), "boundary", boundary, sizeof boundary) ||
        !boundary[0] || strlen(boundary) > 70) {
        snprintf(err, errlen, "the body must be multipart/form-data with a boundary");
        return -1;
    }
    int dlen = snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    /* The first delimiter may open the body without the CRLF. */
    const char *p = NULL;
    if (len >= (size_t)dlen - 2 && !memcmp(body, delim + 2, (size_t)dlen - 2))
        p = body + dlen - 2;
    else if ((p = find(body, len, delim, (size_t)dlen)))
        p += dlen;
    const char *end = body + len;
    while (p && p + 2 <= end) {
        if (p[0] == '-' && p[1] == '-')
            break; /* closing delimiter */
        if (p[0] != '\r' || p[1] != '\n')
            break;
        p += 2;
        const char *hend = find(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend)
            break;
        const char *data = hend + 4;
        const char *next = find(data, (size_t)(end - data), delim, (size_t)dlen);
        if (!next)
            break;
        /* The part's headers: only Content-Disposition matters here. */
        char pname[128] = "", fname[256] = "";
        for (const char *h = p; h < hend;) {
            const char *eol = find(h, (size_t)(hend - h), "\r\n", 2);
            size_t hl = eol ? (size_t)(eol - h) : (size_t)(hend - h);
            if (hl > 20 && !strncasecmp(h, "Content-Disposition:", 20)) {
                param(h + 20, hl - 20, "name", pname, sizeof pname);
                param(h + 20, hl - 20, "filename", fname, sizeof fname);
            }
            h += hl + 2;
        }
        if (!strcmp(pname, name)) {
            out->data = data;
            out->len = (size_t)(next - data);
            snprintf(out->filename, sizeof out->filename, "%s", fname);
            return 0;
        }
        p = next + dlen;
    }
    if (p && p + 2 <= end && p[0] == '-' && p[1] == '-')
        snprintf(err, errlen, "the form has no '%s' field", name);
    else
        snprintf(err, errlen, "the multipart body is malformed or truncated");
    return -1;
}
