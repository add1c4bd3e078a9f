/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/eligibility.c: request, standing and break-glass entitlement choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/gov.h"

static const char roles_json[] =
    "["
    "{\"name\":\"web-root\",\"kind\":\"requestable\",\"entitlements\":["
    " {\"account\":\"root@web*\",\"max_duration\":14400,\"approval\":{\"by\":\"manager\",\"count\":"
    "1},"
    "  \"break_glass\":true}]},"
    "{\"name\":\"web-oncall\",\"kind\":\"requestable\",\"entitlements\":["
    " {\"account\":\"root@web0?\",\"max_duration\":3600,\"approval\":{\"by\":\"none\",\"count\":0}}"
    "]},"
    "{\"name\":\"web-2p\",\"kind\":\"requestable\",\"entitlements\":["
    " {\"account\":\"root@web*\",\"max_duration\":28800,"
    "  \"approval\":{\"by\":\"group\",\"group\":\"sec\",\"count\":2}}]},"
    "{\"name\":\"db\",\"kind\":\"standing\",\"entitlements\":["
    " {\"account\":\"postgres@db*\",\"max_duration\":3600,\"file_transfer\":false},"
    " {\"account\":\"postgres@db01\",\"max_duration\":600,\"file_transfer\":true}]}"
    "]";

static int setup(void **state)
{
    json_error_t e;

    *state = json_loads(roles_json, 0, &e);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    json_decref(*state);
    return 0;
}

/* Find and return the chosen role name (static buffer) or NULL with r set. */
static const char *pick(const json_t *roles, const char *account, json_int_t duration,
                        const char *mode, int *r, char *why, size_t whylen)
{
    static char name[64];
    json_t *role = NULL, *ent = NULL;

    why[0] = '\0';
    *r = gov_entitlement_find(roles, account, duration, mode, &role, &ent, why, whylen);
    if (*r != 0) {
        assert_null(role);
        assert_null(ent);
        assert_true(why[0] != '\0');
        return NULL;
    }
    assert_non_null(ent);
    assert_true(gov_glob_match(json_string_value(json_object_get(ent, "account")), account));
    snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(role, "name")));
    json_decref(role);
    json_decref(ent);
    return name;
}

static void test_request_least_approval_then_longest(void **state)
{
    const json_t *roles = *state;
    char why[128];
    int r;

    /* none beats one approver, which beats two. */
    assert_string_equal(pick(roles, "root@web01", 3600, "request", &r, why, sizeof(why)),
                        "web-oncall");
    /* web-oncall's 1h is too short: the manager-approved 4h wins over the two-person 8h. */
    assert_string_equal(pick(roles, "root@web01", 3601, "request", &r, why, sizeof(why)),
                        "web-root");
    assert_string_equal(pick(roles, "root@web01", 14400, "request", &r, why, sizeof(why)),
                        "web-root");
    /* Only the two-person role allows that long. */
    assert_string_equal(pick(roles, "root@web01", 20000, "request", &r, why, sizeof(why)),
                        "web-2p");
    /* web-oncall's pattern does not cover web011. */
    assert_string_equal(pick(roles, "root@web011", 60, "request", &r, why, sizeof(why)),
                        "web-root");
    assert_null(pick(roles, "root@web01", 30000, "request", &r, why, sizeof(why)));
    assert_int_equal(r, -ERR_DENIED);
    assert_non_null(strstr(why, "8h"));
    assert_null(pick(roles, "root@db02", 60, "request", &r, why, sizeof(why)));
    assert_int_equal(r, -ERR_DENIED);
    assert_string_equal(why, "no role of yours covers root@db02");
    /* Standing roles are requestable too. */
    assert_string_equal(pick(roles, "postgres@db02", 600, "request", &r, why, sizeof(why)), "db");
}

static void test_request_longest_among_equal_approval(void **state)
{
    json_error_t e;
    json_t *roles = json_loads(
        "[{\"name\":\"short\",\"entitlements\":[{\"account\":\"root@x\",\"max_duration\":7200}]},"
        " {\"name\":\"long\",\"entitlements\":[{\"account\":\"root@x\",\"max_duration\":14400}]},"
        " {\"name\":\"long2\",\"entitlements\":[{\"account\":\"root@*\",\"max_duration\":14400}]},"
        " {\"name\":\"other-kind\",\"kind\":\"weird\",\"entitlements\":[{\"account\":\"root@x\","
        "  \"max_duration\":99999,\"approval\":{\"by\":\"none\"}}]}]",
        0, &e);
    char why[128];
    int r;

    assert_non_null(roles);
    /* Defaults (requestable, manager/1) apply; ties keep the first; unknown kinds are ignored. */
    assert_string_equal(pick(roles, "root@x", 60, "request", &r, why, sizeof(why)), "long");
    json_decref(roles);
}

static void test_standing_mode(void **state)
{
    const json_t *roles = *state;
    char why[128];
    int r;

    assert_null(pick(roles, "root@web01", 0, "standing", &r, why, sizeof(why)));
    assert_int_equal(r, -ERR_DENIED);
    assert_non_null(strstr(why, "standing"));
    /* Duration is ignored; the entitlement with file transfer is preferred. */
    json_t *role = NULL, *ent = NULL;
    assert_int_equal(gov_entitlement_find(roles, "postgres@db01", 999999, "standing", &role, &ent,
                                          why, sizeof(why)),
                     0);
    assert_true(json_is_true(json_object_get(ent, "file_transfer")));
    json_decref(role);
    json_decref(ent);
    assert_string_equal(pick(roles, "postgres@db07", 0, "standing", &r, why, sizeof(why)), "db");
}

static void test_breakglass_mode(void **state)
{
    const json_t *roles = *state;
    char why[128];
    int r;

    assert_string_equal(pick(roles, "root@web01", 600, "breakglass", &r, why, sizeof(why)),
                        "web-root");
    assert_string_equal(pick(roles, "root@web01", 14400, "breakglass", &r, why, sizeof(why)),
                        "web-root");
    assert_null(pick(roles, "root@web01", 14401, "breakglass", &r, why, sizeof(why)));
    assert_int_equal(r, -ERR_DENIED);
    assert_non_null(strstr(why, "4h"));
    /* db has no break_glass entitlement. */
    assert_null(pick(roles, "postgres@db01", 60, "breakglass", &r, why, sizeof(why)));
    assert_int_equal(r, -ERR_DENIED);
    assert_non_null(strstr(why, "break-glass"));
}

static void test_bad_queries(void **state)
{
    const json_t *roles = *state;
    json_t *role = NULL, *ent = NULL;
    char why[128];

    assert_int_equal(
        gov_entitlement_find(roles, "root@web01", 60, "grab", &role, &ent, why, sizeof(why)),
        -ERR_INVAL);
    assert_int_equal(
        gov_entitlement_find(roles, "root@web01", 0, "request", &role, &ent, why, sizeof(why)),
        -ERR_INVAL);
    assert_int_equal(
        gov_entitlement_find(roles, "root@web01", -5, "breakglass", &role, &ent, why, sizeof(why)),
        -ERR_INVAL);
    assert_int_equal(
        gov_entitlement_find(NULL, "root@web01", 60, "request", &role, &ent, why, sizeof(why)),
        -ERR_DENIED);
    assert_null(role);
    assert_null(ent);
}

static void test_outputs_are_copies(void **state)
{
    const json_t *roles = *state;
    json_t *role = NULL, *ent = NULL;
    char why[128];

    assert_int_equal(
        gov_entitlement_find(roles, "root@web01", 60, "request", &role, &ent, why, sizeof(why)), 0);
    json_object_set_new(ent, "max_duration", json_integer(1));
    json_object_set_new(role, "name", json_string("changed"));
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(json_array_get(roles, 1), "entitlements"), 0),
            "max_duration")),
        3600);
    assert_string_equal(json_string_value(json_object_get(json_array_get(roles, 1), "name")),
                        "web-oncall");
    json_decref(role);
    json_decref(ent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_least_approval_then_longest),
        cmocka_unit_test(test_request_longest_among_equal_approval),
        cmocka_unit_test(test_standing_mode),
        cmocka_unit_test(test_breakglass_mode),
        cmocka_unit_test(test_bad_queries),
        cmocka_unit_test(test_outputs_are_copies),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
