/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the op families. */
#ifndef VAULTD_OPS_H
#define VAULTD_OPS_H

#include <stddef.h>

#include <jansson.h>

#include "dispatch.h"

/* Wall-clock Unix seconds. */
json_int_t ops_now(void);
/* The account id of a request ("id"/"account" = NAME@TARGET, or "target" + "name"). */
MUST_CHECK int ops_account_id(struct req *rq, char *id, size_t idlen);
/* Load an account object (new reference); -ERR_NOT_FOUND with a message. */
MUST_CHECK int ops_account_load(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                                json_t **out);
/* The account as shown to callers (a new object without internal fields). */
json_t *ops_account_view(const json_t *acct);

#endif
