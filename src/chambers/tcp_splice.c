/* Each direction of a splice runs on its own: bytes read from one side are
 * written to the other; when one side ends its sending (EOF), what is still
 * buffered for the other is written and then the other's sending half is shut
 * too (a client's half-close reaches the server, whose answer still comes
 * back). The splice closes when both directions have ended, or at once on an
 * error of either side. */
#include "chambers/tcp_splice.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool/daemon.h"

struct splice {
    struct bufferevent *side[2]; /* client, upstream */
    bool eof[2];                 /* side i has sent all it will send */
    bool shut[2];                /* side i's sending half is shut: it got all */
    splice_t **head;
    splice_t *next;
};

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static int index_of(const splice_t *s, const struct bufferevent *bev) { return s->side[0] == bev ? 0 : 1; }

static void splice_free(splice_t *s)
{
    for (splice_t **p = s->head; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    for (int i = 0; i < 2; i++)
        bufferevent_free(s->side[i]);
    free(s);
}

/* Both directions done: the splice goes. Returns true when it went. */
static bool maybe_done(splice_t *s)
{
    if (s->shut[0] && s->shut[1]) {
        splice_free(s);
        return true;
    }
    return false;
}

/* Side j will get nothing more: shut its sending half once its buffer is
 * written (on_write calls back here when it drains). */
static bool finish_towards(splice_t *s, int j)
{
    if (s->shut[j] || evbuffer_get_length(bufferevent_get_output(s->side[j])) > 0)
        return false;
    shutdown(bufferevent_getfd(s->side[j]), SHUT_WR);
    s->shut[j] = true;
    return maybe_done(s);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    splice_t *s = arg;
    int i = index_of(s, bev);
    struct bufferevent *peer = s->side[1 - i];
    struct evbuffer *out = bufferevent_get_output(peer);
    evbuffer_add_buffer(out, bufferevent_get_input(bev));
    /* Back-pressure: stop reading this side while the peer is slow. */
    if (evbuffer_get_length(out) >= SPLICE_BUF) {
        bufferevent_disable(bev, EV_READ);
        bufferevent_setwatermark(peer, EV_WRITE, SPLICE_BUF / 2, 0);
    }
}

/* The peer's buffer drained (to the low watermark, or empty). */
static void on_write(struct bufferevent *bev, void *arg)
{
    splice_t *s = arg;
    int j = index_of(s, bev);
    if (!s->eof[1 - j]) {
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        bufferevent_enable(s->side[1 - j], EV_READ);
    } else {
        finish_towards(s, j);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    splice_t *s = arg;
    int i = index_of(s, bev);
    if (what & BEV_EVENT_ERROR) {
        splice_free(s); /* a reset or worse: nothing more can be delivered */
        return;
    }
    if (what & BEV_EVENT_EOF) {
        on_read(bev, s); /* what came with the end still goes across */
        s->eof[i] = true;
        bufferevent_disable(bev, EV_READ);
        finish_towards(s, 1 - i);
    }
}

int tcp_splice_start(splice_t **head, int client_fd, int upstream_fd)
{
    splice_t *s = calloc(1, sizeof *s);
    if (s) {
        s->side[0] = bufferevent_socket_new(D->base, client_fd, BEV_OPT_CLOSE_ON_FREE);
        s->side[1] = bufferevent_socket_new(D->base, upstream_fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!s || !s->side[0] || !s->side[1]) {
        if (s && s->side[0])
            bufferevent_free(s->side[0]);
        else
            close(client_fd);
        if (s && s->side[1])
            bufferevent_free(s->side[1]);
        else
            close(upstream_fd);
        free(s);
        return -1;
    }
    s->head = head;
    s->next = *head;
    *head = s;
    for (int i = 0; i < 2; i++) {
        bufferevent_setcb(s->side[i], on_read, on_write, on_event, s);
        bufferevent_enable(s->side[i], EV_READ | EV_WRITE);
    }
    return 0;
}

void tcp_splice_close_all(splice_t **head)
{
    while (*head)
        splice_free(*head);
}

int tcp_splice_count(splice_t *head)
{
    int n = 0;
    for (; head; head = head->next)
        n++;
    return n;
}
