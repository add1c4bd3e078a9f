/* SPDX-License-Identifier: Apache-2.0 */
/* gov.sync: the HR feed (joiners, movers, leavers) applied in one transaction, or not at all. */
#include <stdio.h>
#include <string.h>

#include "dispatch.h"
#include "gov_state.h"
#include "ops_gov_identity.h"
#include "scopes.h"

/* Attributes the HR file owns. */
static const char *const hr_fields[] = {"name",  "email",   "department",
                                        "title", "manager", "groups"};

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A record's value for an attribute: NULL when missing, null or empty. */
static json_t *record_value(const json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);

    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return NULL;
    return v;
}

/* Copy the HR-owned attributes of a record onto an identity (absent ones cleared). */
static void record_apply(json_t *identity, const json_t *rec)
{
    for (size_t i = 0; i < sizeof(hr_fields) / sizeof(hr_fields[0]); i++) {
        json_t *v = record_value(rec, hr_fields[i]);
        if (v)
            json_object_set(identity, hr_fields[i], v);
        else
            json_object_set_new(identity, hr_fields[i],
                                strcmp(hr_fields[i], "groups") == 0 ? json_array() : json_null());
    }
}

/* The state a record asks for: "active" unless it says suspended. */
static const char *record_state(const json_t *rec)
{
    const char *st = jstr(rec, "state");

    return st && strcmp(st, "suspended") == 0 ? "suspended" : "active";
}

static int change_audit(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                        const char *change)
{
    return req_audit(vd, rq, txn, id, json_pack("{s:s}", "change", change));
}

static int apply_joiner(struct vaultd *vd, struct req *rq, MDB_txn *txn, const json_t *rec)
{
    const char *id = jstr(rec, "id");
    json_t *obj = json_pack("{s:s,s:s,s:s}", "id", id, "state", record_state(rec), "source", "hr");
    int r;

    record_apply(obj, rec);
    if ((r = ops_gov_identity_insert(vd, rq, txn, obj)) == 0)
        r = change_audit(vd, rq, txn, id, "joiner");
    json_decref(obj);
    return r;
}

static int apply_mover(struct vaultd *vd, struct req *rq, MDB_txn *txn, const json_t *mv,
                       const char *by)
{
    const char *id = jstr(mv, "id");
    const json_t *rec = json_object_get(mv, "record");
    const char *want = record_state(rec), *now_st;
    json_t *obj = NULL;
    int r;

    if ((r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", id, &obj)) != 0)
        goto out;
    record_apply(obj, rec);
    now_st = jstr(obj, "state") ? jstr(obj, "state") : "pending";
    if (strcmp(now_st, want) != 0) {
        /* HR knows no "pending": a suspended newcomer was active first. */
        if (strcmp(now_st, "pending") == 0 && strcmp(want, "suspended") == 0 &&
            (r = ops_gov_identity_transition(vd, rq, txn, obj, "active", by, "hr sync")) != 0)
            goto out;
        if ((r = ops_gov_identity_transition(vd, rq, txn, obj, want, by, "hr sync")) != 0)
            goto out;
    }
    if ((r = gov_birthright_apply(vd, rq, txn, obj)) != 0 ||
        (r = gov_identity_save(vd, txn, obj)) != 0 ||
        (r = req_audit(vd, rq, txn, id,
                       json_pack("{s:s,s:O?}", "change", "mover", "changes",
                                 json_object_get(mv, "changes")))) != 0)
        goto out;
    gov_emit(rq, "identity.updated", json_pack("{s:s,s:s}", "identity", id, "change", "hr"));
out:
    json_decref(obj);
    return r;
}

static int apply_leaver(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                        const char *by)
{
    json_t *obj = NULL;
    int r;

    if ((r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", id, &obj)) != 0)
        goto out;
    if (strcmp(jstr(obj, "state") ? jstr(obj, "state") : "", "left") == 0)
        goto out; /* already gone: nothing to do */
    if ((r = ops_gov_identity_transition(vd, rq, txn, obj, "left", by, "hr sync")) != 0 ||
        (r = change_audit(vd, rq, txn, id, "leaver")) != 0)
        goto out;
out:
    json_decref(obj);
    return r;
}

/* Refuse the whole file: every error (with its line) goes back in the error object. */
static int refuse(struct req *rq, int r, json_t *errors)
{
    size_t n = json_array_size(errors);

    if (n == 0) {
        req_fail(rq, r ? r : -ERR_INVAL, "HR file refused; nothing applied");
        return r ? r : -ERR_INVAL;
    }
    req_fail(rq, -ERR_INVAL, "HR file refused: %zu error%s; nothing applied", n, n == 1 ? "" : "s");
    json_decref(rq->errdata);
    rq->errdata = json_pack("{s:O}", "errors", errors);
    return -ERR_INVAL;
}

static int op_sync(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *format, *data;
    char by[80];
    json_t *dry = json_object_get(rq->args, "dry_run");
    json_t *records = NULL, *errors = NULL, *current = NULL, *plan = NULL, *it;
    size_t i;
    int r;

    if ((r = arg_str(rq, "format", true, &format)) != 0 ||
        (r = arg_str(rq, "data", true, &data)) != 0)
        goto out;
    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        req_fail(rq, -ERR_INVAL, "\"format\" must be csv or json");
        r = -ERR_INVAL;
        goto out;
    }
    if (dry && !json_is_boolean(dry)) {
        req_fail(rq, -ERR_INVAL, "\"dry_run\" must be true or false");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = gov_hr_parse(format, data, strlen(data), &records, &errors)) != 0) {
        r = refuse(rq, r, errors);
        goto out;
    }
    json_decref(errors);
    errors = NULL;
    if ((r = gov_identities_all(vd, txn, &current)) != 0)
        goto out;
    if ((r = gov_hr_plan(records, current, &plan, &errors)) != 0) {
        r = refuse(rq, r, errors);
        goto out;
    }
    if (json_is_true(dry)) {
        rq->result = json_pack("{s:b,s:O}", "applied", 0, "plan", plan);
        goto out;
    }
    if ((r = ops_gov_identity_by(vd, rq, txn, by, sizeof(by))) != 0)
        goto out;
    /* Joiners first: a mover's new manager may be one of them. */
    json_array_foreach(json_object_get(plan, "joiners"), i, it)
    {
        if ((r = apply_joiner(vd, rq, txn, it)) != 0)
            goto out;
    }
    json_array_foreach(json_object_get(plan, "movers"), i, it)
    {
        if ((r = apply_mover(vd, rq, txn, it, by)) != 0)
            goto out;
    }
    json_array_foreach(json_object_get(plan, "leavers"), i, it)
    {
        if ((r = apply_leaver(vd, rq, txn, json_string_value(it), by)) != 0)
            goto out;
    }
    if ((r = req_audit(
             vd, rq, txn, NULL,
             json_pack("{s:s,s:s,s:I,s:I,s:I,s:O?}", "change", "summary", "format", format,
                       "joiners", (json_int_t)json_array_size(json_object_get(plan, "joiners")),
                       "movers", (json_int_t)json_array_size(json_object_get(plan, "movers")),
                       "leavers", (json_int_t)json_array_size(json_object_get(plan, "leavers")),
                       "unchanged", json_object_get(plan, "unchanged")))) != 0)
        goto out;
    rq->result = json_pack("{s:b,s:O}", "applied", 1, "plan", plan);
out:
    json_decref(records);
    json_decref(errors);
    json_decref(current);
    json_decref(plan);
    return r;
}

const struct op ops_gov_sync[] = {
    {"gov.sync", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_sync, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
