#include "util/offload.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct job {
    offload_fn work, done;
    void *arg;
    struct job *next;
} job_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static job_t *head, *tail;
static bool stopping;
static pthread_t workers[8];
static int n_workers;
static int done_pipe[2] = {-1, -1};
static struct event *done_ev;

static void *worker(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!head && !stopping)
            pthread_cond_wait(&ready, &lock);
        if (!head) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        job_t *j = head;
        head = j->next;
        if (!head)
            tail = NULL;
        pthread_mutex_unlock(&lock);
        j->work(j->arg);
        /* A pointer is written whole (PIPE_BUF): the loop picks it up. */
        while (write(done_pipe[1], &j, sizeof j) < 0 && errno == EINTR)
            ;
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    job_t *jobs[64];
    ssize_t n = read(fd, jobs, sizeof jobs);
    for (ssize_t i = 0; i < n / (ssize_t)sizeof jobs[0]; i++) {
        jobs[i]->done(jobs[i]->arg);
        free(jobs[i]);
    }
}

int offload_init(struct event_base *base, int threads)
{
    if (pipe2(done_pipe, O_CLOEXEC) < 0)
        return -1;
    fcntl(done_pipe[0], F_SETFL, O_NONBLOCK);
    done_ev = event_new(base, done_pipe[0], EV_READ | EV_PERSIST, on_done, NULL);
    event_add(done_ev, NULL);
    for (n_workers = 0; n_workers < threads && n_workers < 8; n_workers++)
        if (pthread_create(&workers[n_workers], NULL, worker, NULL) != 0)
            break;
    return n_workers > 0 ? 0 : -1;
}

int offload_run(offload_fn work, offload_fn done, void *arg)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->work = work;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&lock);
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    pthread_cond_signal(&ready);
    pthread_mutex_unlock(&lock);
    return 0;
}

void offload_shutdown(void)
{
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_broadcast(&ready);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n_workers; i++)
        pthread_join(workers[i], NULL);
    n_workers = 0;
    if (done_ev) {
        on_done(done_pipe[0], EV_READ, NULL); /* finish what completed */
        event_free(done_ev);
        done_ev = NULL;
    }
    close(done_pipe[0]);
    close(done_pipe[1]);
}
