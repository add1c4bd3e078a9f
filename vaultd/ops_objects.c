/* SPDX-License-Identifier: Apache-2.0 */
/* target.* and account.* ops: the metadata of what the vault guards. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "gov_access.h"
#include "ops.h"
#include "scopes.h"

json_int_t ops_now(void)
{
    return (json_int_t)time(NULL);
}

static const char *const connectors[] = {"ssh", "postgres", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* Optional free-form "meta" (targets and accounts): an object, copied as given. */
static int meta_field(struct req *rq, json_t *obj)
{
    json_t *meta = json_object_get(rq->args, "meta");

    if (!meta)
        return 0;
    if (!json_is_object(meta)) {
        req_fail(rq, -ERR_INVAL, "\"meta\" must be an object");
        return -ERR_INVAL;
    }
    json_object_set(obj, "meta", meta);
    return 0;
}

/* Copy the optional fields of a target from args into obj, checking each. */
static int target_fields(struct req *rq, json_t *obj)
{
    const char *host = NULL, *hostkey = NULL, *connector = NULL, *owner = NULL;
    unsigned long long port = 0;
    int r;

    if ((r = arg_str(rq, "host", false, &host)) != 0 ||
        (r = arg_str(rq, "hostkey", false, &hostkey)) != 0 ||
        (r = arg_str(rq, "connector", false, &connector)) != 0 ||
        (r = arg_str(rq, "owner", false, &owner)) != 0 ||
        (r = arg_uint(rq, "port", false, 65535, &port)) != 0)
        return r;
    if (host) {
        if (!*host || strlen(host) > 253 || strpbrk(host, " \t\r\n/@")) {
            req_fail(rq, -ERR_INVAL, "\"host\" must be a host name or address");
            return -ERR_INVAL;
        }
        json_object_set_new(obj, "host", json_string(host));
    }
    if (json_object_get(rq->args, "port")) {
        if (port == 0) {
            req_fail(rq, -ERR_INVAL, "\"port\" must be 1..65535");
            return -ERR_INVAL;
        }
        json_object_set_new(obj, "port", json_integer((json_int_t)port));
    }
    if (hostkey) {
        if (strlen(hostkey) > 200) {
            req_fail(rq, -ERR_INVAL, "\"hostkey\" is too long");
            return -ERR_INVAL;
        }
        json_object_set_new(obj, "hostkey", json_string(hostkey));
    }
    if (connector) {
        if (!in_list(connector, connectors)) {
            req_fail(rq, -ERR_INVAL, "\"connector\" must be ssh or postgres");
            return -ERR_INVAL;
        }
        json_object_set_new(obj, "connector", json_string(connector));
    }
    if (owner) {
        if (!name_is_valid(owner)) {
            req_fail(rq, -ERR_INVAL, "\"owner\" is not a valid name");
            return -ERR_INVAL;
        }
        json_object_set_new(obj, "owner", json_string(owner));
    }
    return meta_field(rq, obj);
}

static int name_arg(struct req *rq, const char *key, const char **out)
{
    int r = arg_str(rq, key, true, out);

    if (r == 0 && !name_is_valid(*out)) {
        req_fail(rq, -ERR_INVAL, "\"%s\" must be 1-64 of [A-Za-z0-9._-]", key);
        r = -ERR_INVAL;
    }
    return r;
}

static int op_target_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *name, *host;
    json_t *obj = json_object();
    int r;

    if ((r = name_arg(rq, "name", &name)) != 0 || (r = arg_str(rq, "host", true, &host)) != 0)
        goto out;
    json_object_set_new(obj, "name", json_string(name));
    json_object_set_new(obj, "port", json_integer(22));
    json_object_set_new(obj, "connector", json_string("ssh"));
    json_object_set_new(obj, "hostkey", json_null());
    json_object_set_new(obj, "owner", json_null());
    json_object_set_new(obj, "meta", json_object());
    if ((r = target_fields(rq, obj)) != 0)
        goto out;
    json_object_set_new(obj, "created_at", json_integer(ops_now()));
    json_object_set_new(obj, "updated_at", json_integer(ops_now()));
    if ((r = store_json_put(vd->store, txn, STORE_TARGETS, name, obj, STORE_CREATE)) != 0) {
        if (r == -ERR_EXISTS)
            req_fail(rq, r, "target %s exists", name);
        goto out;
    }
    if ((r = req_audit(vd, rq, txn, name, NULL)) != 0)
        goto out;
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    return r;
}

static int target_load(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *name,
                       json_t **out)
{
    int r = store_json_get(vd->store, txn, STORE_TARGETS, name, out);

    if (r == -ERR_NOT_FOUND)
        req_fail(rq, r, "target %s not found", name);
    return r;
}

static int op_target_update(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *name;
    json_t *obj = NULL, *before = NULL, *changed = NULL;
    int r;

    if ((r = name_arg(rq, "name", &name)) != 0 || (r = target_load(vd, rq, txn, name, &obj)) != 0)
        goto out;
    before = json_deep_copy(obj);
    if ((r = target_fields(rq, obj)) != 0)
        goto out;
    json_object_set_new(obj, "updated_at", json_integer(ops_now()));
    if ((r = store_json_put(vd->store, txn, STORE_TARGETS, name, obj, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, name, NULL)) != 0)
        goto out;
    /* A new host, port or host key: sessions to the old one are the broker's to judge. */
    changed = gov_access_changed_fields(before, obj);
    if (json_array_size(changed) > 0)
        gov_access_changed(rq, "target_updated",
                           json_pack("{s:s,s:O}", "target", name, "changed", changed));
    rq->result = json_incref(obj);
out:
    json_decref(obj);
    json_decref(before);
    json_decref(changed);
    return r;
}

static int op_target_get(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *name;
    int r;

    if ((r = name_arg(rq, "name", &name)) != 0)
        return r;
    return target_load(vd, rq, txn, name, &rq->result);
}

static int op_target_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *arr = NULL;
    int r = store_json_list(vd->store, txn, STORE_TARGETS, "", &arr);

    if (r == 0)
        rq->result = json_pack("{s:o}", "targets", arr);
    return r;
}

/* Accounts of a target: ids are NAME@TARGET, so list them all and filter. */
static int accounts_of(struct vaultd *vd, MDB_txn *txn, const char *target, json_t **out)
{
    json_t *all = NULL, *res = json_array(), *a;
    size_t i;
    int r;

    *out = NULL;
    if ((r = store_json_list(vd->store, txn, STORE_ACCOUNTS, "", &all)) != 0) {
        json_decref(res);
        return r;
    }
    json_array_foreach(all, i, a)
    {
        if (!target || strcmp(json_string_value(json_object_get(a, "target")), target) == 0)
            json_array_append(res, a);
    }
    json_decref(all);
    *out = res;
    return 0;
}

static int op_target_delete(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *name;
    json_t *obj = NULL, *accts = NULL;
    int r;

    if ((r = name_arg(rq, "name", &name)) != 0 || (r = target_load(vd, rq, txn, name, &obj)) != 0)
        goto out;
    if ((r = accounts_of(vd, txn, name, &accts)) != 0)
        goto out;
    if (json_array_size(accts) > 0) {
        req_fail(rq, -ERR_STATE, "target %s still has %zu account(s); delete them first", name,
                 json_array_size(accts));
        r = -ERR_STATE;
        goto out;
    }
    if ((r = store_del(vd->store, txn, STORE_TARGETS, name)) != 0 ||
        (r = req_audit(vd, rq, txn, name, NULL)) != 0)
        goto out;
    gov_access_changed(rq, "target_deleted", json_pack("{s:s}", "target", name));
    rq->result = json_pack("{s:s}", "deleted", name);
out:
    json_decref(obj);
    json_decref(accts);
    return r;
}

int ops_account_id(struct req *rq, char *id, size_t idlen)
{
    const char *s = NULL, *target = NULL, *name = NULL;
    const char *at;
    int r;

    if (json_object_get(rq->args, "id") || json_object_get(rq->args, "account")) {
        if ((r = arg_str(rq, json_object_get(rq->args, "id") ? "id" : "account", true, &s)) != 0)
            return r;
        at = strrchr(s, '@');
        if (!at || (size_t)(at - s) >= idlen)
            goto bad;
        snprintf(id, idlen, "%s", s);
        id[at - s] = '\0';
        if (!name_is_valid(id) || !name_is_valid(at + 1))
            goto bad;
        snprintf(id, idlen, "%s", s);
        return 0;
    }
    if ((r = name_arg(rq, "target", &target)) != 0 || (r = name_arg(rq, "name", &name)) != 0)
        return r;
    snprintf(id, idlen, "%s@%s", name, target);
    return 0;
bad:
    req_fail(rq, -ERR_INVAL, "account id must be NAME@TARGET");
    return -ERR_INVAL;
}

int ops_account_load(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id, json_t **out)
{
    int r = store_json_get(vd->store, txn, STORE_ACCOUNTS, id, out);

    if (r == -ERR_NOT_FOUND)
        req_fail(rq, r, "account %s not found", id);
    return r;
}

/* The account as answered: everything but the version list (secret.history has it). */
json_t *ops_account_view(const json_t *acct)
{
    json_t *v = json_deep_copy(acct);

    json_object_del(v, "versions");
    json_object_del(v, "next_version");
    return v;
}

static const char *const kinds[] = {"password", "ssh-key", NULL};

static int account_fields(struct req *rq, json_t *obj)
{
    const char *kind = NULL;
    int r;

    if ((r = arg_str(rq, "kind", false, &kind)) != 0)
        return r;
    if (kind) {
        if (!in_list(kind, kinds)) {
            req_fail(rq, -ERR_INVAL, "\"kind\" must be password or ssh-key");
            return -ERR_INVAL;
        }
        json_object_set_new(obj, "kind", json_string(kind));
    }
    return meta_field(rq, obj);
}

static int op_account_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char id[160];
    char *at;
    json_t *obj = json_object(), *target = NULL;
    int r;

    if ((r = ops_account_id(rq, id, sizeof(id))) != 0)
        goto out;
    at = strrchr(id, '@');
    if ((r = target_load(vd, rq, txn, at + 1, &target)) != 0)
        goto out;
    json_object_set_new(obj, "id", json_string(id));
    json_object_set_new(obj, "target", json_string(at + 1));
    json_object_set_new(obj, "name", json_stringn(id, (size_t)(at - id)));
    json_object_set_new(obj, "kind", json_string("password"));
    json_object_set_new(obj, "meta", json_object());
    if ((r = account_fields(rq, obj)) != 0)
        goto out;
    json_object_set_new(obj, "created_at", json_integer(ops_now()));
    json_object_set_new(obj, "updated_at", json_integer(ops_now()));
    json_object_set_new(obj, "current", json_null());
    json_object_set_new(obj, "pending", json_null());
    json_object_set_new(obj, "previous", json_null());
    json_object_set_new(obj, "next_version", json_integer(1));
    json_object_set_new(obj, "versions", json_array());
    if ((r = store_json_put(vd->store, txn, STORE_ACCOUNTS, id, obj, STORE_CREATE)) != 0) {
        if (r == -ERR_EXISTS)
            req_fail(rq, r, "account %s exists", id);
        goto out;
    }
    if ((r = req_audit(vd, rq, txn, id, NULL)) != 0)
        goto out;
    rq->result = ops_account_view(obj);
out:
    json_decref(obj);
    json_decref(target);
    return r;
}

static int op_account_update(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char id[160];
    json_t *obj = NULL, *before = NULL, *changed = NULL;
    int r;

    if ((r = ops_account_id(rq, id, sizeof(id))) != 0 ||
        (r = ops_account_load(vd, rq, txn, id, &obj)) != 0)
        goto out;
    before = json_deep_copy(obj);
    if ((r = account_fields(rq, obj)) != 0)
        goto out;
    json_object_set_new(obj, "updated_at", json_integer(ops_now()));
    if ((r = store_json_put(vd->store, txn, STORE_ACCOUNTS, id, obj, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, id, NULL)) != 0)
        goto out;
    changed = gov_access_changed_fields(before, obj);
    if (json_array_size(changed) > 0)
        gov_access_changed(rq, "account_updated",
                           json_pack("{s:s,s:O,s:O}", "account", id, "target",
                                     json_object_get(obj, "target"), "changed", changed));
    rq->result = ops_account_view(obj);
out:
    json_decref(obj);
    json_decref(before);
    json_decref(changed);
    return r;
}

static int op_account_get(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char id[160];
    json_t *obj = NULL;
    int r;

    if ((r = ops_account_id(rq, id, sizeof(id))) != 0 ||
        (r = ops_account_load(vd, rq, txn, id, &obj)) != 0)
        return r;
    rq->result = ops_account_view(obj);
    json_decref(obj);
    return 0;
}

static int op_account_delete(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char id[160];
    json_t *obj = NULL;
    int r;

    if ((r = ops_account_id(rq, id, sizeof(id))) != 0 ||
        (r = ops_account_load(vd, rq, txn, id, &obj)) != 0)
        goto out;
    if ((r = store_value_del_all(vd->store, txn, id)) != 0 && r != -ERR_NOT_FOUND)
        goto out;
    if ((r = store_del(vd->store, txn, STORE_ACCOUNTS, id)) != 0 ||
        (r = req_audit(vd, rq, txn, id, NULL)) != 0)
        goto out;
    gov_access_changed(
        rq, "account_deleted",
        json_pack("{s:s,s:O}", "account", id, "target", json_object_get(obj, "target")));
    rq->result = json_pack("{s:s}", "deleted", id);
out:
    json_decref(obj);
    return r;
}

static int op_account_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *target = NULL;
    json_t *arr = NULL, *view = json_array(), *a;
    size_t i;
    int r;

    if ((r = arg_str(rq, "target", false, &target)) != 0 ||
        (r = accounts_of(vd, txn, target, &arr)) != 0) {
        json_decref(view);
        return r;
    }
    json_array_foreach(arr, i, a) json_array_append_new(view, ops_account_view(a));
    json_decref(arr);
    rq->result = json_pack("{s:o}", "accounts", view);
    return 0;
}

const struct op ops_objects[] = {
    {"target.create", SCOPE(WRITE), ST_UNSEALED, OP_WRITE, op_target_create, NULL},
    {"target.update", SCOPE(WRITE), ST_UNSEALED, OP_WRITE, op_target_update, NULL},
    {"target.delete", SCOPE(WRITE), ST_UNSEALED, OP_WRITE, op_target_delete, NULL},
    {"target.get", SCOPE(READ), ST_UNSEALED, OP_READ, op_target_get, NULL},
    {"target.list", SCOPE(READ), ST_UNSEALED, OP_READ, op_target_list, NULL},
    {"account.create", SCOPE(WRITE), ST_UNSEALED, OP_WRITE, op_account_create, NULL},
    {"account.update", SCOPE(WRITE), ST_UNSEALED, OP_WRITE, op_account_update, NULL},
    {"account.delete", SCOPE(WRITE), ST_UNSEALED, OP_WRITE, op_account_delete, NULL},
    {"account.get", SCOPE(READ), ST_UNSEALED, OP_READ, op_account_get, NULL},
    {"account.list", SCOPE(READ), ST_UNSEALED, OP_READ, op_account_list, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
