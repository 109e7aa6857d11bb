#pragma once
/* The daemon's process-wide state: one event loop, one store, one registry of
 * functions with their instance pools. Everything runs on the loop thread. */
#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "sandbox/sandbox.h"
#include "store/store.h"

typedef struct daemon_cfg {
    char addr[256];
    char data_dir[4096];
    char runtime_dir[4096]; /* host path of runtimes/ */
    char console_dir[4096]; /* the web console's files (beside the binary, as runtimes/ by default); "" if none */
    char root_mnt[4096];    /* empty dir each sandbox mounts its root on */
    int queue_max;          /* queued invocations per function before 429 */
    int max_instances;      /* live instances of all functions at once (--max-instances) */
    int tmp_mb;
    int pids_max;
    bool no_local;      /* refuse ?local=true invocations */
    /* --isolation process: every call runs as ?local=true does, with no
     * sandbox at all (a development daemon needing no privileges). Else
     * namespace or microvm: what a function created without an
     * "isolation" of its own gets. */
    enum sandbox_backend isolation;
    /* The microvm backend: is it usable here (else why not), the guest's
     * files, saved VMs, and the dir of the instances' Runtime API sockets
     * (short: a socket path has at most 107 bytes). */
    bool microvm_ok;
    char microvm_why[512];
    char vm_dir[4096];
    char vm_state_dir[4096];
    char vm_run_dir[64];
    int init_timeout_s; /* a runtime must ask for work within this */
    int scale_delay_ms; /* a queued call waits this long for a busy instance before one is started */
    int saturated_wait_ms; /* ... and this long while the machine's CPU is saturated (util/cpu_busy.h) */
    /* The test clock (--clock-offset, tests only): the schedules' clock runs
     * this far ahead of the wall clock, and POST /api/v1/test/clock moves it. */
    bool test_clock;
    int64_t clock_offset_ms;
    unsigned uid_slot;  /* picks this daemon's uid range (from the data dir) */
} daemon_cfg_t;

typedef struct daemon {
    struct event_base *base;
    store_t *store;
    daemon_cfg_t cfg;
    bool draining; /* SIGTERM: no new invocations */
    struct fn *functions;
    struct instance *instances; /* every live instance of every function */
    int n_instances;             /* of them, not DYING (bounded by cfg.max_instances) */
    int n_inflight;              /* invocations not yet answered */
    uint64_t next_instance_id;
} daemon_t;

extern daemon_t *D;
