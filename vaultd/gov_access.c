/* SPDX-License-Identifier: Apache-2.0 */
/* The access.changed event, who a change reaches (role holders, SoD violators), exception ends. */
#include <stdio.h>
#include <string.h>

#include "custos/log.h"
#include "gov_access.h"
#include "gov_state.h"

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void gov_access_changed(struct req *rq, const char *reason, json_t *data)
{
    if (!data)
        data = json_object();
    json_object_set_new(data, "reason", json_string(reason));
    gov_emit(rq, "access.changed", data);
}

static bool holds_role(const json_t *identity, const char *role)
{
    json_t *a;
    size_t i;

    json_array_foreach(json_object_get(identity, "roles"), i, a)
    {
        if (strcmp(jstr(a, "role") ?: "", role) == 0)
            return true;
    }
    return false;
}

int gov_access_role_holders(struct vaultd *vd, MDB_txn *txn, const char *role, json_t **out)
{
    json_t *all = NULL, *ids, *it;
    const char *id;
    int r;

    *out = NULL;
    if ((r = gov_identities_all(vd, txn, &all)) != 0)
        return r;
    ids = json_array();
    json_object_foreach(all, id, it)
    {
        if (holds_role(it, role))
            json_array_append_new(ids, json_string(id));
    }
    json_decref(all);
    *out = ids;
    return 0;
}

int gov_access_sod_violators(struct vaultd *vd, MDB_txn *txn, const json_t *rule, json_t **out)
{
    json_t *all = NULL, *rules = json_array(), *ids = json_array(), *it;
    json_t *holdings = NULL, *exc = NULL, *viol = NULL;
    const char *id;
    int r;

    *out = NULL;
    json_array_append(rules, (json_t *)rule);
    if ((r = gov_identities_all(vd, txn, &all)) != 0)
        goto out;
    json_object_foreach(all, id, it)
    {
        if (strcmp(jstr(it, "state") ?: "", "left") == 0)
            continue;
        if ((r = gov_holdings(vd, txn, it, &holdings)) != 0 ||
            (r = gov_exceptions_of(vd, txn, id, &exc)) != 0 ||
            (r = gov_sod_violations(rules, holdings, NULL, exc, &viol)) != 0)
            goto out;
        if (json_array_size(viol) > 0)
            json_array_append_new(ids, json_string(id));
        json_decref(holdings);
        json_decref(exc);
        json_decref(viol);
        holdings = exc = viol = NULL;
    }
    *out = ids;
    ids = NULL;
out:
    json_decref(all);
    json_decref(rules);
    json_decref(ids);
    json_decref(holdings);
    json_decref(exc);
    json_decref(viol);
    return r;
}

int gov_access_exception_end(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                             const char *by, const char *why)
{
    json_t *x = NULL, *ev;
    json_int_t now = gov_now();
    bool revoke = by != NULL;
    int r;

    if (revoke)
        r = gov_load(vd, rq, txn, STORE_SOD_EXC, "SoD exception", id, &x);
    else if ((r = store_json_get(vd->store, txn, STORE_SOD_EXC, id, &x)) == -ERR_NOT_FOUND)
        return 0; /* a stale deadline */
    if (r != 0)
        return r;
    if (json_is_integer(json_object_get(x, "ended_at"))) {
        if (revoke) {
            req_fail(rq, -ERR_STATE, "SoD exception %s has ended already", id);
            r = -ERR_STATE;
        }
        goto out;
    }
    if (!revoke && json_integer_value(json_object_get(x, "expires_at")) > now)
        goto out;
    if (revoke) {
        if (json_integer_value(json_object_get(x, "expires_at")) > now)
            json_object_set_new(x, "expires_at", json_integer(now));
        json_object_set_new(x, "revoked_by", json_string(by));
        json_object_set_new(x, "revoke_reason", json_string(why ? why : ""));
    }
    json_object_set_new(x, "ended_at", json_integer(now));
    if ((r = store_json_put(vd->store, txn, STORE_SOD_EXC, id, x, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, id,
                       json_pack("{s:s,s:O,s:O,s:s?,s:s?}", "change",
                                 revoke ? "sod.exception.revoke" : "sod.exception.expire", "rule",
                                 json_object_get(x, "rule"), "identity",
                                 json_object_get(x, "identity"), "by", by, "reason", why))) != 0)
        goto out;
    ev = json_pack("{s:O,s:O,s:s}", "identity", json_object_get(x, "identity"), "rule",
                   json_object_get(x, "rule"), "exception", id);
    if (by)
        json_object_set_new(ev, "by", json_string(by));
    gov_access_changed(rq, revoke ? "sod_exception_revoked" : "sod_exception_expired", ev);
    if (revoke)
        rq->result = json_incref(x);
out:
    json_decref(x);
    return r;
}

json_t *gov_access_changed_fields(const json_t *before, const json_t *now)
{
    json_t *res = json_array(), *v;
    const char *k;

    json_object_foreach((json_t *)now, k, v)
    {
        json_t *b = json_object_get(before, k);
        if (strcmp(k, "updated_at") == 0)
            continue;
        if (!b || !json_equal(b, v))
            json_array_append_new(res, json_string(k));
    }
    return res;
}
