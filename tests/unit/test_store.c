/* Unit tests of src/store/store.{h,c} and src/store/function.{h,c}: the
 * functions table, the code blobs and the materialised task dirs. Every test
 * gets a fresh data dir from mkdtemp, removed again in the teardown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/dead_letters.h"
#include "store/event_config.h"
#include "store/events.h"
#include "store/function.h"
#include "store/schedules.h"
#include "store/store.h"
#include "util/util.h"

/* sha256("hello") */
#define HELLO_SHA "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

/* ---- fixture -------------------------------------------------------------- */

typedef struct {
    char dir[64];
    store_t *store;
} fixture_t;

static int open_store(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/impuls-test-store-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    char err[256] = "";
    f->store = store_open(f->dir, err, sizeof err);
    if (!f->store) {
        fprintf(stderr, "store_open(%s): %s\n", f->dir, err);
        rmdir(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static int close_store(void **state)
{
    fixture_t *f = *state;
    store_close(f->store);
    int rc = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

#define STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, open_store, close_store)

/* ---- helpers -------------------------------------------------------------- */

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool existsf(const char *fmt, const char *a, const char *b)
{
    char path[4096];
    snprintf(path, sizeof path, fmt, a, b);
    return exists(path);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 16) - 1, fp);
    fclose(fp);
    return buf;
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789abcdef", *p))
            return false;
    return true;
}

/* A config with every field away from its default. */
static void sample_config(fn_config_t *c, const char *name)
{
    fn_config_init_defaults(c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->runtime, sizeof c->runtime, "python311");
    snprintf(c->handler, sizeof c->handler, "src/app.handler");
    json_object_set_new(c->env, "GREETING", json_string("hello world"));
    json_object_set_new(c->env, "EMPTY", json_string(""));
    json_object_set_new(c->env, "UNICODE", json_string("gr\xc3\xbc\xc3\x9f"));
    c->memory_mb = 512;
    c->timeout_s = 60;
    c->concurrency = 3;
    c->idle_timeout_s = 600;
    snprintf(c->code_sha256, sizeof c->code_sha256, "%s", HELLO_SHA);
    c->code_size = 5000000000LL; /* more than 32 bits */
    memset(c->task_key, 'a', 64);
    c->task_key[64] = '\0';
    c->version = 7;
    c->created_at = 1700000000123ULL;
    c->updated_at = 1700000000456ULL;
    snprintf(c->style, sizeof c->style, "glambdar");
    c->reuse = false;
    snprintf(c->network, sizeof c->network, "egress");
    json_array_append_new(c->egress_allow, json_string("10.0.0.0/8"));
    json_array_append_new(c->egress_allow, json_string("192.168.1.20:5432"));
}

/* What store_load_all handed to its callback, copied. */
typedef struct {
    int n;
    fn_config_t rows[8];
} loaded_t;

static void collect(const fn_config_t *c, void *arg)
{
    loaded_t *l = arg;
    if (l->n < 8)
        fn_config_copy(&l->rows[l->n], c);
    l->n++;
}

static void load(store_t *s, loaded_t *l)
{
    memset(l, 0, sizeof *l);
    assert_int_equal(store_load_all(s, collect, l), STORE_OK);
    assert_true(l->n <= 8);
}

static void loaded_clear(loaded_t *l)
{
    for (int i = 0; i < l->n && i < 8; i++)
        fn_config_clear(&l->rows[i]);
    l->n = 0;
}

static void assert_config_equal(const fn_config_t *a, const fn_config_t *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->runtime, b->runtime);
    assert_string_equal(a->handler, b->handler);
    assert_true(json_equal(a->env, b->env));
    assert_int_equal(a->memory_mb, b->memory_mb);
    assert_int_equal(a->timeout_s, b->timeout_s);
    assert_int_equal(a->concurrency, b->concurrency);
    assert_int_equal(a->idle_timeout_s, b->idle_timeout_s);
    assert_string_equal(a->code_sha256, b->code_sha256);
    assert_int_equal(a->code_size, b->code_size);
    assert_string_equal(a->task_key, b->task_key);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->updated_at, b->updated_at);
    assert_string_equal(a->style, b->style);
    assert_int_equal(a->reuse, b->reuse);
    assert_string_equal(a->isolation, b->isolation);
    assert_string_equal(a->network, b->network);
    assert_true(json_equal(a->egress_allow, b->egress_allow));
}

static void insert_sample(store_t *s, const char *name)
{
    fn_config_t c;
    sample_config(&c, name);
    assert_int_equal(store_insert(s, &c), STORE_OK);
    fn_config_clear(&c);
}

/* Inserts a row that refers to code blob sha and task dir key. */
static void insert_referring(store_t *s, const char *name, const char *sha, const char *key)
{
    fn_config_t c;
    sample_config(&c, name);
    snprintf(c.code_sha256, sizeof c.code_sha256, "%s", sha);
    snprintf(c.task_key, sizeof c.task_key, "%s", key);
    assert_int_equal(store_insert(s, &c), STORE_OK);
    fn_config_clear(&c);
}

/* ---- open --------------------------------------------------------------- */

static void test_open_creates_the_data_dir_layout(void **state)
{
    fixture_t *f = *state;
    assert_true(existsf("%s/%s", f->dir, "code"));
    assert_true(existsf("%s/%s", f->dir, "tasks"));
    assert_true(existsf("%s/%s", f->dir, "logs"));
    assert_true(existsf("%s/%s", f->dir, "impuls.db"));
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/tasks", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0711);
}

static void test_open_fails_on_a_file_in_the_way(void **state)
{
    fixture_t *f = *state;
    char path[4096];
    snprintf(path, sizeof path, "%s/notadir", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    char err[512] = "";
    store_t *s = store_open(path, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "cannot create"));
}

static void test_empty_store_loads_nothing(void **state)
{
    fixture_t *f = *state;
    loaded_t l;
    load(f->store, &l);
    assert_int_equal(l.n, 0);
}

/* ---- rows --------------------------------------------------------------- */

static void test_insert_then_load_round_trips_every_field(void **state)
{
    fixture_t *f = *state;
    fn_config_t c;
    sample_config(&c, "fn-a");
    snprintf(c.isolation, sizeof c.isolation, "microvm");
    assert_int_equal(store_insert(f->store, &c), STORE_OK);
    loaded_t l;
    load(f->store, &l);
    assert_int_equal(l.n, 1);
    assert_config_equal(&l.rows[0], &c);
    assert_int_equal(json_object_size(l.rows[0].env), 3);
    loaded_clear(&l);
    fn_config_clear(&c);
}

static void test_insert_with_empty_env_loads_an_empty_object(void **state)
{
    fixture_t *f = *state;
    fn_config_t c;
    sample_config(&c, "fn-a");
    json_object_clear(c.env);
    assert_int_equal(store_insert(f->store, &c), STORE_OK);
    loaded_t l;
    load(f->store, &l);
    assert_true(json_is_object(l.rows[0].env));
    assert_int_equal(json_object_size(l.rows[0].env), 0);
    loaded_clear(&l);
    fn_config_clear(&c);
}

static void test_load_all_orders_by_name(void **state)
{
    fixture_t *f = *state;
    insert_sample(f->store, "charlie");
    insert_sample(f->store, "alpha");
    insert_sample(f->store, "bravo");
    loaded_t l;
    load(f->store, &l);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.rows[0].name, "alpha");
    assert_string_equal(l.rows[1].name, "bravo");
    assert_string_equal(l.rows[2].name, "charlie");
    loaded_clear(&l);
}

static void test_insert_duplicate_name_is_exists(void **state)
{
    fixture_t *f = *state;
    insert_sample(f->store, "fn-a");
    fn_config_t c;
    sample_config(&c, "fn-a");
    c.memory_mb = 1024;
    assert_int_equal(store_insert(f->store, &c), STORE_EXISTS);
    fn_config_clear(&c);
    loaded_t l;
    load(f->store, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rows[0].memory_mb, 512); /* the first row is untouched */
    loaded_clear(&l);
}

static void test_update_changes_every_field_but_the_name(void **state)
{
    fixture_t *f = *state;
    insert_sample(f->store, "fn-a");
    insert_sample(f->store, "fn-b");
    fn_config_t c;
    fn_config_init_defaults(&c);
    snprintf(c.name, sizeof c.name, "fn-a");
    snprintf(c.runtime, sizeof c.runtime, "nodejs20");
    snprintf(c.handler, sizeof c.handler, "index.handler");
    json_object_set_new(c.env, "NEW", json_string("1"));
    c.memory_mb = 2048;
    c.timeout_s = 900;
    c.concurrency = 1000;
    c.idle_timeout_s = 86400;
    memset(c.code_sha256, 'b', 64);
    c.code_size = 1;
    memset(c.task_key, 'c', 64);
    c.version = 8;
    c.created_at = 1;
    c.updated_at = 2;
    assert_int_equal(store_update(f->store, &c), STORE_OK);
    loaded_t l;
    load(f->store, &l);
    assert_int_equal(l.n, 2);
    assert_config_equal(&l.rows[0], &c);
    fn_config_t other;
    sample_config(&other, "fn-b");
    assert_config_equal(&l.rows[1], &other); /* the other row is untouched */
    fn_config_clear(&other);
    loaded_clear(&l);
    fn_config_clear(&c);
}

static void test_update_missing_is_not_found(void **state)
{
    fixture_t *f = *state;
    insert_sample(f->store, "fn-a");
    fn_config_t c;
    sample_config(&c, "fn-missing");
    assert_int_equal(store_update(f->store, &c), STORE_NOT_FOUND);
    fn_config_clear(&c);
    loaded_t l;
    load(f->store, &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.rows[0].name, "fn-a");
    loaded_clear(&l);
}

static void test_delete_removes_the_row(void **state)
{
    fixture_t *f = *state;
    insert_sample(f->store, "fn-a");
    insert_sample(f->store, "fn-b");
    assert_int_equal(store_delete(f->store, "fn-a"), STORE_OK);
    loaded_t l;
    load(f->store, &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.rows[0].name, "fn-b");
    loaded_clear(&l);
}

static void test_delete_missing_is_not_found(void **state)
{
    fixture_t *f = *state;
    insert_sample(f->store, "fn-a");
    assert_int_equal(store_delete(f->store, "fn-b"), STORE_NOT_FOUND);
    assert_int_equal(store_delete(f->store, "fn-a"), STORE_OK);
    assert_int_equal(store_delete(f->store, "fn-a"), STORE_NOT_FOUND);
}

static void test_name_can_be_inserted_again_after_delete(void **state)
{
    fixture_t *f = *state;
    insert_sample(f->store, "fn-a");
    assert_int_equal(store_delete(f->store, "fn-a"), STORE_OK);
    insert_sample(f->store, "fn-a");
}

static void test_rows_survive_reopening_the_store(void **state)
{
    fixture_t *f = *state;
    insert_sample(f->store, "fn-a");
    insert_sample(f->store, "fn-b");
    assert_int_equal(store_delete(f->store, "fn-b"), STORE_OK);
    store_close(f->store);
    char err[256] = "";
    f->store = store_open(f->dir, err, sizeof err);
    assert_non_null(f->store);
    loaded_t l;
    load(f->store, &l);
    assert_int_equal(l.n, 1);
    fn_config_t c;
    sample_config(&c, "fn-a");
    assert_config_equal(&l.rows[0], &c);
    fn_config_clear(&c);
    loaded_clear(&l);
}

/* ---- blobs -------------------------------------------------------------- */

static void test_put_blob_returns_the_sha256_hex(void **state)
{
    fixture_t *f = *state;
    char sha[65];
    assert_int_equal(store_put_blob(f->store, "hello", 5, sha), STORE_OK);
    assert_string_equal(sha, HELLO_SHA);
    assert_true(existsf("%s/code/%s", f->dir, HELLO_SHA));
}

static void test_get_blob_returns_the_data(void **state)
{
    fixture_t *f = *state;
    const char data[] = "bin\0ary\xff data";
    char sha[65];
    assert_int_equal(store_put_blob(f->store, data, sizeof data - 1, sha), STORE_OK);
    size_t len = 0;
    char *got = store_get_blob(f->store, sha, &len);
    assert_non_null(got);
    assert_int_equal(len, sizeof data - 1);
    assert_memory_equal(got, data, len);
    free(got);
}

static void test_put_blob_twice_keeps_one_copy(void **state)
{
    fixture_t *f = *state;
    char a[65], b[65];
    assert_int_equal(store_put_blob(f->store, "hello", 5, a), STORE_OK);
    assert_int_equal(store_put_blob(f->store, "hello", 5, b), STORE_OK);
    assert_string_equal(a, b);
    size_t len = 0;
    char *got = store_get_blob(f->store, a, &len);
    assert_non_null(got);
    assert_int_equal(len, 5);
    free(got);
}

static void test_get_blob_missing_is_null(void **state)
{
    fixture_t *f = *state;
    size_t len = 1234;
    assert_null(store_get_blob(f->store, HELLO_SHA, &len));
}

/* ---- materialised code -------------------------------------------------- */

static void assert_task_file(fixture_t *f, const char *key, const char *file, const char *code)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tasks/%s/%s", f->dir, key, file);
    size_t len = 0;
    char *got = slurp(path, &len);
    if (!got)
        fail_msg("%s was not written", path);
    assert_int_equal(len, strlen(code));
    assert_memory_equal(got, code, len);
    free(got);
}

static void test_materialize_writes_the_code_file(void **state)
{
    fixture_t *f = *state;
    char key[65] = "";
    const char *code = "exports.handler = async () => 1;\n";
    assert_int_equal(store_materialize_inline(f->store, code, strlen(code), "index.js", key), STORE_OK);
    assert_true(is_hex64(key));
    assert_task_file(f, key, "index.js", code);
    char dir[4096], want[4096];
    store_task_dir(f->store, key, dir);
    snprintf(want, sizeof want, "%s/tasks/%s", f->dir, key);
    assert_string_equal(dir, want);
}

static void test_materialize_writes_into_a_subdirectory(void **state)
{
    fixture_t *f = *state;
    char key[65] = "";
    const char *code = "module.exports.handler = () => 2;";
    assert_int_equal(store_materialize_inline(f->store, code, strlen(code), "src/app.js", key),
                     STORE_OK);
    assert_task_file(f, key, "src/app.js", code);
}

static void test_materialize_leaves_no_temporary_files(void **state)
{
    fixture_t *f = *state;
    char key[65] = "";
    assert_int_equal(store_materialize_inline(f->store, "x", 1, "a/b/c.py", key), STORE_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s/tasks", f->dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    int entries = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            entries++;
            assert_string_equal(e->d_name, key);
        }
    closedir(d);
    assert_int_equal(entries, 1);
    snprintf(path, sizeof path, "%s/tasks/%s/a/b", f->dir, key);
    d = opendir(path);
    assert_non_null(d);
    entries = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            entries++;
            assert_string_equal(e->d_name, "c.py");
        }
    closedir(d);
    assert_int_equal(entries, 1);
}

static void test_materialize_same_code_and_file_gives_the_same_key(void **state)
{
    fixture_t *f = *state;
    char a[65] = "", b[65] = "";
    assert_int_equal(store_materialize_inline(f->store, "x = 1", 5, "main.py", a), STORE_OK);
    assert_int_equal(store_materialize_inline(f->store, "x = 1", 5, "main.py", b), STORE_OK);
    assert_string_equal(a, b);
    assert_task_file(f, b, "main.py", "x = 1");
}

static void test_materialize_other_file_name_gives_another_key(void **state)
{
    fixture_t *f = *state;
    char a[65] = "", b[65] = "";
    assert_int_equal(store_materialize_inline(f->store, "x = 1", 5, "main.py", a), STORE_OK);
    assert_int_equal(store_materialize_inline(f->store, "x = 1", 5, "app.py", b), STORE_OK);
    assert_string_not_equal(a, b);
    assert_task_file(f, a, "main.py", "x = 1");
    assert_task_file(f, b, "app.py", "x = 1");
}

static void test_materialize_other_code_gives_another_key(void **state)
{
    fixture_t *f = *state;
    char a[65] = "", b[65] = "";
    assert_int_equal(store_materialize_inline(f->store, "x = 1", 5, "main.py", a), STORE_OK);
    assert_int_equal(store_materialize_inline(f->store, "x = 2", 5, "main.py", b), STORE_OK);
    assert_string_not_equal(a, b);
    assert_task_file(f, b, "main.py", "x = 2");
}

/* keysrc in store_materialize_inline is 4096 bytes, but the length
 * snprintf would have written is passed on to sha256_hex unchecked: a file
 * name past ~4 KiB reads beyond the stack buffer, and a long one runs off
 * the stack (SIGSEGV). The call runs in a child so a crash fails only this
 * test. */
static void test_materialize_refuses_an_over_long_file_name(void **state)
{
    fixture_t *f = *state;
    size_t n = (size_t)16 << 20;
    char *name = malloc(n + 1);
    assert_non_null(name);
    memset(name, 'n', n);
    name[n] = '\0';
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Die of the signal: cmocka's handler would carry on with the tests. */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        char key[65] = "";
        _exit(store_materialize_inline(f->store, "x", 1, name, key) == STORE_ERR ? 0 : 1);
    }
    free(name);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("store_materialize_inline died of signal %d", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- gc ------------------------------------------------------------------- */

/* Puts code and materialises it as index.js; returns its sha and key. */
static void put_code(fixture_t *f, const char *code, char sha[65], char key[65])
{
    assert_int_equal(store_put_blob(f->store, code, strlen(code), sha), STORE_OK);
    assert_int_equal(store_materialize_inline(f->store, code, strlen(code), "index.js", key), STORE_OK);
}

static void test_gc_keeps_code_a_row_refers_to(void **state)
{
    fixture_t *f = *state;
    char sha[65], key[65];
    put_code(f, "hello", sha, key);
    insert_referring(f->store, "fn-a", sha, key);
    store_gc_code(f->store, sha, key);
    assert_true(existsf("%s/code/%s", f->dir, sha));
    assert_true(existsf("%s/tasks/%s", f->dir, key));
}

static void test_gc_removes_code_no_row_refers_to(void **state)
{
    fixture_t *f = *state;
    char sha[65], key[65];
    put_code(f, "hello", sha, key);
    insert_referring(f->store, "fn-a", sha, key);
    assert_int_equal(store_delete(f->store, "fn-a"), STORE_OK);
    store_gc_code(f->store, sha, key);
    assert_false(existsf("%s/code/%s", f->dir, sha));
    assert_false(existsf("%s/tasks/%s", f->dir, key));
}

static void test_gc_keeps_code_shared_with_another_row(void **state)
{
    fixture_t *f = *state;
    char sha[65], key[65];
    put_code(f, "hello", sha, key);
    insert_referring(f->store, "fn-a", sha, key);
    insert_referring(f->store, "fn-b", sha, key);
    assert_int_equal(store_delete(f->store, "fn-a"), STORE_OK);
    store_gc_code(f->store, sha, key);
    assert_true(existsf("%s/code/%s", f->dir, sha));
    assert_true(existsf("%s/tasks/%s", f->dir, key));
}

/* A row that keeps the blob but moved to another task dir (new handler). */
static void test_gc_checks_blob_and_task_dir_separately(void **state)
{
    fixture_t *f = *state;
    char sha[65], old_key[65], new_key[65];
    put_code(f, "hello", sha, old_key);
    assert_int_equal(store_materialize_inline(f->store, "hello", 5, "app.js", new_key), STORE_OK);
    insert_referring(f->store, "fn-a", sha, new_key);
    store_gc_code(f->store, sha, old_key);
    assert_true(existsf("%s/code/%s", f->dir, sha));
    assert_false(existsf("%s/tasks/%s", f->dir, old_key));
    assert_true(existsf("%s/tasks/%s", f->dir, new_key));
}

static void test_gc_of_empty_names_removes_nothing(void **state)
{
    fixture_t *f = *state;
    char sha[65], key[65];
    put_code(f, "hello", sha, key);
    store_gc_code(f->store, "", "");
    assert_true(existsf("%s/code/%s", f->dir, sha));
    assert_true(existsf("%s/tasks/%s", f->dir, key));
    assert_true(existsf("%s/%s", f->dir, "tasks"));
}

/* ---- function.c ---------------------------------------------------------- */

static void test_config_defaults(void **state)
{
    (void)state;
    fn_config_t c;
    memset(&c, 0x5a, sizeof c);
    fn_config_init_defaults(&c);
    assert_string_equal(c.name, "");
    assert_true(json_is_object(c.env));
    assert_int_equal(json_object_size(c.env), 0);
    assert_int_equal(c.memory_mb, 128);
    assert_int_equal(c.timeout_s, 30);
    assert_int_equal(c.concurrency, 10);
    assert_int_equal(c.idle_timeout_s, 300);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.code_size, 0);
    assert_int_equal(c.created_at, 0);
    fn_config_clear(&c);
    assert_null(c.env);
}

static void test_config_copy_is_deep(void **state)
{
    (void)state;
    fn_config_t a, b;
    sample_config(&a, "fn-a");
    fn_config_copy(&b, &a);
    assert_config_equal(&a, &b);
    assert_ptr_not_equal(a.env, b.env);
    json_object_set_new(b.env, "ONLY_IN_COPY", json_string("1"));
    assert_null(json_object_get(a.env, "ONLY_IN_COPY"));
    fn_config_clear(&a);
    fn_config_clear(&b);
}

/* fn_config_copy passes a fresh json_object() to json_deep_copy and never
 * releases it: LeakSanitizer reports it at exit. */
static void test_config_copy_of_null_env_gives_empty_object(void **state)
{
    (void)state;
    fn_config_t a, b;
    sample_config(&a, "fn-a");
    fn_config_clear(&a);
    fn_config_copy(&b, &a);
    assert_true(json_is_object(b.env));
    assert_int_equal(json_object_size(b.env), 0);
    fn_config_clear(&b);
}

static void test_config_to_json_is_the_public_view(void **state)
{
    (void)state;
    fn_config_t c;
    sample_config(&c, "fn-a");
    json_t *j = fn_config_to_json(&c);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "fn-a");
    assert_string_equal(json_string_value(json_object_get(j, "runtime")), "python311");
    assert_string_equal(json_string_value(json_object_get(j, "handler")), "src/app.handler");
    assert_true(json_equal(json_object_get(j, "env"), c.env));
    assert_int_equal(json_integer_value(json_object_get(j, "memory_mb")), 512);
    assert_int_equal(json_integer_value(json_object_get(j, "timeout_s")), 60);
    assert_int_equal(json_integer_value(json_object_get(j, "concurrency")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "idle_timeout_s")), 600);
    assert_string_equal(json_string_value(json_object_get(j, "code_sha256")), HELLO_SHA);
    assert_int_equal(json_integer_value(json_object_get(j, "code_size")), 5000000000LL);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 7);
    assert_string_equal(json_string_value(json_object_get(j, "created_at")), "2023-11-14T22:13:20.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "updated_at")), "2023-11-14T22:13:20.456Z");
    assert_string_equal(json_string_value(json_object_get(j, "network")), "egress");
    assert_true(json_equal(json_object_get(j, "egress_allow"), c.egress_allow));
    assert_string_equal(json_string_value(json_object_get(j, "code_kind")), "inline");
    assert_string_equal(json_string_value(json_object_get(j, "style")), "glambdar");
    assert_true(json_is_false(json_object_get(j, "reuse")));
    assert_null(json_object_get(j, "task_key"));
    assert_null(json_object_get(j, "code"));
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "handler");
    assert_true(json_is_null(json_object_get(j, "command")));
    assert_true(json_is_null(json_object_get(j, "version_label")));
    assert_string_equal(json_string_value(json_object_get(j, "description")), "");
    assert_string_equal(json_string_value(json_object_get(j, "isolation")), "namespace");
    assert_string_equal(json_string_value(json_object_get(j, "auth")), "none");
    assert_int_equal(json_object_size(j), 24);
    json_decref(j);
    fn_config_clear(&c);
}


/* ---- versions: store_find_version ------------------------------------------ */

/* Saves version v of "fn" with a label ("" for none) and a task key naming it. */
static void add_version(store_t *s, int v, const char *label)
{
    fn_config_t c;
    sample_config(&c, "fn");
    c.version = v;
    snprintf(c.version_label, sizeof c.version_label, "%s", label);
    snprintf(c.task_key, sizeof c.task_key, "task-of-%d", v);
    assert_int_equal(store_add_version(s, &c), STORE_OK);
    fn_config_clear(&c);
}

/* Finds `which` of "fn": the version number found, or 0 for STORE_NOT_FOUND. */
static int find(store_t *s, const char *name, const char *which)
{
    fn_config_t c;
    memset(&c, 0, sizeof c);
    int rc = store_find_version(s, name, which, &c);
    if (rc == STORE_NOT_FOUND) {
        fn_config_clear(&c);
        return 0;
    }
    assert_int_equal(rc, STORE_OK);
    char key[64];
    snprintf(key, sizeof key, "task-of-%d", c.version);
    assert_string_equal(c.task_key, key);
    int v = c.version;
    fn_config_clear(&c);
    return v;
}

static void test_find_version_by_label_and_number(void **state)
{
    fixture_t *f = *state;
    add_version(f->store, 1, "");
    add_version(f->store, 2, "1.0.0");
    add_version(f->store, 3, "v3");
    assert_int_equal(find(f->store, "fn", "1.0.0"), 2);
    assert_int_equal(find(f->store, "fn", "v3"), 3);
    assert_int_equal(find(f->store, "fn", "1"), 1);
    assert_int_equal(find(f->store, "fn", "3"), 3);
    assert_int_equal(find(f->store, "fn", "03"), 3); /* all digits: the number */
    /* "1.0.0" is a label, never the number 1; nor are other texts numbers. */
    assert_int_equal(find(f->store, "fn", "1.0"), 0);
    assert_int_equal(find(f->store, "fn", "1x"), 0);
    assert_int_equal(find(f->store, "fn", " 1"), 0);
    assert_int_equal(find(f->store, "fn", "-1"), 0);
    assert_int_equal(find(f->store, "fn", "+1"), 0);
    assert_int_equal(find(f->store, "fn", ""), 0);
    assert_int_equal(find(f->store, "fn", "4"), 0);
    assert_int_equal(find(f->store, "fn", "4294967297"), 0); /* not wrapped to 1 */
    assert_int_equal(find(f->store, "fn", "V3"), 0);          /* labels are exact */
    assert_int_equal(find(f->store, "fn", "' OR 1=1 --"), 0);
    assert_int_equal(find(f->store, "other", "1"), 0);
    assert_int_equal(find(f->store, "other", "1.0.0"), 0);
    assert_int_equal(find(f->store, "FN", "1"), 0);
}

static void test_find_version_label_wins_over_a_number(void **state)
{
    fixture_t *f = *state;
    add_version(f->store, 1, "");
    add_version(f->store, 2, "");
    add_version(f->store, 5, "1"); /* the API refuses all-digit labels; the store still prefers the label */
    assert_int_equal(find(f->store, "fn", "1"), 5);
    assert_int_equal(find(f->store, "fn", "2"), 2);
}

static void test_find_version_same_label_gives_the_newest(void **state)
{
    fixture_t *f = *state;
    add_version(f->store, 1, "stable");
    add_version(f->store, 2, "stable");
    add_version(f->store, 3, "");
    assert_int_equal(find(f->store, "fn", "stable"), 2);
}

static void test_find_version_returns_the_stored_config(void **state)
{
    fixture_t *f = *state;
    fn_config_t c;
    sample_config(&c, "fn");
    snprintf(c.version_label, sizeof c.version_label, "1.0.0");
    snprintf(c.mode, sizeof c.mode, "http");
    c.command = json_pack("[s, s, s]", "python3", "server.py", "hi there");
    assert_int_equal(store_add_version(f->store, &c), STORE_OK);
    fn_config_t got;
    memset(&got, 0, sizeof got);
    assert_int_equal(store_find_version(f->store, "fn", "1.0.0", &got), STORE_OK);
    assert_string_equal(got.name, "fn");
    assert_string_equal(got.runtime, "python311");
    assert_string_equal(got.handler, "src/app.handler");
    assert_true(json_equal(got.env, c.env));
    assert_true(json_equal(got.command, c.command));
    assert_string_equal(got.mode, "http");
    assert_string_equal(got.version_label, "1.0.0");
    assert_string_equal(got.task_key, c.task_key);
    assert_string_equal(got.code_sha256, HELLO_SHA);
    assert_int_equal(got.code_size, 5000000000LL);
    assert_int_equal(got.version, 7);
    assert_int_equal(got.memory_mb, 512);
    fn_config_clear(&got);
    fn_config_clear(&c);
}

/* ---- fn_config_from_json ---------------------------------------------------- */

static void test_config_from_json_round_trips_the_public_view(void **state)
{
    (void)state;
    fn_config_t c;
    sample_config(&c, "fn-a");
    snprintf(c.mode, sizeof c.mode, "http");
    snprintf(c.isolation, sizeof c.isolation, "microvm");
    snprintf(c.version_label, sizeof c.version_label, "1.0.0+build.5");
    c.command = json_pack("[s, s, s, s]", "python3", "server.py", "--greeting", "hi there");
    json_t *j = fn_config_to_json(&c);
    assert_true(json_equal(json_object_get(j, "command"), c.command));
    assert_string_equal(json_string_value(json_object_get(j, "version_label")), "1.0.0+build.5");
    fn_config_t back;
    assert_int_equal(fn_config_from_json(j, &back), 0);
    assert_string_equal(back.name, c.name);
    assert_string_equal(back.runtime, c.runtime);
    assert_string_equal(back.handler, c.handler);
    assert_true(json_equal(back.env, c.env));
    assert_true(json_equal(back.command, c.command));
    assert_true(back.command != c.command); /* a copy */
    assert_int_equal(back.memory_mb, c.memory_mb);
    assert_int_equal(back.timeout_s, c.timeout_s);
    assert_int_equal(back.concurrency, c.concurrency);
    assert_int_equal(back.idle_timeout_s, c.idle_timeout_s);
    assert_string_equal(back.mode, "http");
    assert_string_equal(back.isolation, "microvm");
    assert_string_equal(back.network, "egress");
    assert_true(json_equal(back.egress_allow, c.egress_allow));
    assert_true(back.egress_allow != c.egress_allow); /* a copy */
    assert_string_equal(back.style, "glambdar");
    assert_false(back.reuse);
    assert_string_equal(back.code_sha256, c.code_sha256);
    assert_int_equal(back.code_size, c.code_size);
    assert_int_equal(back.version, c.version);
    assert_string_equal(back.version_label, "1.0.0+build.5");
    assert_string_equal(back.task_key, ""); /* not part of the view */
    /* And the view of the copy is the same view. */
    json_t *j2 = fn_config_to_json(&back);
    json_object_del(j, "created_at");
    json_object_del(j, "updated_at");
    json_object_del(j2, "created_at");
    json_object_del(j2, "updated_at");
    assert_true(json_equal(j, j2));
    json_decref(j2);
    fn_config_clear(&back);
    json_decref(j);
    fn_config_clear(&c);
}

static void test_config_from_json_without_command_and_label(void **state)
{
    (void)state;
    fn_config_t c;
    sample_config(&c, "fn-b");
    json_t *j = fn_config_to_json(&c);
    assert_true(json_is_null(json_object_get(j, "command")));
    fn_config_t back;
    assert_int_equal(fn_config_from_json(j, &back), 0);
    assert_null(back.command);
    assert_string_equal(back.version_label, "");
    assert_string_equal(back.mode, "handler");
    assert_string_equal(back.isolation, "namespace");
    fn_config_clear(&back);
    json_decref(j);
    fn_config_clear(&c);
}

static void test_config_from_json_refuses_incomplete_views(void **state)
{
    (void)state;
    const char *bad[] = {
        "[]",
        "{}",
        "{\"name\": \"a\", \"runtime\": \"nodejs20\"}",
        "{\"name\": 1, \"runtime\": \"nodejs20\", \"handler\": \"index.handler\"}",
        /* no integers: below every minimum */
        "{\"name\": \"a\", \"runtime\": \"nodejs20\", \"handler\": \"index.handler\"}",
        "{\"name\": \"a\", \"runtime\": \"nodejs20\", \"handler\": \"h\", \"memory_mb\": 128, \"timeout_s\": 30,"
        " \"concurrency\": 10, \"idle_timeout_s\": 300, \"version\": 0}",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        fn_config_t c;
        if (fn_config_from_json(j, &c) != -1)
            fail_msg("accepted: %s", bad[i]);
        fn_config_clear(&c);
        json_decref(j);
    }
    json_t *ok = json_loads("{\"name\": \"a\", \"runtime\": \"nodejs20\", \"handler\": \"h\", \"memory_mb\": 128,"
                            " \"timeout_s\": 30, \"concurrency\": 10, \"idle_timeout_s\": 300, \"version\": 1,"
                            " \"command\": \"not an array\"}", 0, NULL);
    fn_config_t c;
    assert_int_equal(fn_config_from_json(ok, &c), 0);
    assert_null(c.command);
    assert_string_equal(c.style, "lambda");
    assert_true(c.reuse);
    fn_config_clear(&c);
    json_decref(ok);
}

/* A data dir made before the style and reuse columns existed opens, keeps its
 * rows, and reads them with the defaults. */
static void test_old_schema_is_migrated(void **state)
{
    (void)state;
    char dir[] = "/tmp/impuls-test-migrate-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/impuls.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "CREATE TABLE functions (name TEXT PRIMARY KEY, runtime TEXT NOT NULL, handler TEXT NOT NULL,"
        " env TEXT NOT NULL, memory_mb INTEGER NOT NULL, timeout_s INTEGER NOT NULL,"
        " concurrency INTEGER NOT NULL, idle_timeout_s INTEGER NOT NULL, code_sha256 TEXT NOT NULL,"
        " code_size INTEGER NOT NULL, task_key TEXT NOT NULL, version INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
        "INSERT INTO functions VALUES ('old','nodejs20','index.handler','{}',128,30,10,300,'s',1,'t',3,1,2);",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char err[256] = "";
    store_t *s = store_open(dir, err, sizeof err);
    assert_non_null(s);
    loaded_t l = {0};
    assert_int_equal(store_load_all(s, collect, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.rows[0].name, "old");
    assert_string_equal(l.rows[0].style, "lambda");
    assert_true(l.rows[0].reuse);
    assert_string_equal(l.rows[0].isolation, "namespace"); /* what it ran with before */
    assert_int_equal(l.rows[0].version, 3);
    loaded_clear(&l);
    store_close(s);
    rm_rf(dir);
}

/* ---- kept Event invocations (events.h) --------------------------------- */

typedef struct {
    char ids[4][40], functions[4][16], events[4][32];
    int attempts[4], hops[4];
    int n;
} seen_events_t;

static void see_event(const store_event_t *e, void *arg)
{
    seen_events_t *s = arg;
    assert_true(s->n < 4);
    snprintf(s->ids[s->n], sizeof s->ids[s->n], "%s", e->id);
    snprintf(s->functions[s->n], sizeof s->functions[s->n], "%s", e->function);
    snprintf(s->events[s->n], sizeof s->events[s->n], "%.*s", (int)e->len, (const char *)e->event);
    s->attempts[s->n] = e->attempts;
    s->hops[s->n] = e->hops;
    s->n++;
}

static int add_event(store_t *s, const char *id, const char *function, const char *event, uint64_t at, int hops)
{
    store_event_t e = {.id = id, .function = function, .event = event, .len = strlen(event), .accepted_at = at,
                       .hops = hops};
    return store_event_add(s, &e);
}

static void test_events_are_kept_until_removed_and_come_back_oldest_first(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(store_events_count(f->store), 0);
    assert_int_equal(add_event(f->store, "b-id", "fn-b", "{\"n\": 2}", 2000, 0), STORE_OK);
    assert_int_equal(add_event(f->store, "a-id", "fn-a", "{\"n\": 1}", 1000, 0), STORE_OK);
    assert_int_equal(add_event(f->store, "c-id", "fn-a", "", 3000, 3), STORE_OK);
    assert_int_equal(add_event(f->store, "a-id", "fn-a", "x", 4000, 0), STORE_ERR); /* one row per id */
    int count;
    uint64_t oldest;
    assert_int_equal(store_events_of(f->store, "fn-a", &count, &oldest), STORE_OK);
    assert_int_equal(count, 2);
    assert_int_equal(oldest, 1000);
    assert_int_equal(store_events_of(f->store, "fn-z", &count, &oldest), STORE_OK);
    assert_int_equal(count, 0);
    assert_int_equal(oldest, 0);
    assert_int_equal(store_event_attempted(f->store, "b-id", 2), STORE_OK);
    assert_int_equal(store_event_attempted(f->store, "nope", 1), STORE_NOT_FOUND);
    assert_int_equal(store_events_count(f->store), 3);
    seen_events_t seen = {.n = 0};
    assert_int_equal(store_events_load(f->store, see_event, &seen), STORE_OK);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.ids[0], "a-id");
    assert_string_equal(seen.events[0], "{\"n\": 1}");
    assert_string_equal(seen.ids[1], "b-id");
    assert_string_equal(seen.functions[1], "fn-b");
    assert_int_equal(seen.attempts[1], 2);
    assert_string_equal(seen.ids[2], "c-id");
    assert_string_equal(seen.events[2], "");
    assert_int_equal(seen.hops[2], 3);
    assert_int_equal(seen.hops[0], 0);
    assert_int_equal(store_event_remove(f->store, "a-id"), STORE_OK);
    assert_int_equal(store_event_remove(f->store, "a-id"), STORE_NOT_FOUND);
    assert_int_equal(store_events_count(f->store), 2);
    /* They survive a reopen (the daemon's restart). */
    store_close(f->store);
    char err[256];
    f->store = store_open(f->dir, err, sizeof err);
    assert_non_null(f->store);
    assert_int_equal(store_events_count(f->store), 2);
}

/* ---- event invoke configs and dead letters ------------------------------ */

static void test_an_event_config_keeps_what_is_set_and_goes_with_its_function(void **state)
{
    fixture_t *f = *state;
    event_config_t c;
    assert_int_equal(store_event_config_get(f->store, "fn", &c), STORE_NOT_FOUND);
    assert_int_equal(c.max_retry_attempts, -1);
    assert_int_equal(event_config_retries(&c), 2);
    assert_int_equal(event_config_age_s(&c), 21600);
    c.max_retry_attempts = 0;
    snprintf(c.on_failure, sizeof c.on_failure, "sink");
    c.updated_at = 1234;
    assert_int_equal(store_event_config_put(f->store, "fn", &c), STORE_OK);
    event_config_t got;
    assert_int_equal(store_event_config_get(f->store, "fn", &got), STORE_OK);
    assert_int_equal(got.max_retry_attempts, 0);
    assert_int_equal(got.max_event_age_s, -1); /* not set stays not set */
    assert_int_equal(event_config_retries(&got), 0);
    assert_string_equal(got.on_failure, "sink");
    assert_string_equal(got.on_success, "");
    assert_int_equal(got.updated_at, 1234);
    /* Read again (from the store's cache), then changed: the cache follows. */
    assert_int_equal(store_event_config_get(f->store, "fn", &got), STORE_OK);
    got.max_retry_attempts = 1;
    assert_int_equal(store_event_config_put(f->store, "fn", &got), STORE_OK);
    assert_int_equal(store_event_config_get(f->store, "fn", &got), STORE_OK);
    assert_int_equal(got.max_retry_attempts, 1);
    assert_int_equal(store_event_config_delete(f->store, "fn"), STORE_OK);
    assert_int_equal(store_event_config_get(f->store, "fn", &got), STORE_NOT_FOUND);
    assert_int_equal(got.max_retry_attempts, -1);
    assert_int_equal(store_event_config_delete(f->store, "fn"), STORE_NOT_FOUND);
    /* A function's delete takes its config (cached too) and letters with it. */
    assert_int_equal(store_event_config_put(f->store, "x", &c), STORE_OK);
    assert_int_equal(store_event_config_get(f->store, "x", &got), STORE_OK);
    insert_sample(f->store, "x");
    dead_letter_t l = {.id = "l-1", .event = "{}", .event_len = 2, .condition = "RetriesExhausted", .error = "{}"};
    assert_int_equal(store_dead_letter_add(f->store, "x", &l, 10), STORE_OK);
    assert_int_equal(store_delete(f->store, "x"), STORE_OK);
    assert_int_equal(store_event_config_get(f->store, "x", &got), STORE_NOT_FOUND);
    assert_int_equal(store_dead_letters_remove(f->store, "x", NULL), STORE_NOT_FOUND);
}

/* ---- schedules -------------------------------------------------------- */

static void count_schedule(const schedule_t *sc, void *arg)
{
    char *ids = arg;
    strcat(ids, sc->id);
    strcat(ids, sc->input ? "+," : ",");
}

static void test_schedules_are_bounded_fired_atomically_and_go_with_their_function(void **state)
{
    fixture_t *f = *state;
    insert_sample(f->store, "fn");
    schedule_t sc = {.function = "fn", .expression = "rate(1 minute)", .enabled = true, .created_at = 1000,
                     .updated_at = 1000, .next_at = 61000};
    bool created = false;
    for (int i = 0; i < SCHEDULES_PER_FUNCTION; i++) {
        snprintf(sc.id, sizeof sc.id, "s%03d", i);
        sc.input = i == 1 ? "{\"k\":1}" : NULL;
        assert_int_equal(store_schedule_put(f->store, &sc, &created), STORE_OK);
        assert_true(created);
    }
    snprintf(sc.id, sizeof sc.id, "one-more");
    assert_int_equal(store_schedule_put(f->store, &sc, &created), STORE_REFUSED);
    snprintf(sc.id, sizeof sc.id, "s000"); /* a replace is no new one */
    sc.input = NULL;
    assert_int_equal(store_schedule_put(f->store, &sc, &created), STORE_OK);
    assert_false(created);
    char ids[2048] = "";
    assert_int_equal(store_schedules_each(f->store, "fn", count_schedule, ids), STORE_OK);
    assert_int_equal(strncmp(ids, "s000,s001+,s002,", 16), 0);
    /* A firing: the event kept and the times moved, together. */
    store_event_t ev = {.id = "ev-1", .function = "fn", .event = "{}", .len = 2, .accepted_at = 5};
    assert_int_equal(store_schedule_fired(f->store, "fn", "s001", 61000, 121000, &ev), STORE_OK);
    schedule_t got;
    assert_int_equal(store_schedule_get(f->store, "fn", "s001", &got), STORE_OK);
    assert_int_equal(got.last_fired_at, 61000);
    assert_int_equal(got.next_at, 121000);
    assert_string_equal(got.input, "{\"k\":1}");
    free(got.input);
    assert_int_equal(store_events_count(f->store), 1);
    /* A schedule gone: no firing, and no event kept either. */
    ev.id = "ev-2";
    assert_int_equal(store_schedule_fired(f->store, "fn", "nope", 61000, 121000, &ev), STORE_NOT_FOUND);
    assert_int_equal(store_events_count(f->store), 1);
    /* The same event id twice: the insert fails, the schedule keeps its times. */
    ev.id = "ev-1";
    assert_int_equal(store_schedule_fired(f->store, "fn", "s002", 61000, 121000, &ev), STORE_ERR);
    assert_int_equal(store_schedule_get(f->store, "fn", "s002", &got), STORE_OK);
    assert_int_equal(got.next_at, 61000);
    assert_int_equal(got.last_fired_at, 0);
    free(got.input);
    assert_int_equal(store_schedule_delete(f->store, "fn", "s002"), STORE_OK);
    assert_int_equal(store_schedule_delete(f->store, "fn", "s002"), STORE_NOT_FOUND);
    assert_int_equal(store_delete(f->store, "fn"), STORE_OK);
    ids[0] = '\0';
    assert_int_equal(store_schedules_each(f->store, NULL, count_schedule, ids), STORE_OK);
    assert_string_equal(ids, "");
}

static void count_letter(const dead_letter_t *l, void *arg)
{
    char *ids = arg;
    strcat(ids, l->id);
    strcat(ids, l->event_len == 1 && l->status == 200 && l->attempts == 3 ? "," : "?,");
}

static void test_dead_letters_are_bounded_oldest_dropped_and_counted(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 5; i++) {
        dead_letter_t l = {.event = "e", .event_len = 1, .condition = "RetriesExhausted", .error = "{\"errorType\":\"E\"}",
                           .status = 200, .attempts = 3, .accepted_at = 100, .failed_at = 1000 + (uint64_t)i};
        snprintf(l.id, sizeof l.id, "id-%d", i);
        assert_int_equal(store_dead_letter_add(f->store, "fn", &l, 3), STORE_OK);
    }
    char ids[256] = "";
    assert_int_equal(store_dead_letters_each(f->store, "fn", NULL, count_letter, ids), STORE_OK);
    assert_string_equal(ids, "id-2,id-3,id-4,");
    assert_int_equal(store_dead_letters_dropped(f->store, "fn"), 2);
    assert_int_equal(store_dead_letters_dropped(f->store, "other"), 0);
    ids[0] = '\0';
    assert_int_equal(store_dead_letters_each(f->store, "fn", "id-3", count_letter, ids), STORE_OK);
    assert_string_equal(ids, "id-3,");
    assert_int_equal(store_dead_letters_each(f->store, "fn", "id-0", count_letter, ids), STORE_NOT_FOUND);
    assert_int_equal(store_dead_letters_each(f->store, "other", "id-3", count_letter, ids), STORE_NOT_FOUND);
    assert_int_equal(store_dead_letters_remove(f->store, "other", "id-3"), STORE_NOT_FOUND);
    assert_int_equal(store_dead_letters_remove(f->store, "fn", "id-3"), STORE_OK);
    assert_int_equal(store_dead_letters_remove(f->store, "fn", NULL), STORE_OK);
    assert_int_equal(store_dead_letters_remove(f->store, "fn", NULL), STORE_NOT_FOUND);
    assert_int_equal(store_dead_letters_dropped(f->store, "fn"), 2); /* the count stays */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_events_are_kept_until_removed_and_come_back_oldest_first),
        STORE_TEST(test_an_event_config_keeps_what_is_set_and_goes_with_its_function),
        STORE_TEST(test_schedules_are_bounded_fired_atomically_and_go_with_their_function),
        STORE_TEST(test_dead_letters_are_bounded_oldest_dropped_and_counted),
        cmocka_unit_test(test_old_schema_is_migrated),
        /* open */
        STORE_TEST(test_open_creates_the_data_dir_layout),
        STORE_TEST(test_open_fails_on_a_file_in_the_way),
        STORE_TEST(test_empty_store_loads_nothing),
        /* rows */
        STORE_TEST(test_insert_then_load_round_trips_every_field),
        STORE_TEST(test_insert_with_empty_env_loads_an_empty_object),
        STORE_TEST(test_load_all_orders_by_name),
        STORE_TEST(test_insert_duplicate_name_is_exists),
        STORE_TEST(test_update_changes_every_field_but_the_name),
        STORE_TEST(test_update_missing_is_not_found),
        STORE_TEST(test_delete_removes_the_row),
        STORE_TEST(test_delete_missing_is_not_found),
        STORE_TEST(test_name_can_be_inserted_again_after_delete),
        STORE_TEST(test_rows_survive_reopening_the_store),
        /* blobs */
        STORE_TEST(test_put_blob_returns_the_sha256_hex),
        STORE_TEST(test_get_blob_returns_the_data),
        STORE_TEST(test_put_blob_twice_keeps_one_copy),
        STORE_TEST(test_get_blob_missing_is_null),
        /* materialised code */
        STORE_TEST(test_materialize_writes_the_code_file),
        STORE_TEST(test_materialize_writes_into_a_subdirectory),
        STORE_TEST(test_materialize_leaves_no_temporary_files),
        STORE_TEST(test_materialize_same_code_and_file_gives_the_same_key),
        STORE_TEST(test_materialize_other_file_name_gives_another_key),
        STORE_TEST(test_materialize_other_code_gives_another_key),
        STORE_TEST(test_materialize_refuses_an_over_long_file_name),
        /* gc */
        STORE_TEST(test_gc_keeps_code_a_row_refers_to),
        STORE_TEST(test_gc_removes_code_no_row_refers_to),
        STORE_TEST(test_gc_keeps_code_shared_with_another_row),
        STORE_TEST(test_gc_checks_blob_and_task_dir_separately),
        STORE_TEST(test_gc_of_empty_names_removes_nothing),
        /* function.c */
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_copy_is_deep),
        cmocka_unit_test(test_config_copy_of_null_env_gives_empty_object),
        cmocka_unit_test(test_config_to_json_is_the_public_view),
        cmocka_unit_test(test_config_from_json_round_trips_the_public_view),
        cmocka_unit_test(test_config_from_json_without_command_and_label),
        cmocka_unit_test(test_config_from_json_refuses_incomplete_views),
        /* versions */
        STORE_TEST(test_find_version_by_label_and_number),
        STORE_TEST(test_find_version_label_wins_over_a_number),
        STORE_TEST(test_find_version_same_label_gives_the_newest),
        STORE_TEST(test_find_version_returns_the_stored_config),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
