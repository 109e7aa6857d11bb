/* Unit tests of src/builder/dockerfile.{h,c} (the Dockerfile subset of impuls
 * up) and of the symlink rule of src/builder/srcwalk.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/dockerfile.h"
#include "builder/srcwalk.h"

static dockerfile_t parse_ok(const char *text)
{
    dockerfile_t df;
    char err[512] = "";
    int rc = dockerfile_parse(text, strlen(text), &df, err, sizeof err);
    if (rc != 0)
        fail_msg("parse failed: %s", err);
    return df;
}

static void assert_refused(const char *text, const char *want)
{
    dockerfile_t df;
    char err[512] = "";
    assert_int_equal(dockerfile_parse(text, strlen(text), &df, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_null(df.v);
}

static void test_continuations_comments_and_line_numbers(void **state)
{
    dockerfile_t df = parse_ok("# syntax=whatever\n"
                               "from impuls\n"
                               "\n"
                               "RUN echo a \\\n"
                               "# a comment inside\n"
                               "\n"
                               "  && echo b\n"
                               "cmd [\"./server\", \"--port\", \"8000\"]\n");
    assert_int_equal(df.n, 3);
    assert_int_equal(df.v[0].op, DF_FROM);
    assert_int_equal(df.v[0].line, 2);
    assert_int_equal(df.v[1].op, DF_RUN);
    assert_int_equal(df.v[1].line, 4);
    assert_string_equal(df.v[1].text, "echo a   && echo b");
    assert_null(df.v[1].args); /* the shell form */
    assert_int_equal(df.v[2].op, DF_CMD);
    assert_int_equal(df.v[2].nargs, 3);
    assert_string_equal(df.v[2].args[2], "8000");
    dockerfile_free(&df);
}

static void test_env_forms_and_quotes(void **state)
{
    dockerfile_t df = parse_ok("FROM scratch\n"
                               "ENV A=1 B=\"two words\" C='single $x' D=back\\ slash\n"
                               "ENV LEGACY the rest of the line\n"
                               "CMD x\n");
    const char *want[] = {"A", "1", "B", "two words", "C", "single $x", "D", "back slash", NULL};
    for (int i = 0; want[i]; i++)
        assert_string_equal(df.v[1].args[i], want[i]);
    assert_null(df.v[1].args[8]);
    assert_string_equal(df.v[2].args[0], "LEGACY");
    assert_string_equal(df.v[2].args[1], "the rest of the line");
    dockerfile_free(&df);
}

static void test_workdir_and_copy_destinations(void **state)
{
    dockerfile_t df = parse_ok("FROM impuls/base\n"
                               "COPY a.txt b/ /var/task/x/\n"
                               "WORKDIR app\n"
                               "WORKDIR ./sub/../lib\n"
                               "COPY ./src/../c.txt .\n"
                               "ADD d.txt /var/task/e.txt\n"
                               "ENTRYPOINT python3 main.py\n");
    assert_string_equal(df.v[1].dest, "x");
    assert_true(df.v[1].dest_dir);
    assert_string_equal(df.v[1].args[0], "a.txt");
    assert_string_equal(df.v[1].args[1], "b");
    assert_string_equal(df.v[3].workdir, "/var/task/app/lib");
    assert_string_equal(df.v[4].dest, "app/lib");
    assert_true(df.v[4].dest_dir);
    assert_string_equal(df.v[4].args[0], "c.txt");
    assert_string_equal(df.v[5].dest, "e.txt");
    assert_false(df.v[5].dest_dir);
    dockerfile_free(&df);
}

static void test_refusals_name_the_line(void **state)
{
    assert_refused("FROM impuls\nFOO bar\n", "Dockerfile line 2: unknown instruction 'FOO'");
    assert_refused("RUN x\n", "Dockerfile line 1: RUN before FROM");
    assert_refused("FROM impuls AS build\nCMD x\n",
                   "Dockerfile line 1: FROM impuls AS build: only FROM scratch or FROM impuls can be built "
                   "(the host's system directories, read-only; no image is pulled from a registry)");
    assert_refused("FROM impuls\nFROM scratch\n", "Dockerfile line 2: a second FROM (multi-stage builds are not supported)");
    assert_refused("FROM impuls\nCOPY --chown=1:1 a .\n", "Dockerfile line 2: COPY --chown=1:1 is not supported");
    assert_refused("FROM impuls\nCOPY a\n", "Dockerfile line 2: COPY needs a source and a destination");
    assert_refused("FROM impuls\nCOPY a/../../b .\n", "Dockerfile line 2: COPY a/../../b: the source is outside the build context");
    assert_refused("FROM impuls\nCOPY a /var/task/../etc\n", "Dockerfile line 2: COPY destination /var/task/../etc is outside /var/task");
    assert_refused("FROM impuls\nWORKDIR ..\n", "Dockerfile line 2: WORKDIR .. is outside /var/task");
    assert_refused("FROM impuls\nEXPOSE 8000 8080/udp\n",
                   "Dockerfile line 2: EXPOSE 8080/udp: the function's server must listen on port 8000");
    assert_refused("FROM impuls\nENV 1A=x\n", "Dockerfile line 2: ENV: '1A' is not a valid variable name");
    assert_refused("FROM impuls\nENV A=1 B\n", "Dockerfile line 2: ENV: 'B' is not KEY=VALUE");
    assert_refused("FROM impuls\nRUN\n", "Dockerfile line 2: RUN needs arguments");
    assert_refused("FROM impuls\nHEALTHCHECK NONE\n",
                   "Dockerfile line 2: HEALTHCHECK is not supported (impuls up builds FROM, RUN, COPY, ADD, ENV, "
                   "WORKDIR, CMD, ENTRYPOINT and EXPOSE)");
    assert_refused("# nothing\n", "Dockerfile has no FROM");
    assert_refused("FROM scratch\n", "Dockerfile has no CMD or ENTRYPOINT (the command that starts the server on port 8000)");
    dockerfile_t df;
    char err[512];
    assert_int_equal(dockerfile_parse("FROM scratch\0\nCMD x\n", 19, &df, err, sizeof err), -1);
    assert_string_equal(err, "Dockerfile is larger than 1048576 bytes or holds a NUL byte");
}

static void test_symlinks_must_stay_inside(void **state)
{
    assert_true(src_link_inside("a", "b"));
    assert_true(src_link_inside("d/a", "../b"));
    assert_true(src_link_inside("d/e/a", "../../x/./y"));
    assert_true(src_link_inside("a", "."));
    assert_false(src_link_inside("a", ".."));
    assert_false(src_link_inside("d/a", "../../b"));
    assert_false(src_link_inside("a", "b/../../c"));
    assert_false(src_link_inside("a", "/etc/passwd"));
    assert_false(src_link_inside("a", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_continuations_comments_and_line_numbers),
        cmocka_unit_test(test_env_forms_and_quotes),
        cmocka_unit_test(test_workdir_and_copy_destinations),
        cmocka_unit_test(test_refusals_name_the_line),
        cmocka_unit_test(test_symlinks_must_stay_inside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
