/* SPDX-License-Identifier: Apache-2.0 */
/* gov.totp.verify behind a per-identity brute-force throttle kept in the store (STORE_MFA). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "custos/log.h"
#include "gov_state.h"
#include "mfa_throttle.h"

void mfa_throttle_policy(const struct vconf *conf, struct gov_throttle_policy *out)
{
    out->max_failures = conf->mfa_max_failures;
    out->window_ms = (uint64_t)conf->mfa_failure_window * 1000u;
    out->free_failures = conf->mfa_free_failures;
    out->delay_ms = (uint64_t)conf->mfa_delay * 1000u;
    out->lock_ms = (uint64_t)conf->mfa_lock_time * 1000u;
    out->max_lock_ms = (uint64_t)conf->mfa_max_lock_time * 1000u;
}

uint64_t mfa_throttle_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int mfa_throttle_load(struct vaultd *vd, MDB_txn *txn, const char *identity,
                      struct gov_throttle *out)
{
    json_t *j = NULL;
    int r = store_json_get(vd->store, txn, STORE_MFA, identity, &j);

    gov_throttle_reset(out);
    if (r == -ERR_NOT_FOUND)
        return 0;
    if (r == 0 && (r = gov_throttle_from_json(j, out)) != 0)
        log_err("identity=%s TOTP throttle record is unreadable", identity);
    json_decref(j);
    return r;
}

int mfa_throttle_save(struct vaultd *vd, MDB_txn *txn, const char *identity,
                      const struct gov_throttle *t)
{
    json_t *j;
    int r;

    if (gov_throttle_is_clear(t)) {
        r = store_del(vd->store, txn, STORE_MFA, identity);
        return r == -ERR_NOT_FOUND ? 0 : r;
    }
    if (!(j = gov_throttle_to_json(t)))
        return -ERR_NOMEM;
    r = store_json_put(vd->store, txn, STORE_MFA, identity, j, STORE_UPSERT);
    json_decref(j);
    return r;
}

/* Whole seconds until ms from now, rounded up (a client waiting that long is never early). */
static json_int_t seconds_up(uint64_t ms)
{
    return (json_int_t)((ms + 999u) / 1000u);
}

/* Append an audit entry of this attempt with `result` and `detail` (stolen). */
static int audit_attempt(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *identity,
                         const char *result, json_t *detail)
{
    json_t *ev = req_audit_event(rq, identity, detail);
    int r;

    json_object_set_new(ev, "result", json_string(result));
    r = vd->audit ? audit_append(vd->audit, txn, ev) : -ERR_SEALED;
    json_decref(ev);
    if (r != 0) {
        log_err_r(r, "audit append failed op=%s; refusing the request", rq->op->name);
        req_fail(rq, -ERR_AUDIT, "audit log could not be written; request refused");
        return -ERR_AUDIT;
    }
    return 0;
}

/* Does the typed code match, unused?  Updates totp_last_step in `identity` (caller saves). */
static bool code_matches(struct vaultd *vd, MDB_txn *txn, json_t *identity, const char *id,
                         const char *code)
{
    char key[STORE_KEY_MAX + 1];
    struct secbuf *secret = NULL;
    uint64_t step = 0;
    bool ok = false;

    snprintf(key, sizeof(key), "!totp/%s", id);
    if (store_value_get(vd->store, txn, vd->dek, key, 1, &secret) == 0 &&
        gov_totp_match(secbuf_cdata(secret), secbuf_len(secret), code, (uint64_t)gov_now(), 1,
                       &step) == 0 &&
        (json_int_t)step > json_integer_value(json_object_get(identity, "totp_last_step"))) {
        ok = true;
        json_object_set_new(identity, "totp_last_step", json_integer((json_int_t)step));
    }
    secbuf_free(secret);
    return ok;
}

/* The lock that `t` now holds: audited on its own, announced, logged. */
static int announce_lock(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                         const struct gov_throttle *t, uint64_t now_ms)
{
    json_int_t until = (json_int_t)(t->locked_until_ms / 1000u);
    json_int_t secs = seconds_up(t->locked_until_ms - now_ms);
    int r;

    if ((r = req_audit(vd, rq, txn, id,
                       json_pack("{s:s,s:I,s:I,s:I,s:I}", "change", "mfa.lock", "failures",
                                 (json_int_t)vd->conf->mfa_max_failures, "locked_until", until,
                                 "lock_seconds", secs, "locks", (json_int_t)t->locks))) != 0)
        return r;
    gov_emit(rq, "identity.mfa_locked",
             json_pack("{s:s,s:I,s:I,s:I,s:I}", "identity", id, "failures",
                       (json_int_t)vd->conf->mfa_max_failures, "locked_until", until,
                       "lock_seconds", secs, "locks", (json_int_t)t->locks));
    log_warn("identity=%s TOTP locked for %llds after %u wrong codes (lock %u)", id,
             (long long)secs, vd->conf->mfa_max_failures, t->locks);
    return 0;
}

int mfa_throttle_verify(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *code, *reason;
    json_t *identity = NULL, *detail = NULL, *res = NULL;
    struct gov_throttle_policy pol;
    struct gov_throttle t;
    enum gov_throttle_verdict v;
    uint64_t now = mfa_throttle_now_ms(), wait = 0;
    bool ok = false, locked_now = false;
    int r;

    mfa_throttle_policy(vd->conf, &pol);
    if ((r = arg_str(rq, "identity", true, &id)) != 0 ||
        (r = arg_str(rq, "code", true, &code)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_IDENTITIES, "identity", id, &identity)) != 0)
        goto out;
    if ((r = mfa_throttle_load(vd, txn, id, &t)) != 0) {
        req_fail(rq, r, "the TOTP throttle record of %s cannot be read", id);
        goto out;
    }
    v = gov_throttle_check(&pol, &t, now, &wait);
    if (v == GOV_THROTTLE_LOCKED) {
        reason = "locked"; /* refused unchecked: even the right code */
    } else if (v == GOV_THROTTLE_WAIT) {
        reason = "throttled";
    } else if (!json_is_true(json_object_get(identity, "totp"))) {
        reason = "not_enrolled"; /* nothing to guess: not counted */
    } else if (code_matches(vd, txn, identity, id, code)) {
        ok = true;
        reason = NULL;
        gov_throttle_reset(&t);
        if ((r = gov_identity_save(vd, txn, identity)) != 0 ||
            (r = mfa_throttle_save(vd, txn, id, &t)) != 0)
            goto out;
    } else {
        reason = "wrong_code";
        locked_now = gov_throttle_fail(&pol, &t, now);
        if ((r = mfa_throttle_save(vd, txn, id, &t)) != 0)
            goto out;
        (void)gov_throttle_check(&pol, &t, now, &wait); /* what the next attempt faces */
    }
    /* The audit entry says why, never what was typed. */
    detail = json_pack("{s:s}", "change", "mfa.totp");
    if (reason)
        json_object_set_new(detail, "reason", json_string(reason));
    if (!ok && strcmp(reason, "wrong_code") == 0)
        json_object_set_new(
            detail, "failures",
            json_integer(locked_now ? (json_int_t)pol.max_failures : (json_int_t)t.failures));
    if (wait)
        json_object_set_new(detail, "retry_after", json_integer(seconds_up(wait)));
    r = audit_attempt(vd, rq, txn, id, ok ? "ok" : "refused", detail);
    detail = NULL;
    if (r != 0)
        goto out;
    if (locked_now && (r = announce_lock(vd, rq, txn, id, &t, now)) != 0)
        goto out;
    res = json_pack("{s:b}", "ok", ok);
    if (reason)
        json_object_set_new(res, "reason", json_string(reason));
    if (wait)
        json_object_set_new(res, "retry_after", json_integer(seconds_up(wait)));
    if (v == GOV_THROTTLE_LOCKED || locked_now)
        json_object_set_new(res, "locked_until",
                            json_integer((json_int_t)(t.locked_until_ms / 1000u)));
    if (locked_now)
        json_object_set_new(res, "locked", json_true());
    rq->result = res;
    res = NULL;
    r = 0;
out:
    json_decref(identity);
    json_decref(detail);
    json_decref(res);
    return r;
}

int mfa_throttle_describe(struct vaultd *vd, MDB_txn *txn, const char *identity, json_t *result)
{
    struct gov_throttle_policy pol;
    struct gov_throttle t;
    uint64_t wait = 0;
    int r;

    mfa_throttle_policy(vd->conf, &pol);
    if ((r = mfa_throttle_load(vd, txn, identity, &t)) != 0)
        return r;
    if (gov_throttle_check(&pol, &t, mfa_throttle_now_ms(), &wait) == GOV_THROTTLE_LOCKED) {
        json_object_set_new(result, "locked", json_true());
        json_object_set_new(result, "retry_after", json_integer(seconds_up(wait)));
        json_object_set_new(result, "locked_until",
                            json_integer((json_int_t)(t.locked_until_ms / 1000u)));
    } else {
        json_object_set_new(result, "locked", json_false());
    }
    return 0;
}
