/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/names.c: names, account ids, patterns, glob matching and overlap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "custos/gov.h"

static void test_name_valid(void **state)
{
    char n64[65], n65[66];

    memset(n64, 'a', 64);
    n64[64] = '\0';
    memset(n65, 'a', 65);
    n65[65] = '\0';
    assert_true(gov_name_is_valid("alice"));
    assert_true(gov_name_is_valid("a"));
    assert_true(gov_name_is_valid("web-01.prod_x"));
    assert_true(gov_name_is_valid("_x"));
    assert_true(gov_name_is_valid("0ops"));
    assert_true(gov_name_is_valid(n64));
    assert_false(gov_name_is_valid(n65));
    assert_false(gov_name_is_valid(""));
    assert_false(gov_name_is_valid(NULL));
    assert_false(gov_name_is_valid(".hidden"));
    assert_false(gov_name_is_valid("-opt"));
    assert_false(gov_name_is_valid("a b"));
    assert_false(gov_name_is_valid("a@b"));
    assert_false(gov_name_is_valid("a/b"));
    assert_false(gov_name_is_valid("a*"));
    assert_false(gov_name_is_valid("\xc3\xa9t\xc3\xa9"));
}

static void test_account_valid(void **state)
{
    assert_true(gov_account_is_valid("root@web01"));
    assert_true(gov_account_is_valid("a@b"));
    assert_false(gov_account_is_valid("root"));
    assert_false(gov_account_is_valid("@web01"));
    assert_false(gov_account_is_valid("root@"));
    assert_false(gov_account_is_valid("root@web@01"));
    assert_false(gov_account_is_valid("root@web*"));
    assert_false(gov_account_is_valid("root@-web"));
    assert_false(gov_account_is_valid(NULL));
}

static void test_pattern_valid(void **state)
{
    char p129[130], p130[131];

    assert_true(gov_pattern_is_valid("root@web*"));
    assert_true(gov_pattern_is_valid("*@*"));
    assert_true(gov_pattern_is_valid("admin?@db-??"));
    assert_true(gov_pattern_is_valid("root@web01"));
    assert_false(gov_pattern_is_valid("root"));
    assert_false(gov_pattern_is_valid("root@web@x"));
    assert_false(gov_pattern_is_valid("root@web[0-9]"));
    assert_false(gov_pattern_is_valid("root @web"));
    assert_false(gov_pattern_is_valid(""));
    assert_false(gov_pattern_is_valid(NULL));
    memset(p129, 'a', sizeof(p129));
    p129[64] = '@';
    p129[129] = '\0';
    assert_true(gov_pattern_is_valid(p129));
    memset(p130, 'a', sizeof(p130));
    p130[64] = '@';
    p130[130] = '\0';
    assert_false(gov_pattern_is_valid(p130));
}

static void test_glob_match(void **state)
{
    assert_true(gov_glob_match("root@web*", "root@web01"));
    assert_true(gov_glob_match("root@web*", "root@web"));
    assert_false(gov_glob_match("root@web*", "admin@web01"));
    assert_false(gov_glob_match("root@web*", "root@db01"));
    assert_true(gov_glob_match("*", ""));
    assert_true(gov_glob_match("*", "anything"));
    assert_true(gov_glob_match("", ""));
    assert_false(gov_glob_match("", "a"));
    assert_false(gov_glob_match("a", ""));
    assert_true(gov_glob_match("?", "a"));
    assert_false(gov_glob_match("?", ""));
    assert_false(gov_glob_match("?", "ab"));
    assert_true(gov_glob_match("root@web0?", "root@web01"));
    assert_false(gov_glob_match("root@web0?", "root@web011"));
    assert_true(gov_glob_match("*@*", "root@x"));
    assert_false(gov_glob_match("*@*", "rootx"));
    assert_true(gov_glob_match("a*b*c", "aXXbYYc"));
    assert_true(gov_glob_match("a*b*c", "abc"));
    assert_false(gov_glob_match("a*b*c", "aXXcYYb"));
    assert_true(gov_glob_match("*ab", "aaab")); /* needs backtracking of the star */
    assert_true(gov_glob_match("*a*b", "xaxxaxb"));
    assert_false(gov_glob_match("*a*b", "xaxxaxbx"));
    assert_true(gov_glob_match("**", "x"));
    assert_true(gov_glob_match("a**", "a"));
    assert_false(gov_glob_match("Root@web*", "root@web01")); /* case-sensitive */
    assert_true(gov_glob_match("SRE*", "SRE II"));
    assert_false(gov_glob_match(NULL, "a"));
    assert_false(gov_glob_match("a", NULL));
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A backtracking matcher takes exponential time here; ours must not. */
static void test_glob_pathological(void **state)
{
    size_t n = 100000;
    char *s = malloc(n + 1), *p = malloc(2 * 64 + 2);
    double t0;

    assert_non_null(s);
    assert_non_null(p);
    memset(s, 'a', n);
    s[n] = '\0';
    t0 = now_seconds();
    assert_false(gov_glob_match("*a*a*a*a*a*a*a*a*b", s));
    assert_true(gov_glob_match("*a*a*a*a*a*a*a*a*", s));
    for (int i = 0; i < 64; i++) {
        p[2 * i] = '*';
        p[2 * i + 1] = 'a';
    }
    p[128] = 'b';
    p[129] = '\0';
    assert_false(gov_glob_match(p, s));
    assert_false(gov_patterns_overlap("*a*a*a*a*a*a*a*a*b", "a*a*a*a*a*a*a*c"));
    assert_true(now_seconds() - t0 < 2.0);
    free(s);
    free(p);
}

static void test_patterns_overlap(void **state)
{
    assert_true(gov_patterns_overlap("root@*", "root@audit*"));
    assert_true(gov_patterns_overlap("root@audit*", "root@*"));
    assert_true(gov_patterns_overlap("*@audit01", "root@audit*"));
    assert_true(gov_patterns_overlap("r??t@x", "ro*@x"));
    assert_true(gov_patterns_overlap("*", "root@x"));
    assert_true(gov_patterns_overlap("root@x", "root@x"));
    assert_true(gov_patterns_overlap("a*b", "*"));
    assert_true(gov_patterns_overlap("*a", "b*")); /* "ba" */
    assert_true(gov_patterns_overlap("a*", "*a")); /* "a" */
    assert_false(gov_patterns_overlap("admin@*", "root@*"));
    assert_false(gov_patterns_overlap("root@web*", "root@db*"));
    assert_false(gov_patterns_overlap("?", "??"));
    assert_false(gov_patterns_overlap("a*", "b*"));
    assert_false(gov_patterns_overlap("*a", "*b"));
    assert_false(gov_patterns_overlap("root@x", "root@y"));
    assert_false(gov_patterns_overlap(NULL, "*"));
    /* Without wildcards on one side it is the glob match. */
    assert_true(gov_patterns_overlap("root@web*", "root@web01"));
    assert_false(gov_patterns_overlap("root@web*", "admin@web01"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_valid),        cmocka_unit_test(test_account_valid),
        cmocka_unit_test(test_pattern_valid),     cmocka_unit_test(test_glob_match),
        cmocka_unit_test(test_glob_pathological), cmocka_unit_test(test_patterns_overlap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
