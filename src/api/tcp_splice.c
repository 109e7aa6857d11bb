#include "api/tcp_splice.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool/daemon.h"

struct splice {
    struct bufferevent *side[2]; /* client, upstream; NULL once closed */
    splice_t **head;
    splice_t *next;
};

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static int index_of(const splice_t *s, const struct bufferevent *bev) { return s->side[0] == bev ? 0 : 1; }

static void unlink_splice(splice_t *s)
{
    for (splice_t **p = s->head; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    free(s);
}

static void close_side(splice_t *s, int i)
{
    if (s->side[i]) {
        bufferevent_free(s->side[i]);
        s->side[i] = NULL;
    }
    if (!s->side[0] && !s->side[1])
        unlink_splice(s);
}

/* The other side is gone: this one closes once what it owes is written. */
static void on_flushed(struct bufferevent *bev, void *arg)
{
    splice_t *s = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        close_side(s, index_of(s, bev));
}

/* The peer drained below half: read from this side's partner again. */
static void on_drained(struct bufferevent *bev, void *arg)
{
    splice_t *s = arg;
    int i = index_of(s, bev);
    bufferevent_setcb(bev, on_read, NULL, on_event, s);
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    if (s->side[1 - i])
        bufferevent_enable(s->side[1 - i], EV_READ);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    splice_t *s = arg;
    int i = index_of(s, bev);
    struct bufferevent *peer = s->side[1 - i];
    struct evbuffer *in = bufferevent_get_input(bev);
    if (!peer) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    struct evbuffer *out = bufferevent_get_output(peer);
    evbuffer_add_buffer(out, in);
    if (evbuffer_get_length(out) >= SPLICE_BUF) {
        bufferevent_disable(bev, EV_READ);
        bufferevent_setwatermark(peer, EV_WRITE, SPLICE_BUF / 2, SPLICE_BUF);
        bufferevent_setcb(peer, on_read, on_drained, on_event, s);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    splice_t *s = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;
    int i = index_of(s, bev);
    struct bufferevent *peer = s->side[1 - i];
    if (peer) {
        on_read(bev, s); /* what arrived before the end still goes across */
        if (evbuffer_get_length(bufferevent_get_output(peer)) > 0) {
            bufferevent_setcb(peer, NULL, on_flushed, on_event, s);
            bufferevent_setwatermark(peer, EV_WRITE, 0, 0);
            bufferevent_disable(peer, EV_READ);
        } else {
            close_side(s, 1 - i);
            if (!s->side[i]) /* the splice went with it */
                return;
        }
    }
    close_side(s, i);
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
        bufferevent_setcb(s->side[i], on_read, NULL, on_event, s);
        bufferevent_enable(s->side[i], EV_READ | EV_WRITE);
    }
    return 0;
}

void tcp_splice_close_all(splice_t **head)
{
    while (*head) {
        splice_t *s = *head;
        close_side(s, 0);
        if (*head == s)
            close_side(s, 1);
    }
}

int tcp_splice_count(splice_t *head)
{
    int n = 0;
    for (; head; head = head->next)
        n++;
    return n;
}
