/* SPDX-License-Identifier: Apache-2.0 */
/* Segregation of duties: which rules an identity's holdings (plus a candidate) violate. */
#include <string.h>

#include "internal.h"

/* A held account may itself be a pattern (a standing entitlement): then any overlap counts. */
static bool account_matches(const char *pattern, const char *held)
{
    if (!held)
        return false;
    if (strpbrk(held, "*?"))
        return gov_patterns_overlap(pattern, held);
    return gov_glob_match(pattern, held);
}

static bool any_account_matches(const char *pattern, const json_t *accounts)
{
    const json_t *a;
    size_t i;

    json_array_foreach(accounts, i, a)
    {
        if (account_matches(pattern, json_string_value(a)))
            return true;
    }
    return false;
}

/* Does the candidate ({"role"} or {"account"}, or a role with the "accounts" it gives) hold `side`?
 */
static bool candidate_holds(const char *side, const json_t *cand)
{
    if (!cand)
        return false;
    if (strncmp(side, "role:", 5) == 0) {
        const char *role = gov_json_str(cand, "role");

        return role && strcmp(role, side + 5) == 0;
    }
    if (strncmp(side, "account:", 8) == 0)
        return account_matches(side + 8, gov_json_str(cand, "account")) ||
               any_account_matches(side + 8, json_object_get(cand, "accounts"));
    return false;
}

static bool holdings_hold(const char *side, const json_t *holdings)
{
    if (strncmp(side, "role:", 5) == 0)
        return gov_json_array_has(json_object_get(holdings, "roles"), side + 5);
    if (strncmp(side, "account:", 8) == 0)
        return any_account_matches(side + 8, json_object_get(holdings, "accounts"));
    return false;
}

static bool has_exception(const json_t *exceptions, const char *rule)
{
    const json_t *x;
    size_t i;

    json_array_foreach(exceptions, i, x)
    {
        const char *r = gov_json_str(x, "rule");

        if (r && strcmp(r, rule) == 0)
            return true;
    }
    return false;
}

int gov_sod_violations(const json_t *rules, const json_t *holdings, const json_t *candidate,
                       const json_t *exceptions, json_t **violated)
{
    int r = -ERR_INVAL;
    json_t *out = NULL;
    const json_t *rule;
    size_t i;

    if ((rules && !json_is_array(rules)) || (holdings && !json_is_object(holdings)) ||
        (candidate && !json_is_object(candidate)) || (exceptions && !json_is_array(exceptions)))
        goto out;
    if (!(out = json_array())) {
        r = -ERR_NOMEM;
        goto out;
    }
    json_array_foreach(rules, i, rule)
    {
        const char *name = gov_json_str(rule, "name"), *a = gov_json_str(rule, "a"),
                   *b = gov_json_str(rule, "b");
        bool ca, cb;

        if (!name || !a || !b)
            continue;
        ca = candidate_holds(a, candidate);
        cb = candidate_holds(b, candidate);
        if (candidate && !ca && !cb)
            continue; /* the candidate takes no part in this rule */
        if (!(ca || holdings_hold(a, holdings)) || !(cb || holdings_hold(b, holdings)))
            continue;
        if (has_exception(exceptions, name))
            continue;
        if (json_array_append_new(out, json_deep_copy(rule)) != 0) {
            r = -ERR_NOMEM;
            goto out;
        }
    }
    *violated = out;
    out = NULL;
    r = 0;
out:
    json_decref(out);
    return r;
}
