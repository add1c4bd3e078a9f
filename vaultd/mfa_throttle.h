/* SPDX-License-Identifier: Apache-2.0 */
/* The TOTP brute-force throttle's state in vaultd: one record per identity in STORE_MFA. */
#ifndef VAULTD_MFA_THROTTLE_H
#define VAULTD_MFA_THROTTLE_H

#include <stdint.h>

#include <jansson.h>
#include <lmdb.h>

#include "custos/gov.h"
#include "dispatch.h"

/*
 * The record lives in the store, not in memory: it is per identity (a new
 * connection does not reset it), it survives a vaultd restart (a crash or a
 * restart must not wipe a lock an attacker earned), and it is read and
 * written in the same transaction as the audit entry of the attempt.
 */

/* [mfa] of vaultd.conf as a policy. */
void mfa_throttle_policy(const struct vconf *conf, struct gov_throttle_policy *out);
/* Wall-clock milliseconds (the record's time base). */
uint64_t mfa_throttle_now_ms(void);
/* The record of `identity` (all zero when there is none).  -ERR_CORRUPT for an unreadable record.
 */
MUST_CHECK int mfa_throttle_load(struct vaultd *vd, MDB_txn *txn, const char *identity,
                                 struct gov_throttle *out);
/* Store it; a clear record is deleted. */
MUST_CHECK int mfa_throttle_save(struct vaultd *vd, MDB_txn *txn, const char *identity,
                                 const struct gov_throttle *t);

/*
 * gov.totp.verify with the throttle around the check (ops_gov_request.c
 * calls it): a locked or waiting identity is refused before its code is
 * looked at; a wrong code is counted, and the one that locks is audited on
 * its own and pushes identity.mfa_locked.  Every attempt is audited (result
 * ok or refused, detail {change, reason, ...}, never the code).  Answers
 * {"ok": true} or {"ok": false, "reason", "retry_after"?, "locked_until"?}.
 */
MUST_CHECK int mfa_throttle_verify(struct vaultd *vd, struct req *rq, MDB_txn *txn);

/* For gov.mfa.check: add "locked" (bool) and, when locked, "retry_after" to result. */
MUST_CHECK int mfa_throttle_describe(struct vaultd *vd, MDB_txn *txn, const char *identity,
                                     json_t *result);

#endif
