/* SPDX-License-Identifier: Apache-2.0 */
/* Requests, approvals, JIT grants, break-glass, and the broker's authorization query. */
#include <stdio.h>
#include <string.h>

#include "custos/log.h"
#include "gov_state.h"
#include "mfa_throttle.h"
#include "scopes.h"

/* Longest grant anyone can ask for, whatever a role says. */
#define GRANT_MAX_DURATION (30 * 24 * 3600)

static bool str_eq(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The account exists in the vault (NAME@TARGET). */
static int account_arg(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char **out,
                       json_t **acct)
{
    int r;

    if ((r = arg_str(rq, "account", true, out)) != 0)
        return r;
    if (!strchr(*out, '@')) {
        req_fail(rq, -ERR_INVAL, "account must be NAME@TARGET");
        return -ERR_INVAL;
    }
    return gov_load(vd, rq, txn, STORE_ACCOUNTS, "account", *out, acct);
}

static int duration_arg(struct req *rq, json_int_t *out)
{
    unsigned long long d = 0;
    int r = arg_uint(rq, "duration", true, GRANT_MAX_DURATION, &d);

    if (r == 0 && d < 60) {
        req_fail(rq, -ERR_INVAL, "duration must be at least 60 seconds");
        r = -ERR_INVAL;
    }
    *out = (json_int_t)d;
    return r;
}

static int reason_arg(struct req *rq, const char **out)
{
    int r = arg_str(rq, "reason", true, out);

    if (r == 0 && (strlen(*out) < 3 || strlen(*out) > 500)) {
        req_fail(rq, -ERR_INVAL, "reason must be 3 to 500 characters");
        r = -ERR_INVAL;
    }
    return r;
}

static int request_save(struct vaultd *vd, MDB_txn *txn, json_t *req, unsigned flags)
{
    return store_json_put(vd->store, txn, STORE_REQUESTS, jstr(req, "id"), req, flags);
}

/* Approved: the grant, the state, the events. */
static int request_grant(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *request,
                         const json_t *ent)
{
    json_t *g = NULL;
    int r;

    if ((r = gov_grant_create(vd, rq, txn, jstr(request, "requester"), jstr(request, "account"),
                              json_integer_value(json_object_get(request, "duration")), "jit",
                              jstr(request, "id"), ent, &g)) != 0)
        return r;
    json_object_set_new(request, "state", json_string("approved"));
    json_object_set_new(request, "decided_at", json_integer(gov_now()));
    json_object_set(request, "grant", json_object_get(g, "id"));
    json_decref(g);
    return 0;
}

static void emit_decided(struct req *rq, const json_t *request)
{
    gov_emit(
        rq, "request.decided",
        json_pack("{s:O,s:O,s:O,s:O,s:O,s:O?,s:O?,s:O?}", "request", json_object_get(request, "id"),
                  "requester", json_object_get(request, "requester"), "account",
                  json_object_get(request, "account"), "state", json_object_get(request, "state"),
                  "grant", json_object_get(request, "grant"), "kind",
                  json_object_get(request, "kind"), "session", json_object_get(request, "session"),
                  "denial", json_object_get(request, "denial")));
}

/* A pending request whose decide_by has come (the timer's test, shared by every decision). */
static bool request_is_overdue(const json_t *request)
{
    return str_eq(json_object_get(request, "state"), "pending") &&
           json_integer_value(json_object_get(request, "decide_by")) <= gov_now();
}

/* Mark an overdue request expired (in memory and stored), audit it, announce request.decided. */
static int request_expire(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *request)
{
    int r;

    json_object_set_new(request, "state", json_string("expired"));
    json_object_set_new(request, "decided_at", json_integer(gov_now()));
    if ((r = request_save(vd, txn, request, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, jstr(request, "account"),
                       json_pack("{s:s,s:O,s:O}", "change", "request.expire", "request",
                                 json_object_get(request, "id"), "decide_by",
                                 json_object_get(request, "decide_by")))) != 0)
        return r;
    emit_decided(rq, request);
    return 0;
}

/* Is `actor` one of the request's approvers? */
static bool is_approver_of(const json_t *request, const json_t *actor)
{
    json_t *a;
    size_t i;

    json_array_foreach(json_object_get(request, "approvers"), i, a)
    {
        if (str_eq(a, jstr(actor, "id")))
            return true;
    }
    return false;
}

/*
 * Approve, deny and cancel decide only before the deadline, whatever the
 * timer did: it may not have run yet (right after an unseal, within the
 * second of the deadline, behind a busy writer).  An overdue request is
 * expired here, as the timer would have, and the decision is refused with
 * errdata {"reason": "request_expired", "request", "decide_by"}; the expiry
 * and its audit entry commit although the request fails (keep_writes).  A
 * request the timer expired already is refused the same way, so the caller
 * hears one answer whichever came first.  Call it once the caller is known
 * to be a party to the request (an approver, the requester).
 */
static int refuse_if_overdue(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *request,
                             const char *decision)
{
    json_int_t by = json_integer_value(json_object_get(request, "decide_by"));
    int r;

    if (str_eq(json_object_get(request, "state"), "expired")) {
        /* nothing to write: the timer did */
    } else if (!request_is_overdue(request)) {
        return 0;
    } else if ((r = request_expire(vd, rq, txn, request)) != 0) {
        return r;
    } else {
        rq->keep_writes = true;
    }
    req_fail(rq, -ERR_STATE,
             "request %s expired: it was not decided by its deadline (%lld); it can no longer be "
             "%s",
             jstr(request, "id"), (long long)by, decision);
    json_decref(rq->errdata);
    rq->errdata = json_pack("{s:s,s:O,s:I}", "reason", "request_expired", "request",
                            json_object_get(request, "id"), "decide_by", by);
    return -ERR_STATE;
}

/* Members of a group: active identities listing it. */
static json_t *group_members(const json_t *identities, const char *group)
{
    json_t *res = json_array(), *id, *g;
    const char *k;
    size_t i;

    if (!group)
        return res;
    json_object_foreach((json_t *)identities, k, id)
    {
        json_array_foreach(json_object_get(id, "groups"), i, g) if (str_eq(g, group))
        {
            json_array_append(res, id);
            break;
        }
    }
    return res;
}

/* Keep only the entitlements that allow file transfer (a request that asks for it). */
static void only_file_transfer(json_t *roles)
{
    json_t *role;
    size_t i;

    json_array_foreach(roles, i, role)
    {
        json_t *ents = json_object_get(role, "entitlements");
        for (size_t j = json_array_size(ents); j-- > 0;)
            if (!json_is_true(json_object_get(json_array_get(ents, j), "file_transfer")))
                json_array_remove(ents, j);
    }
}

/*
 * Who may approve for `actor` under `approval` (the target's owner from
 * `target`, may be NULL).  Only what resolution needs is loaded: the
 * manager, and the group's members when the policy names a group (a scan of
 * every identity).  Nobody: -ERR_DENIED with the reason in why (the
 * caller decides whether that fails the request).
 */
static int approvers_for(struct vaultd *vd, MDB_txn *txn, const json_t *actor,
                         const json_t *approval, const json_t *target, json_t **approvers,
                         char *why, size_t whylen)
{
    json_t *identities = json_object(), *members = NULL;
    int r = 0;

    *approvers = NULL;
    if (jstr(actor, "manager")) {
        json_t *m = NULL;
        if (store_json_get(vd->store, txn, STORE_IDENTITIES, jstr(actor, "manager"), &m) == 0)
            json_object_set_new(identities, jstr(actor, "manager"), m);
    }
    if (str_eq(json_object_get(approval, "by"), "group")) {
        json_t *all = NULL;
        if ((r = gov_identities_all(vd, txn, &all)) != 0)
            goto out;
        members = group_members(all, jstr(approval, "group"));
        json_decref(all);
    } else {
        members = json_array();
    }
    if (gov_approvers_resolve(approval, actor, target, members, identities, approvers, why,
                              whylen) != 0)
        r = -ERR_DENIED;
out:
    json_decref(identities);
    json_decref(members);
    return r;
}

static int op_request_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char rid[32], why[256] = "";
    const char *account, *reason, *target_name;
    json_t *actor = NULL, *acct = NULL, *roles = NULL, *role = NULL, *ent = NULL, *target = NULL;
    json_t *approvers = NULL, *autos = NULL, *request = NULL;
    const json_t *auto_rule;
    json_int_t duration, now = gov_now();
    int r;

    if ((r = gov_actor(vd, rq, txn, &actor)) != 0 ||
        (r = account_arg(vd, rq, txn, &account, &acct)) != 0 ||
        (r = duration_arg(rq, &duration)) != 0 || (r = reason_arg(rq, &reason)) != 0 ||
        (r = gov_roles_of(vd, txn, actor, &roles)) != 0)
        goto out;
    if (json_is_true(json_object_get(rq->args, "file_transfer")))
        only_file_transfer(roles);
    if ((r = gov_entitlement_find(roles, account, duration, "request", &role, &ent, why,
                                  sizeof(why))) != 0) {
        req_fail(rq, -ERR_DENIED, "%s%s", why,
                 json_is_true(json_object_get(rq->args, "file_transfer"))
                     ? " (among entitlements that allow file transfer)"
                     : "");
        r = -ERR_DENIED;
        goto out;
    }
    target_name = jstr(acct, "target");
    if (store_json_get(vd->store, txn, STORE_TARGETS, target_name, &target) != 0)
        target = NULL;
    if ((r = gov_id_next(vd, txn, "r", rid, sizeof(rid))) != 0)
        goto out;
    request = json_pack("{s:s,s:O,s:s,s:I,s:s,s:s,s:O,s:O,s:[],s:n,s:I,s:I,s:n,s:n}", "id", rid,
                        "requester", json_object_get(actor, "id"), "account", account, "duration",
                        duration, "reason", reason, "state", "pending", "role",
                        json_object_get(role, "name"), "approval", json_object_get(ent, "approval"),
                        "approvals", "denial", "created_at", now, "decide_by",
                        now + (json_int_t)vd->conf->request_timeout, "decided_at", "grant");
    json_object_set_new(request, "file_transfer",
                        json_boolean(json_is_true(json_object_get(ent, "file_transfer"))));
    /* SoD is checked when the grant would be made, and already now to fail early. */
    if ((r = gov_sod_guard_account(vd, rq, txn, actor, account)) != 0)
        goto out;
    if ((r = gov_list(vd, txn, STORE_AUTO, &autos)) != 0)
        goto out;
    auto_rule = gov_auto_rule_find(autos, actor, account, duration);
    if (auto_rule || str_eq(json_object_get(json_object_get(ent, "approval"), "by"), "none")) {
        char by[80];
        snprintf(by, sizeof(by), "%s%s",
                 auto_rule ? "auto:" : "policy:", auto_rule ? jstr(auto_rule, "name") : "none");
        json_object_set_new(request, "approvers", json_array());
        json_array_append_new(json_object_get(request, "approvals"),
                              json_pack("{s:s,s:I,s:s}", "by", by, "at", now, "comment",
                                        auto_rule ? "auto-approved" : "no approval needed"));
        if ((r = request_save(vd, txn, request, STORE_CREATE)) != 0 ||
            (r = req_audit(vd, rq, txn, account,
                           json_pack("{s:s,s:s,s:O,s:I,s:s}", "change", "request.create", "request",
                                     rid, "requester", json_object_get(actor, "id"), "duration",
                                     duration, "approved_by", by))) != 0 ||
            (r = request_grant(vd, rq, txn, request, ent)) != 0 ||
            (r = request_save(vd, txn, request, STORE_UPDATE)) != 0)
            goto out;
        emit_decided(rq, request);
    } else {
        if ((r = approvers_for(vd, txn, actor, json_object_get(ent, "approval"), target, &approvers,
                               why, sizeof(why))) != 0) {
            if (r == -ERR_DENIED)
                req_fail(rq, r, "%s", why);
            goto out;
        }
        json_object_set(request, "approvers", approvers);
        if ((r = request_save(vd, txn, request, STORE_CREATE)) != 0 ||
            (r = req_audit(vd, rq, txn, account,
                           json_pack("{s:s,s:s,s:O,s:I,s:s}", "change", "request.create", "request",
                                     rid, "requester", json_object_get(actor, "id"), "duration",
                                     duration, "reason", reason))) != 0)
            goto out;
        gov_schedule(rq, now + (json_int_t)vd->conf->request_timeout, "request", rid);
        gov_emit(rq, "request.created",
                 json_pack("{s:s,s:O,s:s,s:O}", "request", rid, "requester",
                           json_object_get(actor, "id"), "account", account, "approvers",
                           approvers));
    }
    rq->result = json_incref(request);
out:
    json_decref(actor);
    json_decref(acct);
    json_decref(roles);
    json_decref(role);
    json_decref(ent);
    json_decref(target);
    json_decref(approvers);
    json_decref(autos);
    json_decref(request);
    return r;
}

static int request_arg(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t **out)
{
    const char *id;
    int r = arg_str(rq, "id", true, &id);

    return r ? r : gov_load(vd, rq, txn, STORE_REQUESTS, "request", id, out);
}

/* The approver's own requests that are pending or approved with a live grant. */
static int open_requests_of(struct vaultd *vd, MDB_txn *txn, const char *identity, json_t **out)
{
    json_t *all = NULL, *res = json_array(), *q;
    size_t i;
    int r;

    *out = NULL;
    if ((r = gov_list(vd, txn, STORE_REQUESTS, &all)) != 0) {
        json_decref(res);
        return r;
    }
    json_array_foreach(all, i, q)
    {
        json_t *g = NULL;
        if (!str_eq(json_object_get(q, "requester"), identity))
            continue;
        if (str_eq(json_object_get(q, "state"), "pending")) {
            json_array_append(res, q);
        } else if (str_eq(json_object_get(q, "state"), "approved") &&
                   json_is_string(json_object_get(q, "grant")) &&
                   store_json_get(vd->store, txn, STORE_GRANTS, jstr(q, "grant"), &g) == 0) {
            if (str_eq(json_object_get(g, "state"), "active"))
                json_array_append(res, q);
            json_decref(g);
        }
    }
    json_decref(all);
    *out = res;
    return 0;
}

static int op_request_approve(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char why[256] = "";
    const char *comment = NULL;
    json_t *actor = NULL, *request = NULL, *mine = NULL, *requester = NULL, *roles = NULL;
    json_t *role = NULL, *ent = NULL;
    int r;

    if ((r = gov_actor(vd, rq, txn, &actor)) != 0 ||
        (r = request_arg(vd, rq, txn, &request)) != 0 ||
        (r = arg_str(rq, "comment", false, &comment)) != 0 ||
        (r = open_requests_of(vd, txn, jstr(actor, "id"), &mine)) != 0)
        goto out;
    if (is_approver_of(request, actor) &&
        (r = refuse_if_overdue(vd, rq, txn, request, "approved")) != 0)
        goto out;
    if ((r = gov_can_approve(request, actor, mine, why, sizeof(why))) != 0) {
        req_fail(rq, -ERR_DENIED, "%s", why);
        r = -ERR_DENIED;
        goto out;
    }
    json_array_append_new(json_object_get(request, "approvals"),
                          json_pack("{s:O,s:I,s:s}", "by", json_object_get(actor, "id"), "at",
                                    gov_now(), "comment", comment ? comment : ""));
    if ((r = req_audit(vd, rq, txn, jstr(request, "account"),
                       json_pack("{s:s,s:O,s:O}", "change", "request.approve", "request",
                                 json_object_get(request, "id"), "by",
                                 json_object_get(actor, "id")))) != 0)
        goto out;
    if (gov_request_is_approved(request) && str_eq(json_object_get(request, "kind"), "command")) {
        /* A held command: no grant; the waiting session goes on (request.decided). */
        json_object_set_new(request, "state", json_string("approved"));
        json_object_set_new(request, "decided_at", json_integer(gov_now()));
        emit_decided(rq, request);
    } else if (gov_request_is_approved(request)) {
        /* The requester must still be eligible and SoD-clean when access is made. */
        if ((r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", jstr(request, "requester"),
                          &requester)) != 0)
            goto out;
        if (!str_eq(json_object_get(requester, "state"), "active")) {
            req_fail(rq, -ERR_STATE, "requester %s is no longer active",
                     jstr(request, "requester"));
            r = -ERR_STATE;
            goto out;
        }
        if ((r = gov_sod_guard_account(vd, rq, txn, requester, jstr(request, "account"))) != 0 ||
            (r = gov_roles_of(vd, txn, requester, &roles)) != 0)
            goto out;
        if (json_is_true(json_object_get(request, "file_transfer")))
            only_file_transfer(roles); /* what was asked for is what is granted */
        if (gov_entitlement_find(roles, jstr(request, "account"),
                                 json_integer_value(json_object_get(request, "duration")),
                                 "request", &role, &ent, why, sizeof(why)) != 0) {
            req_fail(rq, -ERR_DENIED, "requester is no longer eligible: %s", why);
            r = -ERR_DENIED;
            goto out;
        }
        if ((r = request_grant(vd, rq, txn, request, ent)) != 0)
            goto out;
        emit_decided(rq, request);
    }
    if ((r = request_save(vd, txn, request, STORE_UPDATE)) != 0)
        goto out;
    rq->result = json_incref(request);
out:
    json_decref(actor);
    json_decref(request);
    json_decref(mine);
    json_decref(requester);
    json_decref(roles);
    json_decref(role);
    json_decref(ent);
    return r;
}

static int op_request_deny(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *comment = NULL;
    json_t *actor = NULL, *request = NULL;
    bool listed;
    int r;

    if ((r = gov_actor(vd, rq, txn, &actor)) != 0 ||
        (r = request_arg(vd, rq, txn, &request)) != 0 ||
        (r = arg_str(rq, "comment", true, &comment)) != 0)
        goto out;
    listed = is_approver_of(request, actor);
    if (listed && (r = refuse_if_overdue(vd, rq, txn, request, "denied")) != 0)
        goto out;
    if (!str_eq(json_object_get(request, "state"), "pending")) {
        req_fail(rq, -ERR_STATE, "request %s is %s", jstr(request, "id"), jstr(request, "state"));
        r = -ERR_STATE;
        goto out;
    }
    if (!listed) {
        req_fail(rq, -ERR_DENIED, "%s is not an approver of request %s", jstr(actor, "id"),
                 jstr(request, "id"));
        r = -ERR_DENIED;
        goto out;
    }
    json_object_set_new(request, "state", json_string("denied"));
    json_object_set_new(request, "decided_at", json_integer(gov_now()));
    json_object_set_new(request, "denial",
                        json_pack("{s:O,s:I,s:s}", "by", json_object_get(actor, "id"), "at",
                                  gov_now(), "comment", comment));
    if ((r = request_save(vd, txn, request, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, jstr(request, "account"),
                       json_pack("{s:s,s:O,s:O}", "change", "request.deny", "request",
                                 json_object_get(request, "id"), "by",
                                 json_object_get(actor, "id")))) != 0)
        goto out;
    emit_decided(rq, request);
    rq->result = json_incref(request);
out:
    json_decref(actor);
    json_decref(request);
    return r;
}

static int op_request_cancel(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *actor = NULL, *request = NULL;
    int r;

    if ((r = gov_actor(vd, rq, txn, &actor)) != 0 || (r = request_arg(vd, rq, txn, &request)) != 0)
        goto out;
    if (!str_eq(json_object_get(request, "requester"), jstr(actor, "id"))) {
        req_fail(rq, -ERR_DENIED, "only the requester may cancel request %s", jstr(request, "id"));
        r = -ERR_DENIED;
        goto out;
    }
    if ((r = refuse_if_overdue(vd, rq, txn, request, "cancelled")) != 0)
        goto out;
    if (!str_eq(json_object_get(request, "state"), "pending")) {
        req_fail(rq, -ERR_STATE, "request %s is %s", jstr(request, "id"), jstr(request, "state"));
        r = -ERR_STATE;
        goto out;
    }
    json_object_set_new(request, "state", json_string("cancelled"));
    json_object_set_new(request, "decided_at", json_integer(gov_now()));
    if ((r = request_save(vd, txn, request, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, jstr(request, "account"),
                       json_pack("{s:s,s:O}", "change", "request.cancel", "request",
                                 json_object_get(request, "id")))) != 0)
        goto out;
    emit_decided(rq, request);
    rq->result = json_incref(request);
out:
    json_decref(actor);
    json_decref(request);
    return r;
}

int gov_hold_create(struct vaultd *vd, struct req *rq, MDB_txn *txn, const json_t *requester,
                    const json_t *session, const char *kind, const char *command,
                    const json_t *rule, json_t **out, char *why, size_t whylen)
{
    static const char manager[] = "{\"by\": \"manager\", \"count\": 1}";
    char rid[32];
    const json_t *approval = json_object_get(rule, "approval");
    json_t *deflt = NULL, *target = NULL, *approvers = NULL, *request = NULL;
    json_int_t now = gov_now(), timeout = json_integer_value(json_object_get(rule, "timeout"));
    const char *reason = jstr(rule, "reason");
    int r;

    *out = NULL;
    if (timeout < GOV_HOLD_TIMEOUT_MIN || timeout > GOV_HOLD_TIMEOUT_MAX)
        timeout = GOV_HOLD_TIMEOUT;
    if (!approval)
        approval = deflt = json_loads(manager, 0, NULL);
    if (store_json_get(vd->store, txn, STORE_TARGETS, jstr(session, "target"), &target) != 0)
        target = NULL;
    if ((r = approvers_for(vd, txn, requester, approval, target, &approvers, why, whylen)) != 0 ||
        (r = gov_id_next(vd, txn, "r", rid, sizeof(rid))) != 0)
        goto out;
    request = json_pack(
        "{s:s,s:s,s:O,s:O,s:O,s:s,s:s,s:I,s:s,s:s,s:n,s:O,s:O,s:[],s:n,s:I,s:I,"
        "s:n,s:n}",
        "id", rid, "kind", "command", "requester", json_object_get(requester, "id"), "account",
        json_object_get(session, "account"), "session", json_object_get(session, "id"),
        "command_kind", kind, "command", command, "duration", (json_int_t)0, "reason",
        reason && *reason ? reason : "this command needs approval", "state", "pending", "role",
        "approval", approval, "approvers", approvers, "approvals", "denial", "created_at", now,
        "decide_by", now + timeout, "decided_at", "grant");
    if (!request) {
        r = -ERR_NOMEM;
        goto out;
    }
    if ((r = request_save(vd, txn, request, STORE_CREATE)) != 0 ||
        (r = req_audit(vd, rq, txn, jstr(session, "account"),
                       json_pack("{s:s,s:s,s:O,s:O,s:s,s:s}", "change", "request.hold", "request",
                                 rid, "requester", json_object_get(requester, "id"), "session",
                                 json_object_get(session, "id"), "kind", kind, "command",
                                 command))) != 0)
        goto out;
    gov_schedule(rq, now + timeout, "request", rid);
    gov_emit(rq, "request.created",
             json_pack("{s:s,s:s,s:O,s:O,s:O,s:s}", "request", rid, "kind", "command", "requester",
                       json_object_get(requester, "id"), "account",
                       json_object_get(session, "account"), "approvers", approvers, "command",
                       command));
    *out = json_incref(request);
out:
    json_decref(deflt);
    json_decref(target);
    json_decref(approvers);
    json_decref(request);
    return r;
}

int gov_hold_cancel(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                    const char *why)
{
    json_t *request = NULL;
    int r = store_json_get(vd->store, txn, STORE_REQUESTS, id, &request);

    if (r == -ERR_NOT_FOUND)
        return 0;
    if (r == 0 && str_eq(json_object_get(request, "state"), "pending")) {
        json_object_set_new(request, "state", json_string("cancelled"));
        json_object_set_new(request, "decided_at", json_integer(gov_now()));
        if ((r = request_save(vd, txn, request, STORE_UPDATE)) == 0 &&
            (r = req_audit(vd, rq, txn, jstr(request, "account"),
                           json_pack("{s:s,s:s,s:s}", "change", "request.cancel", "request", id,
                                     "why", why))) == 0)
            emit_decided(rq, request);
    }
    json_decref(request);
    return r;
}

int gov_expire_request(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id)
{
    json_t *request = NULL;
    int r = store_json_get(vd->store, txn, STORE_REQUESTS, id, &request);

    if (r == -ERR_NOT_FOUND)
        return 0;
    if (r != 0)
        return r;
    if (request_is_overdue(request))
        r = request_expire(vd, rq, txn, request);
    json_decref(request);
    return r;
}

int gov_request_expire_overdue(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *request)
{
    return request_is_overdue(request) ? request_expire(vd, rq, txn, request) : 0;
}

/*
 * May the caller see this request?  Acting as an identity: its requester or
 * one of its approvers.  Not acting as anyone: the gov scope sees everything.
 */
static bool request_visible(const json_t *request, const json_t *actor, unsigned scopes)
{
    json_t *a;
    size_t i;

    if (!actor)
        return (scopes & SCOPE(GOV)) != 0;
    if (str_eq(json_object_get(request, "requester"), jstr(actor, "id")))
        return true;
    json_array_foreach(json_object_get(request, "approvers"), i,
                       a) if (str_eq(a, jstr(actor, "id"))) return true;
    return false;
}

static int op_request_get(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *actor = NULL, *request = NULL;
    int r;

    if ((r = gov_actor_optional(vd, rq, txn, &actor)) != 0 ||
        (r = request_arg(vd, rq, txn, &request)) != 0)
        goto out;
    if (!request_visible(request, actor, rq->scopes)) {
        req_fail(rq, -ERR_DENIED, "request %s is neither yours nor yours to approve",
                 jstr(request, "id"));
        r = -ERR_DENIED;
        goto out;
    }
    rq->result = json_incref(request);
out:
    json_decref(actor);
    json_decref(request);
    return r;
}

static int op_request_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *actor = NULL, *all = NULL, *res = json_array(), *q, *a;
    bool mine = json_is_true(json_object_get(rq->args, "mine"));
    bool to_approve = json_is_true(json_object_get(rq->args, "to_approve"));
    const char *state = NULL;
    size_t i, j;
    int r;

    if ((r = gov_actor_optional(vd, rq, txn, &actor)) != 0 ||
        (r = arg_str(rq, "state", false, &state)) != 0 ||
        (r = gov_list(vd, txn, STORE_REQUESTS, &all)) != 0)
        goto out;
    if ((mine || to_approve || !(rq->scopes & SCOPE(GOV))) && !actor) {
        req_fail(rq, -ERR_DENIED, "no acting identity: pass \"as\" or bind the principal");
        r = -ERR_DENIED;
        goto out;
    }
    json_array_foreach(all, i, q)
    {
        bool keep;
        if (state && !str_eq(json_object_get(q, "state"), state))
            continue;
        if (mine || to_approve) {
            keep = false;
            if (mine && str_eq(json_object_get(q, "requester"), jstr(actor, "id")))
                keep = true;
            if (to_approve && str_eq(json_object_get(q, "state"), "pending"))
                json_array_foreach(json_object_get(q, "approvers"), j,
                                   a) if (str_eq(a, jstr(actor, "id"))) keep = true;
        } else {
            keep = request_visible(q, actor, rq->scopes);
        }
        if (keep)
            json_array_append(res, q);
    }
    rq->result = json_pack("{s:O}", "requests", res);
out:
    json_decref(actor);
    json_decref(all);
    json_decref(res);
    return r;
}

/*
 * Every break-glass use gets a post-hoc review item in the standing campaign
 * "breakglass" (created on first use; it has no deadline), assigned like a
 * grant item: the target owner, else the manager, never the user.
 */
static int breakglass_review_item(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                  const json_t *actor, const json_t *grant)
{
    char key[STORE_KEY_MAX + 1];
    const char *account = jstr(grant, "account"), *reviewer;
    json_t *camp = NULL, *ids = NULL, *acct = NULL, *target = NULL, *item = NULL;
    int r;

    if (store_json_get(vd->store, txn, STORE_CAMPAIGNS, "breakglass", &camp) != 0) {
        camp = json_pack("{s:s,s:s,s:{s:s},s:n,s:s,s:s,s:s,s:I,s:n}", "id", "breakglass", "name",
                         "Break-glass post-hoc reviews", "scope", "kind", "all", "deadline",
                         "on_deadline", "escalate", "state", "standing", "created_by", "custos",
                         "created_at", gov_now(), "closed_at");
        if ((r = store_json_put(vd->store, txn, STORE_CAMPAIGNS, "breakglass", camp,
                                STORE_CREATE)) != 0)
            goto out;
    }
    if ((r = gov_identities_all(vd, txn, &ids)) != 0)
        goto out;
    if (store_json_get(vd->store, txn, STORE_ACCOUNTS, account, &acct) == 0 &&
        store_json_get(vd->store, txn, STORE_TARGETS, jstr(acct, "target"), &target) != 0)
        target = NULL; /* no target object: the manager reviews */
    reviewer = gov_reviewer_for("grant", actor, target, ids, "");
    snprintf(key, sizeof(key), "breakglass/%s", jstr(grant, "id"));
    item = json_pack("{s:s,s:s,s:O,s:s,s:O,s:s,s:s,s:{s:n,s:n},s:s,s:n,s:n,s:n,s:O}", "id", key,
                     "campaign", "breakglass", "identity", json_object_get(actor, "id"), "kind",
                     "grant", "ref", json_object_get(grant, "id"), "account", account, "reviewer",
                     reviewer && *reviewer ? reviewer : "", "evidence", "last_session", "last_use",
                     "decision", "pending", "comment", "decided_by", "decided_at", "reason",
                     json_object_get(grant, "reason"));
    r = store_json_put(vd->store, txn, STORE_ITEMS, key, item, STORE_CREATE);
out:
    json_decref(camp);
    json_decref(ids);
    json_decref(acct);
    json_decref(target);
    json_decref(item);
    return r;
}

static int op_breakglass(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char why[256] = "";
    const char *account, *reason, *manager;
    json_t *actor = NULL, *acct = NULL, *roles = NULL, *role = NULL, *ent = NULL, *g = NULL;
    json_int_t duration;
    int r;

    if ((r = gov_actor(vd, rq, txn, &actor)) != 0 ||
        (r = account_arg(vd, rq, txn, &account, &acct)) != 0 ||
        (r = duration_arg(rq, &duration)) != 0 || (r = reason_arg(rq, &reason)) != 0 ||
        (r = gov_roles_of(vd, txn, actor, &roles)) != 0)
        goto out;
    if ((r = gov_entitlement_find(roles, account, duration, "breakglass", &role, &ent, why,
                                  sizeof(why))) != 0) {
        req_fail(rq, -ERR_DENIED, "break-glass refused: %s", why);
        r = -ERR_DENIED;
        goto out;
    }
    /* Break-glass skips approval, not segregation of duties. */
    if ((r = gov_sod_guard_account(vd, rq, txn, actor, account)) != 0 ||
        (r = gov_grant_create(vd, rq, txn, jstr(actor, "id"), account, duration, "break-glass",
                              NULL, ent, &g)) != 0)
        goto out;
    json_object_set_new(g, "reason", json_string(reason));
    if ((r = store_json_put(vd->store, txn, STORE_GRANTS, jstr(g, "id"), g, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, account,
                       json_pack("{s:s,s:O,s:O,s:s}", "change", "breakglass", "grant",
                                 json_object_get(g, "id"), "identity", json_object_get(actor, "id"),
                                 "reason", reason))) != 0)
        goto out;
    if ((r = breakglass_review_item(vd, rq, txn, actor, g)) != 0)
        goto out;
    manager = jstr(actor, "manager");
    gov_emit(rq, "alert.breakglass",
             json_pack("{s:O,s:O,s:s,s:s,s:O,s:s?}", "grant", json_object_get(g, "id"), "identity",
                       json_object_get(actor, "id"), "account", account, "reason", reason,
                       "expires_at", json_object_get(g, "expires_at"), "reviewer", manager));
    log_warn("BREAK-GLASS identity=%s account=%s grant=%s", jstr(actor, "id"), account,
             jstr(g, "id"));
    rq->result = json_incref(g);
out:
    json_decref(actor);
    json_decref(acct);
    json_decref(roles);
    json_decref(role);
    json_decref(ent);
    json_decref(g);
    return r;
}

static int op_grant_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *identity = NULL, *account = NULL, *state = NULL;
    json_t *actor = NULL, *all = NULL, *res = json_array(), *g;
    size_t i;
    int r;

    if ((r = arg_str(rq, "identity", false, &identity)) != 0 ||
        (r = arg_str(rq, "account", false, &account)) != 0 ||
        (r = arg_str(rq, "state", false, &state)) != 0 ||
        (r = gov_actor_optional(vd, rq, txn, &actor)) != 0)
        goto out;
    if (actor) {
        identity = jstr(actor, "id"); /* acting as someone: their own grants only */
    } else if (!(rq->scopes & SCOPE(GOV))) {
        req_fail(rq, -ERR_DENIED, "no acting identity: pass \"as\" or bind the principal");
        r = -ERR_DENIED;
        goto out;
    }
    if ((r = gov_list(vd, txn, STORE_GRANTS, &all)) != 0)
        goto out;
    json_array_foreach(all, i, g)
    {
        if ((identity && !str_eq(json_object_get(g, "identity"), identity)) ||
            (account && !str_eq(json_object_get(g, "account"), account)) ||
            (state && !str_eq(json_object_get(g, "state"), state)))
            continue;
        json_array_append(res, g);
    }
    rq->result = json_pack("{s:O}", "grants", res);
out:
    json_decref(actor);
    json_decref(all);
    json_decref(res);
    return r;
}

static int op_grant_get(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id;
    json_t *actor = NULL, *g = NULL;
    int r;

    if ((r = arg_str(rq, "id", true, &id)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_GRANTS, "grant", id, &g)) != 0 ||
        (r = gov_actor_optional(vd, rq, txn, &actor)) != 0)
        goto out;
    if (actor ? !str_eq(json_object_get(g, "identity"), jstr(actor, "id"))
              : !(rq->scopes & SCOPE(GOV))) {
        req_fail(rq, -ERR_DENIED, "grant %s is not yours", id);
        r = -ERR_DENIED;
        goto out;
    }
    rq->result = json_incref(g);
out:
    json_decref(actor);
    json_decref(g);
    return r;
}

static int op_grant_revoke(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *reason;
    json_t *g = NULL;
    int r;

    if ((r = arg_str(rq, "id", true, &id)) != 0 || (r = reason_arg(rq, &reason)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_GRANTS, "grant", id, &g)) != 0)
        goto out;
    if (!str_eq(json_object_get(g, "state"), "active")) {
        req_fail(rq, -ERR_STATE, "grant %s is already %s", id, jstr(g, "state"));
        r = -ERR_STATE;
        goto out;
    }
    if ((r = gov_grant_end(vd, rq, txn, id, "revoked", rq->principal, reason)) != 0)
        goto out;
    json_decref(g);
    g = NULL;
    r = gov_load(vd, rq, txn, STORE_GRANTS, "grant", id, &rq->result);
out:
    json_decref(g);
    return r;
}

/* The last grant of (identity, account) that ended, if any: for "grant_expired". */
static bool had_grant(struct vaultd *vd, MDB_txn *txn, const char *identity, const char *account)
{
    char prefix[STORE_KEY_MAX + 1];
    json_t *idx = NULL;
    bool any;

    snprintf(prefix, sizeof(prefix), "%s/%s/", identity, account);
    if (store_json_list(vd->store, txn, STORE_GRANT_IDX, prefix, &idx) != 0)
        return false;
    any = json_array_size(idx) > 0;
    json_decref(idx);
    return any;
}

static int deny(json_t **decision, const char *identity, const char *reason, const char *msg)
{
    *decision = json_pack("{s:b,s:s,s:s}", "allow", 0, "reason", reason, "message", msg);
    if (identity)
        json_object_set_new(*decision, "identity", json_string(identity));
    return 0;
}

/*
 * The broker's question: may this key (or identity) open this account now?
 * A deny is an answer, not an error: the broker shows its message.
 */
int gov_authorize(struct vaultd *vd, MDB_txn *txn, const char *fp, const char *ident,
                  const char *account, json_t **decision)
{
    const char *st;
    json_t *map = NULL, *identity = NULL, *acct = NULL, *grants = NULL, *roles = NULL;
    json_t *role = NULL, *ent = NULL, *rules = NULL, *holdings = NULL, *exc = NULL, *viol = NULL;
    char why[256], msg[640];
    int r = 0;

    *decision = NULL;
    if (fp) {
        if (store_json_get(vd->store, txn, STORE_KEYFP, fp, &map) != 0) {
            snprintf(msg, sizeof(msg), "key %s is not registered to any identity", fp);
            r = deny(decision, NULL, "unknown_key", msg);
            goto out;
        }
        ident = jstr(map, "identity");
        /* A removed key refuses every access, by grant or standing role alike. */
        if (json_object_get(map, "removed_at")) {
            snprintf(msg, sizeof(msg), "key %s was removed from identity %s", fp,
                     ident ? ident : "-");
            r = deny(decision, ident, "key_removed", msg);
            goto out;
        }
    }
    if (!ident || store_json_get(vd->store, txn, STORE_IDENTITIES, ident, &identity) != 0) {
        snprintf(msg, sizeof(msg), "no identity %s", ident ? ident : "-");
        r = deny(decision, NULL, "unknown_key", msg);
        goto out;
    }
    st = jstr(identity, "state");
    if (!st || strcmp(st, "active") != 0) {
        snprintf(msg, sizeof(msg), "identity %s is %s", ident, st ? st : "unknown");
        r = deny(decision, ident, "identity_inactive", msg);
        goto out;
    }
    if (!strchr(account, '@') ||
        store_json_get(vd->store, txn, STORE_ACCOUNTS, account, &acct) != 0) {
        snprintf(msg, sizeof(msg), "no account %s in the vault", account);
        r = deny(decision, ident, "unknown_account", msg);
        goto out;
    }
    /* SoD first: a standing violation blocks every session until an exception exists. */
    if ((r = gov_list(vd, txn, STORE_SOD, &rules)) != 0)
        goto out;
    if (json_array_size(rules) > 0 &&
        ((r = gov_holdings(vd, txn, identity, &holdings)) != 0 ||
         (r = gov_exceptions_of(vd, txn, ident, &exc)) != 0 ||
         (r = gov_sod_violations(rules, holdings, NULL, exc, &viol)) != 0))
        goto out;
    if (json_array_size(viol) > 0) {
        snprintf(msg, sizeof(msg),
                 "segregation-of-duties rule %s is violated; its owner must grant an exception",
                 jstr(json_array_get(viol, 0), "name"));
        r = deny(decision, ident, "sod_exception_needed", msg);
        goto out;
    }
    if ((r = gov_grants_live(vd, txn, ident, account, &grants)) != 0)
        goto out;
    if (json_array_size(grants) > 0) {
        json_t *g = json_array_get(grants, 0);
        size_t i;
        json_t *x;
        /* The grant that lasts longest. */
        json_array_foreach(grants, i, x) if (json_integer_value(json_object_get(x, "expires_at")) >
                                             json_integer_value(json_object_get(g, "expires_at")))
            g = x;
        *decision = json_pack(
            "{s:b,s:s,s:s,s:s,s:O,s:O,s:O,s:O,s:O?}", "allow", 1, "identity", ident, "account",
            account, "via", "grant", "grant", json_object_get(g, "id"), "expires_at",
            json_object_get(g, "expires_at"), "file_transfer", json_object_get(g, "file_transfer"),
            "kind", json_object_get(g, "kind"), "policy", json_object_get(g, "policy"));
        goto out;
    }
    if ((r = gov_roles_of(vd, txn, identity, &roles)) != 0)
        goto out;
    if (gov_entitlement_find(roles, account, 0, "standing", &role, &ent, why, sizeof(why)) == 0) {
        *decision = json_pack("{s:b,s:s,s:s,s:s,s:n,s:n,s:O,s:O,s:o}", "allow", 1, "identity",
                              ident, "account", account, "via", "standing", "grant", "expires_at",
                              "file_transfer", json_object_get(ent, "file_transfer"), "role",
                              json_object_get(role, "name"), "policy", gov_policy_of(ent));
        goto out;
    }
    if (had_grant(vd, txn, ident, account)) {
        snprintf(msg, sizeof(msg), "your grant for %s has ended; request access again", account);
        r = deny(decision, ident, "grant_expired", msg);
    } else {
        snprintf(msg, sizeof(msg), "no live grant for %s; request one first", account);
        r = deny(decision, ident, "no_grant", msg);
    }
out:
    json_decref(map);
    json_decref(identity);
    json_decref(acct);
    json_decref(grants);
    json_decref(roles);
    json_decref(role);
    json_decref(ent);
    json_decref(rules);
    json_decref(holdings);
    json_decref(exc);
    json_decref(viol);
    return r;
}

static int op_authorize(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *fp = NULL, *ident = NULL, *account;
    int r;

    if ((r = arg_str(rq, "fp", false, &fp)) != 0 ||
        (r = arg_str(rq, "identity", false, &ident)) != 0 ||
        (r = arg_str(rq, "account", true, &account)) != 0)
        return r;
    if (!fp == !ident) {
        req_fail(rq, -ERR_INVAL, "give exactly one of \"fp\" or \"identity\"");
        return -ERR_INVAL;
    }
    return gov_authorize(vd, txn, fp, ident, account, &rq->result);
}

static int op_evidence(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char key[2 * STORE_KEY_MAX + 2];
    const char *identity, *account, *kind;
    unsigned long long at = 0;
    json_t *u = NULL;
    int r;

    if ((r = arg_str(rq, "identity", true, &identity)) != 0 ||
        (r = arg_str(rq, "account", true, &account)) != 0 ||
        (r = arg_str(rq, "kind", true, &kind)) != 0 ||
        (r = arg_uint(rq, "at", false, (1ull << 40), &at)) != 0)
        return r;
    if (strcmp(kind, "session") != 0 && strcmp(kind, "use") != 0) {
        req_fail(rq, -ERR_INVAL, "kind must be session or use");
        return -ERR_INVAL;
    }
    if (!gov_name_is_valid(identity) || !strchr(account, '@') ||
        strlen(identity) + strlen(account) + 2 > STORE_KEY_MAX) {
        req_fail(rq, -ERR_INVAL, "bad identity or account");
        return -ERR_INVAL;
    }
    snprintf(key, sizeof(key), "%s/%s", identity, account);
    if (store_json_get(vd->store, txn, STORE_USAGE, key, &u) != 0)
        u = json_pack("{s:s,s:s,s:n,s:n}", "identity", identity, "account", account, "last_session",
                      "last_use");
    json_object_set_new(u, strcmp(kind, "session") == 0 ? "last_session" : "last_use",
                        json_integer(at ? (json_int_t)at : gov_now()));
    r = store_json_put(vd->store, txn, STORE_USAGE, key, u, STORE_UPSERT);
    if (r == 0)
        r = req_audit(
            vd, rq, txn, account,
            json_pack("{s:s,s:s,s:s}", "change", "evidence", "identity", identity, "kind", kind));
    json_decref(u);
    if (r == 0)
        rq->result = json_object();
    return r;
}

static int op_me(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *actor = NULL, *grants = NULL, *all = NULL, *todo = json_array(), *items = NULL;
    json_t *reviews = json_array(), *q, *a, *it, *roles = NULL, *role, *ents = json_array();
    size_t i, j;
    int r;

    if ((r = gov_actor(vd, rq, txn, &actor)) != 0 ||
        (r = gov_grants_live(vd, txn, jstr(actor, "id"), NULL, &grants)) != 0 ||
        (r = gov_list(vd, txn, STORE_REQUESTS, &all)) != 0 ||
        (r = gov_list(vd, txn, STORE_ITEMS, &items)) != 0)
        goto out;
    json_array_foreach(all, i, q)
    {
        if (!str_eq(json_object_get(q, "state"), "pending"))
            continue;
        json_array_foreach(json_object_get(q, "approvers"), j, a) if (str_eq(a, jstr(actor, "id")))
            json_array_append(todo, q);
    }
    json_array_foreach(items, i,
                       it) if (str_eq(json_object_get(it, "reviewer"), jstr(actor, "id")) &&
                               str_eq(json_object_get(it, "decision"), "pending"))
        json_array_append(reviews, it);
    /* What the identity may request (or holds standing), for `custos@broker targets`. */
    if ((r = gov_roles_of(vd, txn, actor, &roles)) != 0)
        goto out;
    json_array_foreach(roles, i, role)
    {
        json_t *ent;
        json_array_foreach(json_object_get(role, "entitlements"), j, ent) json_array_append_new(
            ents, json_pack("{s:O,s:O,s:O,s:O,s:b}", "role", json_object_get(role, "name"),
                            "account", json_object_get(ent, "account"), "max_duration",
                            json_object_get(ent, "max_duration"), "approval",
                            json_object_get(ent, "approval"), "standing",
                            str_eq(json_object_get(role, "kind"), "standing")));
    }
    rq->result = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "identity", actor, "roles",
                           json_object_get(actor, "roles"), "grants", grants, "requests_to_approve",
                           todo, "reviews", reviews, "entitlements", ents);
out:
    json_decref(actor);
    json_decref(grants);
    json_decref(all);
    json_decref(todo);
    json_decref(items);
    json_decref(reviews);
    json_decref(roles);
    json_decref(ents);
    return r;
}

/*
 * MFA for the broker: is a TOTP code required for this key's identity?
 * (Required when the identity has enrolled TOTP.)  Unknown keys: not
 * required here; gov.authorize refuses them later with a reason.
 */
static int op_mfa_check(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *fp;
    json_t *map = NULL, *identity = NULL;
    int r;

    if ((r = arg_str(rq, "fp", true, &fp)) != 0)
        return r;
    if (store_json_get(vd->store, txn, STORE_KEYFP, fp, &map) != 0 ||
        json_object_get(map, "removed_at") ||
        store_json_get(vd->store, txn, STORE_IDENTITIES, jstr(map, "identity"), &identity) != 0) {
        rq->result = json_pack("{s:n,s:b}", "identity", "required", 0);
    } else {
        rq->result = json_pack("{s:O,s:b}", "identity", json_object_get(identity, "id"), "required",
                               json_is_true(json_object_get(identity, "totp")));
        /* A locked identity is told so before it types a code that would be refused unseen. */
        if ((r = mfa_throttle_describe(vd, txn, jstr(identity, "id"), rq->result)) != 0)
            req_fail(rq, r, "the TOTP throttle record of %s cannot be read", jstr(identity, "id"));
    }
    json_decref(map);
    json_decref(identity);
    return r;
}

/*
 * Check a typed TOTP code (RFC 6238, window of one step each way) against
 * the identity's sealed secret; a code is accepted once (RFC 6238 5.2:
 * the last accepted step is kept).  A per-identity throttle stands in front
 * (mfa_throttle.c: delays, locks).  Every check is audited, failures too.
 * A wrong code is an answer {"ok": false, "reason"}, not an error.
 */
static int op_totp_verify(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return mfa_throttle_verify(vd, rq, txn);
}

const struct op ops_gov_request[] = {
    {"gov.mfa.check", SCOPE(AUTHORIZE), ST_UNSEALED, OP_READ, op_mfa_check, NULL},
    {"gov.totp.verify", SCOPE(AUTHORIZE), ST_UNSEALED, OP_WRITE, op_totp_verify, NULL},
    {"gov.request.create", SCOPE(REQUEST), ST_UNSEALED, OP_WRITE, op_request_create, NULL},
    {"gov.request.approve", SCOPE(REQUEST), ST_UNSEALED, OP_WRITE, op_request_approve, NULL},
    {"gov.request.deny", SCOPE(REQUEST), ST_UNSEALED, OP_WRITE, op_request_deny, NULL},
    {"gov.request.cancel", SCOPE(REQUEST), ST_UNSEALED, OP_WRITE, op_request_cancel, NULL},
    {"gov.request.get", SCOPE(REQUEST), ST_UNSEALED, OP_READ, op_request_get, NULL},
    {"gov.request.list", SCOPE(REQUEST), ST_UNSEALED, OP_READ, op_request_list, NULL},
    {"gov.breakglass", SCOPE(REQUEST), ST_UNSEALED, OP_WRITE, op_breakglass, NULL},
    {"gov.grant.list", SCOPE(REQUEST), ST_UNSEALED, OP_READ, op_grant_list, NULL},
    {"gov.grant.get", SCOPE(REQUEST), ST_UNSEALED, OP_READ, op_grant_get, NULL},
    {"gov.grant.revoke", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_grant_revoke, NULL},
    {"gov.me", SCOPE(REQUEST), ST_UNSEALED, OP_READ, op_me, NULL},
    {"gov.authorize", SCOPE(AUTHORIZE), ST_UNSEALED, OP_READ, op_authorize, NULL},
    {"gov.evidence", SCOPE(AUTHORIZE), ST_UNSEALED, OP_WRITE, op_evidence, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
