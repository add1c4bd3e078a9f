/* SPDX-License-Identifier: Apache-2.0 */
/* audit.* ops: verify the chain, export entries. */
#include "dispatch.h"
#include "scopes.h"

/* Runs in the writer so a long walk never stalls the loop (it only reads). */
static int op_audit_verify(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    return audit_verify(vd->audit, txn, &rq->result);
}

static int op_audit_export(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    unsigned long long after = 0, limit = 1000;
    int r;

    if ((r = arg_uint(rq, "after", false, UINT64_MAX >> 1, &after)) != 0 ||
        (r = arg_uint(rq, "limit", false, 10000, &limit)) != 0)
        return r;
    if (limit == 0)
        limit = 1000;
    return audit_export(vd->store, txn, after, (size_t)limit, &rq->result);
}

const struct op ops_audit[] = {
    {"audit.verify", SCOPE(AUDIT), ST_UNSEALED, OP_WRITE, op_audit_verify, NULL},
    {"audit.export", SCOPE(AUDIT), ST_UNSEALED, OP_READ, op_audit_export, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
