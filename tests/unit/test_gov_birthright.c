/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/birthright.c: rule matching on join and on move, and the role diff. */
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

static void assert_json(const json_t *got, const char *expect)
{
    json_t *e = J(expect);

    if (!json_equal(got, e)) {
        char *s = json_dumps(got, JSON_COMPACT);
        fail_msg("got %s\nexpected %s", s, expect);
    }
    json_decref(e);
}

static const char rules_json[] =
    "[{\"name\":\"ops-sre\",\"match\":{\"department\":\"ops\",\"title\":\"SRE*\"},"
    "  \"roles\":[\"sre\",\"oncall-ro\"]},"
    " {\"name\":\"all-ops\",\"match\":{\"department\":\"ops\"},\"roles\":[\"ops-base\",\"sre\"]},"
    " {\"name\":\"pager\",\"match\":{\"group\":\"oncall\"},\"roles\":[\"pager\"]},"
    " {\"name\":\"contractors\",\"match\":{\"email\":\"*@contractor.example\"},"
    "  \"roles\":[\"contractor\"]},"
    " {\"name\":\"bobs-team\",\"match\":{\"manager\":\"bob\",\"group\":\"db*\"},"
    "  \"roles\":[\"db-read\"]}]";

static json_t *birthright(const char *identity)
{
    json_t *rules = J(rules_json), *id = J(identity), *out = gov_birthright(rules, id);

    assert_non_null(out);
    json_decref(rules);
    json_decref(id);
    return out;
}

static void test_join(void **state)
{
    json_t *out = birthright("{\"id\":\"alice\",\"department\":\"ops\",\"title\":\"SRE II\","
                             "\"email\":\"alice@example.com\",\"groups\":[\"oncall\"],"
                             "\"state\":\"active\"}");

    /* sre once, from the first rule that gives it; rule order kept. */
    assert_json(out, "[{\"role\":\"sre\",\"source\":\"rule:ops-sre\"},"
                     " {\"role\":\"oncall-ro\",\"source\":\"rule:ops-sre\"},"
                     " {\"role\":\"ops-base\",\"source\":\"rule:all-ops\"},"
                     " {\"role\":\"pager\",\"source\":\"rule:pager\"}]");
    json_decref(out);

    out = birthright("{\"id\":\"carl\",\"email\":\"carl@contractor.example\",\"manager\":\"bob\","
                     "\"groups\":[\"x\",\"dba\"]}");
    assert_json(out, "[{\"role\":\"contractor\",\"source\":\"rule:contractors\"},"
                     " {\"role\":\"db-read\",\"source\":\"rule:bobs-team\"}]");
    json_decref(out);
    /* Every attribute of a rule must match. */
    out = birthright("{\"id\":\"dan\",\"manager\":\"bob\",\"groups\":[\"web\"]}");
    assert_json(out, "[]");
    json_decref(out);
}

static void test_move_changes_roles(void **state)
{
    json_t *out;

    /* From SRE in ops to manager in ops: the SRE-only role goes, ops ones stay. */
    out = birthright("{\"id\":\"alice\",\"department\":\"ops\",\"title\":\"Manager\","
                     "\"groups\":[\"oncall\"]}");
    assert_json(out, "[{\"role\":\"ops-base\",\"source\":\"rule:all-ops\"},"
                     " {\"role\":\"sre\",\"source\":\"rule:all-ops\"},"
                     " {\"role\":\"pager\",\"source\":\"rule:pager\"}]");
    json_decref(out);
    /* To finance: only the group rule. */
    out = birthright("{\"id\":\"alice\",\"department\":\"finance\",\"title\":\"SRE II\","
                     "\"groups\":[\"oncall\"]}");
    assert_json(out, "[{\"role\":\"pager\",\"source\":\"rule:pager\"}]");
    json_decref(out);
    /* Case matters. */
    out = birthright("{\"id\":\"alice\",\"department\":\"Ops\",\"groups\":[]}");
    assert_json(out, "[]");
    json_decref(out);
}

static void test_missing_attribute_and_left(void **state)
{
    json_t *rules = J("[{\"name\":\"any-title\",\"match\":{\"title\":\"*\"},\"roles\":[\"t\"]},"
                      " {\"name\":\"empty\",\"match\":{},\"roles\":[\"e\"]},"
                      " {\"name\":\"odd\",\"match\":{\"shoe\":\"*\"},\"roles\":[\"o\"]}]");
    json_t *id = J("{\"id\":\"a\",\"groups\":[]}"), *out;

    out = gov_birthright(rules, id);
    assert_json(out, "[]");
    json_decref(out);
    json_object_set_new(id, "title", json_string(""));
    out = gov_birthright(rules, id);
    assert_json(out, "[{\"role\":\"t\",\"source\":\"rule:any-title\"}]");
    json_decref(out);
    json_object_set_new(id, "state", json_string("left"));
    out = gov_birthright(rules, id);
    assert_json(out, "[]");
    json_decref(out);
    json_decref(rules);
    json_decref(id);
}

static void test_diff(void **state)
{
    json_t *held = J("[{\"role\":\"sre\",\"source\":\"rule:ops-sre\",\"since\":1},"
                     " {\"role\":\"oncall-ro\",\"source\":\"rule:ops-sre\",\"since\":1},"
                     " {\"role\":\"dba-jit\",\"source\":\"manual\",\"since\":2},"
                     " {\"role\":\"pager\",\"source\":\"manual\",\"since\":3}]");
    json_t *due = J("[{\"role\":\"ops-base\",\"source\":\"rule:all-ops\"},"
                    " {\"role\":\"sre\",\"source\":\"rule:all-ops\"},"
                    " {\"role\":\"pager\",\"source\":\"rule:pager\"}]");
    json_t *add = NULL, *rm = NULL;

    assert_int_equal(gov_birthright_diff(held, due, &add, &rm), 0);
    /* pager is held manually: not added again; sre is still due (another rule): kept. */
    assert_json(add, "[{\"role\":\"ops-base\",\"source\":\"rule:all-ops\"}]");
    /* oncall-ro no longer justified; manual dba-jit stays. */
    assert_json(rm, "[{\"role\":\"oncall-ro\",\"source\":\"rule:ops-sre\",\"since\":1}]");
    json_decref(add);
    json_decref(rm);
    json_decref(held);
    json_decref(due);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_move_changes_roles),
        cmocka_unit_test(test_missing_attribute_and_left),
        cmocka_unit_test(test_diff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
