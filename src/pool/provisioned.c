/* Provisioned concurrency (pool.h): a function with N provisioned keeps N
 * instances started and initialized (no more than its concurrency). None of
 * them is reaped for being idle while the function has no more than N, nor
 * stopped to make room under --max-instances; one that dies is replaced, a
 * second later, and after an init that failed the wait doubles up to a
 * minute (code whose init fails is not restarted in a tight loop: its
 * status says FAILED meanwhile). */
#include <stdio.h>
#include <string.h>

#include "pool/internal.h"
#include "util/log.h"

enum { TOP_UP_DELAY_S = 1, TOP_UP_DELAY_MAX_S = 60 };

static void on_top_up(evutil_socket_t fd, short what, void *arg) { pool_provision(arg); }

static int target(const fn_t *fn)
{
    return fn->provisioned < fn->cfg.concurrency ? fn->provisioned : fn->cfg.concurrency;
}

void pool_provision(fn_t *fn)
{
    if (fn->removed || D->draining)
        return;
    pool_t *pool = fn_calls_pool(fn);
    /* A bounded number of starts: an instance that fails at once is not
     * counted in n_instances, and must not make this loop for ever. */
    for (int want = target(fn) - pool->n_instances; want > 0; want--) {
        if (!instance_make_room(pool)) {
            snprintf(fn->provision_error, sizeof fn->provision_error,
                     "the daemon runs its most instances at once (--max-instances %d)", D->cfg.max_instances);
            return;
        }
        instance_t *i = instance_spawn(pool);
        if (!i || i->state == INST_DYING) {
            snprintf(fn->provision_error, sizeof fn->provision_error,
                     "cannot start an instance of the function (see the daemon's log)");
            return;
        }
    }
}

/* An instance of fn ended: a provisioned one is replaced, a little later. */
void provision_after_exit(fn_t *fn, bool failed_init)
{
    if (!fn->provisioned || fn->removed)
        return;
    if (failed_init) {
        snprintf(fn->provision_error, sizeof fn->provision_error,
                 "an instance's init failed (see the function's log)");
        fn->provision_delay_s = fn->provision_delay_s ? fn->provision_delay_s * 2 : TOP_UP_DELAY_S;
        if (fn->provision_delay_s > TOP_UP_DELAY_MAX_S)
            fn->provision_delay_s = TOP_UP_DELAY_MAX_S;
    }
    if (!fn->provision_ev)
        fn->provision_ev = evtimer_new(D->base, on_top_up, fn);
    struct timeval tv = {.tv_sec = failed_init ? fn->provision_delay_s : TOP_UP_DELAY_S};
    if (fn->provision_ev && !evtimer_pending(fn->provision_ev, NULL))
        evtimer_add(fn->provision_ev, &tv);
}

void provision_ready(fn_t *fn)
{
    fn->provision_error[0] = '\0';
    fn->provision_delay_s = 0;
}

bool provision_keeps(const pool_t *pool)
{
    return pool->fn->provisioned && pool == fn_calls_pool(pool->fn) && pool->n_instances <= target(pool->fn);
}

void pool_set_provisioned(fn_t *fn, int n)
{
    fn->provisioned = n;
    fn->provision_error[0] = '\0';
    fn->provision_delay_s = 0;
    pool_provision(fn);
}

int pool_provisioned(const fn_t *fn) { return fn->provisioned; }

int pool_provisioned_ready(const fn_t *fn)
{
    int n = 0;
    for (const instance_t *i = fn_calls_pool((fn_t *)fn)->instances; i; i = i->pool_next)
        if (i->state == INST_IDLE || i->state == INST_BUSY)
            n++;
    return n;
}

const char *pool_provision_error(const fn_t *fn) { return fn->provision_error; }
