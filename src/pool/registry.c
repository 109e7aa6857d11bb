/* The registry: the functions the daemon knows, each with two pools (the
 * sandboxed one and the local development one) and an append-only log. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/internal.h"
#include "util/log.h"
#include "util/util.h"

/* Every function (its $LATEST, its versions, chambers' pinned copies) in a
 * bucket of its name: a call finds its function without walking all of
 * them (with 100 functions the walk was 2 % of the daemon's CPU). */
enum { NAME_BUCKETS = 4096 };
static fn_t *by_name[NAME_BUCKETS];

static fn_t **bucket(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 16777619u;
    return &by_name[h % NAME_BUCKETS];
}

fn_t *registry_find(const char *name)
{
    for (fn_t *f = *bucket(name); f; f = f->name_next)
        if (!f->removed && !f->pinned && !f->published && !strcmp(f->cfg.name, name))
            return f;
    return NULL;
}

fn_t *registry_find_version(const char *name, int version)
{
    for (fn_t *f = *bucket(name); f; f = f->name_next)
        if (!f->removed && f->published == version && version > 0 && !strcmp(f->cfg.name, name))
            return f;
    return NULL;
}

int fn_published(const fn_t *fn) { return fn->published; }

const fn_config_t *fn_cfg(const fn_t *fn) { return &fn->cfg; }

static void unbucket(fn_t *fn)
{
    for (fn_t **p = bucket(fn->cfg.name); *p; p = &(*p)->name_next)
        if (*p == fn) {
            *p = fn->name_next;
            return;
        }
}

static void rebucket(fn_t *fn)
{
    fn_t **b = bucket(fn->cfg.name);
    fn->name_next = *b;
    *b = fn;
}

static fn_t *add(const fn_config_t *cfg, const char *log_name)
{
    fn_t *fn = calloc(1, sizeof *fn);
    fn_config_copy(&fn->cfg, cfg);
    snprintf(fn->log_name, sizeof fn->log_name, "%s", log_name);
    store_task_dir(D->store, cfg->task_key, fn->task_dir);
    for (int b = 0; b < SANDBOX_BACKENDS; b++) {
        fn->pools[b].fn = fn;
        fn->pools[b].backend = (enum sandbox_backend)b;
        TAILQ_INIT(&fn->pools[b].queue);
    }
    fn_log_open(fn);
    fn->refs = 1; /* the registry's own */
    fn->next = D->functions;
    D->functions = fn;
    rebucket(fn);
    return fn;
}

fn_t *registry_add(const fn_config_t *cfg) { return add(cfg, cfg->name); }

fn_t *registry_add_pinned(const fn_config_t *cfg, const char *log_name, const fn_watch_t *watch)
{
    fn_t *fn = add(cfg, log_name);
    fn->pinned = true;
    fn->watch = *watch;
    return fn;
}

fn_t *registry_add_version(const fn_config_t *cfg)
{
    fn_t *fn = add(cfg, cfg->name); /* (the function's log: Lambda's versions share a log group) */
    fn->published = cfg->version;
    return fn;
}

void fn_unwatch(fn_t *fn) { memset(&fn->watch, 0, sizeof fn->watch); }

int pool_start_instance(fn_t *fn) { return instance_spawn(&fn->pools[fn_backend(fn)]) ? 0 : -1; }

enum sandbox_backend fn_backend(const fn_t *fn)
{
    return !strcmp(fn->cfg.isolation, "microvm") ? SANDBOX_MICROVM : SANDBOX_NAMESPACE;
}

bool fn_removed(const fn_t *fn) { return fn->removed; }

pool_t *fn_calls_pool(fn_t *fn)
{
    return &fn->pools[D->cfg.isolation == SANDBOX_PROCESS ? SANDBOX_PROCESS : fn_backend(fn)];
}

void fn_ref(fn_t *fn) { fn->refs++; }

int fn_egress_lease(instance_t *inst, char *err, size_t errlen)
{
    fn_t *fn = inst->pool->fn;
    if (strcmp(fn->cfg.network, "egress") ||
        (inst->pool->backend != SANDBOX_NAMESPACE && inst->pool->backend != SANDBOX_MICROVM))
        return 0;
    if (!fn->egress_group || !json_equal(fn->egress_allowed, fn->cfg.egress_allow)) {
        /* Its rules as configured now. Instances of an older version that
         * drain meanwhile lose what only the old list allowed; the limits
         * are the new group's too. */
        if (fn->egress_group)
            egress_group_close(fn->egress_group);
        fn->egress_group = 0;
        json_decref(fn->egress_allowed);
        fn->egress_allowed = NULL;
        const char *texts[EGRESS_ALLOW_MAX];
        egress_rule_t rules[EGRESS_ALLOW_MAX];
        size_t n = json_array_size(fn->cfg.egress_allow);
        for (size_t i = 0; i < n && i < EGRESS_ALLOW_MAX; i++)
            texts[i] = json_string_value(json_array_get(fn->cfg.egress_allow, i));
        if (egress_rules_parse_list(texts, (int)n, rules, err, errlen) < 0)
            return -1; /* checked when it was written: a store edited by hand */
        fn->egress_group = egress_group_open(rules, (int)n, err, errlen);
        if (!fn->egress_group)
            return -1;
        fn->egress_allowed = json_deep_copy(fn->cfg.egress_allow);
    }
    if (egress_lease_take(fn->egress_group, &inst->egress) < 0) {
        snprintf(err, errlen, "no address is free in the egress subnet");
        return -1;
    }
    return 0;
}

void fn_unref(fn_t *fn)
{
    if (--fn->refs > 0)
        return;
    for (fn_t **p = &D->functions; *p; p = &(*p)->next)
        if (*p == fn) {
            *p = fn->next;
            break;
        }
    unbucket(fn);
    fn_log_close(fn);
    if (fn->provision_ev)
        event_free(fn->provision_ev);
    for (int b = 0; b < SANDBOX_BACKENDS; b++) {
        if (fn->pools[b].scale_ev)
            event_free(fn->pools[b].scale_ev);
        zygote_stop(&fn->pools[b]);
    }
    if (fn->egress_group)
        egress_group_close(fn->egress_group);
    json_decref(fn->egress_allowed);
    fn_config_clear(&fn->cfg);
    free(fn->metrics.ring);
    free(fn);
}

static void retire_instances(fn_t *fn, bool all)
{
    for (instance_t *i = D->instances; i; i = i->next) {
        if (i->pool->fn != fn || i->state == INST_DYING)
            continue;
        /* Busy instances finish their call and are retired when they ask for
         * the next one (their version is old); the rest go now. */
        if (all || i->state != INST_BUSY)
            instance_kill(i);
    }
}

void registry_update(fn_t *fn, const fn_config_t *cfg)
{
    unbucket(fn); /* (its name is kept; its bucket follows it whatever it is) */
    fn_config_clear(&fn->cfg);
    fn_config_copy(&fn->cfg, cfg);
    rebucket(fn);
    store_task_dir(D->store, cfg->task_key, fn->task_dir);
    retire_instances(fn, false);
    for (int b = 0; b < SANDBOX_BACKENDS; b++) /* it was started for the old runtime and env */
        zygote_stop(&fn->pools[b]);
}

void registry_remove(fn_t *fn)
{
    fn->removed = true;
    for (int b = 0; b < SANDBOX_BACKENDS; b++)
        invocation_fail_queued(&fn->pools[b], 404, "ResourceNotFoundException",
                               "the function was deleted");
    retire_instances(fn, true);
    if (!fn->published) { /* (a version's log is its function's) */
        char path[4096];
        fn_log_path(fn, path, "");
        unlink(path);
        fn_log_path(fn, path, ".1");
        unlink(path);
    }
    fn_unref(fn);
}

void registry_versions_each(const char *name, void (*cb)(fn_t *fn, void *arg), void *arg)
{
    for (fn_t *f = *bucket(name), *next; f; f = next) {
        next = f->name_next;
        if (!f->removed && f->published && !strcmp(f->cfg.name, name))
            cb(f, arg);
    }
}

void registry_remove_versions(const char *name, int version)
{
    for (fn_t *f = *bucket(name), *next; f; f = next) {
        next = f->name_next; /* (f may be freed) */
        if (!f->removed && f->published && (!version || f->published == version) && !strcmp(f->cfg.name, name))
            registry_remove(f);
    }
}

void registry_each(void (*cb)(fn_t *fn, void *arg), void *arg)
{
    for (fn_t *f = D->functions; f; f = f->next)
        if (!f->removed && !f->pinned && !f->published)
            cb(f, arg);
}
