/* SPDX-License-Identifier: Apache-2.0 */
/* Eligibility: which held role and entitlement let an identity reach an account, and how. */
#include <string.h>

#include "internal.h"

enum mode { MODE_REQUEST, MODE_STANDING, MODE_BREAKGLASS };

static json_int_t max_of(const json_t *ent)
{
    return gov_json_int(ent, "max_duration", GOV_DEFAULT_MAX_DURATION);
}

/* Is `cand` better than `best` for this mode?  Ties keep the earlier one. */
static bool better(enum mode mode, const json_t *cand, const json_t *best)
{
    int rc, rb;

    if (!best)
        return true;
    switch (mode) {
    case MODE_REQUEST:
        rc = gov_approval_rank(json_object_get(cand, "approval"));
        rb = gov_approval_rank(json_object_get(best, "approval"));
        if (rc != rb)
            return rc < rb;
        return max_of(cand) > max_of(best);
    case MODE_STANDING:
        /* Holding any standing role with file transfer allows it. */
        return gov_json_true(cand, "file_transfer") && !gov_json_true(best, "file_transfer");
    case MODE_BREAKGLASS:
        return max_of(cand) > max_of(best);
    }
    return false;
}

int gov_entitlement_find(const json_t *roles, const char *account, json_int_t duration,
                         const char *mode, json_t **role, json_t **entitlement, char *why,
                         size_t whylen)
{
    int r = -ERR_INVAL;
    enum mode m;
    const json_t *rl, *ent, *best_role = NULL, *best = NULL;
    json_int_t longest = 0;
    bool covered = false;
    size_t i, j;
    json_t *rc = NULL, *ec = NULL;
    char d[32];

    if (!mode || !account || !role || !entitlement || (roles && !json_is_array(roles))) {
        gov_why(why, whylen, "invalid eligibility query");
        goto out;
    }
    if (strcmp(mode, "request") == 0)
        m = MODE_REQUEST;
    else if (strcmp(mode, "standing") == 0)
        m = MODE_STANDING;
    else if (strcmp(mode, "breakglass") == 0)
        m = MODE_BREAKGLASS;
    else {
        gov_why(why, whylen, "unknown eligibility mode %.32s", mode);
        goto out;
    }
    if (m != MODE_STANDING && duration <= 0) {
        gov_why(why, whylen, "the duration must be positive");
        goto out;
    }
    json_array_foreach(roles, i, rl)
    {
        const char *kind = gov_json_str(rl, "kind");
        bool standing = kind && strcmp(kind, "standing") == 0;

        /* A missing kind is "requestable", the default gov_role_check fills. */
        if (kind && !standing && strcmp(kind, "requestable") != 0)
            continue;
        if (m == MODE_STANDING && !standing)
            continue;
        json_array_foreach(json_object_get(rl, "entitlements"), j, ent)
        {
            if (!gov_glob_match(gov_json_str(ent, "account"), account))
                continue;
            if (m == MODE_BREAKGLASS && !gov_json_true(ent, "break_glass"))
                continue;
            covered = true;
            if (max_of(ent) > longest)
                longest = max_of(ent);
            if (m != MODE_STANDING && max_of(ent) < duration)
                continue;
            if (better(m, ent, best)) {
                best = ent;
                best_role = rl;
            }
        }
    }
    if (!best) {
        r = -ERR_DENIED;
        if (covered) {
            gov_duration_format(longest, d, sizeof(d));
            gov_why(why, whylen, "longest allowed for %.129s is %s", account, d);
        } else if (m == MODE_BREAKGLASS)
            gov_why(why, whylen, "no role of yours allows break-glass on %.129s", account);
        else if (m == MODE_STANDING)
            gov_why(why, whylen, "no standing role of yours covers %.129s", account);
        else
            gov_why(why, whylen, "no role of yours covers %.129s", account);
        goto out;
    }
    rc = json_deep_copy(best_role);
    ec = json_deep_copy(best);
    if (!rc || !ec) {
        r = -ERR_NOMEM;
        goto out;
    }
    *role = rc;
    *entitlement = ec;
    rc = ec = NULL;
    r = 0;
out:
    json_decref(rc);
    json_decref(ec);
    return r;
}
