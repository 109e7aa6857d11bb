/* The microVM channel's framing (see the header). */
#include "sandbox/vm_channel.h"

int vmc_parse(const uint8_t *buf, size_t n, vmc_frame_t *out)
{
    if (n < VMC_HEADER)
        return 0;
    uint8_t type = buf[0];
    uint32_t len = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 | (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 24;
    if ((type != VMC_OPEN && type != VMC_DATA && type != VMC_CLOSE) || buf[1] != 0 || len > VMC_PAYLOAD_MAX ||
        (type != VMC_DATA && len != 0))
        return -1;
    if (n - VMC_HEADER < len)
        return 0;
    out->type = type;
    out->stream = (uint16_t)(buf[2] | buf[3] << 8);
    out->len = len;
    out->payload = buf + VMC_HEADER;
    return (int)(VMC_HEADER + len);
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
