/* SPDX-License-Identifier: Apache-2.0 */
/* access.changed: every change that can withdraw access, announced with what finds the sessions. */
#ifndef VAULTD_GOV_ACCESS_H
#define VAULTD_GOV_ACCESS_H

#include <jansson.h>
#include <lmdb.h>

#include "dispatch.h"

/*
 * A change that can end access a live session relies on (a key removed, a
 * role narrowed or taken away, a new SoD rule, an exception ended, an
 * account or target deleted or changed, an identity suspended or gone, a
 * grant ended) queues one event "access.changed" on rq, pushed once rq's
 * transaction is durable (docs/api.md, "access.changed"):
 *
 *     {"reason": "...", <selectors>, <details>}
 *
 * Selectors say which live sessions to re-check; a session is affected when
 * it matches every selector present: "identity" (its identity),
 * "identities" (its identity is listed; [] matches none), "fp" (the key it
 * authenticated with), "account", "target" (its account's target),
 * "grant".  Details ("role", "rule", "exception", "changed", "by") only
 * explain.  The broker asks gov.authorize again for each affected session.
 */

/* Queue it: data (stolen, may be NULL) gets "reason" added. */
void gov_access_changed(struct req *rq, const char *reason, json_t *data);

/* Ids of the identities holding role `role` now (new array). */
MUST_CHECK int gov_access_role_holders(struct vaultd *vd, MDB_txn *txn, const char *role,
                                       json_t **out);

/*
 * Ids of the identities that violate SoD rule `rule` (an object) now
 * without a live exception for it: those a new rule cuts off (new array).
 */
MUST_CHECK int gov_access_sod_violators(struct vaultd *vd, MDB_txn *txn, const json_t *rule,
                                        json_t **out);

/*
 * End SoD exception `id`: by the timer once expires_at has come ("expired",
 * by NULL), or revoked by `by` with `why` before then ("revoked":
 * expires_at becomes now).  Sets ended_at (and revoked_by, revoke_reason),
 * audits, announces access.changed (sod_exception_expired /
 * sod_exception_revoked).  Already ended, or not yet due for the timer: 0,
 * nothing changes.  Unknown id: -ERR_NOT_FOUND with a message.
 */
MUST_CHECK int gov_access_exception_end(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                        const char *id, const char *by, const char *why);

/* Names of the members of `now` that differ from `before` (objects), as a new array. */
json_t *gov_access_changed_fields(const json_t *before, const json_t *now);

#endif
