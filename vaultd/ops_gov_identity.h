/* SPDX-License-Identifier: Apache-2.0 */
/* Identity creation and lifecycle, shared by gov.identity.* and the HR feed (gov.sync). */
#ifndef VAULTD_OPS_GOV_IDENTITY_H
#define VAULTD_OPS_GOV_IDENTITY_H

#include <stddef.h>

#include <jansson.h>
#include <lmdb.h>

#include "dispatch.h"

/* Create a checked identity object (stored, birthright roles given, audited). */
MUST_CHECK int ops_gov_identity_insert(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                       json_t *identity);
/*
 * Move an identity to `to` ("active", "suspended", "left"): suspend and leave
 * revoke live grants and push identity.suspended / identity.left; leave also
 * removes every role, deletes the TOTP secret and queues rotation of every
 * account the identity could obtain.  `by` and `reason` are recorded.
 */
MUST_CHECK int ops_gov_identity_transition(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                           json_t *identity, const char *to, const char *by,
                                           const char *reason);
/* Who acts: the acting identity's id, or else the principal's name. */
MUST_CHECK int ops_gov_identity_by(struct vaultd *vd, struct req *rq, MDB_txn *txn, char *by,
                                   size_t bylen);

#endif
