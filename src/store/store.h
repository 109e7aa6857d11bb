#pragma once
/* Durable state in the data dir: the functions table in SQLite (WAL) and the
 * code, stored content-addressed by sha256 under code/, materialised for the
 * sandbox under tasks/<task_key>/. */
#include <stdbool.h>
#include <stddef.h>

#include "store/function.h"

typedef struct store store_t;

enum { STORE_OK = 0, STORE_ERR = -1, STORE_EXISTS = -2, STORE_NOT_FOUND = -3, STORE_REFUSED = -4 };

store_t *store_open(const char *data_dir, char *err, size_t errlen);
void store_close(store_t *s);
const char *store_last_error(store_t *s);

int store_insert(store_t *s, const fn_config_t *c);
int store_update(store_t *s, const fn_config_t *c);
int store_delete(store_t *s, const char *name);
typedef void (*store_each_fn)(const fn_config_t *c, void *arg);
int store_load_all(store_t *s, store_each_fn cb, void *arg);

/* Versions: a row per version of a function (its public view), kept for the
 * last STORE_VERSIONS_KEPT versions, and published ones (store/versions.h)
 * until they are deleted; their code stays while a row refers to it. Pruning
 * with keep 0 (the function's delete) takes the published ones too. */
enum { STORE_VERSIONS_KEPT = 10 };
int store_add_version(store_t *s, const fn_config_t *c);
typedef void (*store_each_code_fn)(const char *code_sha256, const char *task_key, void *arg);
int store_prune_versions(store_t *s, const char *name, int keep, store_each_code_fn cb, void *arg);
json_t *store_list_versions(store_t *s, const char *name);
/* The kept version of `name` whose label is `which` (the newest such), or else
 * whose number is `which`. Fills out (caller clears it) with its task_key. */
int store_find_version(store_t *s, const char *name, const char *which, fn_config_t *out);

/* Code blobs. put returns the sha256 of the data in sha_out. The _r variant
 * reports into err and is safe on a worker thread. */
int store_put_blob(store_t *s, const void *data, size_t len, char sha_out[65]);
int store_put_blob_r(store_t *s, const void *data, size_t len, char sha_out[65], char *err,
                     size_t errlen);
char *store_get_blob(store_t *s, const char *sha, size_t *len);
/* Removes the blob and task dir when no function row refers to them. */
void store_gc_code(store_t *s, const char *code_sha256, const char *task_key);

/* Writes inline code as <module><ext> into tasks/<task_key>/ (once; the key
 * is derived from the code and the file name). */
int store_materialize_inline(store_t *s, const char *code, size_t len, const char *filename,
                             char task_key[65]);
/* Unpacks a zip into tasks/<sha256 of the zip>/ (once). Returns STORE_OK,
 * STORE_ERR (local failure) or STORE_REFUSED (the zip is bad); err says why.
 * Safe on a worker thread. */
int store_materialize_zip(store_t *s, const void *zip, size_t len, char task_key[65], char *err,
                          size_t errlen);
/* Removes code and code dirs that no function refers to (startup). */
void store_gc_orphans(store_t *s);
/* Path of a materialised code dir. */
void store_task_dir(store_t *s, const char *task_key, char out[4096]);

/* Host names the router answers for beyond --router-host. set adds (present)
 * or removes one; STORE_NOT_FOUND when nothing changed. */
json_t *store_router_hosts(store_t *s);
int store_router_host_set(store_t *s, const char *host, bool present);
