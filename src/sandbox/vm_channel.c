/* The microVM channel's framing (see the header). */
#include "sandbox/vm_channel.h"

#include <errno.h>
#include <unistd.h>

/* A header's fields into out (payload unset); -1 when it is malformed. */
static int decode_header(const uint8_t h[VMC_HEADER], vmc_frame_t *out)
{
    uint8_t type = h[0];
    uint32_t len = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
    out->type = type;
    out->stream = (uint16_t)(h[2] | h[3] << 8);
    out->len = len;
    out->payload = NULL;
    if ((type != VMC_OPEN && type != VMC_DATA && type != VMC_CLOSE) || h[1] != 0 || len > VMC_PAYLOAD_MAX ||
        (type != VMC_DATA && len != 0))
        return -1;
    return 0;
}

int vmc_parse(const uint8_t *buf, size_t n, vmc_frame_t *out)
{
    if (n < VMC_HEADER)
        return 0;
    vmc_frame_t f;
    if (decode_header(buf, &f) < 0)
        return -1;
    if (n - VMC_HEADER < f.len)
        return 0;
    *out = f;
    out->payload = buf + VMC_HEADER;
    return (int)(VMC_HEADER + f.len);
}

int vmc_read_header(int fd, vmc_frame_t *out)
{
    uint8_t h[VMC_HEADER];
    if (vmc_read_full(fd, h, sizeof h) < 0)
        return -1;
    return decode_header(h, out) < 0 ? -2 : 0;
}

void vmc_header(uint8_t out[VMC_HEADER], uint8_t type, uint16_t stream, uint32_t len)
{
    out[0] = type;
    out[1] = 0;
    out[2] = (uint8_t)stream;
    out[3] = (uint8_t)(stream >> 8);
    for (int i = 0; i < 4; i++)
        out[4 + i] = (uint8_t)(len >> (8 * i));
}

int vmc_write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int vmc_read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int vmc_send(int fd, uint8_t type, uint16_t stream, const void *data, uint32_t len)
{
    uint8_t h[VMC_HEADER];
    vmc_header(h, type, stream, len);
    return vmc_write_all(fd, h, sizeof h) < 0 || (len && vmc_write_all(fd, data, len) < 0) ? -1 : 0;
}

int vmc_conn_of(const vmc_conns_t *c, uint16_t stream)
{
    for (int i = 0; i < c->n; i++)
        if (c->conn[i].stream == stream)
            return i;
    return -1;
}

void vmc_conn_drop(vmc_conns_t *c, int i)
{
    close(c->conn[i].fd);
    c->conn[i] = c->conn[--c->n];
}
