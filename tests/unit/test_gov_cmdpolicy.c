/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/cmdpolicy.c and the policy part of gov_role_check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/gov.h"

static json_t *policy(const char *text)
{
    json_error_t e;
    json_t *p = json_loads(text, 0, &e);

    assert_non_null(p);
    return p;
}

static void test_normalize(void **state)
{
    char out[32];

    (void)state;
    gov_command_normalize("  rm   -rf\t\t/  ", out, sizeof(out));
    assert_string_equal(out, "rm -rf /");
    gov_command_normalize("", out, sizeof(out));
    assert_string_equal(out, "");
    gov_command_normalize(" \t ", out, sizeof(out));
    assert_string_equal(out, "");
    gov_command_normalize(NULL, out, sizeof(out));
    assert_string_equal(out, "");
    gov_command_normalize("abcdefgh", out, 5);
    assert_string_equal(out, "abcd");
    /* A blank is never written past the end, nor left dangling at it. */
    gov_command_normalize("abc def", out, 5);
    assert_string_equal(out, "abc");
}

static void test_decide_first_match_and_default(void **state)
{
    json_t *p = policy("{\"commands\": ["
                       " {\"exec\": \"rm -rf *\", \"action\": \"deny\", \"reason\": \"no\"},"
                       " {\"exec\": \"systemctl restart *\", \"action\": \"hold\"},"
                       " {\"exec\": \"*\", \"action\": \"allow\"},"
                       " {\"subsystem\": \"sftp\", \"action\": \"deny\"}],"
                       " \"commands_default\": \"deny\"}");
    const json_t *rule = NULL;

    (void)state;
    assert_int_equal(gov_command_decide(p, "exec", "rm  -rf /tmp", &rule), GOV_CMD_DENY);
    assert_string_equal(json_string_value(json_object_get(rule, "reason")), "no");
    assert_int_equal(gov_command_decide(p, "exec", "systemctl restart nginx", &rule), GOV_CMD_HOLD);
    assert_int_equal(gov_command_decide(p, "exec", "uptime", &rule), GOV_CMD_ALLOW);
    assert_non_null(rule);
    /* exec rules never decide a subsystem, and the other way round. */
    assert_int_equal(gov_command_decide(p, "subsystem", "sftp", &rule), GOV_CMD_DENY);
    assert_int_equal(gov_command_decide(p, "subsystem", "netconf", &rule), GOV_CMD_DENY);
    assert_null(rule); /* the default decided */
    assert_true(gov_policy_filters(p));
    json_decref(p);
}

static void test_allow_wildcards_never_match_shell_syntax(void **state)
{
    json_t *p = policy("{\"commands\": ["
                       " {\"exec\": \"rm -rf *\", \"action\": \"deny\"},"
                       " {\"exec\": \"echo *\", \"action\": \"allow\"},"
                       " {\"exec\": \"ls | wc -l\", \"action\": \"allow\"},"
                       " {\"exec\": \"id ?\", \"action\": \"allow\"}],"
                       " \"commands_default\": \"deny\"}");
    static const char *const refused[] = {
        "echo x; id", "echo x && id", "echo x | sh",
        "echo $(id)", "echo `id`",    "echo x > /etc/passwd",
        "echo 'a'",   "echo \\",      "echo x\nid",
        "id ;",       "echo *",       "echo {a,b}",
        "echo ~root", "echo x # c",   "ls | wc -l; id",
    };
    const json_t *rule;

    (void)state;
    assert_int_equal(gov_command_decide(p, "exec", "echo hello world", &rule), GOV_CMD_ALLOW);
    assert_int_equal(gov_command_decide(p, "exec", "echo", &rule), GOV_CMD_DENY); /* no space */
    assert_int_equal(gov_command_decide(p, "exec", "echo a-b_c/d.e:f=g,h@i%j+k", NULL),
                     GOV_CMD_ALLOW);
    /* Spelled out in the rule, shell syntax matches itself. */
    assert_int_equal(gov_command_decide(p, "exec", "ls | wc -l", NULL), GOV_CMD_ALLOW);
    assert_int_equal(gov_command_decide(p, "exec", "id x", NULL), GOV_CMD_ALLOW);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (gov_command_decide(p, "exec", refused[i], NULL) != GOV_CMD_DENY)
            fail_msg("\"%s\" was not refused", refused[i]);
    /* Deny rules match broadly: shell syntax does not get a command past them. */
    assert_int_equal(gov_command_decide(p, "exec", "rm -rf /; echo x", &rule), GOV_CMD_DENY);
    assert_non_null(rule);
    json_decref(p);
}

static void test_decide_without_policy_allows(void **state)
{
    json_t *p = policy("{\"commands\": [], \"commands_default\": \"allow\"}");

    (void)state;
    assert_int_equal(gov_command_decide(NULL, "exec", "anything", NULL), GOV_CMD_ALLOW);
    assert_int_equal(gov_command_decide(json_null(), "exec", "anything", NULL), GOV_CMD_ALLOW);
    assert_int_equal(gov_command_decide(p, "exec", "rm -rf /", NULL), GOV_CMD_ALLOW);
    assert_false(gov_policy_filters(p));
    assert_false(gov_policy_filters(NULL));
    json_decref(p);
    /* Only subsystem rules: typed shell lines need no checking. */
    p = policy("{\"commands\": [{\"subsystem\": \"sftp\", \"action\": \"deny\"}]}");
    assert_false(gov_policy_filters(p));
    json_decref(p);
}

static void test_forward_allowed(void **state)
{
    json_t *p = policy("{\"forwarding\": [\"127.0.0.1:5432\", \"db*.internal:*\"]}");

    (void)state;
    assert_true(gov_forward_allowed(p, "127.0.0.1", 5432));
    assert_false(gov_forward_allowed(p, "127.0.0.1", 22));
    assert_true(gov_forward_allowed(p, "db1.internal", 6432));
    assert_false(gov_forward_allowed(p, "db1.internal.evil", 6432));
    assert_false(gov_forward_allowed(p, "localhost", 5432));
    assert_false(gov_forward_allowed(NULL, "127.0.0.1", 5432));
    assert_false(gov_forward_allowed(p, NULL, 5432));
    /* -R has its own list: -L patterns never let the target listen. */
    assert_false(gov_remote_forward_allowed(p, "127.0.0.1", 5432));
    json_decref(p);
    p = policy("{\"remote_forwarding\": [\"127.0.0.1:80??\"]}");
    assert_true(gov_remote_forward_allowed(p, "127.0.0.1", 8080));
    assert_false(gov_remote_forward_allowed(p, "0.0.0.0", 8080));
    assert_false(gov_forward_allowed(p, "127.0.0.1", 8080));
    json_decref(p);
}

static void test_policy_of(void **state)
{
    json_t *ent = policy("{\"account\": \"root@x\", \"commands\": [], \"forwarding\": [],"
                         " \"commands_default\": \"hold\", \"max_duration\": 60}");
    json_t *p = gov_policy_of(ent);

    (void)state;
    assert_int_equal(json_object_size(p), 3);
    assert_null(json_object_get(p, "account"));
    assert_string_equal(json_string_value(json_object_get(p, "commands_default")), "hold");
    json_decref(p);
    json_decref(ent);
}

/* gov_role_check on one entitlement; returns the error and fills why. */
static int check_ent(const char *ent, char *why, size_t whylen)
{
    char text[2048];
    json_t *role;
    int r;

    snprintf(text, sizeof(text), "{\"name\": \"r\", \"entitlements\": [%s]}", ent);
    role = policy(text);
    r = gov_role_check(role, why, whylen);
    json_decref(role);
    return r;
}

static void test_role_check_policy(void **state)
{
    static const struct {
        const char *ent, *why;
    } bad[] = {
        {"{\"account\": \"a@b\", \"commands\": {}}", "array"},
        {"{\"account\": \"a@b\", \"commands\": [{\"action\": \"deny\"}]}", "exactly one"},
        {"{\"account\": \"a@b\", \"commands\": [{\"exec\": \"\", \"action\": \"deny\"}]}",
         "exactly one"},
        {"{\"account\": \"a@b\", \"commands\": [{\"exec\": \"x\"}]}", "action"},
        {"{\"account\": \"a@b\", \"commands\": [{\"exec\": \"x\", \"action\": \"allow\", "
         "\"timeout\": 60}]}",
         "only for action hold"},
        {"{\"account\": \"a@b\", \"commands\": [{\"exec\": \"x\", \"action\": \"hold\", "
         "\"timeout\": 3601}]}",
         "timeout"},
        {"{\"account\": \"a@b\", \"commands\": [{\"exec\": \"x\", \"action\": \"hold\", "
         "\"approval\": {\"by\": \"none\"}}]}",
         "makes no sense"},
        {"{\"account\": \"a@b\", \"commands_default\": \"maybe\"}", "commands_default"},
        {"{\"account\": \"a@b\", \"forwarding\": [\"nocolon\"]}", "HOST:PORT"},
        {"{\"account\": \"a@b\", \"forwarding\": [\"a b:1\"]}", "HOST:PORT"},
    };
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(check_ent(bad[i].ent, why, sizeof(why)), -ERR_INVAL);
        if (!strstr(why, bad[i].why))
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].ent, why, bad[i].why);
    }
    assert_int_equal(check_ent("{\"account\": \"a@b\", \"commands\": [{\"exec\": \"x *\", "
                               "\"action\": \"hold\", \"approval\": {\"by\": \"group\", "
                               "\"group\": \"oncall\", \"count\": 2}}], "
                               "\"forwarding\": [\"127.0.0.1:5432\"]}",
                               why, sizeof(why)),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_decide_first_match_and_default),
        cmocka_unit_test(test_allow_wildcards_never_match_shell_syntax),
        cmocka_unit_test(test_decide_without_policy_allows),
        cmocka_unit_test(test_forward_allowed),
        cmocka_unit_test(test_policy_of),
        cmocka_unit_test(test_role_check_policy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
