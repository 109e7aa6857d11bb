#pragma once
/* The framing of a microVM's channel (one virtio-serial port between the
 * daemon and the guest's init, guest/init.c): several TCP connections of
 * the guest (its runtime's, to 127.0.0.1:9001) carried over one byte
 * stream. Each frame is an 8-byte header and a payload:
 *
 *   byte 0     type: VMC_OPEN, VMC_DATA, VMC_CLOSE
 *   byte 1     0
 *   bytes 2-3  stream id (little-endian): the guest's connection
 *   bytes 4-7  payload length (little-endian), at most VMC_PAYLOAD_MAX;
 *              0 for OPEN and CLOSE
 *
 * OPEN (guest -> host): a new connection; DATA: its bytes, either way;
 * CLOSE: either side is done with it. Stream 0 is the guest's own: its OPEN
 * says a guest with no code waits for its claim, which the host sends as
 * DATA on stream 0 ended by a CLOSE (guest/claim.h); the guest then asks
 * for the host's clock (DATA on stream 0: VMC_CLOCK_ASK), which the host
 * answers at once (DATA on stream 0: CLOCK_REALTIME in decimal
 * nanoseconds), before any other frame. Before it passes on a call's
 * result (a POST of .../response or .../error), the guest says how much
 * memory the runtime has used at most: "memory_peak=<bytes>\n" in a DATA
 * frame on stream 0. When its runtime ends,
 * the guest reports how, in one DATA frame on stream 0:
 * "status=<wait status> oom_kills=<the kernel's count>\n". Anything else is malformed: the
 * reader stops and the other side is treated as broken. Shared by the
 * daemon and the guest (a static build), so plain C and no libraries. */
#include <stddef.h>
#include <stdint.h>

enum { VMC_OPEN = 'O', VMC_DATA = 'D', VMC_CLOSE = 'C' };
enum { VMC_HEADER = 8, VMC_PAYLOAD_MAX = 64 << 10 };
#define VMC_CLOCK_ASK "clock?\n"
/* A claim's bytes at most (the guest keeps it in memory to unpack it). */
enum { VMC_CLAIM_MAX = 64 << 20 };

typedef struct vmc_frame {
    uint8_t type;
    uint16_t stream;
    uint32_t len;
    const uint8_t *payload; /* inside the parsed buffer */
} vmc_frame_t;

/* One frame from buf[0..n): the bytes it takes (> 0), 0 when buf holds
 * only part of it, -1 when it is malformed. */
int vmc_parse(const uint8_t *buf, size_t n, vmc_frame_t *out);
/* The header of a frame into out. */
void vmc_header(uint8_t out[VMC_HEADER], uint8_t type, uint16_t stream, uint32_t len);

/* Blocking I/O on the channel (or a connection), EINTR retried: every byte
 * written, or exactly n read; 0, or -1 on an error or the end. */
int vmc_write_all(int fd, const void *data, size_t n);
int vmc_read_full(int fd, void *buf, size_t n);
/* The next frame's header from fd into out (its payload is left to read,
 * out->len bytes; out->payload is NULL): 0, -1 on an error or the end, -2
 * when it is malformed (out has its fields, for a message). */
int vmc_read_header(int fd, vmc_frame_t *out);
/* A whole frame (header and payload) to fd. */
int vmc_send(int fd, uint8_t type, uint16_t stream, const void *data, uint32_t len);

/* Each end's open streams, as connections: the guest's to its runtime, the
 * daemon's to the instance's Runtime API. */
enum { VMC_CONNS_MAX = 64 };
typedef struct vmc_conns {
    int n;
    struct {
        int fd;
        uint16_t stream;
    } conn[VMC_CONNS_MAX];
} vmc_conns_t;
/* The index of stream's connection, or -1. */
int vmc_conn_of(const vmc_conns_t *c, uint16_t stream);
/* Closes connection i; the last one takes its place. */
void vmc_conn_drop(vmc_conns_t *c, int i);
