/* SPDX-License-Identifier: Apache-2.0 */
/* gov.role.*, gov.rule.*, gov.sod.* and gov.auto.* ops: the policy governance enforces. */
#include <stdio.h>
#include <string.h>

#include "dispatch.h"
#include "gov_access.h"
#include "gov_state.h"
#include "scopes.h"

/* Longest SoD exception: 90 days (docs/api.md). */
#define SOD_EXCEPTION_MAX_DAYS 90
/* Identities named in a "still held by" message. */
#define HOLDERS_NAMED 3

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int fail(struct req *rq, int err, const char *msg)
{
    req_fail(rq, err, "%s", msg);
    return err;
}

static int name_arg(struct req *rq, const char *key, const char **out)
{
    int r = arg_str(rq, key, true, out);

    if (r == 0 && !gov_name_is_valid(*out)) {
        req_fail(rq, -ERR_INVAL, "\"%s\" must be 1-64 of [A-Za-z0-9._-]", key);
        r = -ERR_INVAL;
    }
    return r;
}

/* The object a create op was given: its args without the caller's "as" and timestamps. */
static json_t *object_from_args(const struct req *rq)
{
    json_t *obj = json_deep_copy(rq->args);

    json_object_del(obj, "as");
    json_object_del(obj, "created_at");
    json_object_del(obj, "updated_at");
    return obj;
}

/* Run a gov_*_check: 0, or -ERR_INVAL with its sentence. */
static int policy_check(struct req *rq, int (*check)(json_t *, char *, size_t), json_t *obj)
{
    char why[256] = "";

    if (check(obj, why, sizeof(why)) != 0) {
        req_fail(rq, -ERR_INVAL, "%s", why[0] ? why : "invalid object");
        return -ERR_INVAL;
    }
    return 0;
}

/* An identity named by a policy object (owner) must exist. */
static int identity_must_exist(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id)
{
    json_t *obj = NULL;
    int r;

    if (!id)
        return 0;
    r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", id, &obj);
    json_decref(obj);
    return r;
}

/* Store a new policy object (created_at/updated_at set) and audit it. */
static int policy_create(struct vaultd *vd, struct req *rq, MDB_txn *txn, enum store_table t,
                         const char *what, json_t *obj)
{
    const char *name = jstr(obj, "name");
    json_int_t now = gov_now();
    int r;

    json_object_set_new(obj, "created_at", json_integer(now));
    json_object_set_new(obj, "updated_at", json_integer(now));
    if ((r = store_json_put(vd->store, txn, t, name, obj, STORE_CREATE)) != 0) {
        if (r == -ERR_EXISTS)
            req_fail(rq, r, "%s %s exists", what, name);
        return r;
    }
    return req_audit(vd, rq, txn, name, NULL);
}

static int policy_get(struct vaultd *vd, struct req *rq, MDB_txn *txn, enum store_table t,
                      const char *what)
{
    const char *name;
    int r;

    if ((r = name_arg(rq, "name", &name)) != 0)
        return r;
    return gov_load(vd, rq, txn, t, what, name, &rq->result);
}

static int policy_list(struct vaultd *vd, struct req *rq, MDB_txn *txn, enum store_table t,
                       const char *key)
{
    json_t *arr = NULL;
    int r;

    if ((r = gov_list(vd, txn, t, &arr)) != 0)
        return r;
    rq->result = json_pack("{s:o}", key, arr);
    return 0;
}

/* The member names of an object, as a new array. */
static json_t *keys_of(const json_t *obj)
{
    json_t *keys = json_array(), *v;
    const char *k;

    json_object_foreach((json_t *)obj, k, v)
    {
        json_array_append_new(keys, json_string(k));
    }
    return keys;
}

/* Recompute every identity's birthright roles (after a rule came or went). */
static int birthright_all(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *all = NULL, *identity, *before = NULL;
    const char *id;
    int r;

    if ((r = gov_identities_all(vd, txn, &all)) != 0)
        return r;
    json_object_foreach(all, id, identity)
    {
        if (strcmp(jstr(identity, "state") ? jstr(identity, "state") : "", "left") == 0)
            continue;
        before = json_deep_copy(json_object_get(identity, "roles"));
        if ((r = gov_birthright_apply(vd, rq, txn, identity)) != 0)
            goto out;
        if (!json_equal(before, json_object_get(identity, "roles")) &&
            (r = gov_identity_save(vd, txn, identity)) != 0)
            goto out;
        json_decref(before);
        before = NULL;
    }
out:
    json_decref(before);
    json_decref(all);
    return r;
}

/* ---- roles ---- */

static int op_role_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *obj = object_from_args(rq);
    int r;

    if ((r = policy_check(rq, gov_role_check, obj)) != 0 ||
        (r = identity_must_exist(vd, rq, txn, jstr(obj, "owner"))) != 0 ||
        (r = policy_create(vd, rq, txn, STORE_ROLES, "role", obj)) != 0)
        goto out;
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    return r;
}

static int op_role_update(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *name, *k;
    json_t *obj = NULL, *given = object_from_args(rq), *v, *holders = NULL;
    int r;

    if ((r = name_arg(rq, "name", &name)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_ROLES, "role", name, &obj)) != 0)
        goto out;
    /* Fields given replace the stored ones (entitlements as a whole). */
    json_object_foreach(given, k, v)
    {
        json_object_set(obj, k, v);
    }
    if ((r = policy_check(rq, gov_role_check, obj)) != 0 ||
        (r = identity_must_exist(vd, rq, txn, jstr(obj, "owner"))) != 0)
        goto out;
    json_object_set_new(obj, "updated_at", json_integer(gov_now()));
    json_object_del(given, "name");
    if ((r = store_json_put(vd->store, txn, STORE_ROLES, name, obj, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, name, json_pack("{s:o}", "changed", keys_of(given)))) != 0 ||
        (r = gov_access_role_holders(vd, txn, name, &holders)) != 0)
        goto out;
    /* Narrowed entitlements end standing sessions of every holder: they are asked about again. */
    gov_access_changed(
        rq, "role_updated",
        json_pack("{s:s,s:O,s:o}", "role", name, "identities", holders, "changed", keys_of(given)));
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    json_decref(given);
    json_decref(holders);
    return r;
}

static int op_role_get(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return policy_get(vd, rq, txn, STORE_ROLES, "role");
}

static int op_role_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return policy_list(vd, rq, txn, STORE_ROLES, "roles");
}

static bool holds_role(const json_t *identity, const char *role)
{
    json_t *a;
    size_t i;

    json_array_foreach(json_object_get(identity, "roles"), i, a)
    {
        if (strcmp(jstr(a, "role") ? jstr(a, "role") : "", role) == 0)
            return true;
    }
    return false;
}

static int op_role_delete(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *name, *id;
    char names[HOLDERS_NAMED * 66 + 8] = "";
    json_t *obj = NULL, *all = NULL, *rules = NULL, *it, *rn;
    size_t i, j, held = 0;
    int r;

    if ((r = name_arg(rq, "name", &name)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_ROLES, "role", name, &obj)) != 0 ||
        (r = gov_identities_all(vd, txn, &all)) != 0 ||
        (r = gov_list(vd, txn, STORE_RULES, &rules)) != 0)
        goto out;
    json_object_foreach(all, id, it)
    {
        if (!holds_role(it, name))
            continue;
        if (held < HOLDERS_NAMED) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof(names) - used, "%s%s", held ? ", " : "", id);
        }
        held++;
    }
    if (held) {
        req_fail(rq, -ERR_STATE, "role %s is held by %zu identit%s (%s%s); unassign it first", name,
                 held, held == 1 ? "y" : "ies", names, held > HOLDERS_NAMED ? ", ..." : "");
        r = -ERR_STATE;
        goto out;
    }
    /* A rule naming the role would hand it out again (or fail to). */
    json_array_foreach(rules, i, it)
    {
        json_array_foreach(json_object_get(it, "roles"), j, rn)
        {
            if (strcmp(json_string_value(rn) ? json_string_value(rn) : "", name) == 0) {
                req_fail(rq, -ERR_STATE, "role %s is given by rule %s; delete the rule first", name,
                         jstr(it, "name"));
                r = -ERR_STATE;
                goto out;
            }
        }
    }
    if ((r = store_del(vd->store, txn, STORE_ROLES, name)) != 0 ||
        (r = req_audit(vd, rq, txn, name, NULL)) != 0)
        goto out;
    /* Nobody holds it (refused above otherwise): announced for the record, matching none. */
    gov_access_changed(rq, "role_deleted", json_pack("{s:s,s:[]}", "role", name, "identities"));
    rq->result = json_pack("{s:s}", "deleted", name);
out:
    json_decref(obj);
    json_decref(all);
    json_decref(rules);
    return r;
}

/* ---- birthright rules ---- */

static int op_rule_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *obj = object_from_args(rq), *rn, *role = NULL;
    size_t i;
    int r;

    if ((r = policy_check(rq, gov_rule_check, obj)) != 0)
        goto out;
    json_array_foreach(json_object_get(obj, "roles"), i, rn)
    {
        if ((r = gov_load(vd, rq, txn, STORE_ROLES, "role", json_string_value(rn), &role)) != 0)
            goto out;
        json_decref(role);
        role = NULL;
    }
    if ((r = policy_create(vd, rq, txn, STORE_RULES, "rule", obj)) != 0 ||
        (r = birthright_all(vd, rq, txn)) != 0)
        goto out;
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    return r;
}

static int op_rule_delete(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *name;
    json_t *obj = NULL;
    int r;

    if ((r = name_arg(rq, "name", &name)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_RULES, "rule", name, &obj)) != 0)
        goto out;
    if ((r = store_del(vd->store, txn, STORE_RULES, name)) != 0 ||
        (r = req_audit(vd, rq, txn, name, NULL)) != 0 || (r = birthright_all(vd, rq, txn)) != 0)
        goto out;
    rq->result = json_pack("{s:s}", "deleted", name);
out:
    json_decref(obj);
    return r;
}

static int op_rule_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return policy_list(vd, rq, txn, STORE_RULES, "rules");
}

/* ---- segregation of duties ---- */

static int op_sod_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *obj = object_from_args(rq), *violators = NULL;
    int r;

    if ((r = policy_check(rq, gov_sod_check, obj)) != 0 ||
        (r = identity_must_exist(vd, rq, txn, jstr(obj, "owner"))) != 0 ||
        (r = policy_create(vd, rq, txn, STORE_SOD, "SoD rule", obj)) != 0 ||
        (r = gov_access_sod_violators(vd, txn, obj, &violators)) != 0)
        goto out;
    /* Whoever violates the new rule now loses access until its owner grants an exception. */
    gov_access_changed(
        rq, "sod_rule_created",
        json_pack("{s:O,s:O}", "rule", json_object_get(obj, "name"), "identities", violators));
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    json_decref(violators);
    return r;
}

/* Delete a named policy object (SoD or auto-approval rule) and audit it. */
static int policy_delete(struct vaultd *vd, struct req *rq, MDB_txn *txn, enum store_table t,
                         const char *what)
{
    const char *name;
    json_t *obj = NULL;
    int r;

    if ((r = name_arg(rq, "name", &name)) != 0 ||
        (r = gov_load(vd, rq, txn, t, what, name, &obj)) != 0 ||
        (r = store_del(vd->store, txn, t, name)) != 0 ||
        (r = req_audit(vd, rq, txn, name, NULL)) != 0)
        goto out;
    rq->result = json_pack("{s:s}", "deleted", name);
out:
    json_decref(obj);
    return r;
}

static int op_sod_delete(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    /* Its exceptions stay: they are the record of what was allowed. */
    return policy_delete(vd, rq, txn, STORE_SOD, "SoD rule");
}

static int op_sod_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return policy_list(vd, rq, txn, STORE_SOD, "rules");
}

/* The id of the exception in `exceptions` that covers `rule`, or NULL. */
static const char *exception_for(const json_t *exceptions, const char *rule)
{
    json_t *x;
    size_t i;

    json_array_foreach(exceptions, i, x)
    {
        if (strcmp(jstr(x, "rule") ? jstr(x, "rule") : "", rule) == 0)
            return jstr(x, "id");
    }
    return NULL;
}

static int op_sod_report(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *rules = NULL, *all = NULL, *holdings = NULL, *exc = NULL, *violated = NULL;
    json_t *out = json_array(), *identity, *v;
    const char *id;
    size_t i;
    int r;

    if ((r = gov_list(vd, txn, STORE_SOD, &rules)) != 0 ||
        (r = gov_identities_all(vd, txn, &all)) != 0)
        goto out;
    json_object_foreach(all, id, identity)
    {
        if (strcmp(jstr(identity, "state") ? jstr(identity, "state") : "", "left") == 0)
            continue;
        if ((r = gov_holdings(vd, txn, identity, &holdings)) != 0 ||
            (r = gov_exceptions_of(vd, txn, id, &exc)) != 0 ||
            (r = gov_sod_violations(rules, holdings, NULL, NULL, &violated)) != 0)
            goto out;
        json_array_foreach(violated, i, v)
        {
            const char *x = exception_for(exc, jstr(v, "name"));
            json_array_append_new(out, json_pack("{s:s,s:O,s:O,s:O,s:s?}", "identity", id, "rule",
                                                 json_object_get(v, "name"), "severity",
                                                 json_object_get(v, "severity"), "owner",
                                                 json_object_get(v, "owner"), "exception", x));
        }
        json_decref(holdings);
        json_decref(exc);
        json_decref(violated);
        holdings = exc = violated = NULL;
    }
    rq->result = json_pack("{s:O}", "violations", out);
out:
    json_decref(rules);
    json_decref(all);
    json_decref(holdings);
    json_decref(exc);
    json_decref(violated);
    json_decref(out);
    return r;
}

/*
 * An exception is granted by the rule's owner acting as themselves (scope
 * request), never to themselves: an owner excusing their own conflict is the
 * very thing SoD exists to prevent.
 */
static int op_sod_exception_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *rname, *id, *reason, *owner, *me;
    char xid[32], why[256] = "";
    unsigned long long duration = 0;
    json_t *actor = NULL, *rule = NULL, *identity = NULL, *exc = NULL;
    json_int_t now = gov_now();
    int r;

    if ((r = name_arg(rq, "rule", &rname)) != 0 || (r = name_arg(rq, "identity", &id)) != 0 ||
        (r = arg_str(rq, "reason", true, &reason)) != 0 ||
        (r = arg_uint(rq, "duration", true, (unsigned long long)SOD_EXCEPTION_MAX_DAYS * 86400,
                      &duration)) != 0)
        goto out;
    if (!*reason || strlen(reason) > GOV_TEXT_MAX) {
        r = fail(rq, -ERR_INVAL, "\"reason\" must be non-empty text of at most 1024 bytes");
        goto out;
    }
    if (duration == 0) {
        r = fail(rq, -ERR_INVAL, "\"duration\" must be 1 second to 90 days");
        goto out;
    }
    if ((r = gov_actor(vd, rq, txn, &actor)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_SOD, "SoD rule", rname, &rule)) != 0)
        goto out;
    me = jstr(actor, "id");
    owner = jstr(rule, "owner") ? jstr(rule, "owner") : "-";
    if (strcmp(me, owner) != 0) {
        req_fail(rq, -ERR_DENIED, "only the rule's owner (%s) may grant an exception", owner);
        r = -ERR_DENIED;
        goto out;
    }
    if (strcmp(me, id) == 0) {
        r = fail(rq, -ERR_DENIED, "the rule's owner may not grant an exception to themselves");
        goto out;
    }
    if ((r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", id, &identity)) != 0)
        goto out;
    if (strcmp(jstr(identity, "state") ? jstr(identity, "state") : "", "left") == 0) {
        req_fail(rq, -ERR_STATE, "identity %s has left", id);
        r = -ERR_STATE;
        goto out;
    }
    if ((r = gov_id_next(vd, txn, "x", xid, sizeof(xid))) != 0)
        goto out;
    exc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id", xid, "rule", rname, "identity", id,
                    "reason", reason, "approved_by", me, "created_at", now, "expires_at",
                    now + (json_int_t)duration);
    if ((r = gov_sod_exception_check(exc, rule, me, now, why, sizeof(why))) != 0) {
        req_fail(rq, r, "%s", why[0] ? why : "invalid exception");
        goto out;
    }
    if ((r = store_json_put(vd->store, txn, STORE_SOD_EXC, xid, exc, STORE_CREATE)) != 0 ||
        (r = req_audit(vd, rq, txn, xid,
                       json_pack("{s:s,s:s,s:s,s:I}", "rule", rname, "identity", id, "approved_by",
                                 me, "expires_at", now + (json_int_t)duration))) != 0)
        goto out;
    /* Its end withdraws access: the timer announces it (gov_access_exception_end). */
    gov_schedule(rq, now + (json_int_t)duration, "exception", xid);
    rq->result = json_incref(exc);
out:
    json_decref(actor);
    json_decref(rule);
    json_decref(identity);
    json_decref(exc);
    return r;
}

static int op_sod_exception_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id = NULL;
    json_t *all = NULL, *out = NULL, *x;
    json_int_t now = gov_now();
    size_t i;
    int r;

    if ((r = arg_str(rq, "identity", false, &id)) != 0)
        return r;
    if (id && !gov_name_is_valid(id))
        return fail(rq, -ERR_INVAL, "\"identity\" must be an identity id");
    if ((r = gov_list(vd, txn, STORE_SOD_EXC, &all)) != 0)
        return r;
    out = json_array();
    json_array_foreach(all, i, x)
    {
        if (id && strcmp(jstr(x, "identity") ? jstr(x, "identity") : "", id) != 0)
            continue;
        json_object_set_new(x, "live", json_boolean(gov_exception_is_live(x, now)));
        json_array_append(out, x);
    }
    json_decref(all);
    rq->result = json_pack("{s:o}", "exceptions", out);
    return 0;
}

/*
 * An exception withdrawn before its time (scope gov): it ends now, stays on
 * record (revoked_by, revoke_reason), and the sessions it allowed are asked
 * about again (access.changed sod_exception_revoked).
 */
static int op_sod_exception_revoke(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *reason;
    int r;

    if ((r = name_arg(rq, "id", &id)) != 0 || (r = arg_str(rq, "reason", true, &reason)) != 0)
        return r;
    if (!*reason || strlen(reason) > GOV_TEXT_MAX)
        return fail(rq, -ERR_INVAL, "\"reason\" must be non-empty text of at most 1024 bytes");
    return gov_access_exception_end(vd, rq, txn, id, rq->principal, reason);
}

/* ---- auto-approval ---- */

static int op_auto_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *obj = object_from_args(rq);
    int r;

    if ((r = policy_check(rq, gov_auto_check, obj)) != 0 ||
        (r = policy_create(vd, rq, txn, STORE_AUTO, "auto-approval rule", obj)) != 0)
        goto out;
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    return r;
}

static int op_auto_delete(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return policy_delete(vd, rq, txn, STORE_AUTO, "auto-approval rule");
}

static int op_auto_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return policy_list(vd, rq, txn, STORE_AUTO, "rules");
}

const struct op ops_gov_policy[] = {
    {"gov.role.create", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_role_create, NULL},
    {"gov.role.update", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_role_update, NULL},
    {"gov.role.get", SCOPE(GOV), ST_UNSEALED, OP_READ, op_role_get, NULL},
    {"gov.role.delete", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_role_delete, NULL},
    {"gov.role.list", SCOPE(GOV), ST_UNSEALED, OP_READ, op_role_list, NULL},
    {"gov.rule.create", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_rule_create, NULL},
    {"gov.rule.delete", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_rule_delete, NULL},
    {"gov.rule.list", SCOPE(GOV), ST_UNSEALED, OP_READ, op_rule_list, NULL},
    {"gov.sod.create", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_sod_create, NULL},
    {"gov.sod.delete", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_sod_delete, NULL},
    {"gov.sod.list", SCOPE(GOV), ST_UNSEALED, OP_READ, op_sod_list, NULL},
    {"gov.sod.report", SCOPE(GOV), ST_UNSEALED, OP_READ, op_sod_report, NULL},
    {"gov.sod.exception.create", SCOPE(REQUEST), ST_UNSEALED, OP_WRITE, op_sod_exception_create,
     NULL},
    {"gov.sod.exception.list", SCOPE(GOV), ST_UNSEALED, OP_READ, op_sod_exception_list, NULL},
    {"gov.sod.exception.revoke", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_sod_exception_revoke, NULL},
    {"gov.auto.create", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_auto_create, NULL},
    {"gov.auto.delete", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_auto_delete, NULL},
    {"gov.auto.list", SCOPE(GOV), ST_UNSEALED, OP_READ, op_auto_list, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
