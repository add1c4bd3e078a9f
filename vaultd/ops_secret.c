/* SPDX-License-Identifier: Apache-2.0 */
/* secret.* ops: versioned, sealed credential values and their audited release. */
#include <string.h>

#include "custos/log.h"
#include "dispatch.h"
#include "ops.h"
#include "scopes.h"

/* Largest credential value accepted (an SSH private key is a few KiB). */
#define SECRET_VALUE_MAX (32u * 1024u)

static json_t *version_entry(json_t *acct, json_int_t v)
{
    json_t *e;
    size_t i;

    json_array_foreach(json_object_get(acct, "versions"), i,
                       e) if (json_integer_value(json_object_get(e, "version")) == v) return e;
    return NULL;
}

static void version_mark(json_t *acct, json_int_t v, const char *state)
{
    json_t *e = version_entry(acct, v);

    if (!e)
        return;
    json_object_set_new(e, "state", json_string(state));
    if (strcmp(state, "current") != 0 && strcmp(state, "pending") != 0)
        json_object_set_new(e, "retired_at", json_integer(ops_now()));
}

/* Destroy the value of slot `slot` (if any): wipe the sealed record, mark the version. */
static int slot_destroy(struct vaultd *vd, MDB_txn *txn, json_t *acct, const char *id,
                        const char *slot)
{
    json_t *v = json_object_get(acct, slot);
    int r;

    if (!json_is_integer(v))
        return 0;
    r = store_value_del(vd->store, txn, id, (uint32_t)json_integer_value(v));
    if (r != 0 && r != -ERR_NOT_FOUND)
        return r;
    version_mark(acct, json_integer_value(v), "destroyed");
    json_object_set_new(acct, slot, json_null());
    return 0;
}

/* current -> previous (old previous destroyed), then v -> current. */
static int make_current(struct vaultd *vd, MDB_txn *txn, json_t *acct, const char *id, json_int_t v)
{
    json_t *cur = json_object_get(acct, "current");
    int r;

    if (json_is_integer(cur)) {
        if ((r = slot_destroy(vd, txn, acct, id, "previous")) != 0)
            return r;
        json_object_set(acct, "previous", cur);
        version_mark(acct, json_integer_value(cur), "previous");
    }
    json_object_set_new(acct, "current", json_integer(v));
    json_object_set_new(version_entry(acct, v), "state", json_string("current"));
    json_object_set_new(version_entry(acct, v), "promoted_at", json_integer(ops_now()));
    return 0;
}

static json_t *slot_result(const char *id, json_int_t v, const char *state)
{
    return json_pack("{s:s,s:I,s:s}", "account", id, "version", v, "state", state);
}

static int op_secret_put(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char id[160];
    const char *state = "current";
    json_t *acct = NULL, *value = json_object_get(rq->args, "value");
    json_int_t v;
    int r;

    if ((r = ops_account_id(rq, id, sizeof(id))) != 0 ||
        (r = arg_str(rq, "state", false, &state)) != 0)
        goto out;
    if (!state)
        state = "current";
    if (strcmp(state, "current") != 0 && strcmp(state, "pending") != 0) {
        req_fail(rq, -ERR_INVAL, "\"state\" must be current or pending");
        r = -ERR_INVAL;
        goto out;
    }
    if (!json_is_string(value) || json_string_length(value) == 0 ||
        json_string_length(value) > SECRET_VALUE_MAX) {
        req_fail(rq, -ERR_INVAL, "\"value\" must be a string of 1 to %u bytes", SECRET_VALUE_MAX);
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = ops_account_load(vd, rq, txn, id, &acct)) != 0)
        goto out;
    v = json_integer_value(json_object_get(acct, "next_version"));
    if (v < 1 || v >= (json_int_t)UINT32_MAX) {
        req_fail(rq, -ERR_CORRUPT, "account %s has a bad version counter", id);
        r = -ERR_CORRUPT;
        goto out;
    }
    if ((r = store_value_put(vd->store, txn, vd->dek, id, (uint32_t)v, json_string_value(value),
                             json_string_length(value))) != 0)
        goto out;
    json_object_set_new(acct, "next_version", json_integer(v + 1));
    json_array_append_new(json_object_get(acct, "versions"),
                          json_pack("{s:I,s:s,s:I,s:n}", "version", v, "state", state, "created_at",
                                    ops_now(), "retired_at"));
    if (strcmp(state, "pending") == 0) {
        /* A new rotation attempt replaces an unfinished one. */
        if ((r = slot_destroy(vd, txn, acct, id, "pending")) != 0)
            goto out;
        json_object_set_new(acct, "pending", json_integer(v));
    } else if ((r = make_current(vd, txn, acct, id, v)) != 0) {
        goto out;
    }
    json_object_set_new(acct, "updated_at", json_integer(ops_now()));
    if ((r = store_json_put(vd->store, txn, STORE_ACCOUNTS, id, acct, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, id, json_pack("{s:I,s:s}", "version", v, "state", state))) != 0)
        goto out;
    rq->result = slot_result(id, v, state);
out:
    json_decref(acct);
    return r;
}

static int op_secret_promote(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char id[160];
    json_t *acct = NULL, *p;
    json_int_t v;
    int r;

    if ((r = ops_account_id(rq, id, sizeof(id))) != 0 ||
        (r = ops_account_load(vd, rq, txn, id, &acct)) != 0)
        goto out;
    p = json_object_get(acct, "pending");
    if (!json_is_integer(p)) {
        req_fail(rq, -ERR_STATE, "account %s has no pending version", id);
        r = -ERR_STATE;
        goto out;
    }
    v = json_integer_value(p);
    json_object_set_new(acct, "pending", json_null());
    if ((r = make_current(vd, txn, acct, id, v)) != 0)
        goto out;
    json_object_set_new(acct, "updated_at", json_integer(ops_now()));
    if ((r = store_json_put(vd->store, txn, STORE_ACCOUNTS, id, acct, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, id, json_pack("{s:I}", "version", v))) != 0)
        goto out;
    rq->result = slot_result(id, v, "current");
out:
    json_decref(acct);
    return r;
}

/*
 * Release: the audit entry is written in this request's nested txn and the
 * writer answers only after the batch commit (fsync) succeeded, so no value
 * leaves the vault without a durable record of it (audit-or-deny).
 */
static int op_secret_get(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char id[160];
    json_t *acct = NULL, *value = NULL;
    struct secbuf *plain = NULL;
    unsigned long long want = 0;
    json_int_t v;
    const char *slot = NULL;
    int r;

    if ((r = ops_account_id(rq, id, sizeof(id))) != 0 ||
        (r = arg_uint(rq, "version", false, UINT32_MAX, &want)) != 0 ||
        (r = ops_account_load(vd, rq, txn, id, &acct)) != 0)
        goto out;
    if (want) {
        static const char *const slots[] = {"current", "pending", "previous"};
        for (size_t i = 0; i < 3 && !slot; i++)
            if (json_integer_value(json_object_get(acct, slots[i])) == (json_int_t)want &&
                json_is_integer(json_object_get(acct, slots[i])))
                slot = slots[i];
        if (!slot) {
            req_fail(rq, -ERR_NOT_FOUND, "version %llu of %s is not kept", want, id);
            r = -ERR_NOT_FOUND;
            goto out;
        }
        v = (json_int_t)want;
    } else {
        slot = "current";
        if (!json_is_integer(json_object_get(acct, "current"))) {
            req_fail(rq, -ERR_NOT_FOUND, "account %s has no current secret", id);
            r = -ERR_NOT_FOUND;
            goto out;
        }
        v = json_integer_value(json_object_get(acct, "current"));
    }
    if ((r = store_value_get(vd->store, txn, vd->dek, id, (uint32_t)v, &plain)) != 0) {
        if (r == -ERR_TAMPERED)
            log_err("account=%s version=%lld: sealed value fails authentication", id, (long long)v);
        req_fail(rq, r, "secret %s version %lld cannot be opened", id, (long long)v);
        goto out;
    }
    value = json_stringn(secbuf_cdata(plain), secbuf_len(plain));
    if (!value) {
        req_fail(rq, -ERR_CORRUPT, "secret %s is not valid UTF-8", id);
        r = -ERR_CORRUPT;
        goto out;
    }
    if ((r = req_audit(vd, rq, txn, id, json_pack("{s:I,s:s}", "version", v, "slot", slot))) != 0)
        goto out;
    rq->result = json_pack("{s:s,s:I,s:o}", "account", id, "version", v, "value", value);
    value = NULL;
out:
    json_decref(value);
    secbuf_free(plain);
    json_decref(acct);
    return r;
}

static int op_secret_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *target = NULL;
    json_t *all = NULL, *out = json_array(), *a;
    size_t i;
    int r;

    if ((r = arg_str(rq, "target", false, &target)) != 0 ||
        (r = store_json_list(vd->store, txn, STORE_ACCOUNTS, "", &all)) != 0) {
        json_decref(out);
        return r;
    }
    json_array_foreach(all, i, a)
    {
        if (target && strcmp(json_string_value(json_object_get(a, "target")), target) != 0)
            continue;
        json_array_append_new(
            out, json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "account", json_object_get(a, "id"), "kind",
                           json_object_get(a, "kind"), "current", json_object_get(a, "current"),
                           "pending", json_object_get(a, "pending"), "previous",
                           json_object_get(a, "previous"), "updated_at",
                           json_object_get(a, "updated_at")));
    }
    json_decref(all);
    rq->result = json_pack("{s:o}", "secrets", out);
    return 0;
}

static int op_secret_history(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char id[160];
    json_t *acct = NULL;
    int r;

    if ((r = ops_account_id(rq, id, sizeof(id))) != 0 ||
        (r = ops_account_load(vd, rq, txn, id, &acct)) != 0)
        return r;
    rq->result =
        json_pack("{s:s,s:O}", "account", id, "versions", json_object_get(acct, "versions"));
    json_decref(acct);
    return 0;
}

const struct op ops_secret[] = {
    {"secret.put", SCOPE(WRITE), ST_UNSEALED, OP_WRITE, op_secret_put, NULL},
    {"secret.promote", SCOPE(WRITE), ST_UNSEALED, OP_WRITE, op_secret_promote, NULL},
    {"secret.get", SCOPE(SECRET), ST_UNSEALED, OP_WRITE, op_secret_get, NULL},
    {"secret.list", SCOPE(READ), ST_UNSEALED, OP_READ, op_secret_list, NULL},
    {"secret.history", SCOPE(READ), ST_UNSEALED, OP_READ, op_secret_history, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
