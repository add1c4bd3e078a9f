/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/check.c: object validation, defaults, exceptions and the lifecycle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/gov.h"

#define ED25519_PUB                                                                                \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAe358cKs1MpUWLm8iFffnABR/5On+Em+/2e51y5XRVZ "            \
    "alice@laptop"
#define ED25519_FP "SHA256:Pf7BHorDgAM2g0V+dtrMFs0os28KV88mpQk3V1D2UTw"

typedef int (*check_fn)(json_t *, char *, size_t);

/* Run a check on a JSON text; on failure the reason must mention `needle`. */
static int run(check_fn fn, const char *text, const char *needle)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    char why[256] = "";
    int r;

    assert_non_null(o);
    r = fn(o, why, sizeof(why));
    if (r != 0 && needle && !strstr(why, needle))
        fail_msg("why \"%s\" lacks \"%s\"", why, needle);
    if (r != 0)
        assert_true(why[0] != '\0');
    json_decref(o);
    return r;
}

static void test_identity_defaults(void **state)
{
    json_t *id = json_pack("{s:s, s:s}", "id", "alice", "name", "Alice");
    char why[128];

    assert_int_equal(gov_identity_check(id, why, sizeof(why)), 0);
    assert_string_equal(json_string_value(json_object_get(id, "state")), "active");
    assert_true(json_is_false(json_object_get(id, "totp")));
    assert_int_equal(json_array_size(json_object_get(id, "groups")), 0);
    assert_int_equal(json_array_size(json_object_get(id, "keys")), 0);
    /* A second check of the filled object passes too (stored objects are rechecked). */
    assert_int_equal(gov_identity_check(id, why, sizeof(why)), 0);
    json_decref(id);
}

static void test_identity_keys(void **state)
{
    json_t *id = json_pack("{s:s, s:[{s:s}]}", "id", "alice", "keys", "key", ED25519_PUB);
    char why[128];

    assert_int_equal(gov_identity_check(id, why, sizeof(why)), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(id, "keys"), 0), "fp")),
        ED25519_FP);
    json_decref(id);

    assert_int_equal(run(gov_identity_check,
                         "{\"id\":\"a\",\"keys\":[{\"key\":\"" ED25519_PUB "\",\"fp\":\"" ED25519_FP
                         "\"}]}",
                         NULL),
                     0);
    assert_int_equal(run(gov_identity_check,
                         "{\"id\":\"a\",\"keys\":[{\"key\":\"" ED25519_PUB
                         "\",\"fp\":\"SHA256:xxx\"}]}",
                         "does not match"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check,
                         "{\"id\":\"a\",\"keys\":[{\"key\":\"" ED25519_PUB
                         "\"},{\"key\":\"" ED25519_PUB " other\"}]}",
                         "twice"),
                     -ERR_INVAL);
    assert_int_equal(
        run(gov_identity_check, "{\"id\":\"a\",\"keys\":[{\"key\":\"ssh-ed25519 AAAA\"}]}", "keys"),
        -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"keys\":[\"x\"]}", "keys"),
                     -ERR_INVAL);
}

static void test_identity_rejects(void **state)
{
    assert_int_equal(run(gov_identity_check, "{}", "id"), -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "[]", "object"), -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\".x\"}", "id"), -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"manger\":\"b\"}", "manger"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"manager\":\"a\"}", "manager"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"manager\":\"b c\"}", "manager"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"manager\":null}", NULL), 0);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"email\":\"nope\"}", "email"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"email\":\"a@\"}", "email"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"email\":\"a b@c\"}", "email"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"email\":\"a@example.com\"}", NULL),
                     0);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"state\":\"gone\"}", "state"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"groups\":[\"x\",\"x\"]}", "twice"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"groups\":\"x\"}", "groups"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"totp\":1}", "totp"), -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"department\":5}", "department"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check,
                         "{\"id\":\"a\",\"roles\":[{\"role\":\"sre\",\"source\":\"rule:ops\","
                         "\"since\":5},{\"role\":\"x\",\"source\":\"manual\"}]}",
                         NULL),
                     0);
    assert_int_equal(run(gov_identity_check,
                         "{\"id\":\"a\",\"roles\":[{\"role\":\"sre\",\"source\":\"magic\"}]}",
                         "source"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_identity_check, "{\"id\":\"a\",\"created_at\":-1}", "created_at"),
                     -ERR_INVAL);
}

static void test_role_defaults(void **state)
{
    json_t *role = json_pack("{s:s, s:[{s:s}, {s:s, s:{s:s}}, {s:s, s:{s:s, s:i, s:s}}]}", "name",
                             "web-root", "entitlements", "account", "root@web*", "account",
                             "admin@web*", "approval", "by", "none", "account", "root@db*",
                             "approval", "by", "group", "count", 2, "group", "dba");
    json_t *e0, *e1, *ap;
    char why[128];

    assert_int_equal(gov_role_check(role, why, sizeof(why)), 0);
    assert_string_equal(json_string_value(json_object_get(role, "kind")), "requestable");
    assert_string_equal(json_string_value(json_object_get(role, "description")), "");
    e0 = json_array_get(json_object_get(role, "entitlements"), 0);
    assert_int_equal(json_integer_value(json_object_get(e0, "max_duration")), 3600);
    assert_true(json_is_false(json_object_get(e0, "break_glass")));
    assert_true(json_is_false(json_object_get(e0, "file_transfer")));
    ap = json_object_get(e0, "approval");
    assert_string_equal(json_string_value(json_object_get(ap, "by")), "manager");
    assert_int_equal(json_integer_value(json_object_get(ap, "count")), 1);
    e1 = json_array_get(json_object_get(role, "entitlements"), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e1, "approval"), "count")),
                     0);
    assert_int_equal(gov_role_check(role, why, sizeof(why)), 0);
    json_decref(role);
}

static void test_role_rejects(void **state)
{
    assert_int_equal(run(gov_role_check, "{\"name\":\"r\"}", "entitlements"), -ERR_INVAL);
    assert_int_equal(run(gov_role_check, "{\"name\":\"r\",\"entitlements\":[]}", NULL), 0);
    assert_int_equal(
        run(gov_role_check, "{\"name\":\"r\",\"kind\":\"x\",\"entitlements\":[]}", "standing"),
        -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root\"}]}", "account"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\","
                         "\"max_duration\":0}]}",
                         "max_duration"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\","
                         "\"max_duration\":2592001}]}",
                         "max_duration"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\","
                         "\"approval\":{\"by\":\"boss\"}}]}",
                         "approval.by"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\","
                         "\"approval\":{\"by\":\"manager\",\"count\":3}}]}",
                         "count"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\","
                         "\"approval\":{\"by\":\"manager\",\"count\":2}}]}",
                         "group"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\","
                         "\"approval\":{\"by\":\"group\"}}]}",
                         "group"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\","
                         "\"approval\":{\"by\":\"owner\",\"group\":\"g\"}}]}",
                         "group"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\","
                         "\"approval\":{\"by\":\"none\",\"count\":1}}]}",
                         "count"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\","
                         "\"break_glass\":\"yes\"}]}",
                         "break_glass"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_role_check,
                         "{\"name\":\"r\",\"entitlements\":[{\"account\":\"root@x\",\"extra\":1}]}",
                         "extra"),
                     -ERR_INVAL);
    assert_int_equal(
        run(gov_role_check, "{\"name\":\"r\",\"owner\":\"-x\",\"entitlements\":[]}", "owner"),
        -ERR_INVAL);
}

static void test_rule_check(void **state)
{
    assert_int_equal(run(gov_rule_check,
                         "{\"name\":\"ops-sre\",\"match\":{\"department\":\"ops\",\"title\":"
                         "\"SRE*\"},\"roles\":[\"sre\"]}",
                         NULL),
                     0);
    assert_int_equal(
        run(gov_rule_check, "{\"name\":\"r\",\"match\":{},\"roles\":[\"sre\"]}", "match"),
        -ERR_INVAL);
    assert_int_equal(run(gov_rule_check,
                         "{\"name\":\"r\",\"match\":{\"shoe\":\"x\"},\"roles\":[\"sre\"]}", "shoe"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_rule_check,
                         "{\"name\":\"r\",\"match\":{\"group\":\"\"},\"roles\":[\"sre\"]}",
                         "group"),
                     -ERR_INVAL);
    assert_int_equal(
        run(gov_rule_check, "{\"name\":\"r\",\"match\":{\"group\":\"x\"},\"roles\":[]}", "roles"),
        -ERR_INVAL);
    assert_int_equal(run(gov_rule_check, "{\"name\":\"r\",\"match\":{\"group\":\"x\"}}", "roles"),
                     -ERR_INVAL);
}

static void test_sod_check(void **state)
{
    json_t *sod = json_pack("{s:s, s:s, s:s, s:s}", "name", "deploy-vs-audit", "a", "role:deployer",
                            "b", "account:root@audit*", "owner", "dave");
    char why[128];

    assert_int_equal(gov_sod_check(sod, why, sizeof(why)), 0);
    assert_string_equal(json_string_value(json_object_get(sod, "severity")), "medium");
    json_decref(sod);
    assert_int_equal(run(gov_sod_check,
                         "{\"name\":\"s\",\"a\":\"role:x\",\"b\":\"role:x\",\"owner\":\"d\"}",
                         "differ"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_sod_check,
                         "{\"name\":\"s\",\"a\":\"group:x\",\"b\":\"role:y\",\"owner\":\"d\"}",
                         "sod.a"),
                     -ERR_INVAL);
    assert_int_equal(run(gov_sod_check,
                         "{\"name\":\"s\",\"a\":\"role:x\",\"b\":\"account:root\",\"owner\":\"d\"}",
                         "sod.b"),
                     -ERR_INVAL);
    assert_int_equal(
        run(gov_sod_check, "{\"name\":\"s\",\"a\":\"role:x\",\"b\":\"role:y\"}", "owner"),
        -ERR_INVAL);
    assert_int_equal(run(gov_sod_check,
                         "{\"name\":\"s\",\"a\":\"role:x\",\"b\":\"role:y\",\"owner\":\"d\","
                         "\"severity\":\"huge\"}",
                         "severity"),
                     -ERR_INVAL);
}

static void test_auto_check(void **state)
{
    json_t *rule = json_pack("{s:s, s:s, s:s}", "name", "oncall-web", "group", "oncall", "account",
                             "root@web*");
    char why[128];

    assert_int_equal(gov_auto_check(rule, why, sizeof(why)), 0);
    assert_int_equal(json_integer_value(json_object_get(rule, "max_duration")), 3600);
    json_decref(rule);
    assert_int_equal(run(gov_auto_check, "{\"name\":\"a\",\"account\":\"root@web*\"}", "group"),
                     -ERR_INVAL);
    assert_int_equal(
        run(gov_auto_check, "{\"name\":\"a\",\"group\":\"g\",\"account\":\"web*\"}", "account"),
        -ERR_INVAL);
    assert_int_equal(run(gov_auto_check,
                         "{\"name\":\"a\",\"group\":\"g\",\"account\":\"r@w\",\"max_duration\":-5}",
                         "max_duration"),
                     -ERR_INVAL);
}

static void test_exception_check(void **state)
{
    json_t *rule = json_pack("{s:s, s:s, s:s, s:s}", "name", "dva", "a", "role:x", "b", "role:y",
                             "owner", "dave");
    json_t *exc;
    char why[128];

    exc = json_pack("{s:s, s:s, s:s, s:i}", "rule", "dva", "identity", "alice", "reason",
                    "audit migration", "expires_at", 2000);
    assert_int_equal(gov_sod_exception_check(exc, rule, "dave", 1000, why, sizeof(why)), 0);
    assert_string_equal(json_string_value(json_object_get(exc, "approved_by")), "dave");
    assert_int_equal(json_integer_value(json_object_get(exc, "created_at")), 1000);
    assert_true(gov_exception_is_live(exc, 1999));
    assert_false(gov_exception_is_live(exc, 2000));
    /* Only the owner may create it. */
    assert_int_equal(gov_sod_exception_check(exc, rule, "alice", 1000, why, sizeof(why)),
                     -ERR_DENIED);
    assert_non_null(strstr(why, "dave"));
    json_decref(exc);

    exc = json_pack("{s:s, s:s, s:s, s:i}", "rule", "dva", "identity", "alice", "reason", "",
                    "expires_at", 2000);
    assert_int_equal(gov_sod_exception_check(exc, rule, "dave", 1000, why, sizeof(why)),
                     -ERR_INVAL);
    json_decref(exc);
    exc = json_pack("{s:s, s:s, s:s, s:i}", "rule", "dva", "identity", "alice", "reason", "r",
                    "expires_at", 1000);
    assert_int_equal(gov_sod_exception_check(exc, rule, "dave", 1000, why, sizeof(why)),
                     -ERR_INVAL);
    json_decref(exc);
    exc = json_pack("{s:s, s:s, s:s}", "rule", "dva", "identity", "alice", "reason", "r");
    assert_int_equal(gov_sod_exception_check(exc, rule, "dave", 1000, why, sizeof(why)),
                     -ERR_INVAL);
    assert_false(gov_exception_is_live(exc, 0));
    json_decref(exc);
    exc = json_pack("{s:s, s:s, s:s, s:i}", "rule", "other", "identity", "alice", "reason", "r",
                    "expires_at", 2000);
    assert_int_equal(gov_sod_exception_check(exc, rule, "dave", 1000, why, sizeof(why)),
                     -ERR_INVAL);
    json_decref(exc);
    json_decref(rule);
}

static void test_lifecycle(void **state)
{
    assert_true(gov_lifecycle_allowed("pending", "active"));
    assert_true(gov_lifecycle_allowed("active", "suspended"));
    assert_true(gov_lifecycle_allowed("suspended", "active"));
    assert_true(gov_lifecycle_allowed("active", "left"));
    assert_true(gov_lifecycle_allowed("suspended", "left"));
    assert_true(gov_lifecycle_allowed("pending", "left"));
    assert_false(gov_lifecycle_allowed("left", "active"));
    assert_false(gov_lifecycle_allowed("left", "suspended"));
    assert_false(gov_lifecycle_allowed("left", "left"));
    assert_false(gov_lifecycle_allowed("active", "active"));
    assert_false(gov_lifecycle_allowed("active", "pending"));
    assert_false(gov_lifecycle_allowed("pending", "suspended"));
    assert_false(gov_lifecycle_allowed("x", "active"));
    assert_false(gov_lifecycle_allowed(NULL, "active"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_defaults), cmocka_unit_test(test_identity_keys),
        cmocka_unit_test(test_identity_rejects),  cmocka_unit_test(test_role_defaults),
        cmocka_unit_test(test_role_rejects),      cmocka_unit_test(test_rule_check),
        cmocka_unit_test(test_sod_check),         cmocka_unit_test(test_auto_check),
        cmocka_unit_test(test_exception_check),   cmocka_unit_test(test_lifecycle),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
