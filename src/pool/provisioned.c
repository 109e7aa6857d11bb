/* Provisioned concurrency (pool.h): a function with N provisioned keeps N
 * instances started and initialized. None of them is reaped for being idle
 * while the function has no more than N; one that dies is replaced a
 * second later (a second, so that code whose init fails is not restarted in
 * a tight loop: its status says FAILED meanwhile). */
#include <stdio.h>
#include <string.h>

#include "pool/internal.h"
#include "util/log.h"

enum { TOP_UP_DELAY_S = 1 };

static void on_top_up(evutil_socket_t fd, short what, void *arg) { pool_provision(arg); }

void pool_provision(fn_t *fn)
{
    if (fn->removed || D->draining)
        return;
    pool_t *pool = &fn->pools[fn_backend(fn)];
    while (pool->n_instances < fn->provisioned) {
        if (!instance_make_room()) {
            snprintf(fn->provision_error, sizeof fn->provision_error,
                     "the daemon runs its most instances at once (--max-instances %d)", D->cfg.max_instances);
            break;
        }
        if (!instance_spawn(pool)) {
            snprintf(fn->provision_error, sizeof fn->provision_error,
                     "cannot start an instance of the function (see the daemon's log)");
            break;
        }
    }
}

/* An instance of fn ended: a provisioned one is replaced, a little later. */
void provision_after_exit(fn_t *fn, bool failed_init)
{
    if (!fn->provisioned || fn->removed)
        return;
    if (failed_init)
        snprintf(fn->provision_error, sizeof fn->provision_error,
                 "an instance's init failed (see the function's log); tried again every %d s", TOP_UP_DELAY_S);
    if (!fn->provision_ev)
        fn->provision_ev = evtimer_new(D->base, on_top_up, fn);
    struct timeval tv = {.tv_sec = TOP_UP_DELAY_S};
    if (fn->provision_ev)
        evtimer_add(fn->provision_ev, &tv);
}

void pool_set_provisioned(fn_t *fn, int n)
{
    fn->provisioned = n;
    fn->provision_error[0] = '\0';
    pool_provision(fn);
}

int pool_provisioned(const fn_t *fn) { return fn->provisioned; }

int pool_provisioned_ready(const fn_t *fn)
{
    int n = 0;
    for (const instance_t *i = fn->pools[fn_backend(fn)].instances; i; i = i->pool_next)
        if (i->state == INST_IDLE || i->state == INST_BUSY)
            n++;
    return n;
}

const char *pool_provision_error(const fn_t *fn) { return fn->provision_error; }
