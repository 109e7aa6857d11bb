/* libFuzzer: whatever a guest writes to its microVM channel, as the reader
 * takes frames off it: never more than was given, a payload inside the
 * buffer and within the limit, and a frame rebuilt from what was parsed is
 * the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/vm_channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        vmc_frame_t f;
        int n = vmc_parse(data + off, size - off, &f);
        if (n <= 0)
            break;
        if ((size_t)n > size - off || f.len > VMC_PAYLOAD_MAX || (size_t)n != VMC_HEADER + f.len ||
            f.payload != data + off + VMC_HEADER)
            abort();
        uint8_t h[VMC_HEADER];
        vmc_header(h, f.type, f.stream, f.len);
        if (memcmp(h, data + off, VMC_HEADER) != 0)
            abort();
        off += (size_t)n;
    }
    return 0;
}
