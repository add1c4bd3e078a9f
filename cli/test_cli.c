/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the pure parts of custos: option parsing, argument checks, output formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

enum { T_HOST = ARGS_ID_LOCAL, T_PORT, T_PENDING };

static const struct args_opt g_opts[] = {
    {"help", 'h', false, ARGS_ID_HELP},
    {"socket", 0, true, ARGS_ID_SOCKET},
    {"json", 0, false, ARGS_ID_JSON},
    {NULL, 0, false, 0},
};

static const struct args_opt l_opts[] = {
    {"host", 0, true, T_HOST},
    {"port", 'p', true, T_PORT},
    {"pending", 0, false, T_PENDING},
    {NULL, 0, false, 0},
};

static const struct args_opt *const tables[] = {g_opts, l_opts, NULL};

static int parse(struct args *a, bool stop, int argc, ...)
{
    char *argv[16];
    va_list ap;

    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    memset(a, 0, sizeof(*a));
    return args_parse(a, tables, argc, argv, stop);
}

static void test_parse_mixed(void **state)
{
    struct args a;

    assert_int_equal(parse(&a, false, 6, "web01", "--host", "h1", "--port=22", "--json", "x"), 0);
    assert_int_equal(a.npos, 2);
    assert_string_equal(a.pos[0], "web01");
    assert_string_equal(a.pos[1], "x");
    assert_string_equal(a.val[T_HOST], "h1");
    assert_string_equal(a.val[T_PORT], "22");
    assert_string_equal(a.val[ARGS_ID_JSON], "");
    assert_null(a.val[T_PENDING]);
}

static void test_parse_short_and_dashdash(void **state)
{
    struct args a;

    assert_int_equal(parse(&a, false, 5, "-p", "2222", "-h", "--", "--pending"), 0);
    assert_string_equal(a.val[T_PORT], "2222");
    assert_non_null(a.val[ARGS_ID_HELP]);
    assert_null(a.val[T_PENDING]);
    assert_int_equal(a.npos, 1);
    assert_string_equal(a.pos[0], "--pending");
    assert_int_equal(parse(&a, false, 1, "-p80"), 0);
    assert_string_equal(a.val[T_PORT], "80");
    assert_int_equal(parse(&a, false, 1, "-"), 0);
    assert_int_equal(a.npos, 1);
}

static void test_parse_stop(void **state)
{
    struct args a;

    assert_int_equal(parse(&a, true, 5, "--socket", "/s", "vault", "status", "--json"), 0);
    assert_int_equal(a.next, 2);
    assert_string_equal(a.val[ARGS_ID_SOCKET], "/s");
    assert_null(a.val[ARGS_ID_JSON]);
    assert_int_equal(a.npos, 0);
    assert_int_equal(parse(&a, true, 1, "--json"), 0);
    assert_int_equal(a.next, 1);
}

static void test_parse_errors(void **state)
{
    struct args a;

    assert_int_equal(parse(&a, false, 1, "--nope"), -ERR_INVAL);
    assert_non_null(strstr(a.err, "--nope"));
    assert_int_equal(parse(&a, false, 1, "--host"), -ERR_INVAL);
    assert_non_null(strstr(a.err, "needs a value"));
    assert_int_equal(parse(&a, false, 1, "--pending=yes"), -ERR_INVAL);
    assert_int_equal(parse(&a, false, 1, "-x"), -ERR_INVAL);
    assert_int_equal(parse(&a, false, 9, "1", "2", "3", "4", "5", "6", "7", "8", "9"), -ERR_INVAL);
}

static void test_parse_last_wins(void **state)
{
    struct args a;

    assert_int_equal(parse(&a, false, 3, "--host", "a", "--host=b"), 0);
    assert_string_equal(a.val[T_HOST], "b");
}

static void test_uint(void **state)
{
    unsigned long v = 7;

    assert_int_equal(args_parse_uint("22", 1, 65535, &v), 0);
    assert_int_equal(v, 22);
    assert_int_equal(args_parse_uint("0", 1, 65535, &v), -ERR_INVAL);
    assert_int_equal(args_parse_uint("65536", 1, 65535, &v), -ERR_INVAL);
    assert_int_equal(args_parse_uint("-1", 0, 10, &v), -ERR_INVAL);
    assert_int_equal(args_parse_uint("+1", 0, 10, &v), -ERR_INVAL);
    assert_int_equal(args_parse_uint(" 1", 0, 10, &v), -ERR_INVAL);
    assert_int_equal(args_parse_uint("1x", 0, 10, &v), -ERR_INVAL);
    assert_int_equal(args_parse_uint("", 0, 10, &v), -ERR_INVAL);
    assert_int_equal(args_parse_uint("99999999999999999999999", 0, ~0ul, &v), -ERR_INVAL);
    assert_int_equal(v, 22);
}

static void test_shares(void **state)
{
    unsigned n = 0, k = 0;

    assert_int_equal(args_parse_shares("5/3", &n, &k), 0);
    assert_int_equal(n, 5);
    assert_int_equal(k, 3);
    assert_int_equal(args_parse_shares("255/255", &n, &k), 0);
    assert_int_equal(args_parse_shares("3/5", &n, &k), -ERR_INVAL);
    assert_int_equal(args_parse_shares("1/1", &n, &k), -ERR_INVAL);
    assert_int_equal(args_parse_shares("256/2", &n, &k), -ERR_INVAL);
    assert_int_equal(args_parse_shares("5", &n, &k), -ERR_INVAL);
    assert_int_equal(args_parse_shares("/3", &n, &k), -ERR_INVAL);
    assert_int_equal(args_parse_shares("5/", &n, &k), -ERR_INVAL);
    assert_int_equal(args_parse_shares("5/3/1", &n, &k), -ERR_INVAL);
}

static void test_split_account(void **state)
{
    char name[ARGS_NAME_MAX + 1], target[ARGS_NAME_MAX + 1];
    char longname[ARGS_NAME_MAX + 8];

    assert_int_equal(args_split_account("root@web01", name, target), 0);
    assert_string_equal(name, "root");
    assert_string_equal(target, "web01");
    assert_int_equal(args_split_account("root", name, target), -ERR_INVAL);
    assert_int_equal(args_split_account("@web01", name, target), -ERR_INVAL);
    assert_int_equal(args_split_account("root@", name, target), -ERR_INVAL);
    assert_int_equal(args_split_account("a@b@c", name, target), -ERR_INVAL);
    memset(longname, 'a', sizeof(longname));
    longname[ARGS_NAME_MAX + 1] = '@';
    longname[ARGS_NAME_MAX + 2] = 'b';
    longname[ARGS_NAME_MAX + 3] = '\0';
    assert_int_equal(args_split_account(longname, name, target), -ERR_INVAL);
}

static void check_abs(const char *cwd, const char *path, const char *want)
{
    struct buf b;

    buf_init(&b, 4096);
    assert_int_equal(args_path_absolute(cwd, path, &b), 0);
    assert_string_equal(b.data, want);
    buf_fini(&b);
}

static void test_path_absolute(void **state)
{
    struct buf b;

    check_abs("/home/a", "x.mdb", "/home/a/x.mdb");
    check_abs("/home/a/", "sub/x.mdb", "/home/a/sub/x.mdb");
    check_abs("/home/a", "./x.mdb", "/home/a/x.mdb");
    check_abs("/home/a", ".//x", "/home/a/x");
    check_abs("/home/a", ".", "/home/a");
    check_abs("/", "x", "/x");
    check_abs("/home/a", "/abs/x", "/abs/x");
    check_abs("/home/a", "../x", "/home/a/../x");
    buf_init(&b, 4096);
    assert_int_equal(args_path_absolute("/home", "", &b), -ERR_INVAL);
    assert_int_equal(args_path_absolute("rel", "x", &b), -ERR_INVAL);
    buf_fini(&b);
}

static void test_exit_status(void **state)
{
    assert_int_equal(args_exit_status(0), CLI_EXIT_OK);
    assert_int_equal(args_exit_status(-ERR_NOT_FOUND), CLI_EXIT_FAIL);
    assert_int_equal(args_exit_status(-ERR_INVAL), CLI_EXIT_FAIL);
    assert_int_equal(args_exit_status(-ERR_CONN), CLI_EXIT_CONN);
    assert_int_equal(args_exit_status(-ERR_TIMEOUT), CLI_EXIT_CONN);
    assert_int_equal(args_exit_status(-ERR_CLOSED), CLI_EXIT_CONN);
    assert_int_equal(args_exit_status(-ERR_SEALED), CLI_EXIT_SEALED);
    assert_int_equal(args_exit_status(-ERR_NOT_INIT), CLI_EXIT_SEALED);
    assert_int_equal(args_exit_status(-ERR_DENIED), CLI_EXIT_DENIED);
    assert_int_equal(args_exit_status(-ERR_AUTH), CLI_EXIT_DENIED);
    assert_int_equal(args_exit_status(-ERR_TAMPERED), CLI_EXIT_FAIL);
}

static void test_time(void **state)
{
    char t[OUT_TIME_LEN];

    out_time_format(0, t, sizeof(t));
    assert_string_equal(t, "1970-01-01T00:00:00Z");
    out_time_format(1714564800, t, sizeof(t));
    assert_string_equal(t, "2024-05-01T12:00:00Z");
}

static void check_value(const char *key, json_t *v, const char *want)
{
    struct buf b;

    buf_init(&b, 4096);
    assert_int_equal(out_value_format(key, v, &b), 0);
    assert_string_equal(b.data, want);
    buf_fini(&b);
    json_decref(v);
}

static void test_value_format(void **state)
{
    check_value("created_at", json_integer(1714564800), "2024-05-01T12:00:00Z");
    check_value("time", json_integer(0), "1970-01-01T00:00:00Z");
    check_value("time", json_real(1714564800.75), "2024-05-01T12:00:00Z");
    check_value("port", json_integer(22), "22");
    check_value("pending", json_null(), "-");
    check_value("pending", NULL, "-");
    check_value("ok", json_true(), "yes");
    check_value("meta", json_pack("{s:s}", "env", "prod"), "{\"env\":\"prod\"}");
    /* Terminal control sequences from other users' text are neutralised. */
    check_value("owner", json_string("a\x1b[31mb\nc"), "a?[31mb?c");
    check_value("owner",
                json_string("x\xc2\x9b"
                            "1m"),
                "x?1m");
    check_value("owner", json_string("caf\xc3\xa9"), "caf\xc3\xa9");
}

static char *render_table(json_t *rows)
{
    static const struct out_col cols[] = {{"NAME", "name"}, {"PORT", "port"}, {"X", "x"}};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    assert_int_equal(out_table(f, cols, 3, rows), 0);
    fclose(f);
    json_decref(rows);
    return text;
}

static void test_table(void **state)
{
    char *t;

    t = render_table(json_pack("[{s:s,s:i,s:s},{s:s,s:i}]", "name", "web01", "port", 22, "x",
                               "\xc3\xa9t\xc3\xa9", "name", "db", "port", 5432));
    assert_string_equal(t, "NAME   PORT  X\n"
                           "web01  22    \xc3\xa9t\xc3\xa9\n"
                           "db     5432  -\n");
    free(t);
    t = render_table(json_array());
    assert_string_equal(t, "NAME  PORT  X\n");
    free(t);
}

static void test_object(void **state)
{
    static const char *const order[] = {"name", "host", "absent", NULL};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    json_t *o = json_pack("{s:s,s:s,s:s}", "updated_at", "x", "host", "h", "name", "n");

    assert_non_null(f);
    assert_int_equal(json_object_set_new(o, "updated_at", json_integer(0)), 0);
    assert_int_equal(out_object(f, o, order), 0);
    fclose(f);
    assert_string_equal(text, "name:       n\n"
                              "host:       h\n"
                              "updated_at: 1970-01-01T00:00:00Z\n");
    free(text);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_mixed),
        cmocka_unit_test(test_parse_short_and_dashdash),
        cmocka_unit_test(test_parse_stop),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_last_wins),
        cmocka_unit_test(test_uint),
        cmocka_unit_test(test_shares),
        cmocka_unit_test(test_split_account),
        cmocka_unit_test(test_path_absolute),
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_value_format),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_object),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
