/* SPDX-License-Identifier: Apache-2.0 */
/* Approvals: who may approve a request, whether one approver may approve now, auto-approval. */
#include <string.h>

#include "internal.h"

static int add_approver(json_t *list, const json_t *who, const char *requester)
{
    const char *id = gov_json_str(who, "id");

    if (!id || !gov_is_active(who) || (requester && strcmp(id, requester) == 0) ||
        gov_json_array_has(list, id))
        return 0;
    return json_array_append_new(list, json_string(id)) != 0 ? -ERR_NOMEM : 0;
}

int gov_approvers_resolve(const json_t *approval, const json_t *requester, const json_t *target,
                          const json_t *members, const json_t *identities, json_t **approvers,
                          char *why, size_t whylen)
{
    int r = -ERR_INVAL;
    const char *by, *rid = gov_json_str(requester, "id"), *who;
    const char *tname = gov_json_str(target, "name");
    json_int_t count;
    json_t *list = json_array();
    const json_t *m;
    size_t i;

    if (!list) {
        r = -ERR_NOMEM;
        goto out;
    }
    if (!rid) {
        gov_why(why, whylen, "the requester has no id");
        goto out;
    }
    gov_approval_get(approval, &by, &count);
    if (strcmp(by, "none") == 0) {
        /* nobody to list */
    } else if (strcmp(by, "manager") == 0) {
        who = gov_json_str(requester, "manager");
        if (!who) {
            r = -ERR_DENIED;
            gov_why(why, whylen, "you have no manager to approve this");
            goto out;
        }
        if ((r = add_approver(list, json_object_get(identities, who), rid)) != 0)
            goto out;
        if (json_array_size(list) == 0) {
            r = -ERR_DENIED;
            gov_why(why, whylen, "your manager %.64s is not active", who);
            goto out;
        }
    } else if (strcmp(by, "owner") == 0) {
        who = gov_json_str(target, "owner");
        if (!who) {
            r = -ERR_DENIED;
            gov_why(why, whylen, "target %.64s has no owner", tname ? tname : "?");
            goto out;
        }
        if (strcmp(who, rid) == 0) {
            r = -ERR_DENIED;
            gov_why(why, whylen, "you own target %.64s and cannot approve your own request",
                    tname ? tname : "?");
            goto out;
        }
        if ((r = add_approver(list, json_object_get(identities, who), rid)) != 0)
            goto out;
        if (json_array_size(list) == 0) {
            r = -ERR_DENIED;
            gov_why(why, whylen, "the owner %.64s of target %.64s is not active", who,
                    tname ? tname : "?");
            goto out;
        }
    } else if (strcmp(by, "group") == 0) {
        const char *group = gov_json_str(approval, "group");

        /* Only identities that really are in the group count, whatever the caller passed. */
        json_array_foreach(members, i, m)
        {
            if (!gov_json_array_has(json_object_get(m, "groups"), group))
                continue;
            if ((r = add_approver(list, m, rid)) != 0)
                goto out;
        }
    } else {
        gov_why(why, whylen, "unknown approval by %.32s", by);
        goto out;
    }
    if ((json_int_t)json_array_size(list) < count) {
        r = -ERR_DENIED;
        gov_why(why, whylen, "%.64s%.64s has %zu active approver%s besides you; %lld needed",
                strcmp(by, "group") == 0 ? "group " : "approval by ",
                strcmp(by, "group") == 0 && gov_json_str(approval, "group")
                    ? gov_json_str(approval, "group")
                    : by,
                json_array_size(list), json_array_size(list) == 1 ? "" : "s", (long long)count);
        goto out;
    }
    *approvers = list;
    list = NULL;
    r = 0;
out:
    json_decref(list);
    return r;
}

/* Did `who` approve `request` already? */
static bool approved_by(const json_t *request, const char *who)
{
    const json_t *a;
    size_t i;

    json_array_foreach(json_object_get(request, "approvals"), i, a)
    {
        const char *by = gov_json_str(a, "by");

        if (by && strcmp(by, who) == 0)
            return true;
    }
    return false;
}

int gov_can_approve(const json_t *request, const json_t *approver, const json_t *approver_requests,
                    char *why, size_t whylen)
{
    const char *rid = gov_json_str(request, "id"), *state = gov_json_str(request, "state");
    const char *requester = gov_json_str(request, "requester"), *me = gov_json_str(approver, "id");
    const json_t *mine;
    json_int_t count;
    const char *by;
    size_t i;

    if (!rid)
        rid = "?";
    if (!me || !requester) {
        gov_why(why, whylen, "request %.64s or its approver has no id", rid);
        return -ERR_INVAL;
    }
    if (!state || strcmp(state, "pending") != 0) {
        gov_why(why, whylen, "request %.64s is %.16s, not pending", rid, state ? state : "?");
        return -ERR_DENIED;
    }
    if (strcmp(me, requester) == 0) {
        gov_why(why, whylen, "nobody approves their own request");
        return -ERR_DENIED;
    }
    if (!gov_is_active(approver)) {
        gov_why(why, whylen, "%.64s is not active", me);
        return -ERR_DENIED;
    }
    if (!gov_json_array_has(json_object_get(request, "approvers"), me)) {
        gov_why(why, whylen, "%.64s is not an approver of request %.64s", me, rid);
        return -ERR_DENIED;
    }
    if (approved_by(request, me)) {
        gov_why(why, whylen, "%.64s already approved request %.64s; a second approver is needed",
                me, rid);
        return -ERR_DENIED;
    }
    gov_approval_get(json_object_get(request, "approval"), &by, &count);
    if (count >= 2) {
        json_array_foreach(approver_requests, i, mine)
        {
            const char *st = gov_json_str(mine, "state");

            /* The caller passes pending and live-approved ones; ended ones never count. */
            if (st && strcmp(st, "pending") != 0 && strcmp(st, "approved") != 0)
                continue;
            if (approved_by(mine, requester)) {
                gov_why(why, whylen,
                        "%.64s approved your request %.64s; two-person requests cannot be "
                        "approved in return",
                        requester, gov_json_str(mine, "id") ? gov_json_str(mine, "id") : "?");
                return -ERR_DENIED;
            }
        }
    }
    return 0;
}

bool gov_request_is_approved(const json_t *request)
{
    const json_t *list = json_object_get(request, "approvals"), *a;
    json_int_t count, distinct = 0;
    const char *by;
    size_t i, j;

    gov_approval_get(json_object_get(request, "approval"), &by, &count);
    /* Count each approver once, whatever the list holds. */
    json_array_foreach(list, i, a)
    {
        const char *who = gov_json_str(a, "by");
        bool seen = false;

        if (!who)
            continue;
        for (j = 0; j < i && !seen; j++) {
            const char *prev = gov_json_str(json_array_get(list, j), "by");

            seen = prev && strcmp(prev, who) == 0;
        }
        if (!seen)
            distinct++;
    }
    return distinct >= count;
}

const json_t *gov_auto_rule_find(const json_t *rules, const json_t *identity, const char *account,
                                 json_int_t duration)
{
    const json_t *rule;
    size_t i;

    if (!account || duration <= 0 || !gov_is_active(identity))
        return NULL;
    json_array_foreach(rules, i, rule)
    {
        if (gov_json_array_has(json_object_get(identity, "groups"), gov_json_str(rule, "group")) &&
            gov_glob_match(gov_json_str(rule, "account"), account) &&
            duration <= gov_json_int(rule, "max_duration", GOV_DEFAULT_MAX_DURATION))
            return rule;
    }
    return NULL;
}
