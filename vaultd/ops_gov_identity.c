/* SPDX-License-Identifier: Apache-2.0 */
/* gov.identity.* ops: people, their lifecycle, keys, TOTP and role assignments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custos/log.h"
#include "custos/secbuf.h"
#include "dispatch.h"
#include "gov_access.h"
#include "gov_state.h"
#include "ops_gov_identity.h"
#include "ops.h"
#include "scopes.h"

/* Longest OpenSSH public key line accepted (an RSA-16384 key is ~2.8 KiB). */
#define IDENTITY_KEY_MAX 8192u
/* Most groups one identity may be in. */
#define IDENTITY_GROUPS_MAX 64u
/* Deepest management chain walked looking for a cycle. */
#define IDENTITY_CHAIN_MAX 256
/* TOTP secret length: 160 bits, as RFC 4226 section 4 recommends for HMAC-SHA1. */
#define TOTP_SECRET_LEN 20u
/* Leavers: grants that ended this recently still name accounts to rotate. */
#define LEAVER_GRANT_WINDOW (30 * 86400)

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int fail(struct req *rq, int err, const char *msg)
{
    req_fail(rq, err, "%s", msg);
    return err;
}

static bool is_text(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int id_arg(struct req *rq, const char *key, const char **out)
{
    int r = arg_str(rq, key, true, out);

    if (r == 0 && !gov_name_is_valid(*out)) {
        req_fail(rq, -ERR_INVAL, "\"%s\" must be 1-64 of [A-Za-z0-9._-]", key);
        r = -ERR_INVAL;
    }
    return r;
}

static int identity_load(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                         json_t **out)
{
    return gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", id, out);
}

static bool has_left(const json_t *identity)
{
    const char *st = jstr(identity, "state");

    return st && strcmp(st, "left") == 0;
}

static int refuse_left(struct req *rq, const json_t *identity)
{
    req_fail(rq, -ERR_STATE, "identity %s has left; it can no longer change", jstr(identity, "id"));
    return -ERR_STATE;
}

int ops_gov_identity_by(struct vaultd *vd, struct req *rq, MDB_txn *txn, char *by, size_t bylen)
{
    json_t *actor = NULL;
    int r;

    if ((r = gov_actor_optional(vd, rq, txn, &actor)) != 0)
        return r;
    snprintf(by, bylen, "%s", actor ? jstr(actor, "id") : rq->principal);
    json_decref(actor);
    return 0;
}

/* The manager must exist, not be the identity itself, and not lead back to it. */
static int manager_check(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                         const char *manager)
{
    char cur[65];
    json_t *m = NULL;
    int r, depth;

    if (strcmp(id, manager) == 0)
        return fail(rq, -ERR_INVAL, "an identity cannot be its own manager");
    snprintf(cur, sizeof(cur), "%s", manager);
    for (depth = 0; depth < IDENTITY_CHAIN_MAX; depth++) {
        const char *next;
        r = store_json_get(vd->store, txn, STORE_IDENTITIES, cur, &m);
        if (r == -ERR_NOT_FOUND && depth == 0) {
            req_fail(rq, r, "manager %s not found", manager);
            return r;
        }
        if (r == -ERR_NOT_FOUND)
            return 0; /* a dangling link higher up is not this identity's problem */
        if (r != 0)
            return r;
        next = jstr(m, "manager");
        if (!next) {
            json_decref(m);
            return 0;
        }
        if (strcmp(next, id) == 0) {
            json_decref(m);
            req_fail(rq, -ERR_INVAL, "manager %s would make a cycle of managers through %s",
                     manager, id);
            return -ERR_INVAL;
        }
        snprintf(cur, sizeof(cur), "%s", next);
        json_decref(m);
        m = NULL;
    }
    return fail(rq, -ERR_INVAL, "the chain of managers is too deep");
}

/* An optional text field: absent leaves it, null clears it (when clearable), else checked. */
static int text_field(struct req *rq, json_t *obj, const char *key, bool clearable)
{
    json_t *v = json_object_get(rq->args, key);

    if (!v)
        return 0;
    if (json_is_null(v) && clearable) {
        json_object_set_new(obj, key, json_null());
        return 0;
    }
    if (!json_is_string(v) || !is_text(json_string_value(v), GOV_TEXT_MAX)) {
        req_fail(rq, -ERR_INVAL, "\"%s\" must be text of 1 to %u characters", key, GOV_TEXT_MAX);
        return -ERR_INVAL;
    }
    json_object_set(obj, key, v);
    return 0;
}

/* Unknown arguments are refused: a misspelt "manger" must not be dropped silently. */
static int args_known(struct req *rq, bool create)
{
    static const char *const known[] = {"id",      "name",   "email", "department", "title",
                                        "manager", "groups", "as",    NULL};
    const char *k;
    json_t *v;

    json_object_foreach(rq->args, k, v)
    {
        bool ok = create && strcmp(k, "state") == 0;
        for (const char *const *p = known; *p && !ok; p++)
            ok = strcmp(*p, k) == 0;
        if (!ok) {
            req_fail(rq, -ERR_INVAL, "unknown argument \"%.64s\"", k);
            return -ERR_INVAL;
        }
    }
    return 0;
}

/* Copy and check the attributes an admin may set (create and update). */
static int identity_fields(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *obj,
                           bool create)
{
    const char *id = jstr(obj, "id");
    json_t *v;
    int r;

    if ((r = args_known(rq, create)) != 0)
        return r;
    if ((r = text_field(rq, obj, "name", false)) != 0 ||
        (r = text_field(rq, obj, "department", true)) != 0 ||
        (r = text_field(rq, obj, "title", true)) != 0)
        return r;
    if ((v = json_object_get(rq->args, "email"))) {
        if (!gov_email_is_valid(json_string_value(v)))
            return fail(rq, -ERR_INVAL, "\"email\" must be an e-mail address (name@domain)");
        json_object_set(obj, "email", v);
    }
    if ((v = json_object_get(rq->args, "manager"))) {
        if (json_is_null(v)) {
            json_object_set_new(obj, "manager", json_null());
        } else {
            if (!json_is_string(v) || !gov_name_is_valid(json_string_value(v)))
                return fail(rq, -ERR_INVAL, "\"manager\" must be an identity id");
            if ((r = manager_check(vd, rq, txn, id, json_string_value(v))) != 0)
                return r;
            json_object_set(obj, "manager", v);
        }
    }
    if ((v = json_object_get(rq->args, "groups"))) {
        json_t *g, *groups = json_array();
        size_t i;
        if (!json_is_array(v) || json_array_size(v) > IDENTITY_GROUPS_MAX) {
            json_decref(groups);
            req_fail(rq, -ERR_INVAL, "\"groups\" must be an array of at most %u group names",
                     IDENTITY_GROUPS_MAX);
            return -ERR_INVAL;
        }
        json_array_foreach(v, i, g)
        {
            size_t j;
            json_t *h;
            bool dup = false;
            if (!json_is_string(g) || !gov_name_is_valid(json_string_value(g))) {
                json_decref(groups);
                return fail(rq, -ERR_INVAL, "\"groups\" must hold names of [A-Za-z0-9._-]");
            }
            json_array_foreach(groups, j, h)
            {
                if (json_equal(g, h))
                    dup = true;
            }
            if (!dup)
                json_array_append(groups, g);
        }
        json_object_set_new(obj, "groups", groups);
    }
    return 0;
}

/* The attributes gov_identity_check judges: those set through the API, nulls left out. */
static int identity_policy_check(struct req *rq, const json_t *obj)
{
    static const char *const keys[] = {"id",    "name",    "email",  "department",
                                       "title", "manager", "groups", "state"};
    char why[256] = "";
    json_t *view = json_object();
    int r;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(obj, keys[i]);
        if (v && !json_is_null(v))
            json_object_set(view, keys[i], v);
    }
    r = gov_identity_check(view, why, sizeof(why));
    json_decref(view);
    if (r != 0) {
        req_fail(rq, -ERR_INVAL, "%s", why[0] ? why : "invalid identity");
        return -ERR_INVAL;
    }
    return 0;
}

int ops_gov_identity_insert(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *identity)
{
    static const char *const optional[] = {"department", "title", "manager"};
    const char *id = jstr(identity, "id");
    const char *state = jstr(identity, "state");
    json_int_t now = gov_now();
    char st[16];
    int r;

    snprintf(st, sizeof(st), "%s", state ? state : "active");
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
        if (!json_object_get(identity, optional[i]))
            json_object_set_new(identity, optional[i], json_null());
    if (!json_is_array(json_object_get(identity, "groups")))
        json_object_set_new(identity, "groups", json_array());
    json_object_set_new(identity, "keys", json_array());
    json_object_set_new(identity, "totp", json_false());
    json_object_set_new(identity, "roles", json_array());
    json_object_set_new(identity, "lifecycle", json_array());
    json_object_set_new(identity, "created_at", json_integer(now));
    json_object_set_new(identity, "updated_at", json_integer(now));
    gov_identity_set_state(identity, st, now);
    if ((r = store_json_put(vd->store, txn, STORE_IDENTITIES, id, identity, STORE_CREATE)) != 0) {
        if (r == -ERR_EXISTS)
            req_fail(rq, r, "identity %s exists", id);
        return r;
    }
    if ((r = gov_birthright_apply(vd, rq, txn, identity)) != 0)
        return r;
    return gov_identity_save(vd, txn, identity);
}

static int op_identity_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *state = NULL;
    json_t *obj = NULL;
    int r;

    if ((r = id_arg(rq, "id", &id)) != 0 || (r = arg_str(rq, "state", false, &state)) != 0)
        goto out;
    if (!json_object_get(rq->args, "name") || !json_object_get(rq->args, "email")) {
        r = fail(rq, -ERR_INVAL, "an identity needs \"name\" and \"email\"");
        goto out;
    }
    if (state && strcmp(state, "pending") != 0 && strcmp(state, "active") != 0) {
        r = fail(rq, -ERR_INVAL, "\"state\" must be pending or active");
        goto out;
    }
    obj = json_pack("{s:s,s:s}", "id", id, "state", state ? state : "active");
    if ((r = identity_fields(vd, rq, txn, obj, true)) != 0 ||
        (r = identity_policy_check(rq, obj)) != 0)
        goto out;
    json_object_set_new(obj, "source", json_string("api"));
    if ((r = ops_gov_identity_insert(vd, rq, txn, obj)) != 0 ||
        (r = req_audit(vd, rq, txn, id, json_pack("{s:s}", "state", jstr(obj, "state")))) != 0)
        goto out;
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    return r;
}

static int op_identity_update(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    static const char *const fields[] = {"name",  "email",   "department",
                                         "title", "manager", "groups"};
    const char *id;
    json_t *obj = NULL, *before = NULL, *changed = json_array();
    int r;

    if ((r = id_arg(rq, "id", &id)) != 0 || (r = identity_load(vd, rq, txn, id, &obj)) != 0)
        goto out;
    if (has_left(obj)) {
        r = refuse_left(rq, obj);
        goto out;
    }
    before = json_deep_copy(obj);
    if ((r = identity_fields(vd, rq, txn, obj, false)) != 0 ||
        (r = identity_policy_check(rq, obj)) != 0)
        goto out;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *a = json_object_get(before, fields[i]), *b = json_object_get(obj, fields[i]);
        if (!(a ? b && json_equal(a, b) : !b))
            json_array_append_new(changed, json_string(fields[i]));
    }
    if ((r = gov_birthright_apply(vd, rq, txn, obj)) != 0 ||
        (r = gov_identity_save(vd, txn, obj)) != 0 ||
        (r = req_audit(vd, rq, txn, id, json_pack("{s:O}", "changed", changed))) != 0)
        goto out;
    if (json_array_size(changed) > 0)
        gov_emit(
            rq, "identity.updated",
            json_pack("{s:s,s:s,s:O}", "identity", id, "change", "attributes", "changed", changed));
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    json_decref(before);
    json_decref(changed);
    return r;
}

static int op_identity_get(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id;
    int r;

    if ((r = id_arg(rq, "id", &id)) != 0)
        return r;
    return identity_load(vd, rq, txn, id, &rq->result);
}

static bool state_is_known(const char *s)
{
    return strcmp(s, "pending") == 0 || strcmp(s, "active") == 0 || strcmp(s, "suspended") == 0 ||
           strcmp(s, "left") == 0;
}

static int op_identity_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *state = NULL, *dept = NULL;
    json_t *all = NULL, *res = NULL, *it;
    size_t i;
    int r;

    if ((r = arg_str(rq, "state", false, &state)) != 0 ||
        (r = arg_str(rq, "department", false, &dept)) != 0)
        goto out;
    if (state && !state_is_known(state)) {
        r = fail(rq, -ERR_INVAL, "\"state\" must be pending, active, suspended or left");
        goto out;
    }
    if ((r = gov_list(vd, txn, STORE_IDENTITIES, &all)) != 0)
        goto out;
    res = json_array();
    json_array_foreach(all, i, it)
    {
        if (state && strcmp(jstr(it, "state") ? jstr(it, "state") : "", state) != 0)
            continue;
        if (dept && strcmp(jstr(it, "department") ? jstr(it, "department") : "", dept) != 0)
            continue;
        json_array_append(res, it);
    }
    rq->result = json_pack("{s:O}", "identities", res);
out:
    json_decref(all);
    json_decref(res);
    return r;
}

/* Every vault account (STORE_ACCOUNTS) matched by one of `patterns` (object pattern -> true). */
static void accounts_matching(const json_t *accounts, const json_t *patterns, json_t *found)
{
    json_t *a, *v;
    const char *pat;
    size_t i;

    json_array_foreach(accounts, i, a)
    {
        const char *acct = jstr(a, "id");
        if (!acct)
            continue;
        json_object_foreach((json_t *)patterns, pat, v)
        {
            if (gov_glob_match(pat, acct))
                json_object_set_new(found, acct, json_true());
        }
    }
}

/*
 * The accounts a leaver could obtain, to rotate: every account matched by an
 * entitlement of a role they hold or held in the last 30 days (standing or
 * requestable), and every account of a grant live or ended in that window.
 * *out: new object account -> true.
 */
static int leaver_accounts(struct vaultd *vd, MDB_txn *txn, const json_t *identity, json_int_t now,
                           json_t **out)
{
    char prefix[STORE_KEY_MAX + 1];
    const char *id = jstr(identity, "id");
    json_t *role_names = json_object(), *patterns = json_object(), *found = json_object();
    json_t *rows = NULL, *accounts = NULL, *idx = NULL, *row, *role = NULL, *v;
    const char *name;
    size_t i;
    int r;

    *out = NULL;
    json_array_foreach(json_object_get(identity, "roles"), i, row)
    {
        if (jstr(row, "role"))
            json_object_set_new(role_names, jstr(row, "role"), json_true());
    }
    snprintf(prefix, sizeof(prefix), "%s/", id);
    if ((r = store_json_list(vd->store, txn, STORE_ASSIGN, prefix, &rows)) != 0)
        goto out;
    json_array_foreach(rows, i, row)
    {
        json_t *until = json_object_get(row, "until");
        if (jstr(row, "role") &&
            (!json_is_integer(until) || json_integer_value(until) >= now - LEAVER_GRANT_WINDOW))
            json_object_set_new(role_names, jstr(row, "role"), json_true());
    }
    json_object_foreach(role_names, name, v)
    {
        json_t *ent;
        size_t j;
        r = store_json_get(vd->store, txn, STORE_ROLES, name, &role);
        if (r == -ERR_NOT_FOUND)
            continue; /* deleted since: it names no account any more */
        if (r != 0)
            goto out;
        json_array_foreach(json_object_get(role, "entitlements"), j, ent)
        {
            if (jstr(ent, "account"))
                json_object_set_new(patterns, jstr(ent, "account"), json_true());
        }
        json_decref(role);
        role = NULL;
    }
    if ((r = store_json_list(vd->store, txn, STORE_ACCOUNTS, "", &accounts)) != 0)
        goto out;
    accounts_matching(accounts, patterns, found);
    if ((r = store_json_list(vd->store, txn, STORE_GRANT_IDX, prefix, &idx)) != 0)
        goto out;
    json_array_foreach(idx, i, row)
    {
        json_t *g = NULL, *ended;
        const char *acct;
        bool recent;
        if (!jstr(row, "grant"))
            continue;
        r = store_json_get(vd->store, txn, STORE_GRANTS, jstr(row, "grant"), &g);
        if (r == -ERR_NOT_FOUND)
            continue;
        if (r != 0)
            goto out;
        ended = json_object_get(g, "ended_at");
        if (!json_is_integer(ended))
            ended = json_object_get(g, "expires_at");
        recent = strcmp(jstr(g, "state") ? jstr(g, "state") : "", "active") == 0 ||
                 json_integer_value(ended) >= now - LEAVER_GRANT_WINDOW;
        acct = jstr(g, "account");
        if (recent && acct) {
            /* Only accounts the vault still holds can be rotated. */
            json_t *a;
            size_t k;
            json_array_foreach(accounts, k, a)
            {
                if (strcmp(jstr(a, "id") ? jstr(a, "id") : "", acct) == 0)
                    json_object_set_new(found, acct, json_true());
            }
        }
        json_decref(g);
    }
    *out = found;
    found = NULL;
    r = 0;
out:
    json_decref(role);
    json_decref(role_names);
    json_decref(patterns);
    json_decref(found);
    json_decref(rows);
    json_decref(accounts);
    json_decref(idx);
    return r;
}

static int totp_forget(struct vaultd *vd, MDB_txn *txn, const char *id)
{
    char key[STORE_KEY_MAX + 1];
    int r;

    snprintf(key, sizeof(key), "!totp/%s", id);
    r = store_value_del_all(vd->store, txn, key);
    if (r != 0 && r != -ERR_NOT_FOUND)
        return r;
    /* Wrong guesses at the old secret say nothing about the next one (mfa_throttle.c). */
    r = store_del(vd->store, txn, STORE_MFA, id);
    return r == -ERR_NOT_FOUND ? 0 : r;
}

/*
 * Leaving: every live grant revoked, every role removed, the TOTP secret
 * destroyed, every account the leaver could obtain queued for rotation.
 */
static int identity_leave(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *identity,
                          const char *by, const char *reason)
{
    const char *id = jstr(identity, "id");
    json_int_t now = gov_now();
    json_t *accounts = NULL, *roles = NULL, *a, *v;
    char why[160];
    const char *acct;
    size_t i;
    int r;

    /* Before anything is removed: what they hold now still counts. */
    if ((r = leaver_accounts(vd, txn, identity, now, &accounts)) != 0 ||
        (r = gov_grants_end_all(vd, rq, txn, id, "revoked", by, reason)) != 0)
        goto out;
    roles = json_deep_copy(json_object_get(identity, "roles"));
    json_array_foreach(roles, i, a)
    {
        if (jstr(a, "role") && (r = gov_role_unassign(vd, rq, txn, identity, jstr(a, "role"))) != 0)
            goto out;
    }
    if ((r = totp_forget(vd, txn, id)) != 0)
        goto out;
    json_object_set_new(identity, "totp", json_false());
    gov_identity_set_state(identity, "left", now);
    snprintf(why, sizeof(why), "leaver:%s", id);
    json_object_foreach(accounts, acct, v)
    {
        if ((r = gov_rotation_queue(vd, rq, txn, acct, why)) != 0)
            goto out;
    }
    gov_emit(rq, "identity.left", json_pack("{s:s,s:s}", "identity", id, "reason", reason));
    gov_access_changed(rq, "identity_left", json_pack("{s:s}", "identity", id));
out:
    json_decref(accounts);
    json_decref(roles);
    return r;
}

int ops_gov_identity_transition(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *identity,
                                const char *to, const char *by, const char *reason)
{
    const char *id = jstr(identity, "id");
    const char *from = jstr(identity, "state") ? jstr(identity, "state") : "pending";
    int r;

    if (!gov_lifecycle_allowed(from, to)) {
        req_fail(rq, -ERR_STATE, "identity %s is %s; it cannot become %s", id, from, to);
        return -ERR_STATE;
    }
    if (strcmp(to, "left") == 0) {
        if ((r = identity_leave(vd, rq, txn, identity, by, reason)) != 0)
            return r;
    } else if (strcmp(to, "suspended") == 0) {
        if ((r = gov_grants_end_all(vd, rq, txn, id, "revoked", by, reason)) != 0)
            return r;
        gov_identity_set_state(identity, "suspended", gov_now());
        gov_emit(rq, "identity.suspended",
                 json_pack("{s:s,s:s}", "identity", id, "reason", reason));
        gov_access_changed(rq, "identity_suspended", json_pack("{s:s}", "identity", id));
    } else {
        gov_identity_set_state(identity, to, gov_now());
        gov_emit(rq, "identity.updated",
                 json_pack("{s:s,s:s,s:s}", "identity", id, "change", "state", "state", to));
    }
    return gov_identity_save(vd, txn, identity);
}

/* activate, suspend, leave: the same shape, a different target state. */
static int lifecycle_op(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *to,
                        bool needs_reason)
{
    const char *id, *reason = NULL;
    char by[80];
    json_t *obj = NULL;
    int r;

    if ((r = id_arg(rq, "id", &id)) != 0 || (r = arg_str(rq, "reason", needs_reason, &reason)) != 0)
        goto out;
    if (reason && !is_text(reason, GOV_TEXT_MAX)) {
        r = fail(rq, -ERR_INVAL, "\"reason\" must be non-empty text of at most 1024 bytes");
        goto out;
    }
    if ((r = identity_load(vd, rq, txn, id, &obj)) != 0 ||
        (r = ops_gov_identity_by(vd, rq, txn, by, sizeof(by))) != 0 ||
        (r = ops_gov_identity_transition(vd, rq, txn, obj, to, by, reason ? reason : "")) != 0)
        goto out;
    if ((r = req_audit(vd, rq, txn, id,
                       reason ? json_pack("{s:s,s:s}", "state", to, "reason", reason)
                              : json_pack("{s:s}", "state", to))) != 0)
        goto out;
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    return r;
}

static int op_identity_activate(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return lifecycle_op(vd, rq, txn, "active", false);
}

static int op_identity_suspend(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return lifecycle_op(vd, rq, txn, "suspended", true);
}

static int op_identity_leave(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return lifecycle_op(vd, rq, txn, "left", true);
}

/* Copy of a key line without trailing whitespace; NULL if it does not fit or holds a newline. */
static char *key_line(const char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n == 0 || n > IDENTITY_KEY_MAX || memchr(s, '\n', n) || memchr(s, '\r', n))
        return NULL;
    return strndup(s, n);
}

static int op_identity_key_add(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *key;
    char fp[GOV_FP_MAX];
    char *line = NULL;
    json_t *obj = NULL, *owner = NULL, *map = NULL;
    int r;

    if ((r = id_arg(rq, "id", &id)) != 0 || (r = arg_str(rq, "key", true, &key)) != 0)
        goto out;
    if (!(line = key_line(key)) || gov_key_fingerprint(line, fp, sizeof(fp)) != 0) {
        r = fail(rq, -ERR_INVAL,
                 "\"key\" must be one OpenSSH public key line (type base64 comment)");
        goto out;
    }
    if ((r = identity_load(vd, rq, txn, id, &obj)) != 0)
        goto out;
    if (has_left(obj)) {
        r = refuse_left(rq, obj);
        goto out;
    }
    r = store_json_get(vd->store, txn, STORE_KEYFP, fp, &owner);
    if (r == 0 && json_object_get(owner, "removed_at")) {
        r = -ERR_NOT_FOUND; /* the record of a removed key: the key may come back */
        json_decref(owner);
        owner = NULL;
    }
    if (r == 0) {
        const char *who = jstr(owner, "identity") ? jstr(owner, "identity") : "?";
        if (strcmp(who, id) == 0)
            req_fail(rq, -ERR_EXISTS, "key %s is already on identity %s", fp, id);
        else
            req_fail(rq, -ERR_EXISTS, "key %s belongs to another identity (%s)", fp, who);
        r = -ERR_EXISTS;
        goto out;
    }
    if (r != -ERR_NOT_FOUND)
        goto out;
    map = json_pack("{s:s}", "identity", id);
    if ((r = store_json_put(vd->store, txn, STORE_KEYFP, fp, map, STORE_UPSERT)) != 0)
        goto out;
    if (!json_is_array(json_object_get(obj, "keys")))
        json_object_set_new(obj, "keys", json_array());
    json_array_append_new(json_object_get(obj, "keys"),
                          json_pack("{s:s,s:s}", "key", line, "fp", fp));
    if ((r = gov_identity_save(vd, txn, obj)) != 0 ||
        (r = req_audit(vd, rq, txn, id, json_pack("{s:s}", "fp", fp))) != 0)
        goto out;
    rq->result = json_pack("{s:s,s:s}", "id", id, "fp", fp);
out:
    free(line);
    json_decref(obj);
    json_decref(owner);
    json_decref(map);
    return r;
}

static int op_identity_key_remove(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *fp;
    json_t *obj = NULL, *owner = NULL, *keys, *k;
    size_t i;
    bool found = false;
    int r;

    if ((r = id_arg(rq, "id", &id)) != 0 || (r = arg_str(rq, "fp", true, &fp)) != 0)
        goto out;
    if (!gov_fp_is_valid(fp)) {
        r = fail(rq, -ERR_INVAL, "\"fp\" must be a fingerprint SHA256:...");
        goto out;
    }
    if ((r = identity_load(vd, rq, txn, id, &obj)) != 0)
        goto out;
    keys = json_object_get(obj, "keys");
    json_array_foreach(keys, i, k)
    {
        if (strcmp(jstr(k, "fp") ? jstr(k, "fp") : "", fp) == 0) {
            json_array_remove(keys, i);
            found = true;
            break;
        }
    }
    if (!found) {
        req_fail(rq, -ERR_NOT_FOUND, "key %s not found on identity %s", fp, id);
        r = -ERR_NOT_FOUND;
        goto out;
    }
    /*
     * The map entry (only if it is this identity's, as it always should be)
     * becomes the record of a removed key, so that gov.authorize and
     * session.open can say key_removed rather than unknown_key.
     */
    r = store_json_get(vd->store, txn, STORE_KEYFP, fp, &owner);
    if (r == 0 && strcmp(jstr(owner, "identity") ? jstr(owner, "identity") : "", id) == 0) {
        json_object_set_new(owner, "removed_at", json_integer(gov_now()));
        json_object_set_new(owner, "removed_by", json_string(rq->principal));
        r = store_json_put(vd->store, txn, STORE_KEYFP, fp, owner, STORE_UPDATE);
    } else if (r == -ERR_NOT_FOUND || r == 0) {
        r = 0;
    }
    if (r != 0)
        goto out;
    if ((r = gov_identity_save(vd, txn, obj)) != 0 ||
        (r = req_audit(vd, rq, txn, id, json_pack("{s:s}", "fp", fp))) != 0)
        goto out;
    /* Sessions opened with this key end (or are asked about again) at once. */
    gov_access_changed(rq, "key_removed", json_pack("{s:s,s:s}", "identity", id, "fp", fp));
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    json_decref(owner);
    return r;
}

/*
 * TOTP enrolment (RFC 6238): a new 160-bit secret, sealed like a credential
 * under "!totp/<id>" (no account id starts with '!'), answered once.
 */
static int op_identity_totp_enroll(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id;
    char key[STORE_KEY_MAX + 1];
    char b32[2 * TOTP_SECRET_LEN + 1];
    char uri[256];
    struct secbuf *secret = NULL;
    json_t *obj = NULL;
    size_t n;
    int r;

    if ((r = id_arg(rq, "id", &id)) != 0 || (r = identity_load(vd, rq, txn, id, &obj)) != 0)
        goto out;
    if (has_left(obj)) {
        r = refuse_left(rq, obj);
        goto out;
    }
    if ((r = secbuf_new(TOTP_SECRET_LEN, &secret)) != 0)
        goto out;
    randombytes_buf(secbuf_data(secret), TOTP_SECRET_LEN);
    if ((r = secbuf_set_len(secret, TOTP_SECRET_LEN)) != 0)
        goto out;
    snprintf(key, sizeof(key), "!totp/%s", id);
    if ((r = totp_forget(vd, txn, id)) != 0 ||
        (r = store_value_put(vd->store, txn, vd->dek, key, 1, secbuf_cdata(secret),
                             TOTP_SECRET_LEN)) != 0)
        goto out;
    n = gov_base32_encode(secbuf_cdata(secret), TOTP_SECRET_LEN, b32, sizeof(b32));
    if (n == 0 || n >= sizeof(b32)) {
        r = fail(rq, -ERR_INTERNAL, "TOTP secret could not be encoded");
        goto out;
    }
    b32[n] = '\0';
    snprintf(uri, sizeof(uri), "otpauth://totp/Custos:%s?secret=%s&issuer=Custos", id, b32);
    json_object_set_new(obj, "totp", json_true());
    if ((r = gov_identity_save(vd, txn, obj)) != 0 ||
        (r = req_audit(vd, rq, txn, id, json_pack("{s:b}", "totp", 1))) != 0)
        goto out;
    rq->result = json_pack("{s:s,s:s,s:s}", "id", id, "secret", b32, "uri", uri);
out:
    sodium_memzero(b32, sizeof(b32));
    sodium_memzero(uri, sizeof(uri));
    secbuf_free(secret);
    json_decref(obj);
    return r;
}

static int op_identity_role_assign(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *role;
    json_t *obj = NULL;
    int r;

    if ((r = id_arg(rq, "id", &id)) != 0 || (r = id_arg(rq, "role", &role)) != 0 ||
        (r = identity_load(vd, rq, txn, id, &obj)) != 0)
        goto out;
    if (has_left(obj)) {
        r = refuse_left(rq, obj);
        goto out;
    }
    /* gov_role_assign audits the change (and refuses an SoD violation). */
    if ((r = gov_role_assign(vd, rq, txn, obj, role, "manual", false)) != 0 ||
        (r = gov_identity_save(vd, txn, obj)) != 0)
        goto out;
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    return r;
}

static int op_identity_role_unassign(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *role;
    json_t *obj = NULL, *a;
    size_t i;
    bool held = false;
    int r;

    if ((r = id_arg(rq, "id", &id)) != 0 || (r = id_arg(rq, "role", &role)) != 0 ||
        (r = identity_load(vd, rq, txn, id, &obj)) != 0)
        goto out;
    json_array_foreach(json_object_get(obj, "roles"), i, a)
    {
        if (strcmp(jstr(a, "role") ? jstr(a, "role") : "", role) == 0)
            held = true;
    }
    if (!held) {
        req_fail(rq, -ERR_NOT_FOUND, "identity %s does not hold role %s", id, role);
        r = -ERR_NOT_FOUND;
        goto out;
    }
    if ((r = gov_role_unassign(vd, rq, txn, obj, role)) != 0 ||
        (r = gov_identity_save(vd, txn, obj)) != 0)
        goto out;
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    return r;
}

const struct op ops_gov_identity[] = {
    {"gov.identity.create", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_create, NULL},
    {"gov.identity.update", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_update, NULL},
    {"gov.identity.get", SCOPE(GOV), ST_UNSEALED, OP_READ, op_identity_get, NULL},
    {"gov.identity.list", SCOPE(GOV), ST_UNSEALED, OP_READ, op_identity_list, NULL},
    {"gov.identity.activate", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_activate, NULL},
    {"gov.identity.suspend", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_suspend, NULL},
    {"gov.identity.leave", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_leave, NULL},
    {"gov.identity.key.add", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_key_add, NULL},
    {"gov.identity.key.remove", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_key_remove, NULL},
    {"gov.identity.totp.enroll", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_totp_enroll, NULL},
    {"gov.identity.role.assign", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_role_assign, NULL},
    {"gov.identity.role.unassign", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_identity_role_unassign,
     NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
