/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the pure parts of custos: option parsing, argument checks, output formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "custos/gov.h"

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

/* ARGS_MAX_POS + 1 words (free text such as a request's reason stops there). */
static int too_many_positionals(void)
{
    char *argv[ARGS_MAX_POS + 1];
    struct args a;

    for (int i = 0; i < ARGS_MAX_POS + 1; i++)
        argv[i] = "w";
    memset(&a, 0, sizeof(a));
    assert_int_equal(args_parse(&a, tables, ARGS_MAX_POS, argv, false), 0);
    assert_int_equal(a.npos, ARGS_MAX_POS);
    memset(&a, 0, sizeof(a));
    return args_parse(&a, tables, ARGS_MAX_POS + 1, argv, false);
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
    assert_int_equal(too_many_positionals(), -ERR_INVAL);
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

/* ---- governance helpers (cmd_gov_util.c) ---- */

static void test_opt_values(void **state)
{
    static const struct args_opt g[] = {
        {"group", 'g', true, T_HOST},
        {"pending", 0, false, T_PENDING},
        {NULL, 0, false, 0},
    };
    const struct args_opt *const t[] = {g_opts, g, NULL};
    char *argv[] = {"alice", "--group",   "a",         "--json", "--socket", "--group",
                    "-gb",   "--group=c", "--pending", "--",     "--group",  "x"};
    const char *v[4];
    size_t n = 9;

    assert_int_equal(govcli_opt_values(t, 12, argv, T_HOST, v, 4, &n), 0);
    /* "--group" after --socket is the socket's value, not an option. */
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "a");
    assert_string_equal(v[1], "b");
    assert_string_equal(v[2], "c");
    assert_int_equal(govcli_opt_values(t, 12, argv, T_PENDING, v, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(govcli_opt_values(t, 12, argv, T_HOST, v, 2, &n), -ERR_TOO_LONG);
    assert_int_equal(govcli_opt_values(t, 2, argv, T_HOST, v, 4, &n), -ERR_INVAL);
    assert_int_equal(govcli_opt_values(t, 0, argv, T_HOST, v, 4, &n), 0);
    assert_int_equal(n, 0);
}

static long long dur(const char *s)
{
    long long v = -1;

    return gov_duration_parse(s, &v) == 0 ? v : -1;
}

static void test_duration_parse(void **state)
{
    assert_int_equal(dur("45s"), 45);
    assert_int_equal(dur("90m"), 5400);
    assert_int_equal(dur("4h"), 14400);
    assert_int_equal(dur("1h30m"), 5400);
    assert_int_equal(dur("7d"), 604800);
    assert_int_equal(dur("1d2h3m4s"), 93784);
    assert_int_equal(dur("0h5m"), 300);
    /* No unit, unknown units, wrong order, repeats, signs, spaces, zero. */
    assert_int_equal(dur("3600"), -1);
    assert_int_equal(dur(""), -1);
    assert_int_equal(dur("h"), -1);
    assert_int_equal(dur("4w"), -1);
    assert_int_equal(dur("30m1h"), -1);
    assert_int_equal(dur("1h1h"), -1);
    assert_int_equal(dur("-1h"), -1);
    assert_int_equal(dur("+1h"), -1);
    assert_int_equal(dur("1 h"), -1);
    assert_int_equal(dur("1h "), -1);
    assert_int_equal(dur("0s"), -1);
    assert_int_equal(dur("1.5h"), -1);
    assert_int_equal(dur("99999999999999999999d"), -1);
    assert_int_equal(dur("36600d"), 36600ll * 86400);
    assert_int_equal(dur("36601d"), -1);
}

static void check_dur_fmt(long long secs, const char *want)
{
    char b[GOV_DURATION_LEN];

    gov_duration_format(secs, b, sizeof(b));
    assert_string_equal(b, want);
}

static void test_duration_format(void **state)
{
    check_dur_fmt(5400, "1h30m");
    check_dur_fmt(3600, "1h");
    check_dur_fmt(45, "45s");
    check_dur_fmt(604800, "7d");
    check_dur_fmt(93784, "1d2h3m4s");
    check_dur_fmt(0, "0s");
    check_dur_fmt(-5, "0s");
    /* Round trip. */
    for (long long s = 1; s < 200000; s += 997) {
        char b[GOV_DURATION_LEN];

        gov_duration_format(s, b, sizeof(b));
        assert_int_equal(dur(b), s);
    }
}

static long long tm_parse(const char *s, bool unix_ok)
{
    long long t = -1;

    return govcli_time_parse(s, unix_ok, &t) == 0 ? t : -1;
}

static void test_time_parse(void **state)
{
    assert_int_equal(tm_parse("2024-05-01T12:00:00Z", false), 1714564800);
    assert_int_equal(tm_parse("2024-05-01t12:00:00z", false), 1714564800);
    assert_int_equal(tm_parse("2024-05-01 12:00:00", false), 1714564800);
    assert_int_equal(tm_parse("2024-05-01T12:00Z", false), 1714564800);
    assert_int_equal(tm_parse("2024-05-01T12:00:00.250Z", false), 1714564800);
    assert_int_equal(tm_parse("2024-05-01T14:00:00+02:00", false), 1714564800);
    assert_int_equal(tm_parse("2024-05-01T07:30:00-0430", false), 1714564800);
    assert_int_equal(tm_parse("2024-05-01", false), 1714521600);
    assert_int_equal(tm_parse("1970-01-01T00:00:00Z", false), 0);
    assert_int_equal(tm_parse("2024-02-29", false), 1709164800);
    assert_int_equal(tm_parse("2000-02-29", false), 951782400);
    assert_int_equal(tm_parse("1714564800", true), 1714564800);
    assert_int_equal(tm_parse("1714564800", false), -1);
    assert_int_equal(tm_parse("2023-02-29", false), -1);
    assert_int_equal(tm_parse("1900-02-29", false), -1);
    assert_int_equal(tm_parse("2024-13-01", false), -1);
    assert_int_equal(tm_parse("2024-04-31", false), -1);
    assert_int_equal(tm_parse("2024-05-01T24:00:00Z", false), -1);
    assert_int_equal(tm_parse("2024-05-01T12:60Z", false), -1);
    assert_int_equal(tm_parse("2024-05-01T12Z", false), -1);
    assert_int_equal(tm_parse("2024-5-1", false), -1);
    assert_int_equal(tm_parse("2024-05-01T12:00:00Zjunk", false), -1);
    assert_int_equal(tm_parse("2024-05-01T12:00:00.Z", false), -1);
    assert_int_equal(tm_parse("1969-12-31T23:59:59Z", false), -1);
    assert_int_equal(tm_parse("", true), -1);
    assert_int_equal(tm_parse("99999999999999999999", true), -1);
    assert_int_equal(tm_parse("-5", true), -1);
}

static json_t *ent_ok(const char *spec)
{
    json_t *e = NULL;
    char why[256] = "";

    assert_int_equal(govcli_entitlement_parse(spec, &e, why, sizeof(why)), 0);
    assert_non_null(e);
    return e;
}

static void ent_bad(const char *spec, const char *why_part)
{
    json_t *e = (json_t *)1;
    char why[256] = "";

    assert_int_equal(govcli_entitlement_parse(spec, &e, why, sizeof(why)), -ERR_INVAL);
    assert_null(e);
    if (!strstr(why, why_part))
        fail_msg("why for '%s' is '%s', wanted '%s'", spec, why, why_part);
}

static void ent_round_trip(const char *spec, const char *want)
{
    json_t *e = ent_ok(spec);
    struct buf b;

    buf_init(&b, 4096);
    assert_int_equal(govcli_entitlement_format(e, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal(b.data, want);
    buf_fini(&b);
    json_decref(e);
}

static void test_entitlement_parse(void **state)
{
    json_t *e;

    e = ent_ok("root@web*:4h");
    assert_string_equal(json_string_value(json_object_get(e, "account")), "root@web*");
    assert_int_equal(json_integer_value(json_object_get(e, "max_duration")), 14400);
    assert_null(json_object_get(e, "approval")); /* the daemon's default applies */
    assert_true(json_is_false(json_object_get(e, "break_glass")));
    assert_true(json_is_false(json_object_get(e, "file_transfer")));
    json_decref(e);

    e = ent_ok("postgres@db??:1h30m:group=dba*2:break-glass:file-transfer");
    assert_int_equal(json_integer_value(json_object_get(e, "max_duration")), 5400);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "approval"), "by")),
                        "group");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "approval"), "group")),
                        "dba");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "approval"), "count")),
                     2);
    assert_true(json_is_true(json_object_get(e, "break_glass")));
    assert_true(json_is_true(json_object_get(e, "file_transfer")));
    json_decref(e);

    e = ent_ok("deploy@web01:8h:none");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "approval"), "count")),
                     0);
    json_decref(e);
    e = ent_ok("a@b:1d:file-transfer:manager*2");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "approval"), "count")),
                     2);
    json_decref(e);

    ent_round_trip("root@web*:4h", "root@web*:4h");
    ent_round_trip("root@web*:240m:manager", "root@web*:4h:manager");
    ent_round_trip("root@web*:4h:break-glass:owner", "root@web*:4h:owner:break-glass");
    ent_round_trip("x@y:1h:group=dba*2:file-transfer:break-glass",
                   "x@y:1h:group=dba*2:break-glass:file-transfer");
    ent_round_trip("x@y:1h:manager*1", "x@y:1h:manager");
    ent_round_trip("x@y:1h:none", "x@y:1h:none");
    {
        /* A policy has no spec form: it is summed up after the spec. */
        json_t *p = json_loads("{\"account\": \"root@web*\", \"max_duration\": 3600,"
                               " \"commands\": [{\"exec\": \"x\", \"action\": \"deny\"}],"
                               " \"commands_default\": \"deny\","
                               " \"forwarding\": [\"127.0.0.1:5432\", \"db:1\"]}",
                               0, NULL);
        struct buf b;

        buf_init(&b, 4096);
        assert_int_equal(govcli_entitlement_format(p, &b), 0);
        assert_int_equal(buf_append(&b, "", 1), 0);
        assert_string_equal(b.data, "root@web*:1h [1 command rule, default deny, forwarding "
                                    "127.0.0.1:5432 db:1]");
        buf_fini(&b);
        json_decref(p);
    }

    ent_bad("root@web*", "PATTERN:DURATION");
    ent_bad("", "PATTERN:DURATION");
    ent_bad("root@web*:", "PATTERN:DURATION");
    ent_bad("root@web*:4h:", "PATTERN:DURATION");
    ent_bad("root@web*::4h", "PATTERN:DURATION");
    ent_bad(":4h", "account pattern");
    ent_bad("root:4h", "account pattern");
    ent_bad("a@b@c:4h", "account pattern");
    ent_bad("@web:4h", "account pattern");
    ent_bad("root@web/1:4h", "account pattern");
    ent_bad("root@web*:4", "not a duration");
    ent_bad("root@web*:soon", "not a duration");
    ent_bad("root@web*:4h:boss", "unknown part");
    ent_bad("root@web*:4h:manager:owner", "more than one approval");
    ent_bad("root@web*:4h:manager*3", "1 or 2 approvers");
    ent_bad("root@web*:4h:none*2", "none");
    ent_bad("root@web*:4h:group=", "group=NAME");
    ent_bad("root@web*:4h:group=-x", "group=NAME");
    ent_bad("root@web*:4h:break-glass:break-glass", "twice");
    ent_bad("root@web*:4h:file-transfer:file-transfer", "twice");
}

static void test_scope_parse(void **state)
{
    json_t *s = NULL;

    assert_int_equal(govcli_scope_parse("all", &s), 0);
    assert_string_equal(json_string_value(json_object_get(s, "kind")), "all");
    assert_null(json_object_get(s, "value"));
    json_decref(s);
    assert_int_equal(govcli_scope_parse("department=ops", &s), 0);
    assert_string_equal(json_string_value(json_object_get(s, "kind")), "department");
    assert_string_equal(json_string_value(json_object_get(s, "value")), "ops");
    json_decref(s);
    assert_int_equal(govcli_scope_parse("target=web01", &s), 0);
    json_decref(s);
    assert_int_equal(govcli_scope_parse("privileged", &s), 0);
    json_decref(s);
    assert_int_equal(govcli_scope_parse("department=", &s), -ERR_INVAL);
    assert_int_equal(govcli_scope_parse("department", &s), -ERR_INVAL);
    assert_int_equal(govcli_scope_parse("team=x", &s), -ERR_INVAL);
    assert_int_equal(govcli_scope_parse("all=x", &s), -ERR_INVAL);
    assert_int_equal(govcli_scope_parse("", &s), -ERR_INVAL);
}

static void test_humanize(void **state)
{
    json_t *in = json_pack("{s:i, s:i, s:i, s:[s,s], s:[], s:{s:i}, s:[{s:i}], s:i, s:s}",
                           "created_at", 1714564800, "duration", 5400, "max_duration", 14400,
                           "approvers", "bob", "carol", "groups", "evidence", "last_use", 0,
                           "approvals", "at", 1714564800, "count", 2, "description", "");
    json_t *h;

    assert_non_null(in);
    h = govcli_humanize(in);
    assert_non_null(h);
    assert_string_equal(json_string_value(json_object_get(h, "created_at")),
                        "2024-05-01T12:00:00Z");
    assert_string_equal(json_string_value(json_object_get(h, "duration")), "1h30m");
    assert_string_equal(json_string_value(json_object_get(h, "max_duration")), "4h");
    assert_string_equal(json_string_value(json_object_get(h, "approvers")), "bob, carol");
    assert_true(json_is_null(json_object_get(h, "groups")));
    assert_true(json_is_null(json_object_get(h, "description")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(h, "evidence"), "last_use")),
        "1970-01-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(h, "approvals"), 0), "at")),
                        "2024-05-01T12:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(h, "count")), 2);
    /* The input is untouched. */
    assert_int_equal(json_integer_value(json_object_get(in, "created_at")), 1714564800);
    json_decref(h);
    json_decref(in);
}

static void test_sync_errors_format(void **state)
{
    json_t *errs =
        json_pack("[{s:i, s:s}, {s:i, s:s}, {s:s}]", "line", 3, "message", "missing email", "line",
                  0, "message", "empty\x1b[2J file", "message", "no line");
    struct buf b;

    assert_non_null(errs);
    buf_init(&b, 4096);
    assert_int_equal(govcli_sync_errors_format("hr.csv", errs, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal(b.data, "hr.csv:3: missing email\n"
                                "hr.csv: empty?[2J file\n"
                                "hr.csv: no line\n");
    buf_fini(&b);
    json_decref(errs);
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
        cmocka_unit_test(test_opt_values),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_entitlement_parse),
        cmocka_unit_test(test_scope_parse),
        cmocka_unit_test(test_humanize),
        cmocka_unit_test(test_sync_errors_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
