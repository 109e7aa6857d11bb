/* cgroup.c on both hierarchies: v2 against a directory laid out like a
 * cgroup2 mount (the file protocol), v1 against this machine's real
 * controllers when it has them (the kernel accepts and enforces the values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "util/util.h"

static char *slurp(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *s = read_file(path, 4096, NULL);
    if (s) {
        size_t n = strlen(s);
        while (n && s[n - 1] == '\n')
            s[--n] = '\0';
    }
    return s;
}

static void put(const char *dir, const char *file, const char *content)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void assert_file(const char *dir, const char *file, const char *want)
{
    char *got = slurp(dir, file);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void v2_layout_limits_and_counters(void **state)
{
    char root[] = "/tmp/impuls-cgv2-XXXXXX";
    assert_non_null(mkdtemp(root));
    put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    char err[256];
    assert_int_equal(cgroup_init(root, "impuls/d-test", CG_NONE, err, sizeof err), CG_V2);
    assert_string_equal(cgroup_version_name(cgroup_version()), "v2");
    /* Controllers are enabled at every level down to the parent. */
    assert_file(root, "cgroup.subtree_control", "+memory +pids +cpu");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/impuls", root);
    assert_file(dir, "cgroup.subtree_control", "+memory +pids +cpu");
    snprintf(dir, sizeof dir, "%s/impuls/d-test", root);
    assert_file(dir, "cgroup.subtree_control", "+memory +pids +cpu");

    cgroup_t cg;
    assert_int_equal(cgroup_create(&cg, "i-7", 128, 256, 12), 0);
    snprintf(dir, sizeof dir, "%s/impuls/d-test/i-7", root);
    assert_file(dir, "memory.max", "134217728");
    assert_file(dir, "memory.swap.max", "0");
    assert_file(dir, "pids.max", "256");
    assert_file(dir, "cpu.weight", "12");
    assert_int_equal(cgroup_attach(&cg, 4242), 0);
    assert_file(dir, "cgroup.procs", "4242");
    put(dir, "memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\noom_group_kill 0\n");
    assert_int_equal(cgroup_oom_kills(&cg), 2);
    put(dir, "memory.peak", "52428800\n");
    assert_int_equal(cgroup_peak_bytes(&cg), 52428800);
    assert_int_equal(cgroup_count(), 1);
    rm_rf(root);
}

static void v2_without_memory_controller_is_refused(void **state)
{
    char root[] = "/tmp/impuls-cgv2-XXXXXX";
    assert_non_null(mkdtemp(root));
    put(root, "cgroup.controllers", "cpu io\n");
    char err[256] = "";
    /* Neither a usable v2 (no memory) nor v1 (no memory hierarchy) here. */
    assert_int_equal(cgroup_init(root, "impuls/d-test", CG_NONE, err, sizeof err), CG_NONE);
    assert_non_null(strstr(err, "no usable cgroup hierarchy under"));
    rm_rf(root);
}

static int v1_available(void) { return access("/sys/fs/cgroup/memory/memory.limit_in_bytes", W_OK) == 0; }

static void v1_real_limits_enforced_and_removed(void **state)
{
    if (!v1_available() || access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
        skip();
        return;
    }
    char err[256], parent[64];
    snprintf(parent, sizeof parent, "impuls/unit-%d", (int)getpid());
    assert_int_equal(cgroup_init(NULL, parent, CG_V1, err, sizeof err), CG_V1);
    cgroup_t cg;
    assert_int_equal(cgroup_create(&cg, "i-1", 64, 16, 100), 0);
    char dir[4096];
    snprintf(dir, sizeof dir, "/sys/fs/cgroup/memory/%s/i-1", parent);
    assert_file(dir, "memory.limit_in_bytes", "67108864");
    snprintf(dir, sizeof dir, "/sys/fs/cgroup/pids/%s/i-1", parent);
    assert_file(dir, "pids.max", "16");
    snprintf(dir, sizeof dir, "/sys/fs/cgroup/cpu/%s/i-1", parent);
    assert_file(dir, "cpu.shares", "1024");
    assert_int_equal(cgroup_count(), 1);

    /* A process in it is held to the pids limit and killed on destroy. */
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    pid_t child = fork();
    if (child == 0) {
        /* Once in the cgroup: touch 8 MiB, give it back, say so, wait. */
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        size_t n = 8 << 20;
        char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(p, 1, n);
        munmap(p, n);
        if (write(done[1], "d", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    assert_int_equal(cgroup_attach(&cg, child), 0);
    assert_int_equal(cgroup_oom_kills(&cg), 0);
    char c;
    assert_int_equal(write(go[1], "g", 1), 1);
    assert_int_equal(read(done[0], &c, 1), 1);
    /* The peak shows the 8 MiB; a reset brings it back to what is in use. */
    assert_true(cgroup_peak_bytes(&cg) >= (8 << 20));
    cgroup_reset_peak(&cg);
    assert_true(cgroup_peak_bytes(&cg) < (8 << 20));
    for (int i = 0; i < 2; i++) {
        close(go[i]);
        close(done[i]);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(cgroup_destroy(&cg), 0);
    assert_int_equal(cgroup_count(), 0);
    cgroup_shutdown();
    snprintf(dir, sizeof dir, "/sys/fs/cgroup/memory/%s", parent);
    assert_false(path_exists(dir));
}

static void v1_init_sweeps_leftovers(void **state)
{
    if (!v1_available() || access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
        skip();
        return;
    }
    char err[256], parent[64];
    snprintf(parent, sizeof parent, "impuls/unit-sweep-%d", (int)getpid());
    assert_int_equal(cgroup_init(NULL, parent, CG_V1, err, sizeof err), CG_V1);
    cgroup_t cg;
    assert_int_equal(cgroup_create(&cg, "i-9", 64, 16, 100), 0);
    /* A second start of the same daemon finds it and removes it, and closes
     * no file of its own doing so (a swept cgroup has no peak file open). */
    int stdin_open = fcntl(0, F_GETFD) != -1;
    assert_int_equal(cgroup_init(NULL, parent, CG_V1, err, sizeof err), CG_V1);
    assert_int_equal(cgroup_count(), 0);
    assert_int_equal(fcntl(0, F_GETFD) != -1, stdin_open);
    cgroup_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v2_layout_limits_and_counters),
        cmocka_unit_test(v2_without_memory_controller_is_refused),
        cmocka_unit_test(v1_real_limits_enforced_and_removed),
        cmocka_unit_test(v1_init_sweeps_leftovers),
    };
    return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
