#pragma once
/* Structures shared by the pool's files (registry, instance, invocation,
 * runtime_api). Not for use outside src/pool and src/runtime_api. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <sys/queue.h>

#include "net/egress.h"
#include "pool/metrics.h"
#include "pool/pool.h"
#include "sandbox/sandbox.h"

enum inst_state {
    INST_STARTING, /* spawned; its runtime has not asked for work yet */
    INST_IDLE,     /* a /next request is parked, waiting for an invocation */
    INST_BUSY,     /* running an invocation, or returning from one */
    INST_DYING,    /* killed; waiting to be reaped */
};

TAILQ_HEAD(inv_queue, invocation);

enum { LOG_LINE_HOLD = 4096 }; /* a longer line is written as it comes */

typedef struct pool {
    fn_t *fn;
    enum sandbox_backend backend;
    struct inv_queue queue;
    int n_queued;
    int n_instances; /* not DYING */
    int n_starting;
    /* Its instances, every state (linked by pool_next): a call looks for an
     * idle one here, not among all the daemon's instances. */
    instance_t *instances;
    struct event *scale_ev; /* pool_pump again once the scale-up delay is over */
    struct zygote *zygote;  /* a Python function's zygote (zygotes.c), or NULL */
    int zygote_failures;    /* since one of its clones last worked */
    double zygote_retry_ms; /* no new zygote before (mono_ms) */
    double last_scale_ms;   /* when an instance was last added to busy ones */
} pool_t;

struct fn {
    fn_config_t cfg;
    char task_dir[4096];
    pool_t pools[SANDBOX_BACKENDS]; /* indexed by enum sandbox_backend */
    int log_fd;      /* append-only function log (fn_log.c) */
    off_t log_size;  /* its size, for rotation */
    char *log_buf;   /* lines held until this loop turn's flush, or NULL */
    size_t log_held;
    LIST_ENTRY(fn) log_pending; /* while log_buf is held */
    char log_name[160]; /* logs/<log_name>.log */
    bool removed;
    bool pinned;     /* see registry_add_pinned */
    int published;   /* a published version's own (registry_add_version): its number; 0 for $LATEST */
    /* Provisioned concurrency (provisioned.c): instances kept initialized,
     * the timer that replaces one that died, and why it falls short. */
    int provisioned;
    struct event *provision_ev;
    int provision_delay_s; /* the wait before the next top-up after failed inits (doubling) */
    char provision_error[160];
    fn_metrics_t metrics; /* its calls in figures (metrics.c) */
    fn_watch_t watch;
    int refs; /* instances and invocations still pointing here */
    /* Its egress rules' interface group (net/egress.h), made for the list
     * egress_allowed (a copy); 0: none yet. */
    uint32_t egress_group;
    json_t *egress_allowed;
    fn_t *next;
    fn_t *name_next; /* the next in its name's bucket (registry.c) */
};

struct instance {
    uint64_t id;
    pool_t *pool;
    int version; /* of the configuration it was started with */
    int memory_mb;
    enum inst_state state;
    sandbox_t sb;
    struct event *ctl_ev, *log_ev, *idle_ev;
    struct evhttp *rapi;
    struct conn_limit *rapi_conns;
    struct evhttp_request *parked_next;
    invocation_t *inv;
    double spawned_ms;
    double idle_since_ms; /* when it last parked for work (instance_make_room) */
    double init_ms; /* reported on its first invocation; < 0 once reported */
    bool first_served;
    json_t *init_error;
    bool init_timed_out;
    char task_key[65]; /* its code dir, removed after the last user is gone */
    size_t log_budget; /* bytes of output still written to the log this call */
    /* The start of a line it has not finished printing: the function's log
     * (one file for all its instances) gets whole lines, never a line of
     * one instance broken by another's. */
    char log_partial[LOG_LINE_HOLD];
    size_t log_partial_len;
    uint64_t created_at;
    int netns_fd; /* its network namespace, opened on first direct call; -1 */
    bool premade; /* a pre-made sandbox (shells.c) was claimed for it */
    bool from_zygote; /* cloned from its function's Python zygote (zygotes.c) */
    egress_lease_t egress; /* its link out, when its function has network "egress" */
    instance_t *next;      /* all the daemon's instances */
    instance_t *pool_next; /* its pool's (pool_t.instances) */
};

struct invocation {
    char id[37];
    pool_t *pool;
    struct evhttp_request *req;      /* a direct call's client (none for the rest) */
    struct evhttp_connection *conn;
    struct evbuffer *event;
    double enqueued_ms, started_ms;
    instance_t *inst;
    struct event *timer;
    struct evbuffer *log; /* this call's output, the last LOG_KEEP bytes */
    bool want_log_tail;
    bool queued;
    char *direct_path;     /* set: delivered straight to the server (direct.c) */
    struct direct *direct; /* while it is */
    int retries;           /* of a direct call whose server was gone */
    invoke_done_fn done;   /* who hears how it ended */
    void *done_arg;
    TAILQ_ENTRY(invocation) link;
};

enum { LOG_KEEP = 64 * 1024, LOG_MAX_PER_CALL = 1 << 20 };

/* metrics.c: a call of fn ended (o, after duration_ms); an instance served
 * a call (its first: init_ms >= 0) with this memory peak. */
void metrics_count_call(fn_t *fn, const invoke_outcome_t *o, double duration_ms);
void metrics_count_start(instance_t *inst, double init_ms, int64_t memory_peak);

/* registry.c: the pool a function's calls go to (but ?local=true's): its
 * isolation's, or on a daemon of --isolation process the process pool
 * (that daemon has no sandboxes to give). */
pool_t *fn_calls_pool(fn_t *fn);

/* provisioned.c: an instance of fn ended (during its init: failed_init);
 * one finished its init; does the pool keep its instances (provisioned, and
 * no more than that many)? */
void provision_after_exit(fn_t *fn, bool failed_init);
void provision_ready(fn_t *fn);
bool provision_keeps(const pool_t *pool);

/* registry.c */
/* Reserves inst's link out when its function has network "egress" (its
 * function's rules made first): 0, or -1 with err. Namespace backend only. */
int fn_egress_lease(instance_t *inst, char *err, size_t errlen);


/* The function's log file (fn_log.c): its path (suffix "" or ".1"), opened
 * at add, flushed and closed when the function is freed. */
void fn_log_path(const fn_t *fn, char out[4096], const char *suffix);
void fn_log_open(fn_t *fn);
void fn_log_close(fn_t *fn);

/* instance.c */
instance_t *instance_spawn(pool_t *pool);
/* Room for one more instance under --max-instances: true below the limit;
 * at it, the instance idle the longest (of any function but a chamber's, of
 * no pool that keeps its instances provisioned, and not of `filling`, the
 * pool the room is for) is stopped to make room; false when there is none. */
bool instance_make_room(const pool_t *filling);
void instance_kill(instance_t *inst);
/* Reads what the runtime printed so far into the log (and the invocation). */
void instance_drain_log(instance_t *inst);
/* What the function left of an unfinished line goes to the log as a line. */
void instance_end_log_line(instance_t *inst);
/* The runtime asked for work: deliver a queued call or park the request. */
void instance_next(instance_t *inst, struct evhttp_request *req);
/* The current invocation is done; the instance returns for more work. */
void instance_release_inv(instance_t *inst);

/* invocation.c */
void pool_pump(pool_t *pool);
void invocation_deliver(invocation_t *inv, instance_t *inst, struct evhttp_request *next_req);
void invocation_respond_result(invocation_t *inv, const char *body, size_t len);
void invocation_respond_error(invocation_t *inv, int status, const char *error_type,
                              const char *message, json_t *stack);
void invocation_respond_function_error(invocation_t *inv, const char *body, size_t len,
                                       const char *type_header);
/* START line; the call's duration counts from here. */
void invocation_log_start(invocation_t *inv);
/* A direct call found no server listening: that instance goes, the call
 * waits at the head of the queue for another (at most twice). */
void invocation_retry(invocation_t *inv);
void invocation_fail_queued(pool_t *pool, int status, const char *error_type, const char *message);

/* The uid an instance (or shell) with this id runs as, and a function's CPU weight. */
uid_t instance_uid(uint64_t id);
int instance_cpu_weight(const fn_config_t *c);

/* shells.c: pre-made sandboxes. shell_take makes a ready one of the
 * instance's language the instance's sandbox (claimed with env), or returns
 * false; either way a spare is made again soon. */
bool shell_take(instance_t *inst, char **env);
/* A pre-made sandbox is ready for the pool's next instance. */
bool shell_ready(const pool_t *pool);
struct runtime_def;
/* A sandbox whose runtime started before its function was known (a
 * pre-made one, or a zygote's) may serve the pool's function: a handler on
 * Node or Python, its env setting nothing an interpreter reads only at start. */
bool shell_eligible(const pool_t *pool, const struct runtime_def **rt);
/* The same on any backend: its interpreter may start before its function is
 * known (a microVM's saved with it waiting: sandbox_spec.vm_prestart). */
bool runtime_starts_early(const pool_t *pool, const struct runtime_def **rt);
/* A pre-made sandbox's spec for runtime rt, named after id; the strings
 * live in the struct. */
enum { SHELL_MEMORY_MB = 256 };
typedef struct shell_spec {
    sandbox_spec_t spec;
    char cgname[64], empty[4096], tasks[4096], bootstrap[4096], runtime_env[4200], task_env[4200];
    const char *argv[8];
    const char *envp[10];
} shell_spec_t;
void shell_spec_init(shell_spec_t *ss, const struct runtime_def *rt, uint64_t id);
/* The claim's environment: env (an instance's), as a JSON object; free(). */
char *shell_claim_env(char **env);
bool shells_reap(pid_t pid);
void shells_kill_all(void);

/* zygotes.c: Python zygotes, one per function. zygote_spawn makes inst's
 * sandbox by its pool's zygote and claims it with env: 0, or -2 when spawned
 * but failed (reaped as any dead instance), or -1 when none was made (no
 * zygote ready). */
typedef struct zygote zygote_t;
int zygote_spawn(instance_t *inst, char **env, char *err, size_t errlen);
/* A zygote-made instance asked for work (worked), or ended before it did
 * without an init error of the function's own. */
void zygote_clone_result(pool_t *pool, bool worked);
/* For pool_pump, before it starts an instance: starts the pool's zygote if
 * it should have one; true while the pool should wait for it (zygotes.c
 * pumps again once it is ready or gone). */
bool zygote_wait(pool_t *pool);
void zygote_stop(pool_t *pool);
bool zygotes_reap(pid_t pid);
void zygotes_kill_all(void);

/* Keeps req (the runtime's /next) parked on inst without changing its state. */
void instance_park(instance_t *inst, struct evhttp_request *req);

/* direct.c */
void direct_deliver(invocation_t *inv, instance_t *inst);
bool direct_streaming(const invocation_t *inv);
void direct_free(invocation_t *inv);
/* The server's answer ended (complete) or failed (why): END/REPORT, the
 * client's response finished or cut, the instance free again. */
void invocation_end_direct(invocation_t *inv, bool complete, const char *why);

/* runtime_api/runtime_api.c */
/* Serves the instance's Runtime API on its listening sockets (the Unix one
 * may be -1); takes them over. */
struct evhttp *runtime_api_start(instance_t *inst, int tcp_fd, int unix_fd);
