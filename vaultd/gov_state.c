/* SPDX-License-Identifier: Apache-2.0 */
/* Governance state in vaultd: loading, ids, acting identity, role assignments, grants, events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/log.h"
#include "gov_access.h"
#include "gov_state.h"
#include "scopes.h"

json_int_t gov_now(void)
{
    return (json_int_t)time(NULL);
}

int gov_load(struct vaultd *vd, struct req *rq, MDB_txn *txn, enum store_table t, const char *what,
             const char *key, json_t **out)
{
    int r;

    *out = NULL;
    if (!key || !*key || strlen(key) > STORE_KEY_MAX) {
        req_fail(rq, -ERR_INVAL, "%s id is missing or too long", what);
        return -ERR_INVAL;
    }
    r = store_json_get(vd->store, txn, t, key, out);
    if (r == -ERR_NOT_FOUND)
        req_fail(rq, r, "%s %s not found", what, key);
    return r;
}

int gov_list(struct vaultd *vd, MDB_txn *txn, enum store_table t, json_t **out)
{
    return store_json_list(vd->store, txn, t, "", out);
}

int gov_identities_all(struct vaultd *vd, MDB_txn *txn, json_t **out)
{
    json_t *arr = NULL, *obj, *it;
    size_t i;
    int r;

    *out = NULL;
    if ((r = gov_list(vd, txn, STORE_IDENTITIES, &arr)) != 0)
        return r;
    obj = json_object();
    json_array_foreach(arr, i, it)
        json_object_set(obj, json_string_value(json_object_get(it, "id")), it);
    json_decref(arr);
    *out = obj;
    return 0;
}

int gov_roles_of(struct vaultd *vd, MDB_txn *txn, const json_t *identity, json_t **out)
{
    json_t *res = json_array(), *a, *role;
    size_t i;

    json_array_foreach(json_object_get(identity, "roles"), i, a)
    {
        const char *name = json_string_value(json_object_get(a, "role"));
        if (name && store_json_get(vd->store, txn, STORE_ROLES, name, &role) == 0)
            json_array_append_new(res, role);
    }
    *out = res;
    return 0;
}

static bool grant_is_live(const json_t *g, json_int_t now)
{
    const char *st = json_string_value(json_object_get(g, "state"));

    return st && strcmp(st, "active") == 0 &&
           json_integer_value(json_object_get(g, "expires_at")) > now;
}

int gov_grants_live(struct vaultd *vd, MDB_txn *txn, const char *identity, const char *account,
                    json_t **out)
{
    char prefix[STORE_KEY_MAX + 1];
    json_t *idx = NULL, *res = json_array(), *e;
    size_t i;
    int r;

    *out = NULL;
    snprintf(prefix, sizeof(prefix), "%s/%s%s", identity, account ? account : "",
             account ? "/" : "");
    if ((r = store_json_list(vd->store, txn, STORE_GRANT_IDX, prefix, &idx)) != 0) {
        json_decref(res);
        return r;
    }
    json_array_foreach(idx, i, e)
    {
        json_t *g = NULL;
        const char *gid = json_string_value(json_object_get(e, "grant"));
        if (!gid || json_integer_value(json_object_get(e, "expires_at")) <= gov_now() ||
            strcmp(json_string_value(json_object_get(e, "state")) ?: "", "active") != 0)
            continue;
        if (store_json_get(vd->store, txn, STORE_GRANTS, gid, &g) == 0) {
            if (grant_is_live(g, gov_now()))
                json_array_append(res, g);
            json_decref(g);
        }
    }
    json_decref(idx);
    *out = res;
    return 0;
}

int gov_holdings(struct vaultd *vd, MDB_txn *txn, const json_t *identity, json_t **out)
{
    json_t *h = json_pack("{s:[],s:[]}", "roles", "accounts");
    json_t *roles = NULL, *accounts = NULL, *grants = NULL, *a, *role, *acct, *g;
    json_t *held = json_object_get(h, "accounts");
    size_t i, j, k;
    int r;

    *out = NULL;
    json_array_foreach(json_object_get(identity, "roles"), i, a)
        json_array_append(json_object_get(h, "roles"), json_object_get(a, "role"));
    if ((r = gov_roles_of(vd, txn, identity, &roles)) != 0 ||
        (r = gov_grants_live(vd, txn, json_string_value(json_object_get(identity, "id")), NULL,
                             &grants)) != 0)
        goto out;
    json_array_foreach(roles, i,
                       role) if (strcmp(json_string_value(json_object_get(role, "kind")) ?: "",
                                        "standing") == 0) break;
    /* Vault accounts are enumerated only when a standing role needs matching. */
    if (i < json_array_size(roles) &&
        (r = store_json_list(vd->store, txn, STORE_ACCOUNTS, "", &accounts)) != 0)
        goto out;
    json_array_foreach(roles, i, role)
    {
        json_t *ent;
        if (strcmp(json_string_value(json_object_get(role, "kind")) ?: "", "standing") != 0)
            continue;
        json_array_foreach(json_object_get(role, "entitlements"), j, ent)
        {
            const char *pat = json_string_value(json_object_get(ent, "account"));
            json_array_foreach(accounts, k, acct)
            {
                const char *id = json_string_value(json_object_get(acct, "id"));
                if (pat && id && gov_glob_match(pat, id))
                    json_array_append_new(held, json_string(id));
            }
        }
    }
    json_array_foreach(grants, i, g) json_array_append(held, json_object_get(g, "account"));
    *out = h;
    h = NULL;
out:
    json_decref(h);
    json_decref(roles);
    json_decref(accounts);
    json_decref(grants);
    return r;
}

int gov_exceptions_of(struct vaultd *vd, MDB_txn *txn, const char *identity, json_t **out)
{
    json_t *all = NULL, *res = json_array(), *x;
    size_t i;
    int r;

    *out = NULL;
    if ((r = gov_list(vd, txn, STORE_SOD_EXC, &all)) != 0) {
        json_decref(res);
        return r;
    }
    json_array_foreach(all, i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "identity")) ?: "", identity) == 0 &&
            json_integer_value(json_object_get(x, "expires_at")) > gov_now())
            json_array_append(res, x);
    }
    json_decref(all);
    *out = res;
    return 0;
}

int gov_id_next(struct vaultd *vd, MDB_txn *txn, const char *prefix, char *out, size_t outlen)
{
    json_t *ctr = NULL;
    json_int_t n;
    int r = store_json_get(vd->store, txn, STORE_META, "gov_counters", &ctr);

    if (r == -ERR_NOT_FOUND) {
        ctr = json_object();
        r = 0;
    }
    if (r != 0)
        return r;
    n = json_integer_value(json_object_get(ctr, prefix)) + 1;
    json_object_set_new(ctr, prefix, json_integer(n));
    r = store_json_put(vd->store, txn, STORE_META, "gov_counters", ctr, STORE_UPSERT);
    json_decref(ctr);
    if (r == 0)
        snprintf(out, outlen, "%s-%lld", prefix, (long long)n);
    return r;
}

static int actor_load(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id, json_t **out)
{
    int r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", id, out);
    const char *st;

    if (r != 0)
        return r;
    st = json_string_value(json_object_get(*out, "state"));
    if (!st || strcmp(st, "active") != 0) {
        req_fail(rq, -ERR_STATE, "identity %s is %s, not active", id, st ? st : "unknown");
        json_decref(*out);
        *out = NULL;
        return -ERR_STATE;
    }
    return 0;
}

int gov_actor_optional(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t **out)
{
    json_t *as = json_object_get(rq->args, "as");

    *out = NULL;
    if (as && !json_is_null(as)) {
        if (!json_is_string(as)) {
            req_fail(rq, -ERR_INVAL, "argument \"as\" must be an identity id");
            return -ERR_INVAL;
        }
        if (!(rq->scopes & SCOPE(ACT_AS))) {
            req_fail(rq, -ERR_DENIED, "acting as another identity needs the act_as scope");
            return -ERR_DENIED;
        }
        return actor_load(vd, rq, txn, json_string_value(as), out);
    }
    if (!rq->identity[0])
        return 0;
    return actor_load(vd, rq, txn, rq->identity, out);
}

int gov_actor(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t **out)
{
    int r = gov_actor_optional(vd, rq, txn, out);

    if (r == 0 && !*out) {
        req_fail(rq, -ERR_DENIED,
                 "principal %s is not bound to an identity; pass \"as\" (needs the act_as scope)",
                 rq->principal);
        r = -ERR_DENIED;
    }
    return r;
}

int gov_identity_save(struct vaultd *vd, MDB_txn *txn, json_t *identity)
{
    json_object_set_new(identity, "updated_at", json_integer(gov_now()));
    return store_json_put(vd->store, txn, STORE_IDENTITIES,
                          json_string_value(json_object_get(identity, "id")), identity,
                          STORE_UPDATE);
}

void gov_identity_set_state(json_t *identity, const char *state, json_int_t now)
{
    json_t *lc = json_object_get(identity, "lifecycle");

    if (!json_is_array(lc)) {
        lc = json_array();
        json_object_set_new(identity, "lifecycle", lc);
    }
    json_object_set_new(identity, "state", json_string(state));
    json_object_set_new(identity, "state_at", json_integer(now));
    json_array_append_new(lc, json_pack("{s:s,s:I}", "state", state, "at", (json_int_t)now));
}

void gov_emit(struct req *rq, const char *type, json_t *data)
{
    if (!rq->events)
        rq->events = json_array();
    json_array_append_new(rq->events, json_pack("{s:s,s:I,s:o}", "event", type, "at", gov_now(),
                                                "data", data ? data : json_object()));
}

void gov_schedule(struct req *rq, json_int_t at, const char *kind, const char *id)
{
    if (!rq->timers)
        rq->timers = json_array();
    json_array_append_new(rq->timers,
                          json_pack("{s:I,s:s,s:s}", "at", (json_int_t)at, "kind", kind, "id", id));
}

static bool holds_role(const json_t *identity, const char *role)
{
    json_t *a;
    size_t i;

    json_array_foreach(json_object_get(identity, "roles"), i,
                       a) if (strcmp(json_string_value(json_object_get(a, "role")) ?: "", role) ==
                              0) return true;
    return false;
}

/* Refuse (with the rule named) when taking `candidate` would violate SoD without an exception. */
static int sod_guard(struct vaultd *vd, struct req *rq, MDB_txn *txn, const json_t *identity,
                     json_t *candidate)
{
    const char *id = json_string_value(json_object_get(identity, "id"));
    json_t *rules = NULL, *holdings = NULL, *exc = NULL, *violated = NULL, *v;
    int r;

    if ((r = gov_list(vd, txn, STORE_SOD, &rules)) != 0)
        goto out;
    if (json_array_size(rules) == 0)
        goto out; /* no rule, no violation: skip collecting holdings */
    if ((r = gov_holdings(vd, txn, identity, &holdings)) != 0 ||
        (r = gov_exceptions_of(vd, txn, id, &exc)) != 0 ||
        (r = gov_sod_violations(rules, holdings, candidate, exc, &violated)) != 0)
        goto out;
    if (json_array_size(violated) > 0) {
        v = json_array_get(violated, 0);
        req_fail(rq, -ERR_DENIED,
                 "sod_violation: rule %s (%s) forbids this for %s; its owner %s may grant an "
                 "exception",
                 json_string_value(json_object_get(v, "name")),
                 json_string_value(json_object_get(v, "severity")) ?: "-", id,
                 json_string_value(json_object_get(v, "owner")) ?: "-");
        rq->errdata =
            json_pack("{s:s,s:O}", "reason", "sod_violation", "rule", json_object_get(v, "name"));
        r = -ERR_DENIED;
    }
out:
    json_decref(rules);
    json_decref(holdings);
    json_decref(exc);
    json_decref(violated);
    json_decref(candidate);
    return r;
}

int gov_sod_guard_account(struct vaultd *vd, struct req *rq, MDB_txn *txn, const json_t *identity,
                          const char *account)
{
    return sod_guard(vd, rq, txn, identity, json_pack("{s:s}", "account", account));
}

/* One history row per assignment: "identity/%016llu" with from/until. */
static int assign_history(struct vaultd *vd, MDB_txn *txn, const char *identity, const char *role,
                          const char *source, bool open)
{
    char key[STORE_KEY_MAX + 1], prefix[STORE_KEY_MAX + 1];
    json_t *rows = NULL, *row;
    size_t i;
    int r;

    snprintf(prefix, sizeof(prefix), "%s/", identity);
    if ((r = store_json_list(vd->store, txn, STORE_ASSIGN, prefix, &rows)) != 0)
        return r;
    if (open) {
        char id[32];
        if ((r = gov_id_next(vd, txn, "a", id, sizeof(id))) == 0) {
            snprintf(key, sizeof(key), "%s/%016lld", identity, atoll(id + 2));
            row = json_pack("{s:s,s:s,s:s,s:I,s:n}", "identity", identity, "role", role, "source",
                            source, "from", gov_now(), "until");
            json_object_set_new(row, "key", json_string(key));
            r = store_json_put(vd->store, txn, STORE_ASSIGN, key, row, STORE_CREATE);
            json_decref(row);
        }
    } else {
        json_array_foreach(rows, i, row)
        {
            if (strcmp(json_string_value(json_object_get(row, "role")) ?: "", role) != 0 ||
                !json_is_null(json_object_get(row, "until")))
                continue;
            json_object_set_new(row, "until", json_integer(gov_now()));
            if ((r = store_json_put(vd->store, txn, STORE_ASSIGN,
                                    json_string_value(json_object_get(row, "key")), row,
                                    STORE_UPDATE)) != 0)
                break;
        }
    }
    json_decref(rows);
    return r;
}

int gov_role_assign(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *identity,
                    const char *role, const char *source, bool skip_sod)
{
    const char *id = json_string_value(json_object_get(identity, "id"));
    json_t *robj = NULL, *roles;
    int r;

    if (holds_role(identity, role))
        return 0;
    if ((r = gov_load(vd, rq, txn, STORE_ROLES, "role", role, &robj)) != 0)
        return r;
    json_decref(robj);
    if (!skip_sod && (r = sod_guard(vd, rq, txn, identity, json_pack("{s:s}", "role", role))) != 0)
        return r;
    roles = json_object_get(identity, "roles");
    if (!json_is_array(roles)) {
        roles = json_array();
        json_object_set_new(identity, "roles", roles);
    }
    json_array_append_new(
        roles, json_pack("{s:s,s:s,s:I}", "role", role, "source", source, "since", gov_now()));
    if ((r = assign_history(vd, txn, id, role, source, true)) != 0)
        return r;
    if ((r = req_audit(vd, rq, txn, id,
                       json_pack("{s:s,s:s,s:s}", "change", "role.assign", "role", role, "source",
                                 source))) != 0)
        return r;
    gov_emit(rq, "identity.updated",
             json_pack("{s:s,s:s,s:s}", "identity", id, "change", "role.assign", "role", role));
    return 0;
}

int gov_role_unassign(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *identity,
                      const char *role)
{
    const char *id = json_string_value(json_object_get(identity, "id"));
    json_t *roles = json_object_get(identity, "roles"), *a;
    size_t i;
    int r;

    json_array_foreach(roles, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "role")) ?: "", role) != 0)
            continue;
        json_array_remove(roles, i);
        if ((r = assign_history(vd, txn, id, role, NULL, false)) != 0)
            return r;
        if ((r = req_audit(vd, rq, txn, id,
                           json_pack("{s:s,s:s}", "change", "role.unassign", "role", role))) != 0)
            return r;
        gov_emit(
            rq, "identity.updated",
            json_pack("{s:s,s:s,s:s}", "identity", id, "change", "role.unassign", "role", role));
        gov_access_changed(rq, "role_unassigned",
                           json_pack("{s:s,s:s}", "identity", id, "role", role));
        return 0;
    }
    return 0;
}

int gov_birthright_apply(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *identity)
{
    json_t *rules = NULL, *want = NULL, *held, *a, *w;
    size_t i, j;
    int r;

    if ((r = gov_list(vd, txn, STORE_RULES, &rules)) != 0)
        return r;
    /* A leaver holds nothing; a suspended identity keeps its roles (they are inert). */
    if (strcmp(json_string_value(json_object_get(identity, "state")) ?: "", "left") == 0)
        want = json_array();
    else
        want = gov_birthright(rules, identity);
    held = json_deep_copy(json_object_get(identity, "roles"));
    /* Remove rule-given roles no longer justified. */
    json_array_foreach(held, i, a)
    {
        const char *src = json_string_value(json_object_get(a, "source")) ?: "";
        const char *role = json_string_value(json_object_get(a, "role")) ?: "";
        bool keep = false;
        if (strncmp(src, "rule:", 5) != 0)
            continue;
        json_array_foreach(
            want, j, w) if (strcmp(json_string_value(json_object_get(w, "role")) ?: "", role) == 0)
            keep = true;
        if (!keep && (r = gov_role_unassign(vd, rq, txn, identity, role)) != 0)
            goto out;
    }
    /* Add the new ones (SoD is not checked for birthright: policy defined them). */
    json_array_foreach(want, j, w)
    {
        if ((r = gov_role_assign(vd, rq, txn, identity,
                                 json_string_value(json_object_get(w, "role")),
                                 json_string_value(json_object_get(w, "source")), true)) != 0)
            goto out;
    }
    r = 0;
out:
    json_decref(rules);
    json_decref(want);
    json_decref(held);
    return r;
}

int gov_grant_create(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *identity,
                     const char *account, json_int_t duration, const char *kind,
                     const char *request, const json_t *ent, json_t **out)
{
    char gid[32], key[STORE_KEY_MAX + 1];
    json_int_t now = gov_now();
    json_t *g = NULL, *idx = NULL;
    int r;

    if (out)
        *out = NULL;
    if ((r = gov_id_next(vd, txn, "g", gid, sizeof(gid))) != 0)
        return r;
    g = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:n,s:n,s:n,s:b}", "id", gid, "identity", identity,
                  "account", account, "kind", kind, "start", now, "expires_at", now + duration,
                  "state", "active", "ended_at", "ended_by", "end_reason", "file_transfer",
                  json_is_true(json_object_get(ent, "file_transfer")));
    json_object_set_new(g, "policy", gov_policy_of(ent));
    json_object_set_new(g, "request", request ? json_string(request) : json_null());
    snprintf(key, sizeof(key), "%s/%s/%s", identity, account, gid);
    idx = json_pack("{s:s,s:s,s:I}", "grant", gid, "state", "active", "expires_at", now + duration);
    if ((r = store_json_put(vd->store, txn, STORE_GRANTS, gid, g, STORE_CREATE)) != 0 ||
        (r = store_json_put(vd->store, txn, STORE_GRANT_IDX, key, idx, STORE_CREATE)) != 0 ||
        (r = req_audit(vd, rq, txn, account,
                       json_pack("{s:s,s:s,s:s,s:I,s:s?}", "change", "grant.create", "grant", gid,
                                 "identity", identity, "expires_at", now + duration, "kind",
                                 kind))) != 0)
        goto out;
    gov_emit(rq, "grant.created",
             json_pack("{s:s,s:s,s:s,s:s,s:I}", "grant", gid, "identity", identity, "account",
                       account, "kind", kind, "expires_at", now + duration));
    gov_schedule(rq, now + duration, "grant", gid);
    if (out)
        *out = json_incref(g);
out:
    json_decref(g);
    json_decref(idx);
    return r;
}

int gov_grant_end(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *grant_id,
                  const char *state, const char *by, const char *reason)
{
    char key[STORE_KEY_MAX + 1];
    json_t *g = NULL, *idx = NULL;
    const char *identity, *account, *kind;
    int r;

    if ((r = gov_load(vd, rq, txn, STORE_GRANTS, "grant", grant_id, &g)) != 0)
        return r;
    if (strcmp(json_string_value(json_object_get(g, "state")) ?: "", "active") != 0) {
        r = 0;
        goto out;
    }
    identity = json_string_value(json_object_get(g, "identity"));
    account = json_string_value(json_object_get(g, "account"));
    kind = json_string_value(json_object_get(g, "kind")) ?: "jit";
    json_object_set_new(g, "state", json_string(state));
    json_object_set_new(g, "ended_at", json_integer(gov_now()));
    json_object_set_new(g, "ended_by", json_string(by ? by : "-"));
    json_object_set_new(g, "end_reason", json_string(reason ? reason : ""));
    snprintf(key, sizeof(key), "%s/%s/%s", identity, account, grant_id);
    idx = json_pack("{s:s,s:s,s:O}", "grant", grant_id, "state", state, "expires_at",
                    json_object_get(g, "expires_at"));
    if ((r = store_json_put(vd->store, txn, STORE_GRANTS, grant_id, g, STORE_UPDATE)) != 0 ||
        (r = store_json_put(vd->store, txn, STORE_GRANT_IDX, key, idx, STORE_UPSERT)) != 0 ||
        (r = req_audit(vd, rq, txn, account,
                       json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "change",
                                 strcmp(state, "expired") == 0 ? "grant.expire" : "grant.revoke",
                                 "grant", grant_id, "identity", identity, "by", by ? by : "-",
                                 "reason", reason ? reason : "", "kind", kind))) != 0)
        goto out;
    gov_emit(rq, strcmp(state, "expired") == 0 ? "grant.expired" : "grant.revoked",
             json_pack("{s:s,s:s,s:s,s:s,s:s}", "grant", grant_id, "identity", identity, "account",
                       account, "by", by ? by : "-", "reason", reason ? reason : ""));
    gov_access_changed(rq, strcmp(state, "expired") == 0 ? "grant_expired" : "grant_revoked",
                       json_pack("{s:s,s:s,s:s,s:s}", "grant", grant_id, "identity", identity,
                                 "account", account, "by", by ? by : "-"));
    if (strcmp(kind, "break-glass") == 0) {
        char why[128];
        snprintf(why, sizeof(why), "break-glass:%s", grant_id);
        r = gov_rotation_queue(vd, rq, txn, account, why);
    }
out:
    json_decref(g);
    json_decref(idx);
    return r;
}

int gov_grants_end_all(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *identity,
                       const char *state, const char *by, const char *reason)
{
    json_t *live = NULL, *g;
    size_t i;
    int r;

    if ((r = gov_grants_live(vd, txn, identity, NULL, &live)) != 0)
        return r;
    json_array_foreach(live, i, g)
    {
        if ((r = gov_grant_end(vd, rq, txn, json_string_value(json_object_get(g, "id")), state, by,
                               reason)) != 0)
            break;
    }
    json_decref(live);
    return r;
}

int gov_rotation_queue(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *account,
                       const char *reason)
{
    char qid[32];
    json_t *all = NULL, *e, *entry = NULL;
    size_t i;
    int r;

    if ((r = gov_list(vd, txn, STORE_ROTATION, &all)) != 0)
        return r;
    json_array_foreach(all, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "account")) ?: "", account) == 0 &&
            strcmp(json_string_value(json_object_get(e, "state")) ?: "", "queued") == 0) {
            /* Already queued: one rotation covers every reason. */
            json_t *reasons = json_object_get(e, "reasons");
            if (json_is_array(reasons) && json_array_size(reasons) < 64)
                json_array_append_new(reasons, json_string(reason));
            r = store_json_put(vd->store, txn, STORE_ROTATION,
                               json_string_value(json_object_get(e, "id")), e, STORE_UPDATE);
            goto out;
        }
    }
    if ((r = gov_id_next(vd, txn, "q", qid, sizeof(qid))) != 0)
        goto out;
    entry = json_pack("{s:s,s:s,s:s,s:[s],s:I,s:s,s:n,s:n}", "id", qid, "account", account,
                      "reason", reason, "reasons", reason, "requested_at", gov_now(), "state",
                      "queued", "done_at", "result");
    if ((r = store_json_put(vd->store, txn, STORE_ROTATION, qid, entry, STORE_CREATE)) != 0 ||
        (r = req_audit(vd, rq, txn, account,
                       json_pack("{s:s,s:s,s:s}", "change", "rotation.queue", "queue", qid,
                                 "reason", reason))) != 0)
        goto out;
    gov_emit(rq, "rotation.queued",
             json_pack("{s:s,s:s,s:s}", "queue", qid, "account", account, "reason", reason));
out:
    json_decref(all);
    json_decref(entry);
    return r;
}
