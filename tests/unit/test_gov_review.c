/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/review.c: reviewer choice, escalation and campaign scopes. */
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
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (!v)
        fail_msg("bad test JSON at %d: %s", e.position, e.text);
    return v;
}

static const char ids_json[] =
    "{\"alice\":{\"id\":\"alice\",\"state\":\"active\",\"manager\":\"bob\",\"department\":\"ops\"},"
    " \"bob\":{\"id\":\"bob\",\"state\":\"active\",\"manager\":\"carol\"},"
    " \"carol\":{\"id\":\"carol\",\"state\":\"active\"},"
    " \"dave\":{\"id\":\"dave\",\"state\":\"active\",\"manager\":\"sue\"},"
    " \"sue\":{\"id\":\"sue\",\"state\":\"suspended\",\"manager\":\"carol\"},"
    " \"tom\":{\"id\":\"tom\",\"state\":\"active\",\"manager\":\"ann\"},"
    " \"ann\":{\"id\":\"ann\",\"state\":\"left\",\"manager\":\"zed\"},"
    " \"zed\":{\"id\":\"zed\",\"state\":\"left\"},"
    " \"self\":{\"id\":\"self\",\"state\":\"active\",\"manager\":\"self\"},"
    " \"erin\":{\"id\":\"erin\",\"state\":\"active\"}}";

static const char *reviewer(const json_t *ids, const char *kind, const char *who,
                            const char *target, const char *fallback)
{
    static char out[64];
    json_t *t = target ? J(target) : NULL;
    const char *r = gov_reviewer_for(kind, json_object_get(ids, who), t, ids, fallback);

    snprintf(out, sizeof(out), "%s", r ? r : "(null)");
    json_decref(t);
    return out;
}

static void test_reviewer_role_and_grant(void **state)
{
    json_t *ids = J(ids_json);

    assert_string_equal(reviewer(ids, "role", "alice", NULL, "admin"), "bob");
    assert_string_equal(
        reviewer(ids, "grant", "alice", "{\"name\":\"web01\",\"owner\":\"erin\"}", "admin"),
        "erin");
    /* No owner: the manager. */
    assert_string_equal(reviewer(ids, "grant", "alice", "{\"name\":\"web01\"}", "admin"), "bob");
    assert_string_equal(reviewer(ids, "grant", "alice", NULL, "admin"), "bob");
    /* The owner holds the grant: never review yourself, so the manager. */
    assert_string_equal(
        reviewer(ids, "grant", "alice", "{\"name\":\"web01\",\"owner\":\"alice\"}", "admin"),
        "bob");
    assert_string_equal(reviewer(ids, "role", "zzz", NULL, "admin"), "(null)");
    assert_string_equal(reviewer(ids, "other", "alice", NULL, "admin"), "(null)");
    json_decref(ids);
}

static void test_reviewer_never_self(void **state)
{
    json_t *ids = J(ids_json);

    /* dave's manager sue is suspended: her manager carol reviews. */
    assert_string_equal(reviewer(ids, "role", "dave", NULL, "admin"), "carol");
    /* tom's manager and her manager have left: the campaign creator. */
    assert_string_equal(reviewer(ids, "role", "tom", NULL, "admin"), "admin");
    /* carol has no manager at all. */
    assert_string_equal(reviewer(ids, "role", "carol", NULL, "admin"), "admin");
    /* The creator is the identity itself: nobody fits. */
    assert_string_equal(reviewer(ids, "role", "carol", NULL, "carol"), "(null)");
    assert_string_equal(reviewer(ids, "role", "carol", NULL, NULL), "(null)");
    /* A (bad) self-manager is skipped too. */
    assert_string_equal(reviewer(ids, "role", "self", NULL, "admin"), "admin");
    /* bob reviews his own grant as owner? No: his manager carol. */
    assert_string_equal(
        reviewer(ids, "grant", "bob", "{\"name\":\"db1\",\"owner\":\"bob\"}", "admin"), "carol");
    json_decref(ids);
}

static void test_escalate(void **state)
{
    json_t *ids = J(ids_json);
    const char *r;

    r = gov_reviewer_escalate("bob", json_object_get(ids, "alice"), ids, "admin");
    assert_string_equal(r, "carol");
    r = gov_reviewer_escalate("carol", json_object_get(ids, "alice"), ids, "admin");
    assert_string_equal(r, "admin");
    /* The reviewer's manager is the identity under review: not them. */
    r = gov_reviewer_escalate("erin", json_object_get(ids, "carol"), ids, "admin");
    assert_string_equal(r, "admin");
    r = gov_reviewer_escalate("bob", json_object_get(ids, "carol"), ids, "admin");
    assert_string_equal(r, "admin");
    r = gov_reviewer_escalate("bob", json_object_get(ids, "carol"), ids, "carol");
    assert_null(r);
    json_decref(ids);
}

static bool covers(const char *scope, const char *identity, const char *account, const char *target)
{
    json_t *s = J(scope), *i = identity ? J(identity) : NULL, *t = target ? J(target) : NULL;
    bool r = gov_scope_covers(s, i, account, t);

    json_decref(s);
    json_decref(i);
    json_decref(t);
    return r;
}

static void test_scope_kinds(void **state)
{
    const char *ops = "{\"id\":\"alice\",\"department\":\"ops\"}";
    const char *fin = "{\"id\":\"bob\",\"department\":\"finance\"}";

    assert_true(covers("{\"kind\":\"all\"}", ops, NULL, NULL));
    assert_true(covers("{\"kind\":\"all\"}", fin, "root@web01", NULL));

    assert_true(covers("{\"kind\":\"department\",\"value\":\"ops\"}", ops, NULL, NULL));
    assert_false(covers("{\"kind\":\"department\",\"value\":\"ops\"}", fin, NULL, NULL));
    assert_false(
        covers("{\"kind\":\"department\",\"value\":\"ops\"}", "{\"id\":\"x\"}", NULL, NULL));
    assert_false(covers("{\"kind\":\"department\"}", ops, NULL, NULL));

    assert_true(covers("{\"kind\":\"target\",\"value\":\"web01\"}", ops, "root@web01", NULL));
    assert_false(covers("{\"kind\":\"target\",\"value\":\"web01\"}", ops, "root@web011", NULL));
    assert_false(covers("{\"kind\":\"target\",\"value\":\"web01\"}", ops, "root@db01", NULL));
    /* A role item passes its entitlement patterns. */
    assert_true(covers("{\"kind\":\"target\",\"value\":\"web01\"}", ops, "root@web*", NULL));
    assert_false(covers("{\"kind\":\"target\",\"value\":\"web01\"}", ops, "root@db*", NULL));
    assert_true(
        covers("{\"kind\":\"target\",\"value\":\"web01\"}", ops, NULL, "{\"name\":\"web01\"}"));
    assert_false(covers("{\"kind\":\"target\"}", ops, "root@web01", NULL));

    assert_true(covers("{\"kind\":\"privileged\"}", ops, "root@web01", NULL));
    assert_true(covers("{\"kind\":\"privileged\"}", ops, "admin@web01", NULL));
    assert_true(covers("{\"kind\":\"privileged\"}", ops, "admin2@web01", NULL));
    assert_true(covers("{\"kind\":\"privileged\"}", ops, "postgres@db01", NULL));
    assert_false(covers("{\"kind\":\"privileged\"}", ops, "app@web01", NULL));
    assert_false(covers("{\"kind\":\"privileged\"}", ops, "rooty@web01", NULL));
    assert_false(covers("{\"kind\":\"privileged\"}", ops, "postgres2@db01", NULL));
    assert_true(covers("{\"kind\":\"privileged\"}", ops, "app@web01",
                       "{\"name\":\"web01\",\"meta\":{\"privileged\":true}}"));
    assert_true(covers("{\"kind\":\"privileged\"}", ops, "app@web01",
                       "{\"name\":\"web01\",\"meta\":{\"privileged\":\"true\"}}"));
    assert_false(covers("{\"kind\":\"privileged\"}", ops, "app@web01",
                        "{\"name\":\"web01\",\"meta\":{\"privileged\":false}}"));
    /* A pattern that can name root is privileged. */
    assert_true(covers("{\"kind\":\"privileged\"}", ops, "*@web*", NULL));
    assert_true(covers("{\"kind\":\"privileged\"}", ops, "r??t@web*", NULL));
    assert_false(covers("{\"kind\":\"privileged\"}", ops, "app*@web*", NULL));

    assert_false(covers("{\"kind\":\"everything\"}", ops, "root@web01", NULL));
    assert_false(covers("{}", ops, "root@web01", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reviewer_role_and_grant),
        cmocka_unit_test(test_reviewer_never_self),
        cmocka_unit_test(test_escalate),
        cmocka_unit_test(test_scope_kinds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
