/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/approvals.c: approver resolution, approval rules and auto-approval. */
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

static const char identities_json[] =
    "{\"alice\":{\"id\":\"alice\",\"state\":\"active\",\"manager\":\"bob\",\"groups\":[\"dba\"]},"
    " \"bob\":{\"id\":\"bob\",\"state\":\"active\",\"groups\":[]},"
    " \"carol\":{\"id\":\"carol\",\"state\":\"active\",\"groups\":[\"dba\"]},"
    " \"dave\":{\"id\":\"dave\",\"state\":\"suspended\",\"groups\":[\"dba\"],\"manager\":\"bob\"},"
    " \"erin\":{\"id\":\"erin\",\"state\":\"active\",\"groups\":[\"dba\",\"oncall\"]},"
    " \"frank\":{\"id\":\"frank\",\"state\":\"left\",\"groups\":[\"dba\"]},"
    " \"gina\":{\"id\":\"gina\",\"state\":\"active\",\"manager\":\"dave\",\"groups\":[]},"
    " \"hal\":{\"id\":\"hal\",\"state\":\"active\",\"manager\":\"nobody\",\"groups\":[]},"
    " \"ivan\":{\"id\":\"ivan\",\"state\":\"active\",\"groups\":[]}}";

static int resolve(const char *approval, const char *who, const char *target, json_t **out,
                   char *why, size_t whylen)
{
    json_t *ids = J(identities_json), *ap = J(approval), *tg = target ? J(target) : NULL;
    json_t *members = json_array();
    const char *k;
    json_t *v;
    int r;

    /* Pass every identity: resolve must keep only group members. */
    json_object_foreach(ids, k, v) json_array_append(members, v);
    why[0] = '\0';
    *out = NULL;
    r = gov_approvers_resolve(ap, json_object_get(ids, who), tg, members, ids, out, why, whylen);
    if (r != 0)
        assert_true(why[0] != '\0');
    json_decref(ids);
    json_decref(ap);
    json_decref(tg);
    json_decref(members);
    return r;
}

static void assert_list(json_t *list, const char *expect_json)
{
    json_t *e = J(expect_json);

    if (!json_equal(list, e)) {
        char *got = json_dumps(list, JSON_COMPACT);
        fail_msg("got %s, expected %s", got, expect_json);
    }
    json_decref(e);
}

static void test_resolve_manager(void **state)
{
    json_t *out;
    char why[128];

    assert_int_equal(
        resolve("{\"by\":\"manager\",\"count\":1}", "alice", NULL, &out, why, sizeof(why)), 0);
    assert_list(out, "[\"bob\"]");
    json_decref(out);
    /* Inactive manager, no manager, unknown manager. */
    assert_int_equal(resolve("{\"by\":\"manager\"}", "gina", NULL, &out, why, sizeof(why)),
                     -ERR_DENIED);
    assert_non_null(strstr(why, "not active"));
    assert_null(out);
    assert_int_equal(resolve("{\"by\":\"manager\"}", "ivan", NULL, &out, why, sizeof(why)),
                     -ERR_DENIED);
    assert_non_null(strstr(why, "no manager"));
    assert_int_equal(resolve("{\"by\":\"manager\"}", "hal", NULL, &out, why, sizeof(why)),
                     -ERR_DENIED);
}

static void test_resolve_owner(void **state)
{
    json_t *out;
    char why[128];

    assert_int_equal(resolve("{\"by\":\"owner\"}", "alice",
                             "{\"name\":\"web01\",\"owner\":\"carol\"}", &out, why, sizeof(why)),
                     0);
    assert_list(out, "[\"carol\"]");
    json_decref(out);
    assert_int_equal(
        resolve("{\"by\":\"owner\"}", "alice", "{\"name\":\"web01\"}", &out, why, sizeof(why)),
        -ERR_DENIED);
    assert_string_equal(why, "target web01 has no owner");
    assert_int_equal(resolve("{\"by\":\"owner\"}", "alice", NULL, &out, why, sizeof(why)),
                     -ERR_DENIED);
    /* The requester owns the target: nobody else is listed, so no approver. */
    assert_int_equal(resolve("{\"by\":\"owner\"}", "alice",
                             "{\"name\":\"web01\",\"owner\":\"alice\"}", &out, why, sizeof(why)),
                     -ERR_DENIED);
    assert_int_equal(resolve("{\"by\":\"owner\"}", "alice",
                             "{\"name\":\"web01\",\"owner\":\"frank\"}", &out, why, sizeof(why)),
                     -ERR_DENIED);
}

static void test_resolve_group(void **state)
{
    json_t *out;
    char why[128];

    /* alice is the requester, dave suspended, frank left, bob not in the group. */
    assert_int_equal(resolve("{\"by\":\"group\",\"group\":\"dba\",\"count\":2}", "alice", NULL,
                             &out, why, sizeof(why)),
                     0);
    assert_list(out, "[\"carol\",\"erin\"]");
    json_decref(out);
    assert_int_equal(resolve("{\"by\":\"group\",\"group\":\"oncall\",\"count\":2}", "alice", NULL,
                             &out, why, sizeof(why)),
                     -ERR_DENIED);
    assert_non_null(strstr(why, "oncall"));
    assert_int_equal(resolve("{\"by\":\"group\",\"group\":\"oncall\",\"count\":1}", "erin", NULL,
                             &out, why, sizeof(why)),
                     -ERR_DENIED);
    assert_int_equal(resolve("{\"by\":\"group\",\"group\":\"oncall\",\"count\":1}", "alice", NULL,
                             &out, why, sizeof(why)),
                     0);
    assert_list(out, "[\"erin\"]");
    json_decref(out);
}

static void test_resolve_none(void **state)
{
    json_t *out;
    char why[128];

    assert_int_equal(resolve("{\"by\":\"none\",\"count\":0}", "ivan", NULL, &out, why, sizeof(why)),
                     0);
    assert_list(out, "[]");
    json_decref(out);
}

static const char request_2p[] =
    "{\"id\":\"r-1\",\"requester\":\"alice\",\"state\":\"pending\","
    " \"approval\":{\"by\":\"group\",\"group\":\"dba\",\"count\":2},"
    " \"approvers\":[\"carol\",\"erin\",\"dave\",\"alice\"],\"approvals\":[]}";

static int can(const char *request, const char *who, const char *theirs, char *why, size_t whylen)
{
    json_t *ids = J(identities_json), *rq = J(request), *mine = theirs ? J(theirs) : NULL;
    int r;

    why[0] = '\0';
    r = gov_can_approve(rq, json_object_get(ids, who), mine, why, whylen);
    if (r != 0)
        assert_true(why[0] != '\0');
    json_decref(ids);
    json_decref(rq);
    json_decref(mine);
    return r;
}

static void test_can_approve_basic(void **state)
{
    char why[160];

    assert_int_equal(can(request_2p, "carol", NULL, why, sizeof(why)), 0);
    /* No self-approval, even when listed. */
    assert_int_equal(can(request_2p, "alice", NULL, why, sizeof(why)), -ERR_DENIED);
    assert_non_null(strstr(why, "own request"));
    /* Inactive approver refused, even when listed. */
    assert_int_equal(can(request_2p, "dave", NULL, why, sizeof(why)), -ERR_DENIED);
    assert_non_null(strstr(why, "not active"));
    /* Not in the list. */
    assert_int_equal(can(request_2p, "bob", NULL, why, sizeof(why)), -ERR_DENIED);
    assert_non_null(strstr(why, "not an approver"));
    /* Not pending. */
    assert_int_equal(can("{\"id\":\"r-1\",\"requester\":\"alice\",\"state\":\"denied\","
                         "\"approvers\":[\"carol\"],\"approvals\":[]}",
                         "carol", NULL, why, sizeof(why)),
                     -ERR_DENIED);
    assert_non_null(strstr(why, "denied"));
}

static void test_two_person_distinct(void **state)
{
    char why[160];
    const char *once = "{\"id\":\"r-1\",\"requester\":\"alice\",\"state\":\"pending\","
                       " \"approval\":{\"by\":\"group\",\"group\":\"dba\",\"count\":2},"
                       " \"approvers\":[\"carol\",\"erin\"],\"approvals\":[{\"by\":\"carol\"}]}";
    json_t *rq;

    /* carol approved once; she cannot be the second approver. */
    assert_int_equal(can(once, "carol", NULL, why, sizeof(why)), -ERR_DENIED);
    assert_non_null(strstr(why, "already"));
    assert_int_equal(can(once, "erin", NULL, why, sizeof(why)), 0);

    rq = J(once);
    assert_false(gov_request_is_approved(rq));
    /* The same approver twice still counts once. */
    json_array_append_new(json_object_get(rq, "approvals"), json_pack("{s:s}", "by", "carol"));
    assert_false(gov_request_is_approved(rq));
    json_array_append_new(json_object_get(rq, "approvals"), json_pack("{s:s}", "by", "erin"));
    assert_true(gov_request_is_approved(rq));
    json_decref(rq);

    rq = J("{\"approval\":{\"by\":\"manager\",\"count\":1},\"approvals\":[]}");
    assert_false(gov_request_is_approved(rq));
    json_array_append_new(json_object_get(rq, "approvals"), json_pack("{s:s}", "by", "bob"));
    assert_true(gov_request_is_approved(rq));
    json_decref(rq);
    rq = J("{\"approval\":{\"by\":\"none\",\"count\":0},\"approvals\":[]}");
    assert_true(gov_request_is_approved(rq));
    json_decref(rq);
}

static void test_reciprocal_refused(void **state)
{
    char why[200];
    /* alice approved erin's pending request; erin may not approve alice's two-person one. */
    const char *erins = "[{\"id\":\"r-0\",\"requester\":\"erin\",\"state\":\"pending\","
                        "  \"approvals\":[{\"by\":\"alice\"}]}]";
    const char *erins_live = "[{\"id\":\"r-0\",\"requester\":\"erin\",\"state\":\"approved\","
                             "  \"approvals\":[{\"by\":\"carol\"},{\"by\":\"alice\"}]}]";
    const char *erins_done = "[{\"id\":\"r-0\",\"requester\":\"erin\",\"state\":\"denied\","
                             "  \"approvals\":[{\"by\":\"alice\"}]}]";
    const char *erins_other = "[{\"id\":\"r-0\",\"requester\":\"erin\",\"state\":\"pending\","
                              "  \"approvals\":[{\"by\":\"carol\"}]}]";
    const char *one = "{\"id\":\"r-1\",\"requester\":\"alice\",\"state\":\"pending\","
                      " \"approval\":{\"by\":\"group\",\"group\":\"dba\",\"count\":1},"
                      " \"approvers\":[\"carol\",\"erin\"],\"approvals\":[]}";

    assert_int_equal(can(request_2p, "erin", erins, why, sizeof(why)), -ERR_DENIED);
    assert_non_null(strstr(why, "r-0"));
    assert_int_equal(can(request_2p, "erin", erins_live, why, sizeof(why)), -ERR_DENIED);
    /* Ended requests do not count; others' approvals do not count. */
    assert_int_equal(can(request_2p, "erin", erins_done, why, sizeof(why)), 0);
    assert_int_equal(can(request_2p, "erin", erins_other, why, sizeof(why)), 0);
    /* The reciprocity rule is for two-person requests. */
    assert_int_equal(can(one, "erin", erins, why, sizeof(why)), 0);
}

static void test_auto_rule(void **state)
{
    json_t *ids = J(identities_json);
    json_t *rules = J("[{\"name\":\"oncall-web\",\"group\":\"oncall\",\"account\":\"root@web*\","
                      "  \"max_duration\":7200},"
                      " {\"name\":\"dba-db\",\"group\":\"dba\",\"account\":\"postgres@db*\"}]");
    const json_t *erin = json_object_get(ids, "erin"), *rule;

    rule = gov_auto_rule_find(rules, erin, "root@web01", 3600);
    assert_non_null(rule);
    assert_string_equal(json_string_value(json_object_get(rule, "name")), "oncall-web");
    assert_non_null(gov_auto_rule_find(rules, erin, "root@web01", 7200));
    assert_null(gov_auto_rule_find(rules, erin, "root@web01", 7201));
    assert_null(gov_auto_rule_find(rules, erin, "admin@web01", 60));
    assert_null(gov_auto_rule_find(rules, erin, "root@web01", 0));
    /* Default max_duration 3600. */
    assert_non_null(gov_auto_rule_find(rules, erin, "postgres@db1", 3600));
    assert_null(gov_auto_rule_find(rules, erin, "postgres@db1", 3601));
    /* Not a member; member but not active. */
    assert_null(gov_auto_rule_find(rules, json_object_get(ids, "bob"), "root@web01", 60));
    assert_null(gov_auto_rule_find(rules, json_object_get(ids, "dave"), "postgres@db1", 60));
    json_decref(rules);
    json_decref(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_manager),    cmocka_unit_test(test_resolve_owner),
        cmocka_unit_test(test_resolve_group),      cmocka_unit_test(test_resolve_none),
        cmocka_unit_test(test_can_approve_basic),  cmocka_unit_test(test_two_person_distinct),
        cmocka_unit_test(test_reciprocal_refused), cmocka_unit_test(test_auto_rule),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
