/* SPDX-License-Identifier: Apache-2.0 */
/* gov.history and gov.who_could: what an identity held, and who could reach an account, when. */
#include <stdio.h>
#include <string.h>

#include "custos/log.h"
#include "dispatch.h"
#include "gov_state.h"
#include "scopes.h"

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/*
 * Every {key, value} of `t` whose key starts with `prefix`, in key order
 * (store_json_list gives values only, and a usage row's account is in its
 * key).  *out: new array of {"key": ..., "value": {...}}.
 */
static int list_keyed(struct vaultd *vd, MDB_txn *txn, enum store_table t, const char *prefix,
                      json_t **out)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    json_t *arr = json_array(), *obj;
    size_t plen = strlen(prefix);
    int r = 0, rc;

    *out = NULL;
    if (plen == 0 || plen > STORE_KEY_MAX) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((rc = mdb_cursor_open(txn, store_dbi(vd->store, t), &cur)) != 0) {
        log_err("mdb_cursor_open: %s", mdb_strerror(rc));
        r = -ERR_IO;
        goto out;
    }
    k.mv_size = plen;
    k.mv_data = (void *)prefix;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (!(obj = json_loadb(v.mv_data, v.mv_size, 0, NULL)) || !json_is_object(obj)) {
            json_decref(obj);
            log_err("table=%d: a value is not a JSON object", (int)t);
            r = -ERR_CORRUPT;
            goto out;
        }
        json_array_append_new(
            arr, json_pack("{s:s%,s:o}", "key", (const char *)k.mv_data, k.mv_size, "value", obj));
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        log_err("mdb_cursor_get: %s", mdb_strerror(rc));
        r = -ERR_IO;
        goto out;
    }
    *out = arr;
    arr = NULL;
out:
    mdb_cursor_close(cur);
    json_decref(arr);
    return r;
}

static int op_history(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char prefix[STORE_KEY_MAX + 1];
    const char *id;
    json_t *identity = NULL, *assign = NULL, *reqs = NULL, *idx = NULL, *usage_rows = NULL;
    json_t *assignments = json_array(), *requests = json_array(), *grants = json_array();
    json_t *usage = json_array(), *it;
    size_t i;
    int r;

    if ((r = arg_str(rq, "identity", true, &id)) != 0)
        goto out;
    if (!gov_name_is_valid(id)) {
        req_fail(rq, -ERR_INVAL, "\"identity\" must be an identity id");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", id, &identity)) != 0)
        goto out;
    snprintf(prefix, sizeof(prefix), "%s/", id);
    if ((r = store_json_list(vd->store, txn, STORE_ASSIGN, prefix, &assign)) != 0 ||
        (r = gov_list(vd, txn, STORE_REQUESTS, &reqs)) != 0 ||
        (r = store_json_list(vd->store, txn, STORE_GRANT_IDX, prefix, &idx)) != 0 ||
        (r = list_keyed(vd, txn, STORE_USAGE, prefix, &usage_rows)) != 0)
        goto out;
    json_array_foreach(assign, i, it)
    {
        json_array_append_new(assignments, json_pack("{s:O?,s:O?,s:O?,s:O?}", "role",
                                                     json_object_get(it, "role"), "source",
                                                     json_object_get(it, "source"), "from",
                                                     json_object_get(it, "from"), "until",
                                                     json_object_get(it, "until")));
    }
    json_array_foreach(reqs, i, it)
    {
        if (strcmp(jstr(it, "requester") ? jstr(it, "requester") : "", id) == 0)
            json_array_append(requests, it);
    }
    json_array_foreach(idx, i, it)
    {
        json_t *g = NULL;
        if (!jstr(it, "grant"))
            continue;
        r = store_json_get(vd->store, txn, STORE_GRANTS, jstr(it, "grant"), &g);
        if (r == -ERR_NOT_FOUND)
            continue;
        if (r != 0)
            goto out;
        json_array_append_new(grants, g);
    }
    r = 0;
    json_array_foreach(usage_rows, i, it)
    {
        /* key: "identity/account" */
        const char *key = jstr(it, "key");
        json_t *u = json_deep_copy(json_object_get(it, "value"));
        json_object_set_new(u, "account", json_string(key + strlen(prefix)));
        json_array_append_new(usage, u);
    }
    rq->result = json_pack("{s:s,s:O?,s:O?,s:O,s:O,s:O,s:O}", "identity", id, "state",
                           json_object_get(identity, "state"), "lifecycle",
                           json_object_get(identity, "lifecycle"), "assignments", assignments,
                           "requests", requests, "grants", grants, "usage", usage);
out:
    json_decref(identity);
    json_decref(assign);
    json_decref(reqs);
    json_decref(idx);
    json_decref(usage_rows);
    json_decref(assignments);
    json_decref(requests);
    json_decref(grants);
    json_decref(usage);
    return r;
}

/* Was [from, until) (until NULL/null: still open) holding at `at`? */
static bool interval_has(const json_t *from, const json_t *until, json_int_t at)
{
    if (!json_is_integer(from) || json_integer_value(from) > at)
        return false;
    return !json_is_integer(until) || at < json_integer_value(until);
}

/* Does a standing role (as defined now) reach `account`? */
static bool role_reaches(const json_t *role, const char *account)
{
    json_t *ent;
    size_t i;

    if (!role || strcmp(jstr(role, "kind") ? jstr(role, "kind") : "", "standing") != 0)
        return false;
    json_array_foreach(json_object_get(role, "entitlements"), i, ent)
    {
        if (gov_glob_match(jstr(ent, "account"), account))
            return true;
    }
    return false;
}

static int op_who_could(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *account;
    unsigned long long at_arg = 0;
    json_t *grants = NULL, *rows = NULL, *roles = NULL, *by_name = json_object();
    json_t *out = json_array(), *seen = json_object(), *it, *role;
    json_int_t at;
    size_t i;
    int r;

    if ((r = arg_str(rq, "account", true, &account)) != 0 ||
        (r = arg_uint(rq, "at", true, (unsigned long long)INT64_MAX, &at_arg)) != 0)
        goto out;
    if (!gov_account_is_valid(account)) {
        req_fail(rq, -ERR_INVAL, "\"account\" must be an account id NAME@TARGET");
        r = -ERR_INVAL;
        goto out;
    }
    at = (json_int_t)at_arg;
    if ((r = gov_list(vd, txn, STORE_GRANTS, &grants)) != 0 ||
        (r = gov_list(vd, txn, STORE_ASSIGN, &rows)) != 0 ||
        (r = gov_list(vd, txn, STORE_ROLES, &roles)) != 0)
        goto out;
    json_array_foreach(grants, i, it)
    {
        json_t *end = json_object_get(it, "ended_at");
        if (!json_is_integer(end))
            end = json_object_get(it, "expires_at");
        if (strcmp(jstr(it, "account") ? jstr(it, "account") : "", account) != 0 ||
            !jstr(it, "identity") || !interval_has(json_object_get(it, "start"), end, at))
            continue;
        json_array_append_new(out, json_pack("{s:s,s:s,s:O}", "identity", jstr(it, "identity"),
                                             "via", "grant", "grant", json_object_get(it, "id")));
    }
    json_array_foreach(roles, i, role)
    {
        json_object_set(by_name, jstr(role, "name"), role);
    }
    json_array_foreach(rows, i, it)
    {
        char key[2 * 65 + 2], owner[65] = "";
        const char *who = jstr(it, "identity"), *rname = jstr(it, "role");
        if (!who && jstr(it, "key")) {
            /* Older rows name their identity only in the key "identity/%016llu". */
            snprintf(owner, sizeof(owner), "%.*s", (int)strcspn(jstr(it, "key"), "/"),
                     jstr(it, "key"));
            who = owner[0] ? owner : NULL;
        }
        if (!who || !rname ||
            !interval_has(json_object_get(it, "from"), json_object_get(it, "until"), at) ||
            !role_reaches(json_object_get(by_name, rname), account))
            continue;
        snprintf(key, sizeof(key), "%s/%s", who, rname);
        if (json_object_get(seen, key))
            continue;
        json_object_set_new(seen, key, json_true());
        json_array_append_new(
            out, json_pack("{s:s,s:s,s:s}", "identity", who, "via", "standing", "role", rname));
    }
    rq->result =
        json_pack("{s:s,s:I,s:O}", "account", account, "at", (json_int_t)at, "identities", out);
out:
    json_decref(grants);
    json_decref(rows);
    json_decref(roles);
    json_decref(by_name);
    json_decref(out);
    json_decref(seen);
    return r;
}

const struct op ops_gov_history[] = {
    {"gov.history", SCOPE(GOV), ST_UNSEALED, OP_READ, op_history, NULL},
    {"gov.who_could", SCOPE(GOV), ST_UNSEALED, OP_READ, op_who_could, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
