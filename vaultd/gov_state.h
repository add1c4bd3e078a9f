/* SPDX-License-Identifier: Apache-2.0 */
/* Governance state in vaultd: loading, ids, acting identity, grants, roles, events, timers. */
#ifndef VAULTD_GOV_STATE_H
#define VAULTD_GOV_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <lmdb.h>

#include "custos/gov.h"
#include "dispatch.h"

/*
 * Every function here runs inside a handler (writer thread for OP_WRITE,
 * loop thread for OP_READ) with the handler's txn.  Functions that refuse
 * set rq's error message with req_fail and return the negative ERR_* (the
 * handler returns it as is).  Functions that change state also append the
 * audit entry (req_audit) — so the change and its record commit together —
 * and queue events/timers on rq, which the server pushes/arms only once the
 * transaction is durable.
 */

/* Current Unix time (seconds). */
json_int_t gov_now(void);

/* ---- loading ---- */

/* One object by key from a governance table; -ERR_NOT_FOUND with "<what> <key> not found". */
MUST_CHECK int gov_load(struct vaultd *vd, struct req *rq, MDB_txn *txn, enum store_table t,
                        const char *what, const char *key, json_t **out);
/* Every identity, as a new object id -> identity. */
MUST_CHECK int gov_identities_all(struct vaultd *vd, MDB_txn *txn, json_t **out);
/* Every object of a table as a new array (store_json_list with prefix ""). */
MUST_CHECK int gov_list(struct vaultd *vd, MDB_txn *txn, enum store_table t, json_t **out);
/* Role objects of the roles an identity holds (new array; unknown names skipped). */
MUST_CHECK int gov_roles_of(struct vaultd *vd, MDB_txn *txn, const json_t *identity, json_t **out);
/*
 * What an identity holds now, for SoD: {"roles": [names], "accounts":
 * [account ids]} where accounts are the vault accounts matched by its
 * standing roles plus the accounts of its live grants.
 */
MUST_CHECK int gov_holdings(struct vaultd *vd, MDB_txn *txn, const json_t *identity, json_t **out);
/* Live SoD exceptions of an identity (new array). */
MUST_CHECK int gov_exceptions_of(struct vaultd *vd, MDB_txn *txn, const char *identity,
                                 json_t **out);

/* ---- ids ---- */

/* Next id "<prefix>-<n>" (n from a counter in STORE_META "gov_counters"); out >= 32 bytes. */
MUST_CHECK int gov_id_next(struct vaultd *vd, MDB_txn *txn, const char *prefix, char *out,
                           size_t outlen);

/* ---- the acting identity ---- */

/*
 * The identity rq acts as: args "as" when the caller has SCOPE(ACT_AS), else
 * the principal's bound identity.  It must exist and be active.  *out new
 * reference.  -ERR_DENIED / -ERR_NOT_FOUND / -ERR_STATE with a message.
 */
MUST_CHECK int gov_actor(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t **out);
/* As gov_actor, but NULL (and 0) when the caller names no identity at all. */
MUST_CHECK int gov_actor_optional(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t **out);

/* ---- writing ---- */

/* Store an identity (STORE_UPDATE, updated_at set) — no audit (callers audit the op). */
MUST_CHECK int gov_identity_save(struct vaultd *vd, MDB_txn *txn, json_t *identity);
/* Append a lifecycle change (state, state_at, lifecycle[]) to an identity object in memory. */
void gov_identity_set_state(json_t *identity, const char *state, json_int_t now);

/*
 * Give `identity` (object, modified in memory; caller saves) role `role`
 * from `source` ("manual" or "rule:NAME"): refused with -ERR_DENIED on an SoD
 * violation without a live exception (message names rule, severity, owner)
 * unless `skip_sod`; history row in STORE_ASSIGN; audited; event
 * identity.updated.  Already held: 0, nothing changes.
 */
MUST_CHECK int gov_role_assign(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *identity,
                               const char *role, const char *source, bool skip_sod);
/* Remove a held role (history row closed; audited). Not held: 0. */
MUST_CHECK int gov_role_unassign(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *identity,
                                 const char *role);
/* Recompute birthright roles of an identity (add new, remove no longer justified). */
MUST_CHECK int gov_birthright_apply(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                    json_t *identity);

/*
 * Create a live grant for (identity, account) of `duration` seconds: kind
 * "jit" or "break-glass", request id or NULL; writes STORE_GRANTS and
 * STORE_GRANT_IDX, audits, emits grant.created, arms the expiry timer.
 * The grant keeps what `ent` (the entitlement it comes from) allows:
 * file_transfer and its command/forwarding policy (gov_policy_of).
 * *out (optional) new reference.
 */
MUST_CHECK int gov_grant_create(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                const char *identity, const char *account, json_int_t duration,
                                const char *kind, const char *request, const json_t *ent,
                                json_t **out);
/*
 * End a live grant: state "expired" or "revoked", by whom ("timer", an
 * identity, a principal), reason.  Audits, emits grant.expired/grant.revoked,
 * queues rotation for break-glass grants.  Not live: 0, nothing changes.
 */
MUST_CHECK int gov_grant_end(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *grant_id,
                             const char *state, const char *by, const char *reason);
/* End every live grant of an identity (suspend, leave). */
MUST_CHECK int gov_grants_end_all(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                  const char *identity, const char *state, const char *by,
                                  const char *reason);
/* Live grants of an identity (optionally for one account): new array. */
MUST_CHECK int gov_grants_live(struct vaultd *vd, MDB_txn *txn, const char *identity,
                               const char *account, json_t **out);

/*
 * Refuse (-ERR_DENIED, message naming rule, severity and owner; rq->errdata
 * {"reason":"sod_violation","rule":...}) when giving `identity` access to
 * `account` would violate an SoD rule without a live exception.
 */
MUST_CHECK int gov_sod_guard_account(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                     const json_t *identity, const char *account);

/*
 * The broker's question (ops_gov_request.c): may this key fingerprint (or
 * identity; exactly one non-NULL) open `account` now?  *decision (new
 * object) is {"allow": true, "identity", "account", "via", "grant",
 * "expires_at", "file_transfer", ...} or {"allow": false, "identity"?,
 * "reason", "message"}.  A deny is a decision, not an error: errors are I/O.
 */
MUST_CHECK int gov_authorize(struct vaultd *vd, MDB_txn *txn, const char *fp, const char *identity,
                             const char *account, json_t **decision);

/* Queue a rotation of `account` with a reason; emits rotation.queued. Deduplicated per account. */
MUST_CHECK int gov_rotation_queue(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                  const char *account, const char *reason);

/* ---- after commit ---- */

/* Queue an event (data stolen) to push to subscribers once rq's txn is durable. */
void gov_emit(struct req *rq, const char *type, json_t *data);
/* Arm a timer once rq's txn is durable: kind "grant" | "request" | "campaign" | "exception". */
void gov_schedule(struct req *rq, json_int_t at, const char *kind, const char *id);

/* ---- timers (gov_timers.c; loop thread) ---- */

void gov_timers_init(struct vaultd *vd);
/* Load every pending deadline (live grants, pending requests, open campaigns): at unseal. */
MUST_CHECK int gov_timers_load(struct vaultd *vd);
/* Drop them all (at seal) and close the handle (at stop). */
void gov_timers_clear(struct vaultd *vd);
void gov_timers_close(struct vaultd *vd);
/* The internal tick request, and its completion (from server_req_done). */
bool gov_timers_is_tick(const struct req *rq);
void gov_timers_tick_done(struct vaultd *vd, struct req *rq);
/* Add one (from server_req_done, after commit). */
void gov_timers_add(struct vaultd *vd, json_int_t at, const char *kind, const char *id);

/* Applied by the tick op: expire the item if it is still due (idempotent). */
MUST_CHECK int gov_expire_request(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id);
/*
 * The same test and change on a loaded request (object updated in memory and
 * stored): pending and past decide_by -> "expired", audited, request.decided
 * queued.  Not overdue: 0, nothing changes.  For session.resume, which must
 * not release a credential on a hold whose deadline passed unnoticed.
 */
MUST_CHECK int gov_request_expire_overdue(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                          json_t *request);
MUST_CHECK int gov_campaign_deadline(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                                     const char *id);

/*
 * A command held by policy (docs/governance.md, "Command policy"): a request
 * of kind "command" by `requester` (identity object) for `session` (the
 * session record), decided by the rule's approval (the requester's manager
 * when it has none) within the rule's timeout, then expired by the timer.
 * Audited; pushes request.created.  *out new reference.  Nobody can approve:
 * -ERR_DENIED with the reason in why, rq untouched (a refusal, not a failure).
 */
MUST_CHECK int gov_hold_create(struct vaultd *vd, struct req *rq, MDB_txn *txn,
                               const json_t *requester, const json_t *session, const char *kind,
                               const char *command, const json_t *rule, json_t **out, char *why,
                               size_t whylen);
/* The session behind a pending hold went away: request `id` cancelled (audited). */
MUST_CHECK int gov_hold_cancel(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                               const char *why);

#endif
