#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_internal.h"
#include "store/zip_extract.h"
#include "util/log.h"
#include "util/util.h"


static const char *SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS functions ("
    " name TEXT PRIMARY KEY, runtime TEXT NOT NULL, handler TEXT NOT NULL,"
    " env TEXT NOT NULL, memory_mb INTEGER NOT NULL, timeout_s INTEGER NOT NULL,"
    " concurrency INTEGER NOT NULL, idle_timeout_s INTEGER NOT NULL,"
    " code_sha256 TEXT NOT NULL, code_size INTEGER NOT NULL, task_key TEXT NOT NULL,"
    " version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " style TEXT NOT NULL DEFAULT 'lambda', reuse INTEGER NOT NULL DEFAULT 1,"
    " mode TEXT NOT NULL DEFAULT 'handler', command TEXT, version_label TEXT NOT NULL DEFAULT '',"
    " description TEXT NOT NULL DEFAULT '', isolation TEXT NOT NULL DEFAULT 'namespace',"
    " auth TEXT NOT NULL DEFAULT 'none', network TEXT NOT NULL DEFAULT 'none', egress_allow TEXT);"
    /* One row per version of a function's code and configuration (the last
     * STORE_VERSIONS_KEPT), for GET .../versions and chambers. */
    "CREATE TABLE IF NOT EXISTS versions ("
    " name TEXT NOT NULL, version INTEGER NOT NULL, code_sha256 TEXT NOT NULL,"
    " task_key TEXT NOT NULL, config TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " PRIMARY KEY (name, version));"
    /* Extra host names the router answers for (impuls up -a HOST). */
    "CREATE TABLE IF NOT EXISTS router_hosts (host TEXT PRIMARY KEY);"
    /* API tokens (store/tokens.h): a keyed hash of each, never the token. */
    "CREATE TABLE IF NOT EXISTS tokens ("
    " id TEXT PRIMARY KEY, hash TEXT NOT NULL, scope TEXT NOT NULL, functions TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " aws_key_id TEXT UNIQUE, aws_secret TEXT);"
    /* Accepted Event invocations not yet done (store/events.h). */
    "CREATE TABLE IF NOT EXISTS async_events ("
    " id TEXT PRIMARY KEY, function TEXT NOT NULL, event BLOB NOT NULL, attempts INTEGER NOT NULL,"
    " accepted_at INTEGER NOT NULL, hops INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS async_events_by_function ON async_events (function, accepted_at);"
    /* Functions' settings for their Event invocations (store/event_config.h). */
    "CREATE TABLE IF NOT EXISTS event_invoke_configs ("
    " function TEXT PRIMARY KEY, max_retry_attempts INTEGER, max_event_age_s INTEGER,"
    " on_success TEXT NOT NULL, on_failure TEXT NOT NULL, updated_at INTEGER NOT NULL);"
    /* Events that failed for good, and how many were dropped (store/dead_letters.h). */
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    " id TEXT PRIMARY KEY, function TEXT NOT NULL, event BLOB NOT NULL, condition TEXT NOT NULL,"
    " error TEXT NOT NULL, status INTEGER NOT NULL, attempts INTEGER NOT NULL, accepted_at INTEGER NOT NULL,"
    " failed_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS dead_letters_by_function ON dead_letters (function, failed_at);"
    "CREATE TABLE IF NOT EXISTS dead_letter_drops (function TEXT PRIMARY KEY, dropped INTEGER NOT NULL);"
    /* Functions' aliases (store/versions.h). */
    "CREATE TABLE IF NOT EXISTS aliases ("
    " function TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, extra_version INTEGER NOT NULL,"
    " extra_weight REAL NOT NULL, description TEXT NOT NULL, revision TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, PRIMARY KEY (function, name));"
    /* Provisioned concurrency per version or alias (store/versions.h). */
    "CREATE TABLE IF NOT EXISTS provisioned ("
    " function TEXT NOT NULL, qualifier TEXT NOT NULL, requested INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (function, qualifier));"
    /* Functions' schedules (store/schedules.h). */
    "CREATE TABLE IF NOT EXISTS schedules ("
    " function TEXT NOT NULL, id TEXT NOT NULL, expression TEXT NOT NULL, input TEXT, enabled INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, last_fired_at INTEGER NOT NULL,"
    " next_at INTEGER NOT NULL, PRIMARY KEY (function, id));";

int store_fail(store_t *s, const char *what)
{
    snprintf(s->err, sizeof s->err, "%s: %s", what, sqlite3_errmsg(s->db));
    log_error("store: %s", s->err);
    return STORE_ERR;
}

const char *store_last_error(store_t *s) { return s->err; }

int store_end_transaction(store_t *s, int rc, const char *what)
{
    if (sqlite3_exec(s->db, rc == STORE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK && rc == STORE_OK)
        rc = store_fail(s, what);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

store_t *store_open(const char *data_dir, char *err, size_t errlen)
{
    store_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(s->dir, sizeof s->dir, "%s", data_dir);
    char path[4096];
    const char *subdirs[] = {"code", "tasks", "logs", NULL};
    for (int i = 0; subdirs[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", data_dir, subdirs[i]);
        int r = mkdir_p(path, 0700);
        if (r < 0) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(-r));
            free(s);
            return NULL;
        }
    }
    /* tasks/ is bound into sandboxes by root before privileges drop, but keep
     * it traversable so the unprivileged runtime can read its own files. */
    snprintf(path, sizeof path, "%s/tasks", data_dir);
    chmod(path, 0711);
    snprintf(path, sizeof path, "%s/impuls.db", data_dir);
    if (sqlite3_open(path, &s->db) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, sqlite3_errmsg(s->db));
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 2000);
    char *msg = NULL;
    /* Columns added after the first schema: present, or added now. */
    static const char *MIGRATIONS[] = {
        "ALTER TABLE functions ADD COLUMN style TEXT NOT NULL DEFAULT 'lambda'",
        "ALTER TABLE functions ADD COLUMN reuse INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE functions ADD COLUMN mode TEXT NOT NULL DEFAULT 'handler'",
        "ALTER TABLE functions ADD COLUMN command TEXT",
        "ALTER TABLE functions ADD COLUMN version_label TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE functions ADD COLUMN description TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE functions ADD COLUMN isolation TEXT NOT NULL DEFAULT 'namespace'",
        "ALTER TABLE functions ADD COLUMN auth TEXT NOT NULL DEFAULT 'none'",
        "ALTER TABLE functions ADD COLUMN network TEXT NOT NULL DEFAULT 'none'",
        "ALTER TABLE functions ADD COLUMN egress_allow TEXT",
        "ALTER TABLE async_events ADD COLUMN hops INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE async_events ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE dead_letters ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE versions ADD COLUMN published_at INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE versions ADD COLUMN published_description TEXT NOT NULL DEFAULT ''",
        NULL,
    };
    if (sqlite3_exec(s->db, SCHEMA, NULL, NULL, &msg) == SQLITE_OK)
        for (int i = 0; MIGRATIONS[i]; i++)
            sqlite3_exec(s->db, MIGRATIONS[i], NULL, NULL, NULL); /* "duplicate column" is fine */
    if (msg) {
        snprintf(err, errlen, "cannot initialise %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    return s;
}

void store_close(store_t *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s);
}

static void bind_config(sqlite3_stmt *st, const fn_config_t *c)
{
    char *env = json_dumps(c->env, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_bind_text(st, 1, c->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c->runtime, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, c->handler, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, env ? env : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, c->memory_mb);
    sqlite3_bind_int(st, 6, c->timeout_s);
    sqlite3_bind_int(st, 7, c->concurrency);
    sqlite3_bind_int(st, 8, c->idle_timeout_s);
    sqlite3_bind_text(st, 9, c->code_sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 10, c->code_size);
    sqlite3_bind_text(st, 11, c->task_key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 12, c->version);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)c->created_at);
    sqlite3_bind_int64(st, 14, (sqlite3_int64)c->updated_at);
    sqlite3_bind_text(st, 15, c->style, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 16, c->reuse);
    sqlite3_bind_text(st, 17, c->mode, -1, SQLITE_TRANSIENT);
    char *cmd = c->command ? json_dumps(c->command, JSON_COMPACT) : NULL;
    if (cmd)
        sqlite3_bind_text(st, 18, cmd, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 18);
    sqlite3_bind_text(st, 19, c->version_label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 20, c->description, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 21, c->isolation, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 22, c->auth[0] ? c->auth : "none", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 23, c->network[0] ? c->network : "none", -1, SQLITE_TRANSIENT);
    char *allow = c->egress_allow && json_array_size(c->egress_allow) ? json_dumps(c->egress_allow, JSON_COMPACT) : NULL;
    if (allow)
        sqlite3_bind_text(st, 24, allow, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 24);
    free(allow);
    free(cmd);
    free(env);
}

static int exec_config(store_t *s, const char *sql, const fn_config_t *c, const char *what)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, what);
    bind_config(st, c);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return STORE_EXISTS;
    if (rc != SQLITE_DONE)
        return store_fail(s, what);
    return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}

int store_insert(store_t *s, const fn_config_t *c)
{
    return exec_config(s,
                       "INSERT INTO functions (name, runtime, handler, env, memory_mb, timeout_s,"
                       " concurrency, idle_timeout_s, code_sha256, code_size, task_key, version,"
                       " created_at, updated_at, style, reuse, mode, command, version_label, description, isolation, auth,"
                       " network, egress_allow)"
                       " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24)",
                       c, "insert function");
}

int store_update(store_t *s, const fn_config_t *c)
{
    return exec_config(s,
                       "UPDATE functions SET runtime=?2, handler=?3, env=?4, memory_mb=?5,"
                       " timeout_s=?6, concurrency=?7, idle_timeout_s=?8, code_sha256=?9,"
                       " code_size=?10, task_key=?11, version=?12, created_at=?13, updated_at=?14, style=?15,"
                       " reuse=?16, mode=?17, command=?18, version_label=?19, description=?20,"
                       " isolation=?21, auth=?22, network=?23, egress_allow=?24"
                       " WHERE name=?1",
                       c, "update function");
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

int store_delete(store_t *s, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM functions WHERE name=?1", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "delete function");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, "delete function");
    int changed = sqlite3_changes(s->db);
    event_config_forget(s, name);
    /* What else is the function's goes with it. */
    static const char *const OWN[] = {"DELETE FROM versions WHERE name=?1",
                                      "DELETE FROM event_invoke_configs WHERE function=?1",
                                      "DELETE FROM dead_letters WHERE function=?1",
                                      "DELETE FROM dead_letter_drops WHERE function=?1",
                                      "DELETE FROM schedules WHERE function=?1",
                                      "DELETE FROM aliases WHERE function=?1",
                                      "DELETE FROM provisioned WHERE function=?1"};
    for (size_t i = 0; i < sizeof OWN / sizeof *OWN; i++)
        if (sqlite3_prepare_v2(s->db, OWN[i], -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
    return changed == 1 ? STORE_OK : STORE_NOT_FOUND;
}

int store_add_version(store_t *s, const fn_config_t *c)
{
    json_t *view = fn_config_to_json(c);
    char *config = json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(view);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO versions (name, version, code_sha256, task_key, config,"
                                " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, c->name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, c->version);
        sqlite3_bind_text(st, 3, c->code_sha256, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, c->task_key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, config ? config : "{}", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)c->updated_at);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    free(config);
    if (rc != SQLITE_DONE)
        return store_fail(s, "save version");
    return STORE_OK;
}

/* Drops the versions older than the last `keep`; returns their code so the
 * caller can collect what nothing refers to any more. */
int store_prune_versions(store_t *s, const char *name, int keep, store_each_code_fn cb, void *arg)
{
    sqlite3_stmt *st;
    /* (published ones stay, but for the function's delete: keep 0) */
    const char *sel = "SELECT code_sha256, task_key FROM versions WHERE name=?1 AND version <="
                      " (SELECT max(version) FROM versions WHERE name=?1) - ?2 AND (published_at=0 OR ?2=0)";
    if (sqlite3_prepare_v2(s->db, sel, -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "prune versions");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, keep);
    /* Collect first: the rows must be gone before their code is collected. */
    char (*old)[2][65] = NULL;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        void *grown = realloc(old, (size_t)(n + 1) * sizeof *old);
        if (!grown)
            break;
        old = grown;
        copy_col(old[n][0], 65, st, 0);
        copy_col(old[n][1], 65, st, 1);
        n++;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(s->db,
                           "DELETE FROM versions WHERE name=?1 AND version <="
                           " (SELECT max(version) FROM versions WHERE name=?1) - ?2 AND (published_at=0 OR ?2=0)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, keep);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    for (int i = 0; i < n; i++)
        cb(old[i][0], old[i][1], arg);
    free(old);
    return STORE_OK;
}

json_t *store_list_versions(store_t *s, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT config, published_at FROM versions WHERE name=?1 ORDER BY version", -1, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *cfg = (const char *)sqlite3_column_text(st, 0);
        json_t *j = cfg ? json_loads(cfg, 0, NULL) : NULL;
        if (j) { /* (published: kept until deleted, store/versions.h) */
            json_object_set_new(j, "published", json_boolean(sqlite3_column_int64(st, 1) != 0));
            json_array_append_new(arr, j);
        }
    }
    sqlite3_finalize(st);
    return arr;
}

int store_find_version(store_t *s, const char *name, const char *which, fn_config_t *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT config, task_key FROM versions WHERE name=?1 AND"
                           " (json_extract(config, '$.version_label')=?2 OR version=?3)"
                           " ORDER BY json_extract(config, '$.version_label')=?2 DESC, version DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "find version");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, which, -1, SQLITE_TRANSIENT);
    /* A number names a version only when it is all digits ("1.0.0" is a label). */
    size_t n = strlen(which);
    bool digits = n > 0 && n < 10 && strspn(which, "0123456789") == n;
    sqlite3_bind_int(st, 3, digits ? atoi(which) : -1);
    int rc = STORE_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *cfg = (const char *)sqlite3_column_text(st, 0);
        json_t *j = cfg ? json_loads(cfg, 0, NULL) : NULL;
        if (j && fn_config_from_json(j, out) == 0) {
            copy_col(out->task_key, sizeof out->task_key, st, 1);
            rc = STORE_OK;
        } else {
            fn_config_clear(out);
            snprintf(s->err, sizeof s->err, "version %s of %s is unreadable", which, name);
            rc = STORE_ERR;
        }
        json_decref(j);
    }
    sqlite3_finalize(st);
    return rc;
}

/* A column of JSON text: its value when it is of type, else an empty one. */
static json_t *json_col(sqlite3_stmt *st, int col, json_type type)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (v && json_typeof(v) == type)
        return v;
    json_decref(v);
    return type == JSON_ARRAY ? json_array() : json_object();
}

int store_load_all(store_t *s, store_each_fn cb, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, runtime, handler, env, memory_mb, timeout_s, concurrency,"
                           " idle_timeout_s, code_sha256, code_size, task_key, version, created_at,"
                           " updated_at, style, reuse, mode, command, version_label, description, isolation, auth,"
                           " network, egress_allow FROM functions ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "load functions");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn_config_t c;
        memset(&c, 0, sizeof c);
        copy_col(c.name, sizeof c.name, st, 0);
        copy_col(c.runtime, sizeof c.runtime, st, 1);
        copy_col(c.handler, sizeof c.handler, st, 2);
        c.env = json_col(st, 3, JSON_OBJECT);
        c.memory_mb = sqlite3_column_int(st, 4);
        c.timeout_s = sqlite3_column_int(st, 5);
        c.concurrency = sqlite3_column_int(st, 6);
        c.idle_timeout_s = sqlite3_column_int(st, 7);
        copy_col(c.code_sha256, sizeof c.code_sha256, st, 8);
        c.code_size = sqlite3_column_int64(st, 9);
        copy_col(c.task_key, sizeof c.task_key, st, 10);
        c.version = sqlite3_column_int(st, 11);
        c.created_at = (uint64_t)sqlite3_column_int64(st, 12);
        c.updated_at = (uint64_t)sqlite3_column_int64(st, 13);
        copy_col(c.style, sizeof c.style, st, 14);
        c.reuse = sqlite3_column_int(st, 15) != 0;
        copy_col(c.mode, sizeof c.mode, st, 16);
        const char *cmd = (const char *)sqlite3_column_text(st, 17);
        c.command = cmd ? json_loads(cmd, 0, NULL) : NULL;
        copy_col(c.version_label, sizeof c.version_label, st, 18);
        copy_col(c.description, sizeof c.description, st, 19);
        copy_col(c.isolation, sizeof c.isolation, st, 20);
        copy_col(c.auth, sizeof c.auth, st, 21);
        copy_col(c.network, sizeof c.network, st, 22);
        c.egress_allow = json_col(st, 23, JSON_ARRAY);
        cb(&c, arg);
        fn_config_clear(&c);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "load functions");
}

static void blob_path(store_t *s, const char *sha, char out[4096])
{
    snprintf(out, 4096, "%s/code/%s", s->dir, sha);
}

void store_task_dir(store_t *s, const char *task_key, char out[4096])
{
    snprintf(out, 4096, "%s/tasks/%s", s->dir, task_key);
}

int store_put_blob_r(store_t *s, const void *data, size_t len, char sha_out[65], char *err,
                     size_t errlen)
{
    sha256_hex(data, len, sha_out);
    char path[4096];
    blob_path(s, sha_out, path);
    if (path_exists(path))
        return STORE_OK;
    int r = write_file_atomic(path, data, len, 0600);
    if (r < 0) {
        snprintf(err, errlen, "cannot write code blob: %s", strerror(-r));
        return STORE_ERR;
    }
    return STORE_OK;
}

int store_put_blob(store_t *s, const void *data, size_t len, char sha_out[65])
{
    return store_put_blob_r(s, data, len, sha_out, s->err, sizeof s->err);
}

char *store_get_blob(store_t *s, const char *sha, size_t *len)
{
    char path[4096];
    blob_path(s, sha, path);
    return read_file(path, (size_t)1 << 31, len);
}

static int count_refs(store_t *s, const char *col, const char *value)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM functions WHERE %s=?1) + (SELECT count(*) FROM versions WHERE %s=?1)",
             col, col);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

void store_gc_code(store_t *s, const char *code_sha256, const char *task_key)
{
    char path[4096];
    if (code_sha256[0] && count_refs(s, "code_sha256", code_sha256) == 0) {
        blob_path(s, code_sha256, path);
        unlink(path);
    }
    if (task_key[0] && count_refs(s, "task_key", task_key) == 0) {
        store_task_dir(s, task_key, path);
        rm_rf(path);
    }
}

int store_materialize_inline(store_t *s, const char *code, size_t len, const char *filename,
                             char task_key[65])
{
    /* The key covers the file name too: the same code under another handler
     * module is another directory. */
    char code_sha[65];
    sha256_hex(code, len, code_sha);
    char keysrc[4096];
    int n = snprintf(keysrc, sizeof keysrc, "inline:%s:%s", code_sha, filename);
    if (n < 0 || (size_t)n >= sizeof keysrc) {
        snprintf(s->err, sizeof s->err, "file name too long");
        return STORE_ERR;
    }
    sha256_hex(keysrc, (size_t)n, task_key);
    char dir[4096], tmp[4096], file[4096];
    store_task_dir(s, task_key, dir);
    if (path_exists(dir))
        return STORE_OK;
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    rm_rf(tmp);
    if (!fmt_path(file, sizeof file, "%s/%s", tmp, filename))
        return STORE_ERR;
    /* The module may name a subdirectory ("src/app"). */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", file);
    *strrchr(parent, '/') = '\0';
    int r = mkdir_p(parent, 0755);
    if (r == 0)
        r = write_file_atomic(file, code, len, 0644);
    if (r == 0)
        r = chmod(tmp, 0755) < 0 ? -errno : 0;
    if (r == 0 && rename(tmp, dir) < 0) {
        if (errno != ENOTEMPTY && errno != EEXIST)
            r = -errno;
        else
            rm_rf(tmp); /* written meanwhile by an identical request */
    }
    if (r < 0) {
        snprintf(s->err, sizeof s->err, "cannot write code: %s", strerror(-r));
        rm_rf(tmp);
        return STORE_ERR;
    }
    return STORE_OK;
}

int store_materialize_zip(store_t *s, const void *zip, size_t len, char task_key[65], char *err,
                          size_t errlen)
{
    sha256_hex(zip, len, task_key);
    char dir[4096], tmp[4096];
    store_task_dir(s, task_key, dir);
    if (path_exists(dir))
        return STORE_OK;
    /* Unique per thread: two uploads of the same zip may unpack at once. */
    static _Atomic unsigned seq;
    snprintf(tmp, sizeof tmp, "%s.tmp%u", dir, ++seq);
    int rc = zip_extract(zip, len, tmp, err, errlen);
    if (rc == -1)
        return STORE_REFUSED;
    if (rc < 0)
        return STORE_ERR;
    if (rename(tmp, dir) < 0) {
        int e = errno;
        rm_rf(tmp);
        if (e != ENOTEMPTY && e != EEXIST) {
            snprintf(err, errlen, "cannot write code: %s", strerror(e));
            return STORE_ERR;
        }
    }
    return STORE_OK;
}

void store_gc_orphans(store_t *s)
{
    /* What a killed daemon may have left: half-written dirs, and code no row
     * refers to any more (its instances were running when it died). */
    const char *kinds[] = {"tasks", "code"};
    for (int k = 0; k < 2; k++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", s->dir, kinds[k]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            bool tmp = strchr(e->d_name, '.') != NULL;
            if (tmp || count_refs(s, k == 0 ? "task_key" : "code_sha256", e->d_name) == 0) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                rm_rf(path);
            }
        }
        closedir(d);
    }
}

json_t *store_router_hosts(store_t *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT host FROM router_hosts ORDER BY host", -1, &st, NULL) != SQLITE_OK) {
        store_fail(s, "read router hosts");
        return NULL;
    }
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    return arr;
}

int store_router_host_set(store_t *s, const char *host, bool present)
{
    sqlite3_stmt *st;
    const char *sql = present ? "INSERT OR IGNORE INTO router_hosts (host) VALUES (?1)"
                              : "DELETE FROM router_hosts WHERE host=?1";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "save router host");
    sqlite3_bind_text(st, 1, host, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, "save router host");
    return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}
