/* SPDX-License-Identifier: Apache-2.0 */
/* The op table and where each request runs: inline, in a read txn, or through the writer. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "custos/log.h"
#include "dispatch.h"

static const struct op *const families[] = {
    ops_vault,      ops_objects,     ops_secret,     ops_audit,    ops_gov_identity,
    ops_gov_policy, ops_gov_request, ops_gov_review, ops_gov_sync, ops_gov_history,
    ops_rotate,     ops_events,      ops_session,
};

const struct op *dispatch_find(const char *name)
{
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        for (const struct op *op = families[f]; op->name; op++)
            if (strcmp(op->name, name) == 0)
                return op;
    return NULL;
}

void req_fail(struct req *rq, int err, const char *fmt, ...)
{
    va_list ap;

    rq->err = err < 0 ? err : -err;
    va_start(ap, fmt);
    vsnprintf(rq->errmsg, sizeof(rq->errmsg), fmt, ap);
    va_end(ap);
}

/* Fill a generic message when a handler failed without saying why. */
static void req_default_msg(struct req *rq)
{
    if (rq->err && !rq->errmsg[0])
        snprintf(rq->errmsg, sizeof(rq->errmsg), "%s", err_str(rq->err));
}

int dispatch_state_error(const struct vaultd *vd, const struct op *op)
{
    if (op->states == ST_UNINIT)
        return -ERR_ALREADY_INIT;
    switch (vd->state) {
    case VAULT_UNINITIALIZED:
        return -ERR_NOT_INIT;
    case VAULT_SEALED:
        return -ERR_SEALED;
    case VAULT_UNSEALED:
        break;
    }
    return -ERR_STATE;
}

static void run_read(struct vaultd *vd, struct req *rq)
{
    MDB_txn *txn = NULL;
    int r;

    if ((r = store_txn_begin(vd->store, NULL, false, &txn)) != 0) {
        req_fail(rq, r, "cannot read the store");
        return;
    }
    rq->err = rq->op->handler(vd, rq, txn);
    store_txn_abort(txn);
}

void dispatch_req(struct vaultd *vd, struct req *rq)
{
    const struct op *op = rq->op;

    if (!(op->states & (1u << vd->state))) {
        int e = dispatch_state_error(vd, op);
        req_fail(rq, e, "%s: vault is %s", op->name, vaultd_state_name(vd->state));
        server_req_done(vd, rq);
        return;
    }
    switch (op->kind) {
    case OP_LOOP:
        rq->err = op->handler(vd, rq, NULL);
        break;
    case OP_READ:
        /* While an exclusive op may be swapping the store, reads wait their turn. */
        if (vd->writer.busy && vd->writer.exclusive) {
            writer_submit(vd, rq);
            return;
        }
        run_read(vd, rq);
        break;
    case OP_WRITE:
    case OP_EXCLUSIVE:
        writer_submit(vd, rq);
        return;
    }
    req_default_msg(rq);
    server_req_done(vd, rq);
}

json_t *req_audit_event(const struct req *rq, const char *object, json_t *detail)
{
    json_t *ev = json_object();

    json_object_set_new(ev, "principal", json_string(rq->principal));
    json_object_set_new(ev, "uid", json_integer((json_int_t)rq->uid));
    json_object_set_new(ev, "op", json_string(rq->op ? rq->op->name : "-"));
    if (object)
        json_object_set_new(ev, "object", json_string(object));
    json_object_set_new(ev, "result", json_string("ok"));
    if (detail)
        json_object_set_new(ev, "detail", detail);
    return ev;
}

int req_audit(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *object, json_t *detail)
{
    json_t *ev = req_audit_event(rq, object, detail);
    int r;

    r = vd->audit ? audit_append(vd->audit, txn, ev) : -ERR_SEALED;
    json_decref(ev);
    if (r != 0) {
        log_err_r(r, "audit append failed op=%s; refusing the request",
                  rq->op ? rq->op->name : "-");
        req_fail(rq, -ERR_AUDIT, "audit log could not be written; request refused");
        return -ERR_AUDIT;
    }
    return 0;
}

int arg_str(struct req *rq, const char *key, bool required, const char **out)
{
    json_t *v = json_object_get(rq->args, key);

    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        req_fail(rq, -ERR_INVAL, "missing argument \"%s\"", key);
        return -ERR_INVAL;
    }
    if (!json_is_string(v)) {
        req_fail(rq, -ERR_INVAL, "argument \"%s\" must be a string", key);
        return -ERR_INVAL;
    }
    *out = json_string_value(v);
    return 0;
}

int arg_uint(struct req *rq, const char *key, bool required, unsigned long long max,
             unsigned long long *out)
{
    json_t *v = json_object_get(rq->args, key);

    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        req_fail(rq, -ERR_INVAL, "missing argument \"%s\"", key);
        return -ERR_INVAL;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (unsigned long long)json_integer_value(v) > max) {
        req_fail(rq, -ERR_INVAL, "argument \"%s\" must be an integer from 0 to %llu", key, max);
        return -ERR_INVAL;
    }
    *out = (unsigned long long)json_integer_value(v);
    return 0;
}

bool name_is_valid(const char *s)
{
    size_t n = 0;

    if (!s || !*s || *s == '.' || *s == '-')
        return false;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return n <= 64;
}
