/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/throttle.c: free failures, doubling delays, locks, windows, stored form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/gov.h"

#define S 1000u             /* one second in ms */
#define T0 1800000000000ull /* some wall time in ms */

/* The documented defaults: 2 free, delay 1 s doubling, 5 in 15 min lock 15 min, at most 1 day. */
static const struct gov_throttle_policy defaults = {
    .max_failures = 5,
    .window_ms = 900 * S,
    .free_failures = 2,
    .delay_ms = 1 * S,
    .lock_ms = 900 * S,
    .max_lock_ms = 86400ull * S,
};

static enum gov_throttle_verdict check(const struct gov_throttle *t, uint64_t now, uint64_t *w)
{
    return gov_throttle_check(&defaults, t, now, w);
}

static void test_clear_state_tries(void **state)
{
    struct gov_throttle t = {0};
    uint64_t w = 99;

    (void)state;
    assert_true(gov_throttle_is_clear(&t));
    assert_int_equal(check(&t, T0, &w), GOV_THROTTLE_TRY);
    assert_int_equal(w, 0);
}

static void test_delays_double_then_lock(void **state)
{
    struct gov_throttle t = {0};
    uint64_t now = T0, w = 0;

    (void)state;
    /* Two typing mistakes are free. */
    assert_false(gov_throttle_fail(&defaults, &t, now));
    assert_int_equal(check(&t, now, &w), GOV_THROTTLE_TRY);
    assert_false(gov_throttle_fail(&defaults, &t, now));
    assert_int_equal(check(&t, now, &w), GOV_THROTTLE_TRY);
    /* The third costs 1 s, the fourth 2 s. */
    assert_false(gov_throttle_fail(&defaults, &t, now));
    assert_int_equal(check(&t, now, &w), GOV_THROTTLE_WAIT);
    assert_int_equal(w, 1 * S);
    assert_int_equal(check(&t, now + 400, &w), GOV_THROTTLE_WAIT);
    assert_int_equal(w, 600);
    now += 1 * S;
    assert_int_equal(check(&t, now, &w), GOV_THROTTLE_TRY);
    assert_false(gov_throttle_fail(&defaults, &t, now));
    assert_int_equal(check(&t, now + S, &w), GOV_THROTTLE_WAIT);
    assert_int_equal(w, 1 * S);
    now += 2 * S;
    assert_int_equal(check(&t, now, &w), GOV_THROTTLE_TRY);
    /* The fifth locks for 15 min: even the right code would be refused. */
    assert_true(gov_throttle_fail(&defaults, &t, now));
    assert_int_equal(t.locked_until_ms, now + 900 * S);
    assert_int_equal(t.locks, 1);
    assert_int_equal(t.failures, 0);
    assert_int_equal(check(&t, now, &w), GOV_THROTTLE_LOCKED);
    assert_int_equal(w, 900 * S);
    assert_int_equal(check(&t, now + 899 * S, &w), GOV_THROTTLE_LOCKED);
    assert_int_equal(w, 1 * S);
    /* After the lock a fresh window: two free failures again. */
    now += 900 * S;
    assert_int_equal(check(&t, now, &w), GOV_THROTTLE_TRY);
    assert_false(gov_throttle_fail(&defaults, &t, now));
    assert_int_equal(t.failures, 1);
    assert_int_equal(check(&t, now, &w), GOV_THROTTLE_TRY);
}

static void test_second_lock_doubles_and_caps(void **state)
{
    struct gov_throttle_policy p = defaults;
    struct gov_throttle t = {0};
    uint64_t now = T0;

    (void)state;
    p.delay_ms = 0; /* no waits: only the locks matter here */
    p.max_lock_ms = 2500 * S;
    for (unsigned lock = 0; lock < 4; lock++) {
        for (unsigned i = 0; i < 4; i++)
            assert_false(gov_throttle_fail(&p, &t, now));
        assert_true(gov_throttle_fail(&p, &t, now));
        uint64_t want = lock == 0 ? 900 * S : lock == 1 ? 1800 * S : 2500 * S;
        assert_int_equal(t.locked_until_ms - now, want);
        now = t.locked_until_ms;
    }
    /* A code accepted: everything forgotten. */
    gov_throttle_reset(&t);
    assert_true(gov_throttle_is_clear(&t));
}

static void test_quiet_forgives_locks(void **state)
{
    struct gov_throttle t = {0};
    uint64_t now = T0;

    (void)state;
    for (unsigned i = 0; i < 5; i++)
        (void)gov_throttle_fail(&defaults, &t, now + i * 10 * S);
    assert_int_equal(t.locks, 1);
    /* A day after the lock ended, not a day after it began: still remembered. */
    now = t.last_ms + 86400ull * S;
    {
        struct gov_throttle u = t;
        for (unsigned i = 0; i < 4; i++)
            assert_false(gov_throttle_fail(&defaults, &u, now));
        assert_true(gov_throttle_fail(&defaults, &u, now));
        assert_int_equal(u.locked_until_ms - now, 1800 * S);
    }
    now = t.locked_until_ms + 86400ull * S; /* a day without a wrong code since the lock */
    for (unsigned i = 0; i < 4; i++)
        assert_false(gov_throttle_fail(&defaults, &t, now + i * 10 * S));
    assert_true(gov_throttle_fail(&defaults, &t, now + 40 * S));
    assert_int_equal(t.locked_until_ms - (now + 40 * S), 900 * S); /* not 1800 s */
}

static void test_window_restarts(void **state)
{
    struct gov_throttle t = {0};
    uint64_t now = T0, w;

    (void)state;
    for (unsigned i = 0; i < 4; i++)
        assert_false(gov_throttle_fail(&defaults, &t, now + i * 5 * S));
    /* 15 minutes after the first: the window is over, the count starts again. */
    now += 900 * S;
    assert_int_equal(check(&t, now, &w), GOV_THROTTLE_TRY);
    assert_false(gov_throttle_fail(&defaults, &t, now));
    assert_int_equal(t.failures, 1);
    assert_int_equal(t.first_ms, now);
}

static void test_clock_set_back(void **state)
{
    struct gov_throttle t = {0};
    uint64_t w;

    (void)state;
    for (unsigned i = 0; i < 3; i++)
        (void)gov_throttle_fail(&defaults, &t, T0);
    /* An hour earlier on the wall clock: the wait is not shortened, nor longer than 1 s. */
    assert_int_equal(check(&t, T0 - 3600 * S, &w), GOV_THROTTLE_WAIT);
    assert_int_equal(w, 1 * S);
}

static void test_no_delay_policy(void **state)
{
    struct gov_throttle_policy p = defaults;
    struct gov_throttle t = {0};

    (void)state;
    p.delay_ms = 0;
    for (unsigned i = 0; i < 4; i++) {
        assert_false(gov_throttle_fail(&p, &t, T0));
        assert_int_equal(gov_throttle_check(&p, &t, T0, NULL), GOV_THROTTLE_TRY);
    }
}

static void test_json_round_trip(void **state)
{
    struct gov_throttle t = {
        .failures = 3, .locks = 2, .first_ms = T0, .last_ms = T0 + 5, .locked_until_ms = T0 + 9};
    struct gov_throttle u;
    json_t *j = gov_throttle_to_json(&t), *bad;

    (void)state;
    assert_int_equal(gov_throttle_from_json(j, &u), 0);
    assert_memory_equal(&t, &u, sizeof(t));
    assert_int_equal(gov_throttle_from_json(NULL, &u), 0);
    assert_true(gov_throttle_is_clear(&u));
    bad = json_deep_copy(j);
    json_object_set_new(bad, "failures", json_integer(-1));
    assert_int_equal(gov_throttle_from_json(bad, &u), -ERR_CORRUPT);
    assert_true(gov_throttle_is_clear(&u));
    json_object_del(bad, "failures");
    assert_int_equal(gov_throttle_from_json(bad, &u), -ERR_CORRUPT);
    json_decref(bad);
    bad = json_string("x");
    assert_int_equal(gov_throttle_from_json(bad, &u), -ERR_CORRUPT);
    json_decref(bad);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear_state_tries),
        cmocka_unit_test(test_delays_double_then_lock),
        cmocka_unit_test(test_second_lock_doubles_and_caps),
        cmocka_unit_test(test_quiet_forgives_locks),
        cmocka_unit_test(test_window_restarts),
        cmocka_unit_test(test_clock_set_back),
        cmocka_unit_test(test_no_delay_policy),
        cmocka_unit_test(test_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
