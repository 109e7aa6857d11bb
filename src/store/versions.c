/* Published versions (the versions table's published_at) and the aliases
 * table (versions.h). */
#include "store/versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/util.h"

static void text_col(char *dst, size_t size, sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", v ? v : "");
}

static int done(store_t *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, what);
}

int store_publish(store_t *s, const char *name, int n, const char *description, bool *created)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE versions SET published_at=?3, published_description=?4"
                           " WHERE name=?1 AND version=?2 AND published_at=0",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "publish version");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, n);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms());
    sqlite3_bind_text(st, 4, description ? description : "", -1, SQLITE_TRANSIENT);
    int rc = done(s, st, "publish version");
    if (rc != STORE_OK)
        return rc;
    *created = sqlite3_changes(s->db) == 1;
    if (*created)
        return STORE_OK;
    uint64_t at = 0;
    fn_config_t c;
    rc = store_published_get(s, name, n, &c, NULL, &at);
    if (rc == STORE_OK)
        fn_config_clear(&c);
    return rc;
}

static int config_of(store_t *s, sqlite3_stmt *st, fn_config_t *c)
{
    const char *cfg = (const char *)sqlite3_column_text(st, 0);
    json_t *j = cfg ? json_loads(cfg, 0, NULL) : NULL;
    int rc = j && fn_config_from_json(j, c) == 0 ? STORE_OK : STORE_ERR;
    json_decref(j);
    if (rc != STORE_OK) {
        snprintf(s->err, sizeof s->err, "a published version is unreadable");
        return rc;
    }
    text_col(c->task_key, sizeof c->task_key, st, 1);
    return STORE_OK;
}

#define PUBLISHED "SELECT config, task_key, published_description, published_at FROM versions"

int store_published_get(store_t *s, const char *name, int n, fn_config_t *c, char description[FN_DESCRIPTION_MAX + 1],
                        uint64_t *published_at)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, PUBLISHED " WHERE name=?1 AND version=?2 AND published_at!=0", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail(s, "read version");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, n);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rc = config_of(s, st, c);
        if (rc == STORE_OK && description)
            text_col(description, FN_DESCRIPTION_MAX + 1, st, 2);
        if (published_at)
            *published_at = (uint64_t)sqlite3_column_int64(st, 3);
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : store_fail(s, "read version");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_published_each(store_t *s, const char *name, published_fn cb, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, PUBLISHED " WHERE name=?1 AND published_at!=0 ORDER BY version", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail(s, "list versions");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn_config_t c;
        if (config_of(s, st, &c) != STORE_OK)
            continue;
        char description[FN_DESCRIPTION_MAX + 1];
        text_col(description, sizeof description, st, 2);
        cb(&c, description, (uint64_t)sqlite3_column_int64(st, 3), arg);
        fn_config_clear(&c);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "list versions");
}

int store_unpublish(store_t *s, const char *name, int n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM aliases WHERE function=?1 AND (version=?2 OR extra_version=?2)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "delete version");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, n);
    int named = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (named)
        return STORE_EXISTS;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE versions SET published_at=0, published_description='' WHERE name=?1 AND version=?2"
                           " AND published_at!=0",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "delete version");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, n);
    int rc = done(s, st, "delete version");
    return rc == STORE_OK && sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : rc;
}

/* ---- aliases ---- */

#define ALIAS_COLUMNS "function, name, version, extra_version, extra_weight, description, revision, created_at, updated_at"

static void alias_row(sqlite3_stmt *st, alias_t *a)
{
    memset(a, 0, sizeof *a);
    text_col(a->function, sizeof a->function, st, 0);
    text_col(a->name, sizeof a->name, st, 1);
    a->version = sqlite3_column_int(st, 2);
    a->extra_version = sqlite3_column_int(st, 3);
    a->extra_weight = sqlite3_column_double(st, 4);
    text_col(a->description, sizeof a->description, st, 5);
    text_col(a->revision, sizeof a->revision, st, 6);
    a->created_at = (uint64_t)sqlite3_column_int64(st, 7);
    a->updated_at = (uint64_t)sqlite3_column_int64(st, 8);
}

int store_alias_put(store_t *s, const alias_t *a, bool create)
{
    sqlite3_stmt *st;
    const char *sql = create ? "INSERT INTO aliases (" ALIAS_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                             : "UPDATE aliases SET version=?3, extra_version=?4, extra_weight=?5, description=?6,"
                               " revision=?7, updated_at=?9 WHERE function=?1 AND name=?2";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "save alias");
    sqlite3_bind_text(st, 1, a->function, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, a->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, a->version);
    sqlite3_bind_int(st, 4, a->extra_version);
    sqlite3_bind_double(st, 5, a->extra_weight);
    sqlite3_bind_text(st, 6, a->description, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, a->revision, -1, SQLITE_TRANSIENT);
    if (create)
        sqlite3_bind_int64(st, 8, (sqlite3_int64)a->created_at);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)a->updated_at);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (create && rc == SQLITE_CONSTRAINT)
        return STORE_EXISTS;
    if (rc != SQLITE_DONE)
        return store_fail(s, "save alias");
    return !create && sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : STORE_OK;
}

int store_alias_get(store_t *s, const char *fn, const char *name, alias_t *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT " ALIAS_COLUMNS " FROM aliases WHERE function=?1 AND name=?2", -1, &st,
                           NULL) != SQLITE_OK)
        return store_fail(s, "read alias");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        alias_row(st, out);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : store_fail(s, "read alias");
}

int store_alias_delete(store_t *s, const char *fn, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM aliases WHERE function=?1 AND name=?2", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "delete alias");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    int rc = done(s, st, "delete alias");
    return rc == STORE_OK && sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : rc;
}

int store_aliases_each(store_t *s, const char *fn, alias_fn cb, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT " ALIAS_COLUMNS " FROM aliases WHERE function=?1 ORDER BY name", -1, &st,
                           NULL) != SQLITE_OK)
        return store_fail(s, "list aliases");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        alias_t a;
        alias_row(st, &a);
        cb(&a, arg);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "list aliases");
}

/* ---- provisioned concurrency ---- */

int store_provisioned_put(store_t *s, const provisioned_t *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO provisioned (function, qualifier, requested, updated_at)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "save provisioned concurrency");
    sqlite3_bind_text(st, 1, p->function, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, p->qualifier, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, p->requested);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)p->updated_at);
    return done(s, st, "save provisioned concurrency");
}

static void provisioned_row(sqlite3_stmt *st, provisioned_t *p)
{
    memset(p, 0, sizeof *p);
    text_col(p->function, sizeof p->function, st, 0);
    text_col(p->qualifier, sizeof p->qualifier, st, 1);
    p->requested = sqlite3_column_int(st, 2);
    p->updated_at = (uint64_t)sqlite3_column_int64(st, 3);
}

int store_provisioned_get(store_t *s, const char *fn, const char *qualifier, provisioned_t *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT function, qualifier, requested, updated_at FROM provisioned"
                           " WHERE function=?1 AND qualifier=?2",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "read provisioned concurrency");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, qualifier, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        provisioned_row(st, out);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : store_fail(s, "read provisioned concurrency");
}

int store_provisioned_delete(store_t *s, const char *fn, const char *qualifier)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM provisioned WHERE function=?1 AND qualifier=?2", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail(s, "delete provisioned concurrency");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, qualifier, -1, SQLITE_TRANSIENT);
    int rc = done(s, st, "delete provisioned concurrency");
    return rc == STORE_OK && sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : rc;
}

int store_provisioned_each(store_t *s, const char *fn, provisioned_fn cb, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT function, qualifier, requested, updated_at FROM provisioned"
                           " WHERE ?1 IS NULL OR function=?1 ORDER BY function, qualifier",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "list provisioned concurrency");
    if (fn)
        sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        provisioned_t p;
        provisioned_row(st, &p);
        cb(&p, arg);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "list provisioned concurrency");
}
