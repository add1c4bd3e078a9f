/* SPDX-License-Identifier: Apache-2.0 */
/* TOTP brute-force throttle: wrong codes counted per identity, delays that double, locks. */
#include <string.h>

#include "custos/gov.h"

/* Shifts beyond this would overflow; every duration is capped long before. */
#define SHIFT_MAX 30u

static uint64_t doubled(uint64_t base, unsigned times, uint64_t cap)
{
    uint64_t v = base;

    if (times > SHIFT_MAX)
        times = SHIFT_MAX;
    for (unsigned i = 0; i < times && v < cap; i++)
        v *= 2;
    return v < cap ? v : cap;
}

/* The wait after the latest of t->failures wrong codes (0: none). */
static uint64_t wait_after(const struct gov_throttle_policy *p, const struct gov_throttle *t)
{
    if (!p->delay_ms || t->failures <= p->free_failures)
        return 0;
    return doubled(p->delay_ms, t->failures - p->free_failures - 1, p->lock_ms);
}

static bool window_open(const struct gov_throttle_policy *p, const struct gov_throttle *t,
                        uint64_t now)
{
    return t->failures > 0 && now - t->first_ms < p->window_ms;
}

enum gov_throttle_verdict gov_throttle_check(const struct gov_throttle_policy *p,
                                             const struct gov_throttle *t, uint64_t now_ms,
                                             uint64_t *wait_ms)
{
    uint64_t now = now_ms > t->last_ms ? now_ms : t->last_ms, w;

    if (wait_ms)
        *wait_ms = 0;
    if (t->locked_until_ms > now) {
        if (wait_ms)
            *wait_ms = t->locked_until_ms - now;
        return GOV_THROTTLE_LOCKED;
    }
    if (!window_open(p, t, now) || (w = wait_after(p, t)) == 0 || now - t->last_ms >= w)
        return GOV_THROTTLE_TRY;
    if (wait_ms)
        *wait_ms = t->last_ms + w - now;
    return GOV_THROTTLE_WAIT;
}

bool gov_throttle_fail(const struct gov_throttle_policy *p, struct gov_throttle *t, uint64_t now_ms)
{
    uint64_t now = now_ms > t->last_ms ? now_ms : t->last_ms;
    uint64_t quiet_since = t->locked_until_ms > t->last_ms ? t->locked_until_ms : t->last_ms;

    /* max_lock_ms without a wrong code, counted from the end of the last lock, forgives. */
    if (t->locks && now >= quiet_since && now - quiet_since >= p->max_lock_ms)
        t->locks = 0;
    if (!window_open(p, t, now)) {
        t->failures = 0;
        t->first_ms = now;
    }
    t->failures++;
    t->last_ms = now;
    if (t->failures < p->max_failures)
        return false;
    t->locked_until_ms = now + doubled(p->lock_ms, t->locks, p->max_lock_ms);
    t->locks++;
    t->failures = 0;
    t->first_ms = 0;
    return true;
}

void gov_throttle_reset(struct gov_throttle *t)
{
    memset(t, 0, sizeof(*t));
}

bool gov_throttle_is_clear(const struct gov_throttle *t)
{
    return t->failures == 0 && t->locks == 0 && t->locked_until_ms == 0;
}

json_t *gov_throttle_to_json(const struct gov_throttle *t)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "failures", (json_int_t)t->failures, "locks",
                     (json_int_t)t->locks, "first_ms", (json_int_t)t->first_ms, "last_ms",
                     (json_int_t)t->last_ms, "locked_until_ms", (json_int_t)t->locked_until_ms);
}

static int member(const json_t *j, const char *k, uint64_t max, uint64_t *out)
{
    const json_t *v = json_object_get(j, k);

    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return -ERR_CORRUPT;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int gov_throttle_from_json(const json_t *j, struct gov_throttle *t)
{
    uint64_t failures, locks;
    struct gov_throttle x;

    gov_throttle_reset(t);
    if (!j)
        return 0;
    if (!json_is_object(j) || member(j, "failures", UINT32_MAX, &failures) != 0 ||
        member(j, "locks", UINT32_MAX, &locks) != 0 ||
        member(j, "first_ms", UINT64_MAX >> 1, &x.first_ms) != 0 ||
        member(j, "last_ms", UINT64_MAX >> 1, &x.last_ms) != 0 ||
        member(j, "locked_until_ms", UINT64_MAX >> 1, &x.locked_until_ms) != 0)
        return -ERR_CORRUPT;
    x.failures = (unsigned)failures;
    x.locks = (unsigned)locks;
    *t = x;
    return 0;
}
