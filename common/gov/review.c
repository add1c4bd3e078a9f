/* SPDX-License-Identifier: Apache-2.0 */
/* Access reviews: who reviews an item, escalation, and whether an item is in a campaign scope. */
#include <string.h>

#include "internal.h"

/* A reviewer must be someone else, and an active identity (only those may review). */
static bool fits(const char *who, const char *self, const json_t *identities)
{
    return who && self && strcmp(who, self) != 0 && gov_is_active(json_object_get(identities, who));
}

static const char *manager_of(const char *id, const json_t *identities)
{
    return id ? gov_json_str(json_object_get(identities, id), "manager") : NULL;
}

const char *gov_reviewer_for(const char *kind, const json_t *identity, const json_t *target,
                             const json_t *identities, const char *fallback)
{
    const char *self = gov_json_str(identity, "id"), *mgr = gov_json_str(identity, "manager");
    const char *cands[3] = {NULL, NULL, NULL};

    if (!kind || !self)
        return NULL;
    if (strcmp(kind, "grant") == 0)
        cands[0] = gov_json_str(target, "owner");
    else if (strcmp(kind, "role") != 0)
        return NULL;
    cands[1] = mgr;
    cands[2] = manager_of(mgr, identities);
    for (size_t i = 0; i < 3; i++)
        if (fits(cands[i], self, identities))
            return cands[i];
    if (fallback && strcmp(fallback, self) != 0)
        return fallback;
    return NULL;
}

const char *gov_reviewer_escalate(const char *reviewer, const json_t *identity,
                                  const json_t *identities, const char *fallback)
{
    const char *self = gov_json_str(identity, "id"), *up = manager_of(reviewer, identities);

    if (!self)
        return NULL;
    if (fits(up, self, identities) && strcmp(up, reviewer) != 0)
        return up;
    if (fallback && strcmp(fallback, self) != 0)
        return fallback;
    return NULL;
}

/* Split "NAME@TARGET" into two NUL-terminated parts; false when there is no single '@'. */
static bool split_account(const char *account, char *name, char *target, size_t n)
{
    const char *at;
    size_t len, tlen;

    if (!account || !(at = strchr(account, '@')) || strchr(at + 1, '@'))
        return false;
    len = (size_t)(at - account);
    tlen = strlen(at + 1);
    if (len >= n || tlen >= n)
        return false;
    memcpy(name, account, len);
    name[len] = '\0';
    memcpy(target, at + 1, tlen + 1);
    return true;
}

static bool target_is_privileged(const json_t *target)
{
    const json_t *v = json_object_get(json_object_get(target, "meta"), "privileged");

    return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

bool gov_scope_covers(const json_t *scope, const json_t *identity, const char *account,
                      const json_t *target)
{
    static const char *const privileged[] = {"root", "admin*", "postgres"};
    const char *kind = gov_json_str(scope, "kind"), *value = gov_json_str(scope, "value");
    char name[GOV_PATTERN_MAX + 1], tname[GOV_PATTERN_MAX + 1];
    bool split = split_account(account, name, tname, sizeof(name));

    if (!kind)
        return false;
    if (strcmp(kind, "all") == 0)
        return true;
    if (strcmp(kind, "department") == 0) {
        const char *dept = gov_json_str(identity, "department");

        return value && dept && strcmp(value, dept) == 0;
    }
    if (strcmp(kind, "target") == 0) {
        const char *tn = gov_json_str(target, "name");

        if (!value)
            return false;
        if (split)
            return gov_glob_match(tname,
                                  value); /* a role's pattern covers the targets it may match */
        return !account && tn && strcmp(tn, value) == 0;
    }
    if (strcmp(kind, "privileged") == 0) {
        if (target_is_privileged(target))
            return true;
        if (!split)
            return false;
        for (size_t i = 0; i < sizeof(privileged) / sizeof(privileged[0]); i++)
            if (gov_patterns_overlap(name, privileged[i]))
                return true;
        return false;
    }
    return false;
}
