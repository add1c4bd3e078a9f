/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/sod.c: violations on role assignment and account candidates, exceptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/gov.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, &e) : NULL;

    if (text && !v)
        fail_msg("bad test JSON at %d: %s", e.position, e.text);
    return v;
}

static const char rules_json[] =
    "[{\"name\":\"deploy-vs-audit\",\"a\":\"role:deployer\",\"b\":\"account:root@audit*\","
    "  \"severity\":\"high\",\"owner\":\"dave\"},"
    " {\"name\":\"dev-vs-prod\",\"a\":\"role:dev\",\"b\":\"role:prod-admin\",\"owner\":\"erin\"}]";

/* The names of the violated rules, comma-separated, in a static buffer. */
static const char *names(const char *holdings, const char *candidate, const char *exceptions)
{
    static char out[256];
    json_t *rules = J(rules_json), *h = J(holdings), *c = J(candidate), *x = J(exceptions);
    json_t *v = NULL, *rule;
    size_t i;

    assert_int_equal(gov_sod_violations(rules, h, c, x, &v), 0);
    assert_true(json_is_array(v));
    out[0] = '\0';
    json_array_foreach(v, i, rule)
    {
        if (i)
            strcat(out, ",");
        strcat(out, json_string_value(json_object_get(rule, "name")));
    }
    json_decref(rules);
    json_decref(h);
    json_decref(c);
    json_decref(x);
    json_decref(v);
    return out;
}

static void test_account_candidate(void **state)
{
    /* Holding deployer, a request for root@audit01 would violate. */
    assert_string_equal(
        names("{\"roles\":[\"deployer\"],\"accounts\":[]}", "{\"account\":\"root@audit01\"}", NULL),
        "deploy-vs-audit");
    assert_string_equal(
        names("{\"roles\":[\"deployer\"],\"accounts\":[]}", "{\"account\":\"root@web01\"}", NULL),
        "");
    assert_string_equal(
        names("{\"roles\":[\"dev\"],\"accounts\":[]}", "{\"account\":\"root@audit01\"}", NULL), "");
}

static void test_role_candidate(void **state)
{
    /* Holding root@audit02 through a grant, assigning deployer would violate. */
    assert_string_equal(
        names("{\"roles\":[],\"accounts\":[\"root@audit02\"]}", "{\"role\":\"deployer\"}", NULL),
        "deploy-vs-audit");
    assert_string_equal(
        names("{\"roles\":[\"prod-admin\"],\"accounts\":[]}", "{\"role\":\"dev\"}", NULL),
        "dev-vs-prod");
    assert_string_equal(
        names("{\"roles\":[\"prod-admin\"],\"accounts\":[]}", "{\"role\":\"deployer\"}", NULL), "");
    /* A standing role brings its accounts with it. */
    assert_string_equal(names("{\"roles\":[\"deployer\"],\"accounts\":[]}",
                              "{\"role\":\"auditor\",\"accounts\":[\"root@audit03\"]}", NULL),
                        "deploy-vs-audit");
}

static void test_candidate_only_its_rules(void **state)
{
    /* deploy-vs-audit is already violated, but the candidate takes no part in it. */
    assert_string_equal(
        names("{\"roles\":[\"deployer\",\"prod-admin\"],\"accounts\":[\"root@audit1\"]}",
              "{\"role\":\"dev\"}", NULL),
        "dev-vs-prod");
    /* Without a candidate: every violation held now. */
    assert_string_equal(
        names("{\"roles\":[\"deployer\",\"dev\",\"prod-admin\"],\"accounts\":[\"root@audit1\"]}",
              NULL, NULL),
        "deploy-vs-audit,dev-vs-prod");
    assert_string_equal(
        names("{\"roles\":[\"deployer\"],\"accounts\":[\"root@web1\"]}", NULL, NULL), "");
}

static void test_exceptions_suppress(void **state)
{
    const char *x = "[{\"id\":\"x-1\",\"rule\":\"deploy-vs-audit\",\"identity\":\"alice\"}]";

    assert_string_equal(
        names("{\"roles\":[\"deployer\"],\"accounts\":[]}", "{\"account\":\"root@audit01\"}", x),
        "");
    assert_string_equal(
        names("{\"roles\":[\"deployer\",\"dev\",\"prod-admin\"],\"accounts\":[\"root@audit1\"]}",
              NULL, x),
        "dev-vs-prod");
    /* An exception for another rule does not help. */
    assert_string_equal(
        names("{\"roles\":[\"prod-admin\"],\"accounts\":[]}", "{\"role\":\"dev\"}", x),
        "dev-vs-prod");
}

static void test_held_patterns_overlap(void **state)
{
    /* A held entitlement pattern root@* can reach root@audit01. */
    assert_string_equal(names("{\"roles\":[\"deployer\"],\"accounts\":[\"root@*\"]}", NULL, NULL),
                        "deploy-vs-audit");
    assert_string_equal(names("{\"roles\":[\"deployer\"],\"accounts\":[\"admin@*\"]}", NULL, NULL),
                        "");
}

static void test_copies_and_types(void **state)
{
    json_t *rules = J(rules_json), *h = J("{\"roles\":[\"dev\",\"prod-admin\"]}"), *v = NULL;

    assert_int_equal(gov_sod_violations(rules, h, NULL, NULL, &v), 0);
    assert_int_equal(json_array_size(v), 1);
    json_object_set_new(json_array_get(v, 0), "name", json_string("x"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 1), "name")),
                        "dev-vs-prod");
    json_decref(v);
    v = NULL;
    assert_int_equal(gov_sod_violations(h, h, NULL, NULL, &v), -ERR_INVAL);
    assert_null(v);
    assert_int_equal(gov_sod_violations(NULL, NULL, NULL, NULL, &v), 0);
    assert_int_equal(json_array_size(v), 0);
    json_decref(v);
    json_decref(rules);
    json_decref(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_candidate),        cmocka_unit_test(test_role_candidate),
        cmocka_unit_test(test_candidate_only_its_rules), cmocka_unit_test(test_exceptions_suppress),
        cmocka_unit_test(test_held_patterns_overlap),    cmocka_unit_test(test_copies_and_types),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
