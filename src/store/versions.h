#pragma once
/* Published versions and aliases (Lambda's PublishVersion and aliases;
 * docs/api.md, "Versions and aliases"). Every change of a function makes a
 * numbered version (store.h; the last STORE_VERSIONS_KEPT kept); publishing
 * one keeps it, immutable, until it is deleted, and makes its number a
 * qualifier calls may name. An alias names a published version (or $LATEST,
 * 0), and may send a share of the calls to a second one. */
#include <stdbool.h>
#include <stdint.h>

#include "store/function.h"
#include "store/store.h"

enum { ALIAS_NAME_MAX = 128, VERSION_LATEST = 0 };

/* Publishes version n of name (its newest: $LATEST as it is), with a
 * description: *created false when it was published already (it is then
 * left as it was). STORE_NOT_FOUND when there is no such version. */
int store_publish(store_t *s, const char *name, int n, const char *description, bool *created);
/* Published version n of name, its configuration with task_key, the
 * description and time it was published with. STORE_NOT_FOUND when n is
 * not published. Caller clears c. */
int store_published_get(store_t *s, const char *name, int n, fn_config_t *c, char description[FN_DESCRIPTION_MAX + 1],
                        uint64_t *published_at);
/* Each published version of name, oldest first (c valid during the call). */
typedef void (*published_fn)(const fn_config_t *c, const char *description, uint64_t published_at, void *arg);
int store_published_each(store_t *s, const char *name, published_fn cb, void *arg);
/* Unpublishes n: STORE_NOT_FOUND when it is not published, STORE_EXISTS
 * when an alias names it (nothing changes). Its row is then an ordinary
 * version, pruned as they are. */
int store_unpublish(store_t *s, const char *name, int n);

typedef struct alias {
    char function[FN_NAME_MAX + 1];
    char name[ALIAS_NAME_MAX + 1];
    int version;         /* VERSION_LATEST or a published version */
    int extra_version;   /* 0: none; else gets extra_weight of the calls */
    double extra_weight; /* 0.0-1.0 */
    char description[FN_DESCRIPTION_MAX + 1];
    char revision[37]; /* changes with every write (Lambda's RevisionId) */
    uint64_t created_at, updated_at;
} alias_t;

/* create: STORE_EXISTS when it exists; else (an update) STORE_NOT_FOUND when
 * it does not. created_at is kept on an update. */
int store_alias_put(store_t *s, const alias_t *a, bool create);
int store_alias_get(store_t *s, const char *fn, const char *name, alias_t *out);
int store_alias_delete(store_t *s, const char *fn, const char *name);
typedef void (*alias_fn)(const alias_t *a, void *arg);
int store_aliases_each(store_t *s, const char *fn, alias_fn cb, void *arg);

/* Provisioned concurrency: instances kept initialized for a qualifier (a
 * published version's number or an alias's name) of a function. */
typedef struct provisioned {
    char function[FN_NAME_MAX + 1];
    char qualifier[ALIAS_NAME_MAX + 1];
    int requested;
    uint64_t updated_at;
} provisioned_t;

int store_provisioned_put(store_t *s, const provisioned_t *p);
int store_provisioned_get(store_t *s, const char *fn, const char *qualifier, provisioned_t *out);
int store_provisioned_delete(store_t *s, const char *fn, const char *qualifier);
/* Each of fn's (every function's: fn NULL), by function and qualifier. */
typedef void (*provisioned_fn)(const provisioned_t *p, void *arg);
int store_provisioned_each(store_t *s, const char *fn, provisioned_fn cb, void *arg);
