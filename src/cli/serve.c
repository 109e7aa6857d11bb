/* `impuls serve`: the daemon. One libevent loop serves the API and the Runtime
 * API of every instance; SIGCHLD reaps sandboxes; SIGTERM drains. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <locale.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "rest/rest.h"
#include "server/server.h"
#include "events/async_invoke.h"
#include "api/auth.h"
#include "chambers/chamber.h"
#include "router/router.h"
#include "router/router_tls.h"
#include "events/scheduler.h"
#include "api/sigv4.h"
#include "api/source_build.h"
#include "cli/cli.h"
#include "net/egress.h"
#include "pool/pool.h"
#include "sandbox/microvm.h"
#include "util/log.h"
#include "util/offload.h"
#include "util/util.h"

daemon_t *D;

enum { DRAIN_MAX_S = 930, STOP_MAX_S = 5 };

static struct event *drain_timer;
static double drain_started;

static void load_fn(const fn_config_t *c, void *arg)
{
    (void)arg;
    registry_add(c);
}

static bool nothing_left(void) { return pool_instance_count() == 0 && shells_count() == 0 && zygotes_count() == 0; }

static void on_sigchld(evutil_socket_t s, short w, void *a)
{
    pool_reap();
    /* Draining with nothing in flight, the instances were killed at the last
     * tick: the daemon exits with the last one reaped, not at the next tick. */
    if (D->draining && D->n_inflight == 0 && nothing_left())
        event_base_loopexit(D->base, NULL);
}

static void drain_tick(evutil_socket_t s, short w, void *a)
{
    double waited = (mono_ms() - drain_started) / 1000.0;
    if (D->n_inflight > 0 && waited < DRAIN_MAX_S)
        return;
    pool_kill_all();
    pool_reap();
    if (nothing_left() || waited > DRAIN_MAX_S + STOP_MAX_S)
        event_base_loopexit(D->base, NULL);
}

static void on_sigterm(evutil_socket_t s, short w, void *a)
{
    if (D->draining)
        return;
    log_info("shutting down: draining %d in-flight invocation(s)", D->n_inflight);
    D->draining = true;
    drain_started = mono_ms();
    drain_timer = event_new(D->base, -1, EV_PERSIST, drain_tick, NULL);
    struct timeval tv = {0, 20000};
    event_add(drain_timer, &tv);
    drain_tick(-1, 0, NULL); /* with nothing in flight, the instances go now */
}

/* A folder of the tree beside the binary: build/impuls -> ../NAME;
 * installed: <prefix>/bin -> ../share/impuls/NAME. */
static int tree_dir(const char *name, char out[4096])
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return -1;
    exe[n] = '\0';
    char *dir = dirname(exe), real[PATH_MAX];
    const char *const WHERE[] = {"%s/../%s", "%s/../share/impuls/%s"};
    for (size_t i = 0; i < sizeof WHERE / sizeof *WHERE; i++) {
        snprintf(out, 4096, WHERE[i], dir, name);
        if (realpath(out, real)) {
            snprintf(out, 4096, "%s", real);
            return 0;
        }
    }
    out[0] = '\0';
    return -1;
}

/* A whole number from lo to hi, or false (the caller names the flag). */
static bool parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/* A number from 0 to hi for flag, or false after saying so. */
static bool parse_setting(const char *s, long hi, int *out, const char *flag)
{
    if (parse_int(s, 0, hi, out))
        return true;
    fprintf(stderr, "impuls: %s takes a number from 0 to %ld\n", flag, hi);
    return false;
}

static bool parse_count(const char *s, int *out, const char *flag)
{
    if (parse_int(s, 1, 1000000, out))
        return true;
    fprintf(stderr, "impuls: %s takes a whole number from 1 to 1000000\n", flag);
    return false;
}

/* Is HOST:PORT's host one only this machine reaches (127.0.0.0/8, ::1, localhost)? */
static bool addr_is_loopback(const char *addr)
{
    char host[256];
    snprintf(host, sizeof host, "%s", addr);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return !strcmp(host, "localhost");
}

static void usage(void)
{
    fprintf(stderr, "usage: impuls serve [--addr HOST:PORT] [--data-dir DIR] [--runtime-dir DIR]\n"
                    "                    [--cgroup v1|v2] [--queue-max N] [--max-connections N] [--max-instances N (1000)]\n"
                    "                    [--clock-offset SECONDS (tests only)]\n"
                    "                    [--no-local] [--init-timeout SECONDS] [--debug]\n"
                    "                    [--router-addr HOST:PORT] [--router-host NAME (fn.localhost)]\n"
                    "                    [--router-https HOST:PORT] [--router-http HOST:PORT]\n"
                    "                    [--router-cert FILE --router-key FILE]\n"
                    "                    [--chamber-ports LO-HI (6000-6999)] [--prewarm N (2)]\n"
                    "                    [--auth tokens|none] [--aws-credentials FILE] [--scale-delay MS (2)] [--saturated-wait MS (50)]\n"
                    "                    [--python-zygote N (1)]\n"
                    "                    [--egress on|off] [--egress-allow CIDR[:PORT],...] [--egress-subnet CIDR (10.201.0.0/16)]\n"
                    "                    [--egress-rate MBIT/S (100)] [--egress-conns N (256)] [--egress-resolv-conf FILE]\n"
                    "  --prewarm   sandboxes per language made ahead of demand (0: none)\n"
                    "  --python-zygote  a Python function with N instances that needs another gets a zygote (0: never)\n"
                    "  --max-instances  instances of all functions at once; at the limit the one idle longest\n"
                    "              makes room, and with every one busy a call waits for its function's or gets a 429\n"
                    "  --clock-offset S  tests only: the schedules' clock runs S seconds ahead, and\n"
                    "              POST /api/v1/test/clock moves it on\n"
                    "  --scale-delay  how long a call waits for a busy instance before a new one is started\n"
                    "  --saturated-wait  how long, while the machine's CPU is saturated (0: never longer)\n"
                    "  --aws-credentials  check the Lambda API's SigV4 signatures against the keys in FILE\n"
                    "  --auth tokens|none  tokens: every route but /healthz needs a bearer token (impuls token);\n"
                    "              needed (or none, said) when --addr is not a loopback address\n"
                    "  --no-local  refuse ?local=true (runs code unsandboxed, as the daemon's user)\n"
                    "  --isolation namespace|microvm|process  what a new function gets unless it names its own;\n"
                    "              process: every call unsandboxed, as ?local=true (development)\n"
                    "  --microvm-dir DIR  the microVM guest (default: build/microvm beside runtimes/)\n"
                    "  --egress off  no function gets network \"egress\" (on: where the host allows it)\n"
                    "  --egress-allow  destinations every function with network \"egress\" may reach beyond the policy\n"
                    "  --egress-rate, --egress-conns  per function with egress: its rate each way, its connections\n"
                    "  --egress-resolv-conf  the resolvers sandboxes use (default /etc/resolv.conf)\n"
                    "  --router-https  serve the router over TLS too (self-signed certificates per host, or --router-cert)\n"
                    "  --router-http   answer plain HTTP with a 308 redirect to --router-https\n"
                    "  env: IMPULS_ADDR (default 127.0.0.1:8080), IMPULS_DATA_DIR (default ./var)\n");
}

/* The microvm backend: usable when QEMU and the guest (vm_dir, else
 * build/microvm beside runtimes/) are here. Saved VMs live in the data dir;
 * the instances' Runtime API sockets in a dir of /run named after it
 * (h: its hash), emptied of a dead predecessor's, made by the first VM and
 * removed at a clean exit. */
static int setup_microvm(const char *vm_dir, const char *h)
{
    char path[4200], real[PATH_MAX];
    if (vm_dir)
        snprintf(path, sizeof path, "%s", vm_dir);
    else
        snprintf(path, sizeof path, "%s/../build/microvm", D->cfg.runtime_dir);
    snprintf(D->cfg.vm_dir, sizeof D->cfg.vm_dir, "%s", realpath(path, real) ? real : path);
    D->cfg.microvm_ok = microvm_available(D->cfg.vm_dir, D->cfg.microvm_why, sizeof D->cfg.microvm_why);
    snprintf(D->cfg.vm_state_dir, sizeof D->cfg.vm_state_dir, "%s/microvm", D->cfg.data_dir);
    snprintf(D->cfg.vm_run_dir, sizeof D->cfg.vm_run_dir, "/run/impuls-%.12s", h);
    mkdir(D->cfg.vm_state_dir, 0700);
    /* (The socket dir itself is made by the first VM: microvm_spawn.) */
    DIR *d = opendir(D->cfg.vm_run_dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", D->cfg.vm_run_dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    if (D->cfg.microvm_ok) {
        microvm_prune_snapshots(D->cfg.vm_dir, D->cfg.vm_state_dir);
        log_info("microvm isolation available (QEMU microvm, accelerator %s; guest in %s)", microvm_accelerator(),
                 D->cfg.vm_dir);
        return 0;
    }
    if (D->cfg.isolation == SANDBOX_MICROVM) {
        log_error("--isolation microvm: %s", D->cfg.microvm_why);
        return -1;
    }
    log_info("microvm isolation not available: %s", D->cfg.microvm_why);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    static daemon_t d;
    D = &d;
    metrics_mark_start();
    const char *addr = getenv("IMPULS_ADDR") ? getenv("IMPULS_ADDR") : "127.0.0.1:8080";
    const char *data = getenv("IMPULS_DATA_DIR") ? getenv("IMPULS_DATA_DIR") : "var";
    const char *rtdir = getenv("IMPULS_RUNTIME_DIR");
    const char *vm_dir = NULL;
    enum cg_version cgv = CG_NONE;
    int max_conns = 1024;
    const char *router_addr = getenv("IMPULS_ROUTER_ADDR");
    const char *router_host = "fn.localhost";
    const char *router_https = NULL, *router_http = NULL, *router_cert = NULL, *router_key = NULL;
    const char *auth = NULL; /* --auth: tokens, none, or unsaid */
    egress_opts_t egress = {0};
    bool egress_on = true;
    D->cfg.isolation = SANDBOX_NAMESPACE; /* (SANDBOX_PROCESS is 0) */
    D->cfg.queue_max = 100;
    D->cfg.max_instances = 1000; /* Lambda's default account concurrency */
    D->cfg.tmp_mb = 64;
    D->cfg.pids_max = 256;
    D->cfg.init_timeout_s = 10;
    D->cfg.scale_delay_ms = 2;
    D->cfg.saturated_wait_ms = 50;
    static struct option opts[] = {
        {"addr", required_argument, 0, 'a'},        {"data-dir", required_argument, 0, 'd'},
        {"runtime-dir", required_argument, 0, 'r'}, {"cgroup", required_argument, 0, 'c'},
        {"queue-max", required_argument, 0, 'q'},   {"debug", no_argument, 0, 'D'},
        {"max-connections", required_argument, 0, 'm'},
        {"max-instances", required_argument, 0, 'M'},
        {"clock-offset", required_argument, 0, 1006},
        {"saturated-wait", required_argument, 0, 1007},
        {"no-local", no_argument, 0, 'L'},
        {"init-timeout", required_argument, 0, 'I'},
        {"router-addr", required_argument, 0, 'R'},
        {"router-host", required_argument, 0, 'O'},
        {"chamber-ports", required_argument, 0, 'P'},
        {"prewarm", required_argument, 0, 'W'},
        {"aws-credentials", required_argument, 0, 'K'},
        {"scale-delay", required_argument, 0, 'S'},
        {"python-zygote", required_argument, 0, 'Z'},
        {"router-https", required_argument, 0, 's'},
        {"isolation", required_argument, 0, 'i'},
        {"microvm-dir", required_argument, 0, 'V'},
        {"router-http", required_argument, 0, 'H'},
        {"router-cert", required_argument, 0, 'C'},
        {"router-key", required_argument, 0, 'k'},
        {"auth", required_argument, 0, 'A'},
        {"egress", required_argument, 0, 1000},
        {"egress-allow", required_argument, 0, 1001},
        {"egress-subnet", required_argument, 0, 1002},
        {"egress-rate", required_argument, 0, 1003},
        {"egress-conns", required_argument, 0, 1004},
        {"egress-resolv-conf", required_argument, 0, 1005},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0},
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'a': addr = optarg; break;
        case 'd': data = optarg; break;
        case 'r': rtdir = optarg; break;
        case 'c':
            if (strcmp(optarg, "v1") && strcmp(optarg, "v2")) {
                fprintf(stderr, "impuls: --cgroup takes v1 or v2\n");
                return 2;
            }
            cgv = optarg[1] == '1' ? CG_V1 : CG_V2;
            break;
        case 'q':
            if (!parse_count(optarg, &D->cfg.queue_max, "--queue-max"))
                return 2;
            break;
        case 'D': log_set_level(LOG_DEBUG); break;
        case 'm':
            if (!parse_count(optarg, &max_conns, "--max-connections"))
                return 2;
            break;
        case 'M':
            if (!parse_count(optarg, &D->cfg.max_instances, "--max-instances"))
                return 2;
            break;
        case 'L': D->cfg.no_local = true; break;
        case 1006: {
            int s;
            if (!parse_int(optarg, -315360000, 315360000, &s)) {
                fprintf(stderr, "impuls: --clock-offset takes seconds from -315360000 to 315360000 (ten years)\n");
                return 2;
            }
            D->cfg.test_clock = true;
            D->cfg.clock_offset_ms = (int64_t)s * 1000;
            break;
        }
        case 'R': router_addr = optarg; break;
        case 's': router_https = optarg; break;
        case 'i':
            if (sandbox_backend_parse(optarg) < 0) {
                fprintf(stderr, "impuls: --isolation takes namespace, microvm or process\n");
                return 2;
            }
            D->cfg.isolation = (enum sandbox_backend)sandbox_backend_parse(optarg);
            break;
        case 'V': vm_dir = optarg; break;
        case 'A':
            if (strcmp(optarg, "tokens") && strcmp(optarg, "none")) {
                fprintf(stderr, "impuls: --auth takes tokens or none\n");
                return 2;
            }
            auth = optarg;
            break;
        case 1000:
            if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
                fprintf(stderr, "impuls: --egress takes on or off\n");
                return 2;
            }
            egress_on = !strcmp(optarg, "on");
            break;
        case 1001: egress.allow = optarg; break;
        case 1002: egress.subnet = optarg; break;
        case 1003: {
            int mbit;
            if (!parse_int(optarg, 1, 100000, &mbit)) {
                fprintf(stderr, "impuls: --egress-rate takes Mbit/s, from 1 to 100000\n");
                return 2;
            }
            egress.rate_bytes = (int64_t)mbit * 1000 * 1000 / 8;
            break;
        }
        case 1004:
            if (!parse_count(optarg, &egress.conns, "--egress-conns"))
                return 2;
            break;
        case 1005: egress.resolv_conf = optarg; break;
        case 'H': router_http = optarg; break;
        case 'C': router_cert = optarg; break;
        case 'k': router_key = optarg; break;
        case 'O':
            if (!router_host_valid(optarg)) {
                fprintf(stderr, "impuls: --router-host must be a DNS name\n");
                return 2;
            }
            router_host = optarg;
            break;
        case 'K': {
            char err[512];
            if (sigv4_load(optarg, err, sizeof err) < 0) {
                fprintf(stderr, "impuls: --aws-credentials: %s\n", err);
                return 2;
            }
            break;
        }
        case 'W': {
            int n;
            if (!parse_setting(optarg, 64, &n, "--prewarm"))
                return 2;
            shells_configure(n);
            break;
        }
        case 'Z': {
            int n;
            if (!parse_setting(optarg, 1000, &n, "--python-zygote"))
                return 2;
            zygotes_configure(n);
            break;
        }
        case 'P': {
            int lo, hi;
            char extra;
            if (sscanf(optarg, "%d-%d%c", &lo, &hi, &extra) != 2 || lo < 1 || hi > 65535 || lo > hi) {
                fprintf(stderr, "impuls: --chamber-ports takes LO-HI, e.g. 6000-6999\n");
                return 2;
            }
            chambers_configure(lo, hi);
            break;
        }
        case 'I':
            if (!parse_count(optarg, &D->cfg.init_timeout_s, "--init-timeout"))
                return 2;
            break;
        case 'S':
            if (!parse_int(optarg, 0, 1000, &D->cfg.scale_delay_ms)) {
                fprintf(stderr, "impuls: --scale-delay takes milliseconds from 0 to 1000\n");
                return 2;
            }
            break;
        case 1007:
            if (!parse_int(optarg, 0, 10000, &D->cfg.saturated_wait_ms)) {
                fprintf(stderr, "impuls: --saturated-wait takes milliseconds from 0 to 10000\n");
                return 2;
            }
            break;
        default: usage(); return o == 'h' ? 0 : 2;
        }
    }
    if (optind < argc) {
        usage();
        return 2;
    }
    /* An API anyone who reaches it may use runs code on this host's behalf:
     * beyond loopback only with the choice said (docs/api.md, "Tokens"). */
    if (!auth && !addr_is_loopback(addr)) {
        fprintf(stderr, "impuls: --addr %s is not a loopback address: start with --auth tokens (or --auth none "
                        "to let anyone who reaches it deploy and run code)\n", addr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setlocale(LC_CTYPE, "C.UTF-8"); /* libarchive decodes zip entry names with it */
    /* Each function keeps its log open and each instance holds a few fds. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    snprintf(D->cfg.addr, sizeof D->cfg.addr, "%s", addr);
    int r = mkdir_p(data, 0700);
    char real[PATH_MAX];
    if (r < 0 || !realpath(data, real)) {
        log_error("cannot use data dir %s: %s", data, strerror(r < 0 ? -r : errno));
        return 1;
    }
    snprintf(D->cfg.data_dir, sizeof D->cfg.data_dir, "%s", real);
    if (rtdir) {
        if (!realpath(rtdir, real)) {
            log_error("runtime dir %s: %s", rtdir, strerror(errno));
            return 1;
        }
        snprintf(D->cfg.runtime_dir, sizeof D->cfg.runtime_dir, "%s", real);
    } else if (tree_dir("runtimes", D->cfg.runtime_dir) < 0) {
        log_error("cannot find the runtimes/ directory beside the binary; pass --runtime-dir");
        return 1;
    }
    if (tree_dir("console", D->cfg.console_dir) < 0)
        log_info("no console/ directory beside the binary: /console/ answers 404");

    /* One daemon per data dir. */
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", D->cfg.data_dir);
    int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
        log_error("data dir %s is in use by another impuls daemon", D->cfg.data_dir);
        return 1;
    }
    snprintf(D->cfg.root_mnt, sizeof D->cfg.root_mnt, "%s/sandbox-root", D->cfg.data_dir);
    mkdir(D->cfg.root_mnt, 0755);

    /* Each daemon owns one cgroup subtree, named after its data dir, so a
     * restart finds and removes what a killed predecessor left. */
    char h[65], parent[64], err[512];
    sha256_hex(D->cfg.data_dir, strlen(D->cfg.data_dir), h);
    snprintf(parent, sizeof parent, "impuls/d-%.12s", h);
    D->cfg.uid_slot = (unsigned)strtoul((char[]){h[0], h[1], h[2], 0}, NULL, 16) % 4096;
    if (D->cfg.isolation == SANDBOX_PROCESS) {
        if (D->cfg.no_local) {
            log_error("--isolation process runs every call as ?local=true does: it cannot go with --no-local");
            return 1;
        }
        /* No cgroups, namespaces or seccomp: nothing to set up, no privilege needed. */
        log_warn("--isolation process: functions run WITHOUT a sandbox, as this daemon's user (%d), "
                 "with its view of the host; for development only", (int)getuid());
        shells_configure(0);
        zygotes_configure(0);
    } else if (sandbox_init(parent, cgv, err, sizeof err) < 0) {
        log_error("sandbox: %s", err);
        return 1;
    } else if (setup_microvm(vm_dir, h) < 0) {
        cgroup_shutdown();
        return 1;
    }
    /* From here on a failure also removes the daemon's cgroup subtree. */
    D->store = store_open(D->cfg.data_dir, err, sizeof err);
    if (!D->store) {
        log_error("store: %s", err);
        cgroup_shutdown();
        return 1;
    }
    store_gc_orphans(D->store);
    bool tokens = auth && !strcmp(auth, "tokens");
    if (auth_init(tokens ? AUTH_TOKENS : AUTH_NONE, D->cfg.data_dir, D->store, err, sizeof err) < 0) {
        log_error("--auth: %s", err);
        cgroup_shutdown();
        return 1;
    }
    if (!tokens && !addr_is_loopback(addr))
        log_warn("--auth none: the API on %s takes no token: anyone who reaches it may deploy and run code", addr);
    /* epoll changes are batched per loop turn: evhttp turns a connection's
     * read and write interest on and off around every answer, and most of
     * those pairs cancel out before the next epoll_wait (docs/performance.md,
     * "The warm path"). Every fd the loop watches is the daemon's own, never
     * dup()ed, which is what the batching needs. */
    struct event_config *ev_cfg = event_config_new();
    if (!ev_cfg || event_config_set_flag(ev_cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) < 0) {
        log_error("cannot configure the event loop");
        cgroup_shutdown();
        return 1;
    }
    D->base = event_base_new_with_config(ev_cfg);
    event_config_free(ev_cfg);
    if (!D->base) {
        log_error("cannot create the event loop");
        cgroup_shutdown();
        return 1;
    }
    if (offload_init(D->base, 2) < 0) {
        log_error("cannot start worker threads");
        cgroup_shutdown();
        return 1;
    }
    if (D->cfg.isolation == SANDBOX_PROCESS)
        egress_refuse("the daemon runs every call unsandboxed (--isolation process)");
    else if (!egress_on)
        egress_refuse("the daemon runs with --egress off");
    else if (egress_init(D->base, &egress, err, sizeof err) == -2) {
        log_error("egress: %s", err);
        cgroup_shutdown();
        return 2;
    }
    if (store_load_all(D->store, load_fn, NULL) != STORE_OK) {
        log_error("store: cannot load functions: %s", store_last_error(D->store));
        cgroup_shutdown();
        return 1;
    }
    api_provisioned_start();
    api_async_resume();
    scheduler_start();
    struct evhttp *api = api_start(addr, max_conns, err, sizeof err);
    if (!api) {
        log_error("api: %s", err);
        cgroup_shutdown();
        return 1;
    }
    router_load_hosts(router_host);
    struct evhttp *router = NULL;
    if (router_addr && *router_addr) {
        router = router_start(router_addr, max_conns, err, sizeof err);
        if (!router) {
            log_error("router: %s", err);
            evhttp_free(api);
            cgroup_shutdown();
            return 1;
        }
        log_info("router listening on http://%s for host %s", router_addr, router_host);
    }
    struct evhttp *router_tls = NULL, *router_redirect = NULL;
    if (router_https || router_http || router_cert || router_key) {
        const char *what = !router_https ? "--router-http, --router-cert and --router-key need --router-https" : NULL;
        if (!what && router_tls_init(D->cfg.data_dir, router_host, router_cert, router_key, err, sizeof err) == 0 &&
            (router_tls = router_start_https(router_https, max_conns, err, sizeof err)) && router_http)
            router_redirect = router_start_redirect(router_http, max_conns, err, sizeof err);
        if (what || !router_tls || (router_http && !router_redirect)) {
            log_error("router: %s", what ? what : err);
            if (router_tls)
                evhttp_free(router_tls);
            if (router)
                evhttp_free(router);
            evhttp_free(api);
            router_tls_free();
            cgroup_shutdown();
            return 1;
        }
        log_info("router listening on https://%s%s%s", router_https, router_http ? ", redirecting http://" : "",
                 router_http ? router_http : "");
    }
    struct event *sigchld = evsignal_new(D->base, SIGCHLD, on_sigchld, NULL);
    struct event *sigterm = evsignal_new(D->base, SIGTERM, on_sigterm, NULL);
    struct event *sigint = evsignal_new(D->base, SIGINT, on_sigterm, NULL);
    event_add(sigchld, NULL);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    log_info("impuls listening on http://%s (data %s, runtimes %s, sandbox %s, cgroup %s)", addr, D->cfg.data_dir,
             D->cfg.runtime_dir, D->cfg.isolation == SANDBOX_PROCESS ? "none (process)" : sandbox_backend_name(D->cfg.isolation),
             cgroup_version_name(cgroup_version()));

    event_base_dispatch(D->base);

    /* The loop has ended: lines written from here (the shutdown steps below
     * fail queued calls) go to the file at once. */
    fn_logs_shutdown();
    source_builds_shutdown();
    chambers_shutdown();
    shells_shutdown();
    egress_shutdown();
    api_drop_retries();
    scheduler_stop();
    api_logs_shutdown();
    evhttp_free(api);
    if (router)
        evhttp_free(router);
    if (router_redirect)
        evhttp_free(router_redirect);
    if (router_tls)
        evhttp_free(router_tls);
    router_tls_free();
    offload_shutdown();
    event_free(sigchld);
    event_free(sigterm);
    event_free(sigint);
    if (drain_timer)
        event_free(drain_timer);
    cgroup_shutdown();
    rmdir(D->cfg.vm_run_dir); /* empty: every instance's socket went with it */
    store_close(D->store);
    event_base_free(D->base);
    log_info("stopped");
    close(lock);
    return 0;
}
