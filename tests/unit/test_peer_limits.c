/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vaultd/peer_limits.c: admission at accept, line limits, quiet exemption, logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "peer_limits.h"
#include "scopes.h"

static struct vconf conf(void)
{
    struct vconf c;

    memset(&c, 0, sizeof(c));
    c.max_clients = 10;
    c.max_clients_per_uid = 3;
    c.max_line = 1u << 20;
    c.max_line_short = 64u << 10;
    return c;
}

static void test_admit(void **state)
{
    struct vconf c = conf();
    struct vconf_principal p = {.name = "reader", .scopes = SCOPE(STATUS) | SCOPE(READ)};

    (void)state;
    /* No principal: refused whatever the counts, even on an empty server. */
    assert_int_equal(peer_limits_admit(&c, NULL, false, 0, 0), PEER_NO_PRINCIPAL);
    assert_int_equal(peer_limits_admit(&c, &p, false, 0, 0), PEER_ADMIT);
    assert_int_equal(peer_limits_admit(&c, &p, false, 9, 2), PEER_ADMIT);
    assert_int_equal(peer_limits_admit(&c, &p, false, 9, 3), PEER_UID_FULL);
    assert_int_equal(peer_limits_admit(&c, &p, false, 10, 0), PEER_FULL);
    /* The daemon's own uid is not counted per uid, but max_clients holds for it too. */
    assert_int_equal(peer_limits_admit(&c, NULL, true, 5, 100), PEER_ADMIT);
    assert_int_equal(peer_limits_admit(&c, NULL, true, 10, 0), PEER_FULL);
}

static void test_line_max(void **state)
{
    struct vconf c = conf();
    struct vconf_principal rd = {.scopes = SCOPE(STATUS) | SCOPE(READ) | SCOPE(SECRET)};
    struct vconf_principal br = {.scopes = SCOPE(AUTHORIZE) | SCOPE(BROKER) | SCOPE(ACT_AS)};
    struct vconf_principal wr = {.scopes = SCOPE(WRITE)};
    struct vconf_principal gv = {.scopes = SCOPE(GOV)};

    (void)state;
    assert_int_equal(peer_limits_line_max(&c, &rd, false), 64u << 10);
    assert_int_equal(peer_limits_line_max(&c, &br, false), 64u << 10);
    assert_int_equal(peer_limits_line_max(&c, &wr, false), 1u << 20);
    assert_int_equal(peer_limits_line_max(&c, &gv, false), 1u << 20);
    assert_int_equal(peer_limits_line_max(&c, NULL, true), 1u << 20);
    /* The short limit never exceeds the long one. */
    c.max_line = 16u << 10;
    assert_int_equal(peer_limits_line_max(&c, &rd, false), 16u << 10);
}

static void test_quiet_exempt(void **state)
{
    struct vconf_principal rd = {.scopes = SCOPE(STATUS) | SCOPE(READ)};
    struct vconf_principal au = {.scopes = SCOPE(AUTHORIZE)};
    struct vconf_principal br = {.scopes = SCOPE(BROKER)};

    (void)state;
    assert_false(peer_limits_quiet_exempt(&rd, false));
    assert_true(peer_limits_quiet_exempt(&au, false));
    assert_true(peer_limits_quiet_exempt(&br, false));
    assert_true(peer_limits_quiet_exempt(NULL, true));
    assert_false(peer_limits_quiet_exempt(NULL, false));
}

static void test_refusal_log(void **state)
{
    struct peer_log l = {0};
    unsigned held = 99;

    (void)state;
    /* The first refusal is logged at once, even at time 0. */
    assert_true(peer_log_refusal(&l, 0, &held));
    assert_int_equal(held, 0);
    /* A flood within the interval is counted, not logged. */
    for (unsigned i = 0; i < 1000; i++)
        assert_false(peer_log_refusal(&l, 1 + i, &held));
    assert_int_equal(peer_log_take_stale(&l, 5000), 0); /* not stale yet */
    /* After the interval the next refusal is logged and reports the count. */
    assert_true(peer_log_refusal(&l, PEER_LOG_INTERVAL_MS + 1, &held));
    assert_int_equal(held, 1000);
    /* Held back and then quiet: the tick reports them once. */
    assert_false(peer_log_refusal(&l, PEER_LOG_INTERVAL_MS + 2, &held));
    assert_int_equal(peer_log_take_stale(&l, 2 * PEER_LOG_INTERVAL_MS + 1), 1);
    assert_int_equal(peer_log_take_stale(&l, 4 * PEER_LOG_INTERVAL_MS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admit),
        cmocka_unit_test(test_line_max),
        cmocka_unit_test(test_quiet_exempt),
        cmocka_unit_test(test_refusal_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
